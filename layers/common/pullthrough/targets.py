"""The accounts a rule request targets: the accounts it lists and the ACTIVE members of its organizational units."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from pullthrough.exceptions import UnknownOrganizationalUnit

if TYPE_CHECKING:
    from pullthrough.models import RuleRequest


class OrganizationReader(Protocol):
    """What a request needs of AWS Organizations (pullthrough.adapters.organizations.Organization)."""

    def accounts_in(self, parent_ids: Iterable[str]) -> list[str]: ...


def requested_accounts(request: RuleRequest, home_account: str, org: OrganizationReader) -> list[str]:
    """The accounts the rule is desired in, sorted: ``accounts`` plus the ACTIVE accounts of
    ``organizationalUnits`` (read from ``org`` only when OUs are given), or ``[home_account]`` when neither is.

    Resolution only: that each listed account is the home account or an ACTIVE member of the Organization is
    checked before any write by pullthrough.rollouts.checks.check_members (422 naming ``accounts.N``). Empty when
    only OUs are given and they hold no active account (yet). Raises InvalidRequest naming
    ``organizationalUnits.N`` for an OU the organization does not have, ``organizationalUnits`` when it cannot be
    read.
    """
    if request.accounts is None and request.organizationalUnits is None:
        return [home_account]
    found = set(request.accounts or ())
    for index, unit in enumerate(request.organizationalUnits or ()):
        try:
            found.update(org.accounts_in([unit]))
        except UnknownOrganizationalUnit as exc:
            raise UnknownOrganizationalUnit(exc.message, field=f"organizationalUnits.{index}") from exc
    return sorted(found)
