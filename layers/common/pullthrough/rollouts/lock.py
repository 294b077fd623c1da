"""The prefix's lock: one rollout (or change) at a time per prefix; a stale holder is taken over."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from pullthrough.adapters.store import PrefixBusy
from pullthrough.rollouts.deps import LOCK_GRACE_SECONDS, Deps

TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


def lock(deps: Deps, prefix: str, rollout_id: str, request: tuple[str, str] | None = None) -> None:
    """Take the prefix's lock for ``rollout_id`` (``request``: the idempotency key and body hash it is taken for, kept
    with it in the same write); raises PrefixBusy naming the rollout that holds it."""
    try:
        deps.store.acquire_lock(prefix, rollout_id, request=request)
    except PrefixBusy as busy:
        # A crashed or finished execution must not keep the prefix locked until the lease runs out. A holder
        # with no execution yet is only stale once its lock is old: its rollout record and execution are
        # written after it takes the lock, so concurrent requests see neither for a moment.
        status = deps.require_executions().status(busy.rollout_id)
        lock_age = time.time() - busy.since if busy.since is not None else float("inf")
        stale = status in TERMINAL or (status is None and lock_age > LOCK_GRACE_SECONDS)
        if not stale or not deps.store.release_lock(prefix, busy.rollout_id):
            raise
        deps.store.acquire_lock(prefix, rollout_id, request=request)


@contextmanager
def holding(deps: Deps, prefix: str) -> Iterator[None]:
    """The prefix's lock for a change made outside any rollout; raises PrefixBusy while a rollout holds it."""
    token = f"change-{uuid.uuid4().hex}"
    lock(deps, prefix, token)
    try:
        yield
    finally:
        deps.store.release_lock(prefix, token)
