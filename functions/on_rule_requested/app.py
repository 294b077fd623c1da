"""RuleRequested: start a rollout from a "Pull Through Cache Rule Requested" event on EventBridge.

Credentials come only by ``credentialSecretArn``. An event that carries them inline is refused and reported
(an event naming the offending field, never its value); it is not retried, so no copy lands in a dead-letter queue.
"""

from __future__ import annotations

from typing import Any

from pullthrough import exceptions as ex
from pullthrough.adapters.store import PrefixBusy
from pullthrough.models import RuleRequest, parse_model
from pullthrough.observability import logger
from pullthrough.rollouts import RULE_REQUESTED
from pullthrough.wiring import rollouts_from_env

RULE_REJECTED = "Pull Through Cache Rule Rejected"


@logger.inject_lambda_context(log_event=False, clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    detail = event.get("detail") if isinstance(event, dict) else None
    logger.append_keys(eventId=event.get("id") if isinstance(event, dict) else None)
    rollouts = rollouts_from_env(trigger="event")
    try:
        if event.get("detail-type") != RULE_REQUESTED:
            raise ex.InvalidRequest(f"detail-type must be {RULE_REQUESTED!r}", field="detail-type")
        if isinstance(detail, dict) and "credentials" in detail:
            raise ex.InvalidRequest(
                "inline credentials are not accepted on EventBridge: store them in Secrets Manager and "
                "give credentialSecretArn",
                field="detail.credentials",
            )
        request = parse_model(RuleRequest, detail, what="detail")
        started = rollouts.start(request)
    except (ex.InvalidRequest, PrefixBusy) as refused:
        report = {
            "eventId": event.get("id"),
            "reason": refused.message,
            "field": refused.field,
            "errors": refused.errors,
            **({"rolloutId": refused.rollout_id} if isinstance(refused, PrefixBusy) else {}),
        }
        logger.warning("rule request refused", extra={"field": refused.field, "reason": refused.message})
        try:
            if rollouts.events is not None:
                rollouts.events.emit(RULE_REJECTED, report)
        except ex.PullthroughError:
            # Never raise on a refusal: a retried or dead-lettered copy of the event could carry a credential.
            logger.exception("could not emit the rejection event")
        return {"accepted": False, **report}
    logger.info("rollout started", extra={"rolloutId": started["rolloutId"]})
    return {"accepted": True, **started}
