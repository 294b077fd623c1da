"""AWS Organizations on moto: OU and root expansion to active accounts through nested OUs, the OU chain above an
account, and errors an operator can act on (unknown OU, no organization, no delegation, throttling)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from pullthrough import exceptions as ex
from pullthrough.adapters.organizations import Organization
from pullthrough.models import RuleRequest, parse_model
from pullthrough.targets import requested_accounts
from tests.support import ACCOUNT, HOME

UNKNOWN_OU = "ou-zzzz-zzzzzzzz"


@dataclass
class Org:
    """An organization with ACCOUNT as management account: root > team (> team/nested), root > other."""

    client: Any
    root: str
    team: str
    nested: str
    other: str
    in_team: str
    in_nested: str
    in_other: str
    in_root: str


def make_account(client: Any, name: str, parent: str, root: str) -> str:
    made = client.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]
    account = str(made["AccountId"])
    if parent != root:
        client.move_account(AccountId=account, SourceParentId=root, DestinationParentId=parent)
    return account


@pytest.fixture
def org() -> Iterator[Org]:
    with mock_aws():
        client = boto3.client("organizations", region_name=HOME)
        client.create_organization(FeatureSet="ALL")
        root = client.list_roots()["Roots"][0]["Id"]

        def unit(name: str, parent: str) -> str:
            return str(client.create_organizational_unit(ParentId=parent, Name=name)["OrganizationalUnit"]["Id"])

        team = unit("team", root)
        nested = unit("nested", team)
        other = unit("other", root)
        yield Org(
            client,
            root,
            team,
            nested,
            other,
            in_team=make_account(client, "team-a", team, root),
            in_nested=make_account(client, "nested-a", nested, root),
            in_other=make_account(client, "other-a", other, root),
            in_root=make_account(client, "root-a", root, root),
        )


def answer_with(client: Any, code: str, status: int = 400) -> None:
    """Every call ``client`` makes from now on gets AWS's ``code`` error (botocore's own error path)."""

    def answer(**_: Any) -> tuple[Any, dict[str, Any]]:
        return SimpleNamespace(status_code=status, headers={}), {
            "Error": {"Code": code, "Message": "simulated"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }

    client.meta.events.register("before-call.organizations.*", answer)


def request(**fields: Any) -> RuleRequest:
    return parse_model(RuleRequest, {"upstreamRegistry": "quay", "regions": ["us-east-1"], **fields})


def test_an_ou_expands_to_its_accounts_and_those_of_its_nested_ous(org: Org) -> None:
    organization = Organization(org.client)
    assert organization.accounts_in([org.team]) == sorted([org.in_team, org.in_nested])
    assert organization.accounts_in([org.nested]) == [org.in_nested]
    assert organization.accounts_in([org.other, org.nested]) == sorted([org.in_other, org.in_nested])


def test_the_root_expands_to_every_account_the_management_account_included_when_it_is_home(org: Org) -> None:
    expected = sorted([ACCOUNT, org.in_team, org.in_nested, org.in_other, org.in_root])
    assert Organization(org.client, home_account=ACCOUNT).accounts_in([org.root]) == expected
    overlapping = Organization(org.client, home_account=ACCOUNT).accounts_in([org.root, org.team])
    assert overlapping == expected  # each once


def test_the_management_account_is_no_target_of_an_ou_unless_it_is_home_or_listed(org: Org) -> None:
    """Service-managed StackSets never deploy the execution role to the management account, even inside a targeted
    OU: expanding it there would fail every rule for the root (ExecutionRoleUnavailable, then a rollback)."""
    members = sorted([org.in_team, org.in_nested, org.in_other, org.in_root])
    elsewhere = Organization(org.client, home_account=org.in_root)  # pullthrough runs in a member account
    assert elsewhere.accounts_in([org.root]) == members
    org.client.move_account(AccountId=ACCOUNT, SourceParentId=org.root, DestinationParentId=org.team)
    assert elsewhere.accounts_in([org.team]) == sorted([org.in_team, org.in_nested])
    # ...unless the request names it: then the operator deployed the role there by hand
    asked = request(accounts=[ACCOUNT], organizationalUnits=[org.team])
    assert requested_accounts(asked, org.in_root, elsewhere) == sorted([ACCOUNT, org.in_team, org.in_nested])


def test_a_closed_account_is_not_a_target(org: Org) -> None:
    org.client.close_account(AccountId=org.in_team)
    assert Organization(org.client).accounts_in([org.team]) == [org.in_nested]


def test_an_ou_with_more_accounts_than_a_page_is_read_to_the_end(org: Org) -> None:
    # moto pages ListAccountsForParent by 20 (as AWS does); its ListChildren does not page.
    many = sorted(make_account(org.client, f"bulk-{i}", org.other, org.root) for i in range(24))
    calls: list[str] = []
    org.client.meta.events.register("before-call.organizations.ListAccountsForParent", lambda **_: calls.append("x"))
    assert Organization(org.client).accounts_in([org.other]) == sorted([*many, org.in_other])
    assert len(calls) == 2


def test_an_unknown_ou_is_refused_naming_it(org: Org) -> None:
    with pytest.raises(ex.UnknownOrganizationalUnit) as refused:
        Organization(org.client).accounts_in([org.team, UNKNOWN_OU])
    assert refused.value.field == "organizationalUnits"
    assert refused.value.message == f"{UNKNOWN_OU} is not an OU or root of this organization"


def test_a_request_names_the_unknown_ou_by_its_position(org: Org) -> None:
    asked = request(organizationalUnits=[org.team, UNKNOWN_OU])
    with pytest.raises(ex.UnknownOrganizationalUnit) as refused:
        requested_accounts(asked, ACCOUNT, Organization(org.client))
    assert refused.value.field == "organizationalUnits.1"
    assert refused.value.errors == [{"field": "organizationalUnits.1", "message": refused.value.message}]


def test_a_request_targets_its_accounts_and_its_ous_accounts_once_each(org: Org) -> None:
    outsider = "111122223333"  # not in the organization: explicit accounts need not be
    asked = request(accounts=[outsider, org.in_nested], organizationalUnits=[org.team])
    assert requested_accounts(asked, ACCOUNT, Organization(org.client)) == sorted(
        [outsider, org.in_team, org.in_nested]
    )


def test_ancestors_run_from_the_nearest_ou_to_the_root(org: Org) -> None:
    organization = Organization(org.client)
    assert organization.ancestors_of(org.in_nested) == [org.nested, org.team, org.root]
    assert organization.ancestors_of(org.in_other) == [org.other, org.root]
    assert organization.ancestors_of(org.in_root) == [org.root]


def test_an_account_that_moved_has_its_new_chain(org: Org) -> None:
    org.client.move_account(AccountId=org.in_other, SourceParentId=org.other, DestinationParentId=org.nested)
    assert Organization(org.client).ancestors_of(org.in_other) == [org.nested, org.team, org.root]


def test_ancestors_of_an_account_outside_the_organization_is_refused_naming_accounts(org: Org) -> None:
    with pytest.raises(ex.InvalidRequest) as refused:
        Organization(org.client).ancestors_of("111122223333")
    assert (refused.value.field, refused.value.message) == (
        "accounts",
        "111122223333 is not an account of this organization",
    )


def test_without_an_organization_the_operator_is_told_what_to_set_up() -> None:
    with mock_aws():
        organization = Organization(boto3.client("organizations", region_name=HOME))
        for read in (lambda: organization.accounts_in(["r-abcd"]), lambda: organization.ancestors_of(ACCOUNT)):
            with pytest.raises(ex.InvalidRequest) as refused:
                read()
            assert not isinstance(refused.value, ex.UnknownOrganizationalUnit)
            assert refused.value.field == "organizationalUnits"
            assert "AWSOrganizationsNotInUseException" in refused.value.message
            assert "delegation policy" in refused.value.message


@pytest.mark.parametrize("code", ["AccessDeniedException", "AWSOrganizationsNotInUseException"])
def test_an_account_the_organization_does_not_delegate_to_is_told_what_to_allow(org: Org, code: str) -> None:
    answer_with(org.client, code)
    with pytest.raises(ex.InvalidRequest) as refused:
        Organization(org.client).accounts_in([org.team])
    assert refused.value.field == "organizationalUnits"
    for needed in ("DescribeOrganization", "ListChildren", "ListAccountsForParent", "ListParents"):
        assert needed in refused.value.message


@pytest.mark.parametrize(("code", "status"), [("TooManyRequestsException", 400), ("ServiceException", 500)])
def test_throttling_and_service_errors_are_transient(org: Org, code: str, status: int) -> None:
    answer_with(org.client, code, status)
    with pytest.raises(ex.AwsTransientError):
        Organization(org.client).accounts_in([org.team])
    with pytest.raises(ex.AwsTransientError):
        Organization(org.client).ancestors_of(org.in_team)


def test_a_request_without_ous_never_reads_the_organization() -> None:
    with mock_aws():  # no organization at all: accounts alone, or the home default, still work
        organization = Organization(boto3.client("organizations", region_name=HOME))
        assert requested_accounts(request(), ACCOUNT, organization) == [ACCOUNT]
        assert requested_accounts(request(accounts=["111122223333"]), ACCOUNT, organization) == ["111122223333"]
