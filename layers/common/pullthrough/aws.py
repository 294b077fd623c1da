"""boto3 clients per (service, region), cached for warm invocations and safe to create from many threads.

Endpoints follow boto3's own settings (AWS_ENDPOINT_URL...), which is how the local stack points the very same
code at the emulator.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

# A hung call must end as an SDK error (AwsTransientError: the state machine retries it, the API answers 503) well
# before the function's own timeout. Worst case 2 attempts x (2 s connect + 4 s read) + one backoff (at most 1 s, plus
# 5 s when AWS sends Retry-After) = 18 s, with 10 s to spare in a 29-30 s function: tests/contract/test_sdk_timeouts.py.
# total_max_attempts counts the first attempt; the older "max_attempts" counts retries only (2 there means 3 attempts).
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 2},
    connect_timeout=2,
    read_timeout=4,
    user_agent_extra="pullthrough",
)
_lock = threading.Lock()
_clients: dict[tuple[str, str, bool], Any] = {}
# Calls a read-only client lets through: reads, and ECR's ValidatePullThroughCacheRule (it changes nothing).
READ_PREFIXES = ("Describe", "Get", "List", "BatchGet", "Validate")


class WriteRefused(Exception):
    """A read-only (plan) client was asked to change something; the call was never sent."""


def _refuse_writes(model: Any, **_: Any) -> None:
    if not model.name.startswith(READ_PREFIXES):
        raise WriteRefused(f"{model.service_model.service_name}:{model.name} refused: a plan writes nothing")


_session: boto3.session.Session | None = None

#: Called with each new session before its first client is made. Empty on Lambda; the embedded stack registers
#: its IAM check here (a botocore event handler that checks each call against the calling function's policies).
session_hooks: list[Callable[[boto3.session.Session], None]] = []


def client(service: str, region: str, *, read_only: bool = False) -> Any:
    """A cached client of ``service`` in ``region`` (boto3 sessions are not thread-safe: one lock guards creation).

    ``read_only``: a separate client that raises WriteRefused before sending any call but a read.
    """
    key = (service, region, read_only)
    found = _clients.get(key)
    if found is not None:
        return found
    global _session
    with _lock:
        if key not in _clients:
            if _session is None:
                _session = boto3.session.Session()
                for hook in list(session_hooks):
                    hook(_session)
            made = _session.client(service, region_name=region, config=CLIENT_CONFIG)  # type: ignore[call-overload]
            if read_only:
                made.meta.events.register("before-call", _refuse_writes)
            _clients[key] = made
        return _clients[key]


def reset() -> None:
    """Forget cached clients and session (tests, and the local stack after changing endpoints)."""
    global _session
    with _lock:
        _clients.clear()
        _session = None
