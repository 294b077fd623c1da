"""All or nothing, under faults: every rollout either ends with the desired rule in every region, or puts every
region back exactly as it was (rule, creation template, secret value and version, as boto3 sees them).

Faults come from two places: ``local.faults`` makes a step's Lambda invocation for one region fail with a chosen
error name (what the state machine's Retry/Catch match), and the ECR emulator's own fault injection makes ECR
answer an operation with an error or ``isValid: false``.

"first / middle / last region" means position 0, 2 and 4 of ``rollout.regionOrder`` with ``maxConcurrency: 1``:
regions then run one after the other in that order, so a failure in the middle region happens after two regions
changed and before two others started (those are SKIPPED: never touched). The request lists its regions in another
order than regionOrder, so the test also shows that regionOrder is what counts.
"""

from __future__ import annotations

import json
import threading
import urllib.error
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from local import faults
from local.emulator import ecr_extension
from local.stack import EmbeddedStack
from tests.e2e.conftest import ApiCall, call_api, source_secret

pytestmark = pytest.mark.e2e

WaitRollout = Callable[..., dict[str, Any]]

ASL = Path(__file__).resolve().parents[2] / "statemachine" / "rollout.asl.json"
DOCKER_HUB_URL = "registry-1.docker.io"
ORDER = ["eu-west-1", "us-west-2", "ap-southeast-2", "eu-central-1", "sa-east-1"]  # rollout.regionOrder
REQUESTED = sorted(ORDER)  # the request's "regions": the same set in another order
POSITIONS = {"first": 0, "middle": 2, "last": 4}
# Per step: an error the state machine retries (each name of the Retry list once), and one it does not.
STEP_ERRORS = {
    "StoreSecret": ("AwsTransientError", "SecretAccessDenied"),
    "CreateRule": ("ConcurrentModification", "RuleLimitExceeded"),
    "ValidateRule": ("Lambda.TooManyRequestsException", "RuleValidationFailed"),
    "ApplyTemplate": ("Lambda.ServiceException", "TemplateRejected"),
}
STEP_FUNCTIONS = tuple(f"{step}Function" for step in STEP_ERRORS)
KINDS = ("transient", "permanent")
CASES = [(step, position, kind) for step in STEP_ERRORS for position in POSITIONS for kind in KINDS]
MATRIX: dict[str, str] = {}  # case id -> "passed" / "failed", summarised by the last test of this module

OLD_CREDENTIALS = {"username": "old-user", "accessToken": "old-token"}
LIFECYCLE = {
    "rules": [
        {
            "rulePriority": 1,
            "description": "expire untagged",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 7,
            },
            "action": {"type": "expire"},
        }
    ]
}
TEMPLATE = {
    "description": "consistency e2e",
    "imageTagMutability": "IMMUTABLE",
    "lifecyclePolicy": json.dumps(LIFECYCLE),
}
TIMESTAMPS = ("createdAt", "updatedAt")


# -- requests ----------------------------------------------------------------------------------------------------


def rule_request(
    prefix: str,
    *,
    token: str,
    regions: list[str] | None = None,
    order: list[str] | None = None,
    max_concurrency: int | None = None,
    failure_tolerance: int | None = None,
) -> dict[str, Any]:
    """A POST /rules body for a docker-hub rule (needs a secret) with inline credentials and our template."""
    rollout: dict[str, Any] = {}
    if order is not None:
        rollout["regionOrder"] = order
    if max_concurrency is not None:
        rollout["maxConcurrency"] = max_concurrency
    if failure_tolerance is not None:
        rollout["failureTolerance"] = failure_tolerance
    return {
        "upstreamRegistry": "docker-hub",
        "ecrRepositoryPrefix": prefix,
        "credentials": {"username": "e2e-user", "accessToken": token},
        "regions": regions or REQUESTED,
        "creationTemplate": TEMPLATE,
        "rollout": rollout,
    }


