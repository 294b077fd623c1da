"""A plan cannot act: it takes no lock, and the client its steps read with refuses a write by itself.

Both guards sit under everything else a plan does (its steps also skip their writes): these tests pin each one on
its own, so that removing either fails here even when every other test stays green.
"""

from __future__ import annotations

import boto3
import pytest

from pullthrough import aws
from tests.integration.app_support import AppEnv, api, provision

QUAY = {"upstreamRegistry": "quay", "regions": ["us-east-1", "eu-west-1"]}


@pytest.fixture
def app(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> AppEnv:
    return provision(monkeypatch)


def test_a_plan_takes_no_lock_so_an_apply_right_after_starts(app: AppEnv) -> None:
    status, planned = api("POST", "/rules", QUAY, query={"dryRun": "true"})
    assert status == 202 and planned["mode"] == "PLAN"
    # Given the plan still runs (this state machine never finishes it), an apply of the prefix is not busy...
    status, applied = api("POST", "/rules", QUAY)
    assert status == 202, applied
    assert applied["rolloutId"] != planned["rolloutId"] and applied["mode"] == "APPLY"
    # ...and a second apply meets the apply's lock, not the plan's
    status, busy = api("POST", "/rules", QUAY | {"regions": ["eu-west-1"]})
    assert status == 409 and busy["rolloutId"] == applied["rolloutId"]


def test_the_read_only_client_refuses_a_write_before_sending_it_and_lets_reads_through(moto_aws: None) -> None:
    sent: list[str] = []
    ecr = aws.client("ecr", "eu-west-1", read_only=True)
    ecr.meta.events.register("before-send", lambda request, **_: sent.append(request.url))
    with pytest.raises(aws.WriteRefused, match="ecr:CreatePullThroughCacheRule refused"):
        ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="quay", upstreamRegistryUrl="quay.io")
    assert sent == []  # refused by the client itself, not by IAM or the service
    assert ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"] == []  # a read is sent
    assert len(sent) == 1
    # The same call through the ordinary client writes, so the refusal above is the read-only client's own
    written = boto3.client("ecr", region_name="eu-west-1").create_pull_through_cache_rule(
        ecrRepositoryPrefix="quay", upstreamRegistryUrl="quay.io"
    )
    assert written["ecrRepositoryPrefix"] == "quay"
