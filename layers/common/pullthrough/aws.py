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

# Worst case 2 attempts x (3 s + 10 s) stays inside the functions' 30 s timeout; the state machine retries more.
_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 2},
    connect_timeout=3,
    read_timeout=10,
    user_agent_extra="pullthrough",
)
_lock = threading.Lock()
_clients: dict[tuple[str, str], Any] = {}
_session: boto3.session.Session | None = None

#: Called with each new session before its first client is made. Empty on Lambda; the embedded stack registers
#: its IAM check here (a botocore event handler that checks each call against the calling function's policies).
session_hooks: list[Callable[[boto3.session.Session], None]] = []


def client(service: str, region: str) -> Any:
    """A cached client of ``service`` in ``region`` (boto3 sessions are not thread-safe: one lock guards creation)."""
    key = (service, region)
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
            _clients[key] = _session.client(service, region_name=region, config=_CONFIG)  # type: ignore[call-overload]
        return _clients[key]


def reset() -> None:
    """Forget cached clients and session (tests, and the local stack after changing endpoints)."""
    global _session
    with _lock:
        _clients.clear()
        _session = None
