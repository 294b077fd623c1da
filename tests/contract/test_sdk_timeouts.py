"""Every SDK call gives up well before its function's Lambda timeout.

The rule: the worst case of ONE call, attempts x (connect + read timeout) + the backoff before each retry, plus
HEADROOM_S for the rest of the invocation (a cold start, the step's other calls at normal latency), fits in every
function's Timeout. Then a hung call ends as an SDK error (AwsTransientError: the state machine retries it, the API
answers 503) instead of a Lambda timeout that says nothing about which call hung.

Not multiplied by the number of calls a step makes: two hung calls in one invocation are rare and end in a Lambda
timeout, which every step's Retry covers too (Sandbox.Timedout, States.Timeout); sizing for N hung calls would cut
each call's timeout below normal AWS latency.

Backoff, botocore's standard mode: before retry i (0-based) at most min(base x 2^i, max backoff), base 1 s for
throttling (more than for any other error), plus up to 5 s more when the response carries x-amz-retry-after.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.retries.standard import ExponentialBackoff

from pullthrough import aws

# The rest of an invocation: a cold start (about 2 s, FACTS.md) and the step's other calls (well under 1 s each).
HEADROOM_S = 10.0
# botocore's own bounds (private names: if they move, this test says so rather than guessing). Throttling's base
# scale is the largest.
THROTTLING_BASE_S = float(ExponentialBackoff._DEFAULT_BACKOFF_CONFIG["throttling_base_scale"])  # type: ignore[attr-defined]
MAX_BACKOFF_S = float(ExponentialBackoff._MAX_BACKOFF)  # type: ignore[attr-defined]
RETRY_AFTER_EXTRA_S = float(ExponentialBackoff._RETRY_AFTER_MAX_ADDITIONAL)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def timeouts(template: dict[str, Any]) -> dict[str, int]:
    """Each function's Timeout in seconds (its own, else Globals')."""
    default = template["Globals"]["Function"]["Timeout"]
    return {
        name: int((resource.get("Properties") or {}).get("Timeout", default))
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def worst_case_of_one_call(config: Any) -> float:
    """Seconds a single SDK call can take before it raises, with this resolved client config."""
    assert config.retries["mode"] == "standard", "the backoff bound below is standard mode's"
    attempts = int(config.retries["total_max_attempts"])
    backoffs = sum(min(THROTTLING_BASE_S * 2**i, MAX_BACKOFF_S) + RETRY_AFTER_EXTRA_S for i in range(attempts - 1))
    return attempts * (float(config.connect_timeout) + float(config.read_timeout)) + backoffs


@pytest.fixture
def fresh_clients() -> Iterator[None]:
    aws.reset()
    yield
    aws.reset()


def test_one_hung_sdk_call_ends_well_inside_every_functions_timeout(
    timeouts: dict[str, int], fresh_clients: None
) -> None:
    assert timeouts
    for service in ("ecr", "secretsmanager", "dynamodb", "stepfunctions", "events"):
        config = aws.client(service, "eu-west-1").meta.config  # what botocore resolved, not what we meant
        worst = worst_case_of_one_call(config)
        for function, timeout in timeouts.items():
            assert worst + HEADROOM_S <= timeout, (
                f"{function} (Timeout {timeout} s): one {service} call can take {worst:.1f} s "
                f"(+{HEADROOM_S:.0f} s headroom); lower the SDK timeouts or attempts in pullthrough/aws.py"
            )


def test_validation_waits_longer_on_the_upstream_and_still_ends_inside_validate_rules_timeout(
    timeouts: dict[str, int], fresh_clients: None
) -> None:
    """ValidatePullThroughCacheRule waits on the upstream registry (ECR asks it), so 4 s cuts off slow but working
    upstreams: its client reads longer, and within ValidateRule's own budget."""
    normal = aws.client("ecr", "eu-west-1").meta.config
    slow = aws.client("ecr", "eu-west-1", slow_reads=True).meta.config
    assert slow.read_timeout >= 3 * normal.read_timeout
    assert worst_case_of_one_call(slow) + HEADROOM_S <= timeouts["ValidateRuleFunction"]
