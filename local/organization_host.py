"""The embedded stack's Organization: its account is the management account of an Organization seeded at start
(``local.organization``) whose member accounts hold target-account.yaml's execution role as this stack's StackSets
deployment creates it. Changes to it (``move_account``, ``create_member_account``) deliver Organizations' events to
the app's bus, as org-events.yaml forwards them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from local import organization
from local.deploy import FUNCTION_ROLE_PATH
from local.emulator import organization_events
from local.organization import Organization
from local.settings import PARTITION, StackError
from local.target_account import DeployedRole, deployed_role
from local.template_reader import Template

FORWARDING_RULE = "pullthrough-organizations-events"  # org-events.yaml's ForwardAccountMoves, locally
EXECUTION_ROLE_NAME = "PullthroughExecutionRole"  # when template.yaml has no ExecutionRoleName parameter


def _not_seeded() -> list[str]:
    raise StackError("the stack is not running: no function roles yet")


class StackOrganization:
    """The seeded Organization of one stack, and target-account.yaml's role in its accounts."""

    def __init__(
        self,
        template: Template,
        parameters: dict[str, str],
        *,
        region: str,
        account_id: str,
        client: Callable[[str, str, str | None], Any],
        bus_names: dict[str, str],
    ) -> None:
        """``client(service, region, account)``: a boto3 client on the emulator acting in ``account`` (None: home)."""
        self.template = template
        self.parameters = parameters
        self.region = region
        self.account_id = account_id
        self.client = client
        self.bus_names = bus_names  # the deployment's buses, by logical id (filled in as it provisions)
        self.organization: Organization | None = None
        self.trusted_function_role_arns: Callable[[], list[str]] = _not_seeded

    def seed(self, trusted_function_role_arns: Callable[[], list[str]]) -> Organization:
        """Create the Organization, its OUs and member accounts (with the execution role, trusting the roles
        ``trusted_function_role_arns()`` names), and an account outside it holding a look-alike of that role."""
        self.trusted_function_role_arns = trusted_function_role_arns
        self.organization = organization.seed(self._org_clients, self._deployed_role)
        organization.seed_outside_account(self.organization, self.execution_role_name, PARTITION)
        if not self.parameters.get("OrganizationId") and self.parameters.get("TargetAccountIds", "") == "":
            self.parameters["OrganizationId"] = self.organization.id  # what the deploy recipe discovers
        return self.organization

    @property
    def event_bus_name(self) -> str:
        """The app's own bus (where rule requests go and the app's events come out): AppEventBus, named after the
        stack unless the EventBusName parameter names it."""
        return self.bus_names.get("AppEventBus", "default")

    @property
    def execution_role_name(self) -> str:
        """The role pullthrough assumes in target accounts (template parameter ExecutionRoleName)."""
        return self.parameters.get("ExecutionRoleName") or EXECUTION_ROLE_NAME

    def execution_role(self, account: str) -> DeployedRole:
        """target-account.yaml's role as this stack's StackSets deployment creates it in ``account``."""
        return self._deployed_role(account, self._org().id)

    def _deployed_role(self, account: str, organization_id: str) -> DeployedRole:
        """The role deployed with this stack's parameters, trusting only principals of ``organization_id``."""
        parameters = {
            "HomeAccountId": self.account_id,
            "ExecutionRoleName": self.execution_role_name,
            "FunctionRoleArns": ",".join(self.trusted_function_role_arns()),
            "PassableRolePath": self.parameters.get("PassableRolePath", "/"),
            "ManagedRepositories": self.parameters.get("ManagedRepositories", "*"),
            "OrganizationId": organization_id,
        }
        return deployed_role(parameters, account, region=self.region, partition=PARTITION)

    @property
    def function_role_path(self) -> str:
        """The IAM path of the functions' roles: template.yaml's RolePath (Globals), else FUNCTION_ROLE_PATH."""
        paths = {fn.role_path for fn in self.template.functions.values() if fn.role_path}
        return paths.pop() if len(paths) == 1 else FUNCTION_ROLE_PATH

    def _org(self) -> Organization:
        if self.organization is None:
            raise StackError("the stack is not running: it has no organization")
        return self.organization

    def _org_clients(self, service: str, account: str | None) -> Any:
        return self.client(service, self.region, account)

    def move_account(self, account_id: str, destination_ou_id: str) -> None:
        """Move a member account to an OU (or the root): the emulator emits Organizations' MoveAccount event, and
        the forwarding rule puts it on the app's bus, as on AWS."""
        organization.move_account(self._org_clients, self._org(), account_id, destination_ou_id)

    def create_member_account(self, name: str, ou_id: str, with_role: bool = True) -> str:
        """A new member account in OU ``ou_id`` (the root id: stays in the root), with the execution role unless
        ``with_role`` is False; its CreateAccountResult (and MoveAccount when moved out of the root) reach the app's
        bus as on AWS. Its id."""
        account, _ = organization.create_member_account(
            self._org_clients, self._org(), self._deployed_role, name, ou_id, with_role=with_role
        )
        return account

    def forward_events(self) -> None:
        """org-events.yaml on the management account: its default bus (us-east-1, where Organizations' CloudTrail
        events arrive) forwards MoveAccount and CreateAccountResult to the app's bus."""
        events = self.client("events", organization_events.CLOUDTRAIL_REGION, None)
        pattern = {
            "source": [organization_events.SOURCE],
            "detail": {
                "eventSource": [organization_events.EVENT_SOURCE],
                "eventName": ["MoveAccount", "CreateAccountResult"],
            },
        }
        events.put_rule(Name=FORWARDING_RULE, EventBusName="default", EventPattern=json.dumps(pattern))
        bus = f"arn:{PARTITION}:events:{self.region}:{self.account_id}:event-bus/{self.event_bus_name}"
        events.put_targets(Rule=FORWARDING_RULE, EventBusName="default", Targets=[{"Id": "pullthrough", "Arn": bus}])

    def execution_role_statements(self, role_arn: str) -> list[Any] | None:
        """The statements of the execution role ``role_arn`` names (None: not the execution role)."""
        account, name = role_arn.split(":", 5)[4], role_arn.rsplit("/", 1)[-1]
        if name != self.execution_role_name:
            return None
        return self.execution_role(account).statements()