def sequential_request(prefix: str, *, token: str) -> dict[str, Any]:
    """All five regions, one at a time, in ORDER."""
    return rule_request(prefix, token=token, order=ORDER, max_concurrency=1)


def start(api: ApiCall, body: dict[str, Any]) -> str:
    status, started = api("POST", "/rules", body)
    assert status == 202, started
    return str(started["rolloutId"])


# -- what boto3 sees -----------------------------------------------------------------------------------------------


def secret_name(prefix: str) -> str:
    return f"ecr-pullthroughcache/{prefix}"


def rule_state(stack: EmbeddedStack, region: str, prefix: str) -> dict[str, Any] | None:
    for page in stack.client("ecr", region).get_paginator("describe_pull_through_cache_rules").paginate():
        for rule in page["pullThroughCacheRules"]:
            if rule["ecrRepositoryPrefix"] == prefix:
                return {k: v for k, v in rule.items() if k not in TIMESTAMPS}
    return None


def template_state(stack: EmbeddedStack, region: str, prefix: str) -> dict[str, Any] | None:
    for page in stack.client("ecr", region).get_paginator("describe_repository_creation_templates").paginate():
        for template in page["repositoryCreationTemplates"]:
            if template["prefix"] == prefix:
                return {k: v for k, v in template.items() if k not in TIMESTAMPS}
    return None


def secret_states(stack: EmbeddedStack, region: str, prefix: str) -> dict[str, dict[str, Any]]:
    """Every secret named ``ecr-pullthroughcache/<prefix>`` or ``...<prefix>-*``: ARN, AWSCURRENT version, value."""
    sm = stack.client("secretsmanager", region)
    base = secret_name(prefix)
    states: dict[str, dict[str, Any]] = {}
    pages = sm.get_paginator("list_secrets").paginate(
        Filters=[{"Key": "name", "Values": [base]}], IncludePlannedDeletion=True
    )
    for page in pages:
        for listed in page["SecretList"]:
            name = listed["Name"]
            if name != base and not name.startswith(base + "-"):
                continue
            if "DeletedDate" in listed:
                states[name] = {"arn": listed["ARN"], "pendingDeletion": True}
                continue
            current = sm.get_secret_value(SecretId=listed["ARN"])
            states[name] = {
                "arn": current["ARN"],
                "versionId": current["VersionId"],
                "value": current["SecretString"],
                "pendingDeletion": False,
            }
    return states


def region_snapshot(stack: EmbeddedStack, region: str, prefix: str) -> dict[str, Any]:
    """The prefix's rule, creation template and secrets in one region (timestamps left out: see below)."""
    return {
        "rule": rule_state(stack, region, prefix),
        "template": template_state(stack, region, prefix),
        "secrets": secret_states(stack, region, prefix),
    }


def snapshot(stack: EmbeddedStack, prefix: str, regions: list[str] = ORDER) -> dict[str, dict[str, Any]]:
    """What every region holds for ``prefix``.

    createdAt/updatedAt are left out: ECR cannot restore them (a replaced rule put back is a new rule), and they
    say nothing about how the registry behaves.
    """
    return {region: region_snapshot(stack, region, prefix) for region in regions}


