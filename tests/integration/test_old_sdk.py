"""A botocore older than the layer's (the Lambda runtime's own, before 1.39.0) cannot send our CreateRule.

Such an SDK refuses the request before sending it. That must fail the step at once with a permanent error naming
the parameter, not as a transient error the state machine retries for minutes before rolling the rollout back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.loaders import Loader

from pullthrough import aws
from pullthrough import exceptions as ex
from tests.integration.steps_support import run, task
from tests.support import ROOT

TARGET = "eu-west-1"
# What botocore 1.39.0 added to CreatePullThroughCacheRule.
ADDED_IN_1_39 = ("upstreamRepositoryPrefix", "customRoleArn")


def ecr_client_of_an_older_botocore(data_dir: Path) -> Any:
    """An ECR client whose service model is today's without the members botocore 1.39.0 added."""
    model = Loader().load_service_model("ecr", "service-2")
    members = model["shapes"]["CreatePullThroughCacheRuleRequest"]["members"]
    for name in ADDED_IN_1_39:
        del members[name]
    target = data_dir / "ecr" / model["metadata"]["apiVersion"]
    target.mkdir(parents=True)
    (target / "service-2.json").write_text(json.dumps(model))
    session = botocore.session.Session()
    # A loader of its own (the suite shares one between sessions): data_dir is searched before botocore's own.
    session.register_component("data_loader", Loader(extra_search_paths=[str(data_dir)]))
    return boto3.session.Session(botocore_session=session).client("ecr", region_name=TARGET)


def test_create_rule_on_an_sdk_without_upstream_repository_prefix_fails_permanently_naming_it(
    source_secret: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = task(sourceSecretArn=source_secret)
    # An upstream repository prefix other than ROOT (ROOT, ECR's default, is not sent).
    base["rule"] = base["rule"] | {"upstreamRepositoryPrefix": "library"}
    state = base | {"storeSecret": run("store_secret", base)}
    old_ecr = ecr_client_of_an_older_botocore(tmp_path)
    real_client = aws.client
    monkeypatch.setattr(
        aws, "client", lambda service, region, **kw: old_ecr if service == "ecr" else real_client(service, region, **kw)
    )

    with pytest.raises(ex.SdkModelMismatch) as err:
        run("create_rule", state)

    assert not err.value.transient
    assert err.value.message.startswith("CreatePullThroughCacheRule: botocore ")
    assert 'Unknown parameter in input: "upstreamRepositoryPrefix"' in err.value.message
    assert boto3.client("ecr", region_name=TARGET).describe_pull_through_cache_rules()["pullThroughCacheRules"] == []
    assert "SdkModelMismatch" not in retried_error_names()


def retried_error_names() -> set[str]:
    """Every error name a Retry of the rollout state machine names."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for retrier in node.get("Retry", []):
                names.update(retrier["ErrorEquals"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads((ROOT / "statemachine" / "rollout.asl.json").read_text()))
    return names
