"""The state machine's state stays far below Step Functions' 256 KB limit (States.DataLimitExceeded cannot be caught).

Worst case measured: every region of the partition fails (so every region result carries an error record, whose Cause
is Lambda's error payload with its stack trace), with the largest creation template ECR accepts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from local import faults
from local.stack import EmbeddedStack
from pullthrough.regions import ecr_regions
from tests.e2e.conftest import ApiCall, execution_history

pytestmark = pytest.mark.e2e

LIMIT_BYTES = 200 * 1024  # our budget; Step Functions' hard limit is 256 KB


def largest_template() -> dict[str, Any]:
    """A creation template at ECR's limits: lifecycle policy 30,720 characters, repository policy 10,240."""
    rule = {
        "rulePriority": 1,
        "description": "x" * 30_000,
        "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1},
        "action": {"type": "expire"},
    }
    lifecycle = json.dumps({"rules": [rule]})
    rule["description"] = "x" * (30_000 + 30_720 - len(lifecycle))
    lifecycle = json.dumps({"rules": [rule]})
    statement = {"Sid": "s", "Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"}
    policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    statement["Sid"] = "s" * (10_240 - len(policy) + 1)
    policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    assert (len(lifecycle), len(policy)) == (30_720, 10_240)
    return {"description": "d" * 256, "lifecyclePolicy": lifecycle, "repositoryPolicy": policy}


def test_every_region_failing_with_the_largest_template_keeps_the_state_under_200_kb(
    stack: EmbeddedStack,
    api: ApiCall,
    wait_rollout: Callable[..., dict[str, Any]],
    step_faults: faults.StepFaults,
) -> None:
    regions = sorted(ecr_regions("aws"))
    prefix = "size-worst"
    message = "ECR said no: " + "r" * 1000  # a long failure text, as ECR's validation messages can be
    step_faults.inject("CreateRuleFunction", None, error_type="RuleLimitExceeded", times=None, message=message)
    body = {"upstreamRegistry": "quay", "ecrRepositoryPrefix": prefix, "regions": regions}
    status, started = api("POST", "/rules", body | {"creationTemplate": largest_template()})
    assert status == 202, started

    ended = wait_rollout(started["rolloutId"], timeout=300)

    assert ended["status"] == "ROLLED_BACK"
    assert {v["status"] for v in ended["regions"].values()} == {"ROLLED_BACK"}
    execution = stack.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{started['rolloutId']}"
    sizes = []
    for event in execution_history(stack, execution):
        for details in ("stateEnteredEventDetails", "stateExitedEventDetails"):
            data = event.get(details, {}).get("input" if details.startswith("stateEntered") else "output")
            if data:
                sizes.append((len(data.encode()), event[details]["name"]))
    assert sizes, "the history recorded no state data"
    largest = max(sizes)
    print(f"\nlargest state: {largest[0]:,} bytes at {largest[1]} ({len(regions)} regions failing)")
    assert largest[0] < LIMIT_BYTES, largest
