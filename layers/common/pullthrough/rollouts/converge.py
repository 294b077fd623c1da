"""Converge a rule for accounts that joined or left a targeted organizational unit (account events)."""

from __future__ import annotations

from typing import Any

from pullthrough.rollouts.checks import check_members
from pullthrough.rollouts.deps import Deps, UnknownRule, new_rollout_id
from pullthrough.rollouts.launch import locked_launch

# A rule item's desired fields (the rest is where it is deployed and its last rollout).
DESIRED_FIELDS = (
    "rule",
    "regions",
    "accounts",
    "organizationalUnits",
    "targetAccounts",
    "retainOnAccountRemoval",
    "creationTemplate",
    "sourceSecretArn",
    "credentialExpiresAt",
    "smokePull",
)


def converge_accounts(deps: Deps, prefix: str, target_accounts: list[str], *, only: list[str]) -> dict[str, Any]:
    """Roll the rule out again with ``target_accounts`` as its accounts, touching only the targets of ``only``.
    Raises PrefixBusy naming a running rollout, UnknownRule when there is no such rule, InvalidRequest naming
    ``accounts.N`` when an account of ``only`` to deploy to is not an ACTIVE member of the Organization."""
    rule = deps.store.get_rule(prefix)
    if rule is None:
        raise UnknownRule(f"no rule with prefix {prefix!r}", field="prefix")
    check_members(deps, target_accounts, only=only)  # an account that joins must be an ACTIVE member
    desired = {key: rule.get(key) for key in DESIRED_FIELDS} | {"targetAccounts": target_accounts}
    return locked_launch(deps, new_rollout_id(), prefix, "APPLY", desired, only_accounts=only)
