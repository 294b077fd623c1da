"""FinishRollout: decide whether the rollout must roll back; else record its status, the desired rule and where it
is deployed, emit "Pull Through Cache Rollout Finished" and release the prefix."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from pullthrough.models import parse_model
from pullthrough.observability import logger
from pullthrough.wiring import rollouts_from_env


class FinishInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    rolloutId: Annotated[str, Field(min_length=1)]
    prefix: Annotated[str, Field(min_length=1)]
    operation: str = "APPLY"
    regionResults: list[dict[str, Any]]
    rollbackResults: list[dict[str, Any]] = []
    mapError: dict[str, Any] = {}
    failureTolerance: Annotated[int, Field(ge=0)] = 0
    afterRollback: bool = False


@logger.inject_lambda_context(log_event=False, clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    finished = parse_model(FinishInput, event, what="FinishRollout input")
    logger.append_keys(rolloutId=finished.rolloutId, prefix=finished.prefix)
    summary = rollouts_from_env().finish(
        finished.rolloutId,
        finished.prefix,
        finished.regionResults,
        finished.rollbackResults,
        finished.mapError,
        failure_tolerance=finished.failureTolerance,
        after_rollback=finished.afterRollback,
    )
    logger.info("rollout finished", extra={"status": summary.get("status"), "rollback": summary["rollback"]})
    return summary
