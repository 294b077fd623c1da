"""Start a rollout for a rule request (POST /rules, the EventBridge trigger, drift repair), one step after another:

seen before? -> check (roles, credential secret) and resolve the targets -> lock the prefix -> keep the source
credential -> record the rollout and the desired rule -> launch the execution.
The request is the prefix's whole desired state: regions it no longer names lose the prefix.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from pullthrough.adapters.store import PrefixBusy
from pullthrough.exceptions import InvalidRequest
from pullthrough.expiry import EXPIRY_TAG, requested_expiry
from pullthrough.rollouts.checks import checked_targets
from pullthrough.rollouts.deps import Deps, new_rollout_id
from pullthrough.rollouts.joining import join_running
from pullthrough.rollouts.launch import launch, undo_start
from pullthrough.rollouts.lock import lock
from pullthrough.rollouts.record import record_rollout
from pullthrough.rollouts.source import keep_source_credential
from pullthrough.rollouts.view import view

if TYPE_CHECKING:
    from pullthrough.models import RuleRequest

IDEMPOTENCY_WINDOW_SECONDS = 600


def start(
    deps: Deps,
    request: RuleRequest,
    *,
    idempotency_key: str | None = None,
    request_id: str | None = None,
    rollout_id: str | None = None,
) -> dict[str, Any]:
    """Roll ``request`` out; the rollout as the API shows it.

    A request seen within the idempotency window (same Idempotency-Key, or the same body when it carries no inline
    credential) returns the rollout it started. Raises PrefixBusy naming the running rollout, InvalidRequest naming
    the field at fault (nothing written). ``request_id``: the caller's own id (EventBridge), kept on the rollout and
    echoed in its Finished event. ``rollout_id``: a chosen id instead of a new one.
    """
    key, body_hash = request_fingerprint(request, idempotency_key)
    seen = seen_rollout(deps, key, body_hash, idempotency_key)
    if seen is not None:
        return seen
    accounts = checked_targets(deps, request)
    prefix = request.rule().ecrRepositoryPrefix
    rollout_id = rollout_id or new_rollout_id()
    request_key = (key, body_hash) if key is not None else None
    try:
        lock(deps, prefix, rollout_id, request_key)
    except PrefixBusy as busy:  # an identical request at the same moment: share its rollout
        if (joined := join_running(busy, request_key, lambda running: view(deps, running))) is None:
            raise
        return joined
    source_change = None
    try:
        source_arn, source_change = keep_source_credential(deps, prefix, request)
        desired = desired_of(request, source_arn, accounts)
        recorded = record_rollout(
            deps,
            rollout_id,
            prefix,
            "APPLY",
            desired,
            request.rollout,
            source_change=source_change,
            request_id=request_id,
            adopt=request.adopt,
        )
        started = launch(deps, recorded)
    except BaseException:
        undo_start(deps, prefix, rollout_id, source_change)
        raise
    keep_expiry(deps, prefix, request, source_arn)
    if key is not None:
        deps.store.remember_idempotent(key, rollout_id, body_hash, ttl_seconds=IDEMPOTENCY_WINDOW_SECONDS)
    return started


def keep_expiry(deps: Deps, prefix: str, request: RuleRequest, source_arn: str | None) -> None:
    """A credential expiry the request gives: a tag on the source secret (the truth: pullthrough.expiry), and on the
    rule for GET /rules."""
    said, expires_at = requested_expiry(request)
    if said and source_arn is not None:
        assert deps.home_secrets is not None, "an expiry needs the home-region secret store"
        deps.home_secrets.tag_expiry(source_arn, EXPIRY_TAG, expires_at)
        deps.store.update_rule(prefix, credentialExpiresAt=expires_at)


def desired_of(request: RuleRequest, source_arn: str | None, accounts: list[str]) -> dict[str, Any]:
    """The desired rule item's fields for ``request``: the rule, where it is wanted, its template, its source
    secret (by ARN)."""
    template = request.template()
    return {
        "rule": request.rule().model_dump(exclude_none=True),
        "regions": request.ordered_regions(),
        "accounts": request.accounts,
        "organizationalUnits": request.organizationalUnits,
        "targetAccounts": accounts,
        "retainOnAccountRemoval": request.retainOnAccountRemoval,
        "creationTemplate": template.to_ecr() if template else None,
        "sourceSecretArn": source_arn,
        "smokePull": request.smokePull.model_dump() if request.smokePull else None,
    }


def request_fingerprint(request: RuleRequest, idempotency_key: str | None) -> tuple[str | None, str]:
    """The key under which a request is remembered for the idempotency window (or None), and its body's hash.

    An Idempotency-Key header wins. Otherwise the body counts, but only when it holds no inline credential:
    nothing derived from a credential is ever stored, and a new credential must roll out, not be deduplicated.
    """
    body = request.model_dump(mode="json", exclude={"credentials"})
    body["skipsTemplate"] = request.skips_template
    body["hasInlineCredentials"] = request.credentials is not None
    body_hash = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    if idempotency_key:
        return "key:" + hashlib.sha256(idempotency_key.encode()).hexdigest(), body_hash
    if request.credentials is not None:
        return None, body_hash
    return "body:" + body_hash, body_hash


def seen_rollout(deps: Deps, key: str | None, body_hash: str, idempotency_key: str | None) -> dict[str, Any] | None:
    """The rollout the same request started within the idempotency window, if it still answers for it.

    Raises InvalidRequest naming ``Idempotency-Key`` when the key came with another body.
    """
    if key is None:
        return None
    seen = deps.store.find_idempotent(key)
    if seen is None:
        return None
    seen_id, seen_hash = seen
    if idempotency_key and seen_hash != body_hash:
        raise InvalidRequest("was used for a different request", field="Idempotency-Key")
    shown = view(deps, seen_id)
    # A finished rollout does not swallow the same body sent again (a retry after a rollback).
    if shown is not None and (idempotency_key or shown["status"] == "RUNNING"):
        return shown
    return None
