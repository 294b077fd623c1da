"""Plumbing shared by the step handlers: parse the task, log what changed, return JSON-safe output."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from pullthrough.exceptions import InvalidRequest
from pullthrough.observability import logger
from pullthrough.tasks import Record, RegionTask


def step_handler(
    step: str,
) -> Callable[[Callable[[RegionTask], Record | dict[str, Any]]], Callable[..., Any]]:
    """Make ``fn(task)`` a Lambda handler for the state machine step ``step``.

    The event is parsed into a RegionTask (InvalidRequest naming the field when it does not fit); exceptions
    propagate so Step Functions sees their class name as the error. The event is never logged whole.
    """

    def decorate(fn: Callable[[RegionTask], Record | dict[str, Any]]) -> Callable[..., Any]:
        @functools.wraps(fn)
        @logger.inject_lambda_context(log_event=False, clear_state=True)
        def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            try:
                task = RegionTask.parse(event)
            except InvalidRequest as refused:
                raise InvalidRequest(
                    f"invalid {step} input: {refused.message}", field=refused.field, errors=refused.errors
                ) from None
            # Thread-local keys: the local stack runs Map iterations as threads of one process.
            logger.thread_safe_clear_keys()
            logger.thread_safe_append_keys(step=step, region=task.region, rolloutId=task.rolloutId, prefix=task.prefix)
            try:
                result = fn(task)
            except Exception as failure:
                # The whole trace goes to the log; Step Functions gets the error without it (Lambda would put the
                # trace in the Cause, ~2 KB a failed region, and the Map's results must stay well under 256 KB).
                logger.warning("step failed", exc_info=True)
                raise failure.with_traceback(None) from None
            output = result.to_json() if isinstance(result, Record) else result
            logger.info("step done", extra={"action": output.get("action", "done")})
            return output

        return handler

    return decorate
