"""RuleRequested: start a rollout from a "Pull Through Cache Rule Requested" event on EventBridge.

Credentials come only by ``credentialSecretArn``. An event that carries them inline is refused and reported
(an event naming the offending field, never its value); it is not retried, so no copy lands in a dead-letter queue.
The caller's ``requestId`` comes back in the answer: "Rollout Started" or "Rule Rejected".
"""

from __future__ import annotations

from typing import Any

from pullthrough import exceptions as ex
from pullthrough.adapters.store import PrefixBusy
from pullthrough.bus_requests import take_request_id
from pullthrough.models import RuleRequest, parse_model
from pullthrough.observability import logger
from pullthrough.rollouts.deps import ROLLOUT_STARTED, RULE_REQUESTED, Deps
from pullthrough.rollouts.start import start
from pullthrough.wiring import rollouts_from_env

RULE_REJECTED = "Pull Through Cache Rule Rejected"


@logger.inject_lambda_context(log_event=False, clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    detail = event.get("detail") if isinstance(event, dict) else None
    logger.append_keys(eventId=event.get("id") if isinstance(event, dict) else None)
    deps = rollouts_from_env(trigger="event", organization=True)
    request_id: str | None = None
    try:
        if event.get("detail-type") != RULE_REQUESTED:
            raise ex.InvalidRequest(f"detail-type must be {RULE_REQUESTED!r}", field="detail-type")
        request_id, detail = take_request_id(detail)
        logger.append_keys(requestId=request_id)
        if isinstance(detail, dict) and "credentials" in detail:
            raise ex.InvalidRequest(
                "inline credentials are not accepted on EventBridge: store them in Secrets Manager and "
                "give credentialSecretArn",
                field="detail.credentials",
            )
        request = parse_model(RuleRequest, detail, what="detail")
        started = start(deps, request, request_id=request_id)
    except (ex.InvalidRequest, PrefixBusy) as refused:
        report = {
            "requestId": request_id,
            "eventId": event.get("id"),
            "reason": refused.message,
            "field": refused.field,
            "errors": refused.errors,
            **({"rolloutId": refused.rollout_id} if isinstance(refused, PrefixBusy) else {}),
        }
        logger.warning("rule request refused", extra={"field": refused.field, "reason": refused.message})
        _answer(deps, RULE_REJECTED, report)
        return {"accepted": False, **report}
    logger.info("rollout started", extra={"rolloutId": started["rolloutId"]})
    answer = {"requestId": request_id, "rolloutId": started["rolloutId"], "prefix": started.get("prefix")}
    _answer(deps, ROLLOUT_STARTED, answer)
    return {"accepted": True, "requestId": request_id, **started}


def _answer(deps: Deps, detail_type: str, detail: dict[str, Any]) -> None:
    """Emit the answer to the request; never raise (a retried event could start the rollout twice, or carry a
    credential into the dead-letter queue). The Finished event still carries the requestId."""
    try:
        if deps.events is not None:
            deps.events.emit(detail_type, detail)
    except ex.PullthroughError:
        logger.exception("could not emit the answer event", extra={"detailType": detail_type})
