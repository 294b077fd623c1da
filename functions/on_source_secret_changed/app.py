"""SourceSecretChanged: a CloudTrail event of a home-region secret change (PutSecretValue, UpdateSecret,
RotationSucceeded) on the default bus; every rule whose source secret it is rolls out again (trigger ``rotation``),
once per burst of changes (pullthrough.rotation)."""

from __future__ import annotations

import os
from typing import Any

from pullthrough import exceptions as ex
from pullthrough.observability import logger
from pullthrough.rotation import SourceRotation, changed_secret
from pullthrough.wiring import rollouts_from_env

MARGIN_SECONDS = 10.0  # left of the function's timeout when it stops waiting for a busy rule (and fails the event)


@logger.inject_lambda_context(log_event=False, clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    deps = rollouts_from_env(trigger="rotation", organization=True)
    try:
        secret = changed_secret(event, deps.home_account, deps.home_region)
    except ex.InvalidRequest as ignored:  # not a change we act on: retrying it would not help
        logger.warning("secret event ignored", extra={"field": ignored.field, "reason": ignored.message})
        return {"secretId": None, "ignored": ignored.message, "field": ignored.field}
    logger.append_keys(secretId=secret)
    rotation = SourceRotation(deps, debounce_seconds=float(os.environ.get("ROTATION_DEBOUNCE_SECONDS", "60")))
    wait_until = rotation.clock() + context.get_remaining_time_in_millis() / 1000 - MARGIN_SECONDS
    outcomes = rotation.changed(secret, wait_until)
    logger.info("source secret change handled", extra={"rules": outcomes})
    return {"secretId": secret, "rules": outcomes}