def assert_as_before(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> None:
    for region, was in before.items():
        assert after[region] == was, f"{region} was not put back as it was"


def assert_rolled_out(stack: EmbeddedStack, prefix: str, token: str, regions: list[str] = ORDER) -> None:
    """Every region holds the desired rule, its own secret with the new credentials, and the template."""
    for region in regions:
        secrets = secret_states(stack, region, prefix)
        secret = secrets[secret_name(prefix)]
        assert json.loads(secret["value"]) == {"username": "e2e-user", "accessToken": token}, region
        assert rule_state(stack, region, prefix) == {
            "registryId": stack.account_id,
            "ecrRepositoryPrefix": prefix,
            "upstreamRegistry": "docker-hub",
            "upstreamRegistryUrl": DOCKER_HUB_URL,
            "upstreamRepositoryPrefix": "ROOT",
            "credentialArn": secret["arn"],
        }, region
        template = template_state(stack, region, prefix)
        assert template is not None, region
        assert template["description"] == TEMPLATE["description"], region
        assert template["imageTagMutability"] == "IMMUTABLE", region
        assert "PULL_THROUGH_CACHE" in template["appliedFor"], region


# -- the state before ----------------------------------------------------------------------------------------------


def make_secret(stack: EmbeddedStack, region: str, name: str, value: dict[str, str]) -> str:
    made = stack.client("secretsmanager", region).create_secret(Name=name, SecretString=json.dumps(value))
    return str(made["ARN"])


def make_rule(
    stack: EmbeddedStack, region: str, prefix: str, credential_arn: str, upstream_prefix: str = "ROOT"
) -> None:
    stack.client("ecr", region).create_pull_through_cache_rule(
        ecrRepositoryPrefix=prefix,
        upstreamRegistry="docker-hub",
        upstreamRegistryUrl=DOCKER_HUB_URL,
        upstreamRepositoryPrefix=upstream_prefix,
        credentialArn=credential_arn,
    )


def make_template(stack: EmbeddedStack, region: str, prefix: str, description: str, applied_for: list[str]) -> None:
    stack.client("ecr", region).create_repository_creation_template(
        prefix=prefix, description=description, appliedFor=applied_for, imageTagMutability="MUTABLE"
    )


def seed_existing_state(stack: EmbeddedStack, prefix: str) -> None:
    """A different "before" in three of the five regions, so that "as it was" means more than "nothing".

    ORDER[1]: our secret with older credentials and the rule we want (rollout: secret updated, rule unchanged).
    ORDER[2]: a hand-made rule on another secret and a hand-made template (rule and template updated, secret created).
    ORDER[4]: our secret with older credentials, a rule with another upstream prefix (replaced: delete + create),
              and a template for replication only (gains PULL_THROUGH_CACHE).
    ORDER[0] and ORDER[3] hold nothing (everything created).
    """
    second, middle, last = ORDER[1], ORDER[2], ORDER[4]
    make_rule(stack, second, prefix, make_secret(stack, second, secret_name(prefix), OLD_CREDENTIALS))
    make_rule(stack, middle, prefix, make_secret(stack, middle, f"{secret_name(prefix)}-legacy", OLD_CREDENTIALS))
    make_template(stack, middle, prefix, "hand-made", ["PULL_THROUGH_CACHE"])
    make_rule(stack, last, prefix, make_secret(stack, last, secret_name(prefix), OLD_CREDENTIALS), "library")
    make_template(stack, last, prefix, "replication only", ["REPLICATION"])


def statuses(view: dict[str, Any]) -> dict[str, str]:
    return {region: entry["status"] for region, entry in view["regions"].items()}


def steps_run_in(step_faults: faults.StepFaults, prefix: str) -> set[str]:
    """The regions in which any rollout step (not Rollback) was invoked for ``prefix``."""
    return {
        call.region
        for call in step_faults.invocations(prefix=prefix)
        if call.function in STEP_FUNCTIONS and call.region is not None
    }


# -- the fault matrix ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("step", "position", "kind"), CASES, ids=["-".join(case) for case in CASES])
def test_fault_matrix(
    stack: EmbeddedStack,
    api: ApiCall,
    wait_rollout: WaitRollout,
    step_faults: faults.StepFaults,
    step: str,
    position: str,
    kind: str,
) -> None:
    case = f"{step}-{position}-{kind}"
    MATRIX[case] = "failed"
    prefix = f"mx-{step.lower()}-{position}-{kind[0]}"
    token = f"token-{case}"
    index = POSITIONS[position]
    failing = ORDER[index]
    transient, permanent = STEP_ERRORS[step]
    error_type = transient if kind == "transient" else permanent

    # Given: three regions already hold something for the prefix, and the step will fail once in one region
    seed_existing_state(stack, prefix)
    before = snapshot(stack, prefix)
    step_faults.inject(f"{step}Function", failing, error_type=error_type, times=1, prefix=prefix)

    # When: the rule is rolled out to the five regions, one after the other
    finished = wait_rollout(start(api, sequential_request(prefix, token=token)))

    # Then
    attempts = step_faults.invocations(f"{step}Function", region=failing, prefix=prefix)
    if kind == "transient":
        # ...the state machine retried the step, and every region ends with the desired rule
        assert [call.injected for call in attempts] == [error_type, None]
        assert finished["status"] == "SUCCEEDED", finished
        assert statuses(finished) == dict.fromkeys(ORDER, "SUCCEEDED")
        assert_rolled_out(stack, prefix, token)
        template = template_state(stack, ORDER[4], prefix)
        assert template is not None and template["appliedFor"] == ["PULL_THROUGH_CACHE", "REPLICATION"]
    else:
        # ...the step was not retried, later regions never started, and every region is exactly as before
        assert [call.injected for call in attempts] == [error_type]
        assert finished["status"] == "ROLLED_BACK", finished
        assert statuses(finished) == {
            **dict.fromkeys(ORDER[: index + 1], "ROLLED_BACK"),
            **dict.fromkeys(ORDER[index + 1 :], "SKIPPED"),
        }
        failed = finished["regions"][failing]
        assert failed["step"] == step
        assert failed["error"]["type"] == error_type
        assert "injected" in failed["error"]["message"]
        assert steps_run_in(step_faults, prefix) == set(ORDER[: index + 1])
        assert_as_before(before, snapshot(stack, prefix))
        assert api("GET", f"/rules/{prefix}")[0] == 404  # no desired rule before, none after
    MATRIX[case] = "passed"


# -- updates, skipped regions, failure tolerance --------------------------------------------------------------------


def test_an_updated_rule_gets_its_old_credential_back_when_another_region_fails(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout, step_faults: faults.StepFaults
) -> None:
    prefix = "upd-rollback"
    updated, failing = ORDER[0], ORDER[1]
    # Given: a rule for the prefix, same upstream URL, on a hand-made secret in the first region
    legacy_arn = make_secret(stack, updated, f"{secret_name(prefix)}-legacy", OLD_CREDENTIALS)
    make_rule(stack, updated, prefix, legacy_arn)
    before = snapshot(stack, prefix, ORDER[:2])
    step_faults.inject("ApplyTemplateFunction", failing, error_type="TemplateRejected", prefix=prefix)
    ecr_extension.reset_calls()

    # When: the rollout updates it in place, then fails for good in the second region
    body = rule_request(prefix, token="t-upd", regions=ORDER[:2], order=ORDER[:2], max_concurrency=1)
    rollout_id = start(api, body)
    finished = wait_rollout(rollout_id)

    # Then: the rule was updated in place (no delete, no create), forth and back, and is on its old credential
    assert finished["status"] == "ROLLED_BACK", finished
    calls = ecr_extension.calls()
    assert calls.get((updated, "UpdatePullThroughCacheRule")) == 2
    assert not calls.get((updated, "CreatePullThroughCacheRule")) and not calls.get(
        (updated, "DeletePullThroughCacheRule")
    )
    rule = rule_state(stack, updated, prefix)
    assert rule is not None and rule["credentialArn"] == legacy_arn
    assert_as_before(before, snapshot(stack, prefix, ORDER[:2]))


def test_a_third_region_failing_validation_rolls_back_and_never_touches_the_last_two(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout, step_faults: faults.StepFaults
) -> None:
    prefix = "third-of-five"
    # Given: existing state in three regions, and ECR itself reporting the rule invalid in the third region
    seed_existing_state(stack, prefix)
    before = snapshot(stack, prefix)
    ecr_extension.fail_validation(prefix, "Authentication failed: bad upstream credentials", region=ORDER[2])
    ecr_extension.reset_calls()

    # When
    finished = wait_rollout(start(api, sequential_request(prefix, token="t-third")))
    ecr_calls = ecr_extension.calls()  # before this test's own reads below

    # Then: ROLLED_BACK, ECR's own failure text reported, all five regions as they were
    assert finished["status"] == "ROLLED_BACK", finished
    assert statuses(finished) == {
        ORDER[0]: "ROLLED_BACK",
        ORDER[1]: "ROLLED_BACK",
        ORDER[2]: "ROLLED_BACK",
        ORDER[3]: "SKIPPED",
        ORDER[4]: "SKIPPED",
    }
    third = finished["regions"][ORDER[2]]
    assert (third["step"], third["error"]["type"]) == ("ValidateRule", "RuleValidationFailed")
    assert "Authentication failed: bad upstream credentials" in third["error"]["message"]
    assert_as_before(before, snapshot(stack, prefix))
    # ...and regions 4 and 5 were never touched: no step ran there, ECR saw no call there
    assert steps_run_in(step_faults, prefix) == set(ORDER[:3])
    touched = {region for region, _ in ecr_calls}
    assert touched == set(ORDER[:3]), ecr_calls


def test_one_failure_within_tolerance_fails_the_rollout_without_rolling_back(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout, step_faults: faults.StepFaults
) -> None:
    prefix = "tolerate-one"
    regions = ORDER[:4]
    failing = regions[1]
    # Given: a failure tolerance of 1, and CreateRule failing for good in one region
    step_faults.inject("CreateRuleFunction", failing, error_type="RuleLimitExceeded", prefix=prefix)

    # When: all four regions at once
    finished = wait_rollout(start(api, rule_request(prefix, token="t-tol1", regions=regions, failure_tolerance=1)))

    # Then: FAILED (not rolled back): the other regions keep the rule, the failed one reports why
    assert finished["status"] == "FAILED", finished
    assert statuses(finished) == {**dict.fromkeys(regions, "SUCCEEDED"), failing: "FAILED"}
    assert finished["regions"][failing]["error"]["type"] == "RuleLimitExceeded"
    assert_rolled_out(stack, prefix, "t-tol1", [r for r in regions if r != failing])
    assert rule_state(stack, failing, prefix) is None
    status, rule = api("GET", f"/rules/{prefix}")
    assert status == 200 and rule["lastRolloutStatus"] == "FAILED"


def test_two_failures_past_a_tolerance_of_one_roll_everything_back(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout, step_faults: faults.StepFaults
) -> None:
    prefix = "tolerate-two"
    regions = ORDER[:4]
    # Given: existing state in some regions, a failure tolerance of 1, and two regions failing for good
    seed_existing_state(stack, prefix)
    before = snapshot(stack, prefix, regions)
    step_faults.inject("CreateRuleFunction", regions[1], error_type="RuleLimitExceeded", prefix=prefix)
    step_faults.inject("ValidateRuleFunction", regions[3], error_type="RuleValidationFailed", prefix=prefix)

    # When
    finished = wait_rollout(start(api, rule_request(prefix, token="t-tol2", regions=regions, failure_tolerance=1)))

    # Then
    assert finished["status"] == "ROLLED_BACK", finished
    assert statuses(finished) == dict.fromkeys(regions, "ROLLED_BACK")
    assert_as_before(before, snapshot(stack, prefix, regions))


# -- one rollout per prefix ----------------------------------------------------------------------------------------


def execution_names(stack: EmbeddedStack) -> set[str]:
    sfn = stack.client("stepfunctions")
    names: set[str] = set()
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=stack.state_machine_arn):
        names.update(execution["name"] for execution in page["executions"])
    return names


