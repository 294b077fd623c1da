"""The embedded stack's AWS Organization: OUs, member accounts, and the events their changes send to the app.

``seed()`` makes the stack's account (moto's default, the home account) the management account of an organization:

    Root
    ├── workloads            workload-a, workload-b     (execution role)
    │   └── payments         payments-a                 (execution role; an OU inside an OU)
    ├── sandbox              sandbox-a, sandbox-b       (execution role)
    └── legacy               legacy-no-role             (no execution role: a rollout there must fail)

Every account of ``workloads`` (payments included) and ``sandbox`` has the role, so a rule targeting either OU can
succeed; the one without it sits in an OU of its own.

Besides, ``OUTSIDE_ACCOUNT`` belongs to no organization: someone made a role there named like the execution role that
trusts the whole home account (``outside_role_trust``), as whoever wants pullthrough's credentials copied to them
would. pullthrough must never act there: its functions may assume the execution role only inside the Organization
(template.yaml's ``aws:ResourceOrgID`` conditions), which is what the tests that target it show.

moto creates accounts with random ids: ``Organization.members`` maps the names above to them. The execution role is
created in each member as a StackSets deployment of ``target-account.yaml`` would (``local.target_account``), through
the OrganizationAccountAccessRole that Organizations creates in every account it creates.

An account joining or moving is what Organizations reports through CloudTrail and ``org-events.yaml`` forwards to the
app's bus: ``move_account_event`` and ``create_account_result_event`` build those events as put_events entries.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from local.emulator import organization_events
from local.target_account import DeployedRole

ADMIN_ROLE = "OrganizationAccountAccessRole"  # what Organizations creates in every account it creates
OUS: tuple[tuple[str, str | None], ...] = (
    ("workloads", None),
    ("sandbox", None),
    ("legacy", None),
    ("payments", "workloads"),
)
MEMBERS: tuple[tuple[str, str, bool], ...] = (  # name, OU, with the execution role
    ("workload-a", "workloads", True),
    ("workload-b", "workloads", True),
    ("payments-a", "payments", True),
    ("sandbox-a", "sandbox", True),
    ("sandbox-b", "sandbox", True),
    ("legacy-no-role", "legacy", False),
)
OUTSIDE_ACCOUNT = "999988887777"  # an account of no organization, with a look-alike execution role
SOURCE, EVENT_SOURCE = organization_events.SOURCE, organization_events.EVENT_SOURCE
API_CALL, SERVICE_EVENT = organization_events.API_CALL, organization_events.SERVICE_EVENT

#: (service, account or None for the management account) -> a boto3 client acting there
Clients = Callable[[str, str | None], Any]
#: (account id, organization id) -> the execution role target-account.yaml creates there
RoleFor = Callable[[str, str], DeployedRole]


class OrganizationError(RuntimeError):
    """An organization operation the embedded stack was asked for cannot be done (unknown account or OU)."""


@dataclass
class Organization:
    """The seeded organization. ``members``: account name -> id; ``ous``: OU name -> id (``payments`` is inside
    ``workloads``); ``accounts_without_role``: members with no execution role (the seeded one, in ``legacy``,
    first)."""

    id: str
    management_account: str
    root_id: str
    ous: dict[str, str]
    members: dict[str, str]
    accounts_without_role: list[str] = field(default_factory=list)
    outside_account: str | None = None  # OUTSIDE_ACCOUNT once seeded: no member, a look-alike role trusting home

    @property
    def account_without_role(self) -> str:
        """The seeded member account that has no execution role."""
        return self.accounts_without_role[0]

    @property
    def accounts_with_role(self) -> list[str]:
        return [account for account in self.members.values() if account not in self.accounts_without_role]

    def summary(self) -> list[str]:
        """One line per OU of the seeded layout, with its accounts (for ``make local``'s banner)."""
        lines = [f"organization {self.id}: management account {self.management_account}, root {self.root_id}"]
        for ou, parent in OUS:
            where = f"inside {parent}" if parent else "under the root"
            accounts = [
                f"{name} {self.members[name]}" + ("" if self.members[name] in self.accounts_with_role else " (no role)")
                for name, home, _ in MEMBERS
                if home == ou and name in self.members
            ]
            lines.append(f"  {ou} {self.ous[ou]} ({where}): {', '.join(accounts) or '-'}")
        if self.outside_account:
            lines.append(
                f"  outside the organization: {self.outside_account} (a look-alike role pullthrough never assumes)"
            )
        return lines

    def account_named(self, name: str) -> str:
        if name not in self.members:
            raise OrganizationError(f"no member account named {name!r} (known: {', '.join(sorted(self.members))})")
        return self.members[name]


def create_execution_role(clients: Clients, role: DeployedRole) -> None:
    """Create ``role`` in its account as CloudFormation would: the role with its trust policy, then each inline policy."""
    iam = clients("iam", role.account)
    iam.create_role(
        RoleName=role.name,
        Path=role.path,
        AssumeRolePolicyDocument=json.dumps(role.trust_policy),
        Description="pullthrough execution role (target-account.yaml)",
    )
    for name, document in role.policies.items():
        iam.put_role_policy(RoleName=role.name, PolicyName=name, PolicyDocument=json.dumps(document))


def _create_account(clients: Clients, name: str) -> str:
    status = clients("organizations", None).create_account(AccountName=name, Email=f"{name}@example.com")
    account = status["CreateAccountStatus"].get("AccountId")
    if status["CreateAccountStatus"]["State"] != "SUCCEEDED" or not account:
        raise OrganizationError(f"creating account {name!r} did not succeed: {status['CreateAccountStatus']}")
    return str(account)


def seed(clients: Clients, role_for: RoleFor) -> Organization:
    """Create the organization above with the calling account as its management account."""
    orgs = clients("organizations", None)
    described = orgs.create_organization(FeatureSet="ALL")["Organization"]
    root_id = str(orgs.list_roots()["Roots"][0]["Id"])
    ous: dict[str, str] = {}
    for name, parent in OUS:
        made = orgs.create_organizational_unit(ParentId=ous[parent] if parent else root_id, Name=name)
        ous[name] = str(made["OrganizationalUnit"]["Id"])
    org = Organization(
        id=str(described["Id"]),
        management_account=str(described["MasterAccountId"]),
        root_id=root_id,
        ous=ous,
        members={},
    )
    for name, ou, with_role in MEMBERS:
        account = _create_account(clients, name)
        orgs.move_account(AccountId=account, SourceParentId=root_id, DestinationParentId=ous[ou])
        org.members[name] = account
        if with_role:
            create_execution_role(clients, role_for(account, org.id))
        else:
            org.accounts_without_role.append(account)
    return org


def outside_role_trust(home_account: str, partition: str = "aws") -> dict[str, Any]:
    """The look-alike role's trust policy: the whole home account, with no condition."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition}:iam::{home_account}:root"},
                "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
            }
        ],
    }


def seed_outside_account(org: Organization, role_name: str, partition: str = "aws") -> str:
    """Create ``OUTSIDE_ACCOUNT``'s look-alike ``role_name`` (any secret or ECR action allowed) and record it in ``org``.

    No administrator of the organization can act there, so it is made straight in the emulator's IAM, as its owner
    would make it.
    """
    from moto.iam.models import iam_backends  # the emulator runs in this process

    iam = iam_backends[OUTSIDE_ACCOUNT][partition]
    iam.create_role(
        role_name=role_name,
        assume_role_policy_document=json.dumps(outside_role_trust(org.management_account, partition)),
        path="/",
        permissions_boundary=None,
        description="not pullthrough's: a look-alike execution role outside the organization",
        tags=[],
        max_session_duration="3600",
    )
    everything = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["secretsmanager:*", "ecr:*"], "Resource": "*"}],
    }
    iam.put_role_policy(role_name, "take-everything", json.dumps(everything))
    org.outside_account = OUTSIDE_ACCOUNT
    return OUTSIDE_ACCOUNT


def parent_of(clients: Clients, account: str) -> str:
    parents = clients("organizations", None).list_parents(ChildId=account)["Parents"]
    return str(parents[0]["Id"])


def move_account_event(org: Organization, account: str, source: str, destination: str) -> dict[str, Any]:
    """Organizations' MoveAccount as CloudTrail reports it, a put_events entry (``EventBusName`` left to the caller)."""
    return organization_events.move_account_entry(org.management_account, account, source, destination)


def create_account_result_event(org: Organization, account: str, name: str) -> dict[str, Any]:
    """Organizations' CreateAccountResult service event, a put_events entry (``EventBusName`` left to the caller)."""
    return organization_events.create_account_result_entry(org.management_account, account, name)


def move_account(clients: Clients, org: Organization, account: str, destination: str) -> dict[str, Any]:
    """Move ``account`` to OU or root ``destination``; the MoveAccount event that reports it."""
    if account not in org.members.values():
        raise OrganizationError(f"{account} is not a member account of {org.id}")
    source = parent_of(clients, account)
    clients("organizations", None).move_account(
        AccountId=account, SourceParentId=source, DestinationParentId=destination
    )
    return move_account_event(org, account, source, destination)


def create_member_account(
    clients: Clients, org: Organization, role_for: RoleFor, name: str, ou: str, *, with_role: bool
) -> tuple[str, list[dict[str, Any]]]:
    """A new member account, placed in OU ``ou`` (the root id: left there); its id and the events that report it:
    CreateAccountResult, then MoveAccount when it was moved out of the root."""
    if name in org.members:
        raise OrganizationError(f"a member account named {name!r} exists already ({org.members[name]})")
    if ou != org.root_id:  # before creating anything: nothing half-done for an unknown OU
        try:
            clients("organizations", None).describe_organizational_unit(OrganizationalUnitId=ou)
        except ClientError as error:
            raise OrganizationError(f"no organizational unit {ou} in {org.id}: {error}") from None
    account = _create_account(clients, name)
    org.members[name] = account
    if with_role:
        create_execution_role(clients, role_for(account, org.id))
    else:
        org.accounts_without_role.append(account)
    events = [create_account_result_event(org, account, name)]
    if ou != org.root_id:
        events.append(move_account(clients, org, account, ou))
    return account, events
