"""Joining the rollout that an identical request, sent at the same moment, has just started."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pullthrough.adapters.store import PrefixBusy
from pullthrough.exceptions import InvalidRequest

JOIN_WAIT_SECONDS = 10.0  # the holder records its rollout within a second of taking the lock
_POLL_SECONDS = 0.1


def join_running(
    busy: PrefixBusy, request: tuple[str, str] | None, view: Callable[[str], dict[str, Any] | None]
) -> dict[str, Any] | None:
    """The rollout the lock's holder started for the same request (``request``: idempotency key, body hash), as
    ``view`` shows it once recorded; None when the lock was taken for another request or its rollout never appeared.

    Raises InvalidRequest when the same Idempotency-Key holds the lock for another body.
    """
    if request is None or busy.request is None or busy.request[0] != request[0]:
        return None
    if busy.request[1] != request[1]:
        raise InvalidRequest("was used for a different request", field="Idempotency-Key")
    deadline = time.monotonic() + JOIN_WAIT_SECONDS
    while (shown := view(busy.rollout_id)) is None and time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS)
    return shown
