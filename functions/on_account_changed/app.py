"""AccountChanged: an Organizations event (MoveAccount, CreateAccountResult) forwarded to the app's bus; every rule
that targets an organizational unit is rolled out to the account, or removed from it, as its new place says."""

from __future__ import annotations

from typing import Any

from pullthrough import exceptions as ex
from pullthrough.membership import AccountMembership, changed_account
from pullthrough.observability import logger
from pullthrough.wiring import rollouts_from_env


@logger.inject_lambda_context(log_event=False, clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        account = changed_account(event)
    except ex.InvalidRequest as ignored:  # not an event we act on: retrying it would not help
        logger.warning("organizations event ignored", extra={"field": ignored.field, "reason": ignored.message})
        return {"accountId": None, "ignored": ignored.message, "field": ignored.field}
    logger.append_keys(accountId=account)
    outcomes = AccountMembership(rollouts_from_env(trigger="account", organization=True)).account_changed(account)
    logger.info("account converged", extra={"rules": outcomes})
    return {"accountId": account, "rules": outcomes}