def post_retrying_resets(base: str, body: dict[str, Any], attempts: int = 5) -> tuple[int, Any]:
    """POST /rules, sent again when the connection is reset before an answer (as an HTTP client would).

    The local API's listen backlog is socketserver's default of 5: 20 connections at once overflow it and some
    are reset before the server reads them. Sending again is safe here: a request that did reach the server gets
    the same rollout back (202) or 409 naming it.
    """
    for attempt in range(attempts):
        try:
            return call_api(base, "POST", "/rules", body)
        except (ConnectionResetError, urllib.error.URLError):
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


@pytest.mark.parametrize("bodies", ["identical", "distinct"])
def test_twenty_concurrent_posts_for_one_prefix_start_one_execution(
    stack: EmbeddedStack, wait_rollout: WaitRollout, step_faults: faults.StepFaults, bodies: str
) -> None:
    prefix = f"race-{bodies}"
    regions = ORDER[:2]
    # Given: 20 requests for one prefix: the same credential-free body (by secret ARN), or 20 different credentials
    if bodies == "identical":
        arn = source_secret(stack, prefix, {"username": "e2e-user", "accessToken": "t-race"})
        shared = {"upstreamRegistry": "docker-hub", "ecrRepositoryPrefix": prefix, "credentialSecretArn": arn}
        requests = [{**shared, "regions": regions} for _ in range(20)]
    else:
        requests = [rule_request(prefix, token=f"t-race-{n}", regions=regions) for n in range(20)]
    # ...and a rollout that, once started, stays RUNNING until every request is answered
    paused = step_faults.hold("StoreSecretFunction", prefix=prefix)
    existing = execution_names(stack)
    barrier = threading.Barrier(len(requests))
    answers: list[tuple[int, Any]] = [(0, None)] * len(requests)

    def post(n: int) -> None:
        barrier.wait(timeout=30)
        answers[n] = post_retrying_resets(stack.api_url, requests[n])

    # When: they all arrive at once
    threads = [threading.Thread(target=post, args=(n,)) for n in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    started = execution_names(stack) - existing
    paused.release()

    # Then: exactly one execution started; every answer names it (202: it started or is the same request; 409: busy)
    assert len(started) == 1, f"{len(started)} executions for one prefix: {sorted(started)}; answers: {answers}"
    (winner,) = started
    codes = sorted(status for status, _ in answers)
    assert set(codes) <= {202, 409}, answers
    assert all(body["rolloutId"] == winner for _, body in answers), answers
    if bodies == "distinct":
        assert codes.count(202) == 1, codes
    assert wait_rollout(winner)["status"] == "SUCCEEDED"


# -- DELETE /rules/{prefix} ------------------------------------------------------------------------------------------


def rolled_out_rule(api: ApiCall, wait_rollout: WaitRollout, prefix: str, regions: list[str]) -> None:
    """Given: the prefix's rule rolled out to ``regions``."""
    finished = wait_rollout(start(api, rule_request(prefix, token=f"t-{prefix}", regions=regions)))
    assert finished["status"] == "SUCCEEDED", finished


def test_delete_removes_rule_template_and_secret_everywhere(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout
) -> None:
    prefix = "del-all"
    regions = ORDER[:3]
    rolled_out_rule(api, wait_rollout, prefix, regions)

    # When
    status, started = api("DELETE", f"/rules/{prefix}")
    assert status == 202, started
    finished = wait_rollout(started["rolloutId"])

    # Then: nothing left in any region (the secret is scheduled for deletion, recoverable), no desired rule
    assert finished["status"] == "SUCCEEDED", finished
    for region in regions:
        assert rule_state(stack, region, prefix) is None, region
        assert template_state(stack, region, prefix) is None, region
        secrets = secret_states(stack, region, prefix)
        assert secrets[secret_name(prefix)]["pendingDeletion"] is True, region
    assert api("GET", f"/rules/{prefix}")[0] == 404


def test_a_delete_that_fails_in_one_region_restores_every_region(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout, step_faults: faults.StepFaults
) -> None:
    prefix = "del-fail"
    regions = ORDER[:3]
    rolled_out_rule(api, wait_rollout, prefix, regions)
    before = snapshot(stack, prefix, regions)
    step_faults.inject("RemoveRuleFunction", regions[1], error_type="AwsRequestRejected", prefix=prefix)

    # When
    status, started = api("DELETE", f"/rules/{prefix}")
    assert status == 202, started
    finished = wait_rollout(started["rolloutId"])

    # Then: ROLLED_BACK, every region holds rule, template and secret (same version) again; the rule is still desired
    assert finished["status"] == "ROLLED_BACK", finished
    assert finished["regions"][regions[1]]["error"]["type"] == "AwsRequestRejected"
    assert_as_before(before, snapshot(stack, prefix, regions))
    assert api("GET", f"/rules/{prefix}")[0] == 200


def test_a_delete_that_fails_halfway_through_a_region_restores_that_region_too(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout
) -> None:
    prefix = "del-halfway"
    regions = ORDER[:3]
    rolled_out_rule(api, wait_rollout, prefix, regions)
    before = snapshot(stack, prefix, regions)
    # Given: in one region ECR refuses to delete the rule, after RemoveRule has already removed the template
    ecr_extension.inject("DeletePullThroughCacheRule", "InvalidParameterException", region=regions[1], prefix=prefix)

    # When
    status, started = api("DELETE", f"/rules/{prefix}")
    assert status == 202, started
    finished = wait_rollout(started["rolloutId"])

    # Then
    assert finished["status"] == "ROLLED_BACK", finished
    assert_as_before(before, snapshot(stack, prefix, regions))


REPOSITORY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "pull", "Effect": "Allow", "Principal": "*", "Action": ["ecr:BatchGetImage"]}],
}


