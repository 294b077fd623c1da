"""RecoverRollout: no rollout stays RUNNING with its prefix locked.

Two callers: the state machine's CloseRollout step (FinishRollout failed for good: record FAILED, emit, release),
and an EventBridge rule on Step Functions "Execution Status Change" (FAILED, TIMED_OUT, ABORTED): a rollout whose
execution ended without finishing gets a recovery execution that restores every region and finishes it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from pullthrough.models import parse_model
from pullthrough.observability import logger
from pullthrough.rollouts.close import close
from pullthrough.rollouts.recover import recover
from pullthrough.wiring import rollouts_from_env


class CloseInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    rolloutId: Annotated[str, Field(min_length=1, max_length=80)]
    prefix: Annotated[str, Field(min_length=1, max_length=256)]
    error: dict[str, Any] = {}


class ExecutionEnded(BaseModel):
    """The ``detail`` of a Step Functions "Execution Status Change" event (the fields used here)."""

    model_config = ConfigDict(extra="ignore")

    name: Annotated[str, Field(min_length=1, max_length=80)]
    status: str
    cause: str | None = None
    error: str | None = None


@logger.inject_lambda_context(log_event=False, clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    deps = rollouts_from_env()
    if isinstance(event, dict) and event.get("source") == "aws.states":
        ended = parse_model(ExecutionEnded, event.get("detail"), what="detail")
        logger.append_keys(execution=ended.name)
        reason = " ".join(part for part in (ended.error, ended.cause) if part) or None
        outcome = recover(deps, ended.name, ended.status, reason)
    else:
        closing = parse_model(CloseInput, event, what="CloseRollout input")
        logger.append_keys(rolloutId=closing.rolloutId, prefix=closing.prefix)
        outcome = close(deps, closing.rolloutId, closing.prefix, closing.error)
    logger.info("recovery", extra=outcome)
    return outcome
