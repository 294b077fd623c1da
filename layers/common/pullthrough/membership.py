"""Auto-deployment: an account that joins a targeted organizational unit gets every rule that targets it; one that
leaves loses them, or keeps them untracked where the rule says retainOnAccountRemoval (StackSets'
RetainStacksOnAccountRemoval).

The management account forwards Organizations' events to the app's bus (org-events.yaml): MoveAccount (an account
changed OU) and CreateAccountResult (a new account, which starts under the root). Each rule is converged for that one
account only, by a rollout like any other (locked, snapshotted, all or nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pullthrough import exceptions as ex
from pullthrough.adapters.store import PrefixBusy
from pullthrough.desired import by_account, held_targets
from pullthrough.rollouts.converge import converge_accounts
from pullthrough.rollouts.deps import Deps
from pullthrough.rollouts.lock import holding

MOVE_ACCOUNT = "MoveAccount"
CREATE_ACCOUNT_RESULT = "CreateAccountResult"


def changed_account(event: Any) -> str:
    """The account an Organizations event is about; InvalidRequest naming the field when it is not one we act on."""
    detail = event.get("detail") if isinstance(event, dict) else None
    if not isinstance(detail, dict):
        raise ex.InvalidRequest("must be an object", field="detail")
    name = detail.get("eventName")
    if name == MOVE_ACCOUNT:
        account = (detail.get("requestParameters") or {}).get("accountId")
        where = "detail.requestParameters.accountId"
    elif name == CREATE_ACCOUNT_RESULT:
        status = (detail.get("serviceEventDetails") or {}).get("createAccountStatus") or {}
        if status.get("state") != "SUCCEEDED":
            raise ex.InvalidRequest("the account was not created", field="detail.serviceEventDetails")
        account = status.get("accountId")
        where = "detail.serviceEventDetails.createAccountStatus.accountId"
    else:
        raise ex.InvalidRequest(f"must be {MOVE_ACCOUNT} or {CREATE_ACCOUNT_RESULT}", field="detail.eventName")
    if not isinstance(account, str) or not (len(account) == 12 and account.isdigit()):
        raise ex.InvalidRequest("must be a 12-digit account id", field=where)
    return account


@dataclass
class AccountMembership:
    """Converges every rule that targets organizational units for one account whose place in the org changed."""

    deps: Deps

    def account_changed(self, account: str) -> list[dict[str, Any]]:
        """One outcome per rule that targets an OU: {prefix, action: deploy|remove|retain|refused|none, rolloutId?}.

        Raises PrefixBusy when a rule is rolling out: the event is retried (Lambda's asynchronous retries), by which
        time that rollout has finished (it expanded its OUs when it started, possibly before the move)."""
        organization = self.deps.organization
        if organization is None:
            raise RuntimeError("account events need the organization (rollouts_from_env(organization=True))")
        ancestors = set(organization.ancestors_of(account))
        outcomes: list[dict[str, Any]] = []
        busy: PrefixBusy | None = None
        for rule in self.deps.store.list_rules():
            units = rule.get("organizationalUnits") or []
            if not units:
                continue
            prefix = str(rule["sk"])
            in_units = bool(ancestors & set(units)) and organization.expands_to(account)  # not the management one
            targeted = in_units or account in (rule.get("accounts") or [])
            current = list(rule.get("targetAccounts") or [])
            try:
                outcomes.append({"prefix": prefix, **self._converge(rule, account, targeted, current)})
            except PrefixBusy as running:
                busy = running
                outcomes.append({"prefix": prefix, "action": "busy", "rolloutId": running.rollout_id})
            except ex.InvalidRequest as refused:  # e.g. not an ACTIVE account of the organization: retries won't help
                outcomes.append(
                    {"prefix": prefix, "action": "refused", "field": refused.field, "reason": refused.message}
                )
        if busy is not None:
            raise busy
        return outcomes

    def _converge(self, rule: dict[str, Any], account: str, targeted: bool, current: list[str]) -> dict[str, Any]:
        prefix = str(rule["sk"])
        if targeted and account not in current:
            started = converge_accounts(self.deps, prefix, sorted([*current, account]), only=[account])
            return {"action": "deploy", "rolloutId": started["rolloutId"]}
        if not targeted and account in current:
            if rule.get("retainOnAccountRemoval"):
                with holding(self.deps, prefix):  # no rollout may record the account again meanwhile
                    self._forget(self.deps.store.get_rule(prefix) or rule, account)
                return {"action": "retain"}
            remaining = [a for a in current if a != account]
            started = converge_accounts(self.deps, prefix, remaining, only=[account])
            return {"action": "remove", "rolloutId": started["rolloutId"]}
        return {"action": "none"}

    def _forget(self, rule: dict[str, Any], account: str) -> None:
        """Retained: the account keeps what it holds, and pullthrough stops tracking (or removing) it."""
        store, home = self.deps.store, self.deps.home_account
        remaining = [a for a in rule.get("targetAccounts") or [] if a != account]
        held = {t: e for t, e in held_targets(rule, home).items() if t[0] != account}
        grouped = by_account(held)
        before = rule.get("deployedElsewhere") or {}
        store.save_deployed(str(rule["sk"]), grouped.pop(home, {}), grouped, before, targetAccounts=remaining)