def test_a_template_update_ecr_refuses_leaves_the_old_template(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout
) -> None:
    prefix = "tpl-halfway"
    region = ORDER[0]
    # Given: a template with a field ours lacks (a repository policy), so ApplyTemplate must clear it with its
    # update, and ECR refusing the update
    stack.client("ecr", region).create_repository_creation_template(
        prefix=prefix,
        description="with a policy",
        appliedFor=["PULL_THROUGH_CACHE"],
        repositoryPolicy=json.dumps(REPOSITORY_POLICY),
    )
    before = snapshot(stack, prefix, [region])
    ecr_extension.inject("UpdateRepositoryCreationTemplate", "InvalidParameterException", region=region, prefix=prefix)

    # When
    finished = wait_rollout(start(api, rule_request(prefix, token="t-tpl", regions=[region])))

    # Then
    assert finished["status"] == "ROLLED_BACK", finished
    assert finished["regions"][region]["error"]["type"] == "TemplateRejected"
    assert_as_before(before, snapshot(stack, prefix, [region]))


TEMPLATE_FIELDS = (  # what UpdateRepositoryCreationTemplate takes besides prefix
    "description",
    "encryptionConfiguration",
    "resourceTags",
    "imageTagMutability",
    "repositoryPolicy",
    "lifecyclePolicy",
    "appliedFor",
    "customRoleArn",
)


