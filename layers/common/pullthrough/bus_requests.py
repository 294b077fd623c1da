"""What a "Pull Through Cache Rule Requested" event carries besides the rule: the caller's own ``requestId``.

EventBridge callers cannot read an HTTP answer. They choose a requestId; the app echoes it in the events that answer
the request (Rollout Started, Rule Rejected) and in the rollout's Finished event, so the caller can match them.
"""

from __future__ import annotations

from typing import Any

from pullthrough.exceptions import InvalidRequest

REQUEST_ID_FIELD = "requestId"
MAX_REQUEST_ID_LENGTH = 64


def take_request_id(detail: Any) -> tuple[str | None, Any]:
    """Split the caller's requestId off an event's detail: (the requestId or None, the detail without it).

    Raises InvalidRequest naming ``detail.requestId`` unless it is 1 to 64 printable characters (or absent/null).
    """
    if not isinstance(detail, dict) or REQUEST_ID_FIELD not in detail:
        return None, detail
    rest = {key: value for key, value in detail.items() if key != REQUEST_ID_FIELD}
    value = detail[REQUEST_ID_FIELD]
    if value is None:
        return None, rest
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_REQUEST_ID_LENGTH or not value.isprintable():
        raise InvalidRequest(
            f"must be a string of 1 to {MAX_REQUEST_ID_LENGTH} printable characters (no control characters)",
            field=f"detail.{REQUEST_ID_FIELD}",
        )
    return value, rest
