"""FinishRollout: decide whether the rollout must roll back; else record its status, the desired rule and where it
is deployed, emit "Pull Through Cache Rollout Finished" and release the prefix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pullthrough.exceptions import InvalidRequest
from pullthrough.fields import flag_field, json_object, refuse, text_field
from pullthrough.observability import logger
from pullthrough.rollouts.finish import finish
from pullthrough.wiring import rollouts_from_env


@dataclass(frozen=True, kw_only=True)
class FinishInput:
    rolloutId: str
    prefix: str
    regionResults: list[dict[str, Any]]
    rollbackResults: list[dict[str, Any]]
    mapError: dict[str, Any]
    failureTolerance: int = 0
    afterRollback: bool = False

    @classmethod
    def parse(cls, event: Any) -> FinishInput:
        """The state machine's input to FinishRollout (other keys ignored); InvalidRequest naming a bad field."""
        data = json_object(event, "")

        def results(key: str, required: bool) -> list[dict[str, Any]]:
            value = data.get(key) if required or data.get(key) is not None else []
            if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
                raise refuse(key, "must be a list of JSON objects")
            return value

        tolerance = data.get("failureTolerance", 0)
        if not isinstance(tolerance, int) or isinstance(tolerance, bool) or tolerance < 0:
            raise refuse("failureTolerance", "must be a whole number, 0 or more")
        map_error = data.get("mapError") or {}
        return cls(
            rolloutId=str(text_field(data, "rolloutId", "", required=True)),
            prefix=str(text_field(data, "prefix", "", required=True)),
            regionResults=results("regionResults", required=True),
            rollbackResults=results("rollbackResults", required=False),
            mapError=json_object(map_error, "mapError"),
            failureTolerance=tolerance,
            afterRollback=flag_field(data, "afterRollback"),
        )


@logger.inject_lambda_context(log_event=False, clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        finished = FinishInput.parse(event)
    except InvalidRequest as refused:
        raise InvalidRequest(
            f"invalid FinishRollout input: {refused.message}", field=refused.field, errors=refused.errors
        ) from None
    logger.append_keys(rolloutId=finished.rolloutId, prefix=finished.prefix)
    summary = finish(
        rollouts_from_env(),
        finished.rolloutId,
        finished.prefix,
        finished.regionResults,
        finished.rollbackResults,
        finished.mapError,
        failure_tolerance=finished.failureTolerance,
        after_rollback=finished.afterRollback,
    )
    logger.info("rollout finished", extra={"status": summary.get("status"), "rollback": summary["rollback"]})
    # Only the decision goes back: a task's result counts against Step Functions' 256 KB even when ResultSelector
    # keeps a part of it, and 17,000 targets' results would not fit (the table and the Finished event have them).
    return {"rolloutId": summary["rolloutId"], "status": summary.get("status"), "rollback": summary["rollback"]}
