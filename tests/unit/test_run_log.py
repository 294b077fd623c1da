"""make local's step line: which step, where, which rollout, how it ended and how long it took."""

from __future__ import annotations

from local.lambda_runner import Invocation
from local.run_log import step_line


def invocation(name: str, event: dict[str, str], error_type: str | None = None) -> Invocation:
    return Invocation(name, "us-east-1", "req-1", 10.0, 10.25, error_type is not None, error_type, event)


def test_a_step_line_names_the_step_its_target_and_rollout_and_how_it_ended() -> None:
    done = invocation("pullthrough-ValidateRuleFunction", {"rolloutId": "r-1", "region": "eu-west-1"})
    assert step_line(done).split() == ["step", "ValidateRule", "eu-west-1", "r-1", "ok", "250", "ms"]
    failed = invocation(
        "pullthrough-CreateRuleFunction",
        {"rolloutId": "r-1", "account": "111122223333", "region": "eu-west-1"},
        "RuleValidationFailed",
    )
    assert step_line(failed).split()[1:5] == ["CreateRule", "111122223333", "eu-west-1", "r-1"]
    assert "RuleValidationFailed" in step_line(failed)