def test_a_delete_keeps_a_template_that_also_serves_replication_as_it_was(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout
) -> None:
    prefix = "del-shared"
    region = ORDER[0]
    # Given: the rule rolled out with a template that sets every policy ECR makes its author hold, and a role...
    body = rule_request(prefix, token="t-del-shared", regions=[region])
    body["creationTemplate"] = {
        **TEMPLATE,
        "repositoryPolicy": json.dumps(REPOSITORY_POLICY),
        "customRoleArn": f"arn:aws:iam::{stack.account_id}:role/ecr-template-role",
    }
    assert wait_rollout(start(api, body))["status"] == "SUCCEEDED"
    # ...and someone also uses that template for replication
    shared = template_state(stack, region, prefix)
    assert shared is not None
    shared["appliedFor"] = ["PULL_THROUGH_CACHE", "REPLICATION"]
    stack.client("ecr", region).update_repository_creation_template(
        prefix=prefix, **{key: shared[key] for key in TEMPLATE_FIELDS if key in shared}
    )

    # When
    status, started = api("DELETE", f"/rules/{prefix}")
    assert status == 202, started
    finished = wait_rollout(started["rolloutId"])

    # Then: RemoveRule updated the template (it held what ECR asks of a template's author: CreateRepository,
    # PutLifecyclePolicy, SetRepositoryPolicy, PassRole to ECR), which now serves replication only, all else kept
    assert [d for d in stack.iam_denials if "RemoveRuleFunction" in d] == []
    assert finished["status"] == "SUCCEEDED", finished
    assert template_state(stack, region, prefix) == {**shared, "appliedFor": ["REPLICATION"]}
    assert rule_state(stack, region, prefix) is None


