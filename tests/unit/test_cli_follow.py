"""``--wait`` polling: transient failures are retried, a final status ends it, --timeout gives up (exit 1)."""

from __future__ import annotations

from typing import Any

import pytest

from pullthrough_cli.client import POLL_ATTEMPTS, Api, follow
from pullthrough_cli.errors import ROLLOUT_DID_NOT_SUCCEED, ApiError, CliError


class ScriptedApi(Api):
    """GET /rollouts/{id} answers from a script: a view, or an exception to raise (no network)."""

    def __init__(self, script: list[Any]) -> None:
        super().__init__("http://127.0.0.1:1")
        self.script = list(script)
        self.calls = 0

    def rollout(self, rollout_id: str) -> dict[str, Any]:
        self.calls += 1
        answer = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(answer, Exception):
            raise answer
        return dict(answer)


RUNNING = {"status": "RUNNING"}
DONE = {"status": "SUCCEEDED"}


def test_views_until_the_rollout_ends_through_transient_failures() -> None:
    api = ScriptedApi([RUNNING, ApiError(503, {"message": "busy"}), CliError("cannot reach"), RUNNING, DONE])
    assert [view["status"] for view in follow(api, "r-1", sleep=lambda _: None)] == ["RUNNING", "RUNNING", "SUCCEEDED"]
    assert api.calls == 5


def test_a_client_error_is_not_retried() -> None:
    api = ScriptedApi([ApiError(404, {"message": "no rollout"})])
    with pytest.raises(ApiError):
        list(follow(api, "r-1", sleep=lambda _: None))
    assert api.calls == 1


def test_too_many_failures_in_a_row_give_up() -> None:
    api = ScriptedApi([CliError("cannot reach")])
    with pytest.raises(CliError, match="cannot reach"):
        list(follow(api, "r-1", sleep=lambda _: None))
    assert api.calls == POLL_ATTEMPTS


def test_the_timeout_ends_waiting_with_exit_1_and_says_the_rollout_goes_on() -> None:
    api = ScriptedApi([RUNNING])
    with pytest.raises(CliError) as waited:
        list(follow(api, "r-1", interval=0.01, timeout=0.05))
    assert waited.value.exit_code == ROLLOUT_DID_NOT_SUCCEED and "pullthrough status r-1 --wait" in waited.value.message
