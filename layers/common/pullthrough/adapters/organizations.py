"""AWS Organizations, read only: the active accounts under an OU or root, and the OU chain above an account.

pullthrough's home account need not be the management account: it reads the organization through Organizations'
resource-based delegation policy (DescribeOrganization, ListChildren, ListAccountsForParent, ListParents).

An OU or the root never expands to the management account unless it is pullthrough's home account: service-managed
StackSets never deploy the execution role there, even when it sits in a targeted OU (a request may still name it in
``accounts``, where the operator deployed the role by hand).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from pullthrough.adapters.errors import translated
from pullthrough.exceptions import InvalidRequest, UnknownOrganizationalUnit

if TYPE_CHECKING:
    from mypy_boto3_organizations import OrganizationsClient
    from mypy_boto3_organizations.type_defs import AccountTypeDef

OUS_FIELD = "organizationalUnits"
ACCOUNTS_FIELD = "accounts"
_NOT_FOUND = frozenset(
    {
        "ParentNotFoundException",
        "TargetNotFoundException",
        "ChildNotFoundException",
        "OrganizationalUnitNotFoundException",
        "AccountNotFoundException",
    }
)
_NOT_SET_UP = frozenset({"AWSOrganizationsNotInUseException", "AccessDeniedException", "AccessDenied"})
_SET_UP = (
    "pullthrough's account cannot read the organization ({code}): it must be the management account, or be "
    "allowed organizations:DescribeOrganization, ListChildren, ListAccountsForParent and ListParents by the "
    "organization's resource-based delegation policy (Organizations console: Settings, Delegated administrator)"
)


class Organization:
    """The AWS Organization pullthrough's account belongs to, read through ``client`` (an organizations client)."""

    def __init__(self, client: OrganizationsClient, *, home_account: str | None = None) -> None:
        self._org = client
        self._home = home_account
        self._checked = False
        self._management: str | None = None
        self._members: frozenset[str] | None = None  # read once per instance (one per invocation)

    def accounts_in(self, parent_ids: Iterable[str]) -> list[str]:
        """The ACTIVE accounts under each OU or root in ``parent_ids``, through every nested OU; sorted, unique.

        Raises UnknownOrganizationalUnit (field organizationalUnits) for an id that is not an OU or root of the
        organization, InvalidRequest (the same field) when the organization cannot be read; AwsTransientError on
        throttling.
        """
        self._check_readable()
        found: set[str] = set()
        for parent_id in parent_ids:
            pending = [parent_id]
            while pending:
                parent = pending.pop()
                with _reading("ListAccountsForParent", parent, OUS_FIELD):
                    for page in self._org.get_paginator("list_accounts_for_parent").paginate(ParentId=parent):
                        found.update(a["Id"] for a in page.get("Accounts", []) if _active(a))
                with _reading("ListChildren", parent, OUS_FIELD):
                    pages = self._org.get_paginator("list_children").paginate(
                        ParentId=parent, ChildType="ORGANIZATIONAL_UNIT"
                    )
                    pending.extend(child["Id"] for page in pages for child in page.get("Children", []))
        return sorted(account for account in found if self.expands_to(account))

    def expands_to(self, account_id: str) -> bool:
        """Whether an OU holding ``account_id`` makes it a target: every account but the management account, which
        only when it is the home account."""
        self._check_readable()
        return account_id != self._management or account_id == self._home

    def ancestors_of(self, account_id: str) -> list[str]:
        """The OUs that hold ``account_id``, nearest first, ending with the root: whether a targeted OU holds an
        account that moved into one of its nested OUs.

        Raises InvalidRequest (field accounts) for an account not in the organization, or when the organization
        cannot be read; AwsTransientError on throttling.
        """
        self._check_readable()
        chain: list[str] = []
        child = account_id
        while not child.startswith("r-"):
            with _reading("ListParents", child, ACCOUNTS_FIELD if child == account_id else OUS_FIELD):
                pages = self._org.get_paginator("list_parents").paginate(ChildId=child)
                parents = [parent["Id"] for page in pages for parent in page.get("Parents", [])]
            if not parents:  # not below the root: not (or no longer) in the organization
                raise InvalidRequest(f"{account_id} is not an account of this organization", field=ACCOUNTS_FIELD)
            child = parents[0]  # an account or OU has exactly one parent
            chain.append(child)
        return chain

    def members(self, home: str) -> frozenset[str]:
        """The ACTIVE accounts of the organization that ``home`` (pullthrough's account) is in, through every OU;
        empty when Organizations says ``home`` is in none.

        Raises InvalidRequest (field accounts) when the organization cannot be read; AwsTransientError on throttling.
        """
        if self._members is None:
            with _reading("DescribeOrganization", "", ACCOUNTS_FIELD):
                try:
                    self._org.describe_organization()
                except self._org.exceptions.AWSOrganizationsNotInUseException:
                    self._members = frozenset()
                    return self._members
            self._checked = True
            root = self.ancestors_of(home)[-1]  # the root, reached with the calls pullthrough may already make
            self._members = frozenset(self.accounts_in([root]))
        return self._members

    def _check_readable(self) -> None:
        """DescribeOrganization once: a clear error when there is no organization or it cannot be read."""
        if not self._checked:
            with _reading("DescribeOrganization", "", OUS_FIELD):
                described = self._org.describe_organization()
            self._management = described.get("Organization", {}).get("MasterAccountId")
            self._checked = True


def _active(account: AccountTypeDef) -> bool:
    # Organizations retired Account.Status for State (September 2026); an older endpoint may send only Status.
    return (account.get("State") or account.get("Status")) == "ACTIVE"


@contextmanager
def _reading(action: str, subject: str, field: str) -> Iterator[None]:
    """Run an Organizations read: an unknown ``subject`` or an unreadable organization is the caller's to fix
    (InvalidRequest naming ``field``); anything else as ``translated`` maps it."""
    with translated({}, action):
        try:
            yield
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _NOT_SET_UP:
                raise InvalidRequest(_SET_UP.format(code=code), field=field) from exc
            if code in _NOT_FOUND and field == ACCOUNTS_FIELD:
                raise InvalidRequest(f"{subject} is not an account of this organization", field=field) from exc
            if code in _NOT_FOUND:
                raise UnknownOrganizationalUnit(
                    f"{subject} is not an OU or root of this organization", field=field
                ) from exc
            raise