# -- a rollback that fails ---------------------------------------------------------------------------------------------


def rollback_attempts(error_type: str) -> int:
    """How many times the state machine calls Rollback for a region whose rollback keeps failing with ``error_type``."""
    states = json.loads(ASL.read_text())["States"]
    retriers = states["RollbackRegions"]["ItemProcessor"]["States"]["Rollback"]["Retry"]
    for retrier in retriers:
        if error_type in retrier["ErrorEquals"] or "States.ALL" in retrier["ErrorEquals"]:
            return 1 + int(retrier.get("MaxAttempts", 3))
    return 1


def test_a_rollback_that_fails_is_reported_per_region_and_the_rollout_does_not_succeed(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout, step_faults: faults.StepFaults
) -> None:
    prefix = "rollback-fails"
    regions = ORDER[:3]
    stuck, failing = regions[0], regions[2]
    # Given: the third region fails for good, and rolling the first region back keeps failing past every retry
    attempts = rollback_attempts("SecretAccessDenied")
    step_faults.inject("ValidateRuleFunction", failing, error_type="RuleValidationFailed", prefix=prefix)
    step_faults.inject(
        "RollbackFunction",
        stuck,
        error_type="SecretAccessDenied",
        times=attempts,
        message="not allowed to restore the secret",
        prefix=prefix,
    )

    # When
    body = rule_request(prefix, token="t-rbf", regions=regions, order=regions, max_concurrency=1)
    finished = wait_rollout(start(api, body))

    # Then: not SUCCEEDED (nor ROLLED_BACK: a region could not be put back), the region says why
    assert finished["status"] == "FAILED", finished
    assert statuses(finished) == {stuck: "ROLLBACK_FAILED", regions[1]: "ROLLED_BACK", failing: "ROLLED_BACK"}
    reason = finished["regions"][stuck]["rollbackError"]
    assert reason == {"type": "SecretAccessDenied", "message": "not allowed to restore the secret"}
    assert len(step_faults.invocations("RollbackFunction", region=stuck, prefix=prefix)) == attempts
    assert step_faults.pending() == []
    assert rule_state(stack, stuck, prefix) is not None  # left for a human, as reported
    assert rule_state(stack, regions[1], prefix) is None


# -- the matrix, summed up ---------------------------------------------------------------------------------------------


def test_fault_matrix_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints the matrix's size and result (also with -q); runs last in this module."""
    if len(MATRIX) != len(CASES):
        pytest.skip(f"only {len(MATRIX)} of {len(CASES)} matrix cases ran")
    failed = sorted(case for case, outcome in MATRIX.items() if outcome != "passed")
    line = (
        f"fault matrix: {len(CASES)} cases = {len(STEP_ERRORS)} steps x {len(POSITIONS)} positions "
        f"(first/middle/last of 5 regions) x {len(KINDS)} kinds (transient/permanent): "
        f"{len(CASES) - len(failed)} passed, {len(failed)} failed"
    )
    with capsys.disabled():
        print(f"\n{line}" + (f": {', '.join(failed)}" if failed else ""))
    assert not failed, line
