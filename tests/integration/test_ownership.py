"""No silent takeover, step by step on moto: SnapshotRegion refuses a target holding what pullthrough did not create
(NotManaged) or a secret ECR cannot read (SecretKeyUnsupported) before any write; ``adopt`` takes it over, and the
region's rollback puts it back exactly; what pullthrough creates is tagged as its own."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from pullthrough.adapters.secrets import SecretStore
from pullthrough.exceptions import NotManaged, SecretKeyUnsupported
from pullthrough.models import Credentials
from pullthrough.rollouts.source import save_source_credentials
from tests.integration.steps_support import hold, region_snapshot, run, run_all, task
from tests.support import ACCOUNT, HOME, CallLog

TARGET = "eu-west-1"
QUAY = {"ecrRepositoryPrefix": "quay", "upstreamRegistry": "quay", "upstreamRegistryUrl": "quay.io"}
OURS = {"managed-by": "pullthrough", "pullthrough:prefix": "docker-hub"}


@pytest.fixture(autouse=True)
def _home_account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME_ACCOUNT_ID", ACCOUNT)  # as template.yaml's Globals give every function


def hand_made_secret(name: str = "ecr-pullthroughcache/docker-hub", **more: Any) -> str:
    made = boto3.client("secretsmanager", region_name=TARGET).create_secret(
        Name=name, SecretString=json.dumps({"username": "mine", "accessToken": "mine"}), **more
    )
    return str(made["ARN"])


def hand_made_rule(prefix: str, url: str = "quay.io", **more: Any) -> None:
    boto3.client("ecr", region_name=TARGET).create_pull_through_cache_rule(
        ecrRepositoryPrefix=prefix,
        upstreamRegistry=more.pop("upstreamRegistry", "quay"),
        upstreamRegistryUrl=url,
        **more,
    )


def secret_tags(name: str, region: str = TARGET) -> dict[str, str]:
    described = boto3.client("secretsmanager", region_name=region).describe_secret(SecretId=name)
    return {tag["Key"]: tag["Value"] for tag in described.get("Tags") or []}


def refused(state: dict[str, Any], error: type[Exception] = NotManaged) -> str:
    with pytest.raises(error) as raised:
        run("snapshot_region", state)
    return str(raised.value)


def test_a_hand_made_rule_fails_the_target_before_any_write_naming_it_and_adopt(
    moto_aws: None, call_log: CallLog
) -> None:
    # Given a rule made by hand for the prefix (upstream quay.io), which pullthrough's record does not hold
    hand_made_rule("quay")
    before = region_snapshot(TARGET, "quay")

    # When a rollout of the prefix snapshots the region
    message = refused(task(rule=QUAY, region=TARGET))

    # Then the target fails with NotManaged naming the rule, its account and region, and adopt; nothing was written
    assert message == (
        f"account {ACCOUNT}, region {TARGET}: pull-through cache rule quay (upstream quay.io) not created by "
        'pullthrough; send "adopt": true to take it over (a rollback then puts it back as it was)'
    )
    assert [call for call in call_log.writes() if call[0] != "dynamodb"] == []
    # and the region's rollback (the state machine's next state) leaves it exactly as it was
    run("rollback", task(rule=QUAY, region=TARGET))
    assert region_snapshot(TARGET, "quay") == before


def test_a_hand_made_secret_fails_the_target_naming_its_arn(source_secret: str) -> None:
    arn = hand_made_secret()
    before = region_snapshot(TARGET, "docker-hub")
    message = refused(task(sourceSecretArn=source_secret))
    assert message.startswith(f"account {ACCOUNT}, region {TARGET}: secret {arn} not created by pullthrough")
    assert '"adopt": true' in message
    run("rollback", task(sourceSecretArn=source_secret))
    assert region_snapshot(TARGET, "docker-hub") == before


def test_a_hand_made_template_serving_pull_through_fails_but_one_for_other_uses_is_shared(
    source_secret: str,
) -> None:
    ecr = boto3.client("ecr", region_name=TARGET)
    ecr.create_repository_creation_template(prefix="docker-hub", appliedFor=["PULL_THROUGH_CACHE"])
    assert "repository creation template docker-hub not created" in refused(task(sourceSecretArn=source_secret))

    ecr.delete_repository_creation_template(prefix="docker-hub")
    ecr.create_repository_creation_template(prefix="docker-hub", appliedFor=["REPLICATION"])
    state = run_all(task(sourceSecretArn=source_secret, rolloutId="r-shared"))
    assert state["applyTemplate"]["action"] == "updated"


def test_everything_pullthrough_creates_is_tagged_as_its_own(source_secret: str) -> None:
    run_all(task(sourceSecretArn=source_secret))
    assert secret_tags("ecr-pullthroughcache/docker-hub") == OURS


def test_the_next_rollout_takes_what_the_record_or_the_tag_says_is_pullthroughs(source_secret: str) -> None:
    # A rule on pullthrough's (tagged) secret is pullthrough's, whatever the record says; its template is, once the
    # record holds the target (a finished rollout wrote it)
    run_all(task(sourceSecretArn=source_secret))
    assert "repository creation template" in refused(task(sourceSecretArn=source_secret, rolloutId="r-next"))
    hold("docker-hub", TARGET)
    assert run("snapshot_region", task(sourceSecretArn=source_secret, rolloutId="r-after")) == {"recorded": True}


def test_an_unauthenticated_rule_is_pullthroughs_only_where_its_record_holds_the_target(moto_aws: None) -> None:
    hand_made_rule("quay")
    hold("quay", "us-west-2")  # another region only
    assert "pull-through cache rule quay" in refused(task(rule=QUAY, region=TARGET))
    hold("quay", TARGET)
    assert run("snapshot_region", task(rule=QUAY, region=TARGET, rolloutId="r-held")) == {"recorded": True}


def test_a_retried_snapshot_judges_what_the_target_held_before_the_rollouts_first_write(moto_aws: None) -> None:
    # Given a rollout that snapshotted an empty region and created its rule (an unauthenticated one: no tag to go by)
    state = run_all(task(rule=QUAY, region=TARGET, creationTemplate=None))
    assert state["createRule"]["action"] == "created"
    # When its snapshot step runs again (a retried invocation), the rule it made is not taken for someone else's
    assert run("snapshot_region", state) == {"recorded": False}


def test_with_adopt_a_hand_made_rule_and_secret_are_taken_over_and_put_back_exactly(source_secret: str) -> None:
    # Given a hand-made secret (with a tag of its own) and a hand-made rule on it, upstream prefix "library"
    arn = hand_made_secret(Tags=[{"Key": "team", "Value": "a"}])
    hand_made_rule(
        "docker-hub",
        "registry-1.docker.io",
        upstreamRegistry="docker-hub",
        credentialArn=arn,
        upstreamRepositoryPrefix="library",
    )
    before = region_snapshot(TARGET, "docker-hub")

    # When a rollout that says adopt runs, then its region is rolled back (another region failed)
    state = run_all(task(sourceSecretArn=source_secret, adopt=True, creationTemplate=None))
    assert (state["storeSecret"]["action"], state["createRule"]["action"]) == ("updated", "replaced")
    assert secret_tags(arn) == OURS | {"team": "a"}
    assert run("rollback", state)["secret"] == "updated"

    # Then rule, value, version and tags are exactly as they were
    assert region_snapshot(TARGET, "docker-hub") == before
    assert secret_tags(arn) == {"team": "a"}


def test_a_plan_reports_not_managed_alike(source_secret: str) -> None:
    hand_made_secret()
    message = refused(task(sourceSecretArn=source_secret, mode="PLAN"))
    assert "not created by pullthrough" in message and '"adopt": true' in message


@pytest.mark.parametrize("adopt", [False, True])
def test_a_regional_secret_under_a_customer_managed_key_fails_saying_ecr_cannot_read_it(
    source_secret: str, adopt: bool
) -> None:
    key = boto3.client("kms", region_name=TARGET).create_key()["KeyMetadata"]["Arn"]
    arn = hand_made_secret(KmsKeyId=key, Tags=[{"Key": "managed-by", "Value": "pullthrough"}])
    message = refused(task(sourceSecretArn=source_secret, adopt=adopt), SecretKeyUnsupported)
    assert message == (
        f"account {ACCOUNT}, region {TARGET}: secret {arn} is encrypted with the customer-managed KMS key {key}; "
        "ECR's pull-through cache can read only secrets encrypted with the AWS managed key (aws/secretsmanager): "
        "re-encrypt it with that key, or delete it so that pullthrough creates its own"
    )


def test_the_source_secret_the_api_stores_is_tagged_with_its_prefix(moto_aws: None) -> None:
    store = SecretStore(boto3.client("secretsmanager", region_name=HOME))
    credentials = Credentials.model_validate({"username": "u", "accessToken": "t"})
    made = save_source_credentials(store, "ecr-pullthroughcache/_source/quay", credentials, prefix="quay")
    assert secret_tags(str(made.secretArn), HOME) == {"managed-by": "pullthrough", "pullthrough:prefix": "quay"}


def test_a_removal_leaves_a_hand_made_secret_and_the_rule_that_reads_it(source_secret: str) -> None:
    # Given a target pullthrough no longer desires that holds a hand-made secret and a rule on it
    arn = hand_made_secret()
    hand_made_rule("docker-hub", "registry-1.docker.io", upstreamRegistry="docker-hub", credentialArn=arn)
    before = region_snapshot(TARGET, "docker-hub")

    # When a rollout removes the prefix there
    removed = run("remove_rule", task("remove_rule"))

    # Then neither is touched
    assert (removed["storeSecret"]["action"], removed["createRule"]["action"]) == ("unchanged", "unchanged")
    assert region_snapshot(TARGET, "docker-hub") == before


def test_a_removal_takes_out_what_pullthrough_made(source_secret: str) -> None:
    run_all(task(sourceSecretArn=source_secret))
    removed = run("remove_rule", task("remove_rule"))
    assert (removed["storeSecret"]["action"], removed["createRule"]["action"]) == ("deleted", "deleted")
