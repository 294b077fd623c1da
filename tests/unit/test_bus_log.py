"""make local's one line per event: a Finished event counts its targets and names each failure; only a Drift
Detected event has drift."""

from __future__ import annotations

from local import bus_log

FINISHED = {
    "detail-type": "Pull Through Cache Rollout Finished",
    "detail": {
        "rolloutId": "r-1",
        "prefix": "quay",
        "status": "ROLLED_BACK",
        "targets": [
            {"account": "123456789012", "region": "us-east-1", "status": "ROLLED_BACK", "error": None},
            {
                "account": "123456789012",
                "region": "eu-west-1",
                "status": "ROLLED_BACK",
                "error": {"type": "RuleValidationFailed", "message": "upstream said no"},
            },
        ],
        "targetCounts": {"ROLLED_BACK": 2},
    },
}


def test_a_finished_rollout_is_not_labelled_drift_and_names_its_failures() -> None:
    line = bus_log.line(FINISHED)
    assert "drift=" not in line
    assert "status=ROLLED_BACK" in line and "targets=2 ROLLED_BACK" in line
    assert "123456789012 eu-west-1: RuleValidationFailed: upstream said no" in line
