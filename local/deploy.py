"""template.yaml deployed on the emulator through plain boto3, as ``sam deploy`` would: the tables, the app's event
buses, one role per function (the roles target-account.yaml trusts by ARN), the functions (their code runs in
this process, ``local.lambda_runner``), the state machine with its DefinitionSubstitutions resolved to the
emulator's ARNs, and the EventBridge rules. What it made is recorded here (names, ARNs, environments, scopes).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

from local import lambda_runner
from local.invocation_scope import FunctionScope
from local.settings import HOME_REGION, PARTITION, REGISTRY_ENDPOINT_ENV, StackError
from local.template_reader import Conditions, Resolver, Template, substitute

ROLE_NAME = "pullthrough-local"
# The IAM path of the functions' roles when template.yaml sets no RolePath (as SAM's RolePath in Globals).
FUNCTION_ROLE_PATH = "/pullthrough/"
CREDENTIAL_SECONDS = 43200  # the functions' session credentials outlast any test run

_LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
            "Action": "sts:AssumeRole",
        }
    ],
}


def dummy_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "# the local stack runs the code from its source directory\n")
    return buffer.getvalue()


class Deployment:
    """The template's resources on the emulator (``provision()`` makes them) and what they are called there."""

    def __init__(
        self,
        template: Template,
        parameters: dict[str, str],
        *,
        stack_name: str,
        region: str,
        account_id: str,
        client: Callable[[str], Any],
    ) -> None:
        """``client(service)``: a boto3 client of the home region pointed at the emulator."""
        self.template = template
        self.parameters = parameters
        self.stack_name = stack_name
        self.region = region
        self.account_id = account_id
        self.client = client
        self.function_names: dict[str, str] = {}  # logical id -> name
        self.bus_names: dict[str, str] = {}  # logical id -> name of the template's own event buses
        self.function_arns: dict[str, str] = {}
        self.table_names: dict[str, str] = {}
        self.state_machine_arn = ""
        self.role_arn = ""  # the state machine's (and extra functions') role
        self.rule_names: list[str] = []
        self.function_environments: dict[str, dict[str, str]] = {}  # logical id -> its resolved environment
        self.function_scopes: dict[str, FunctionScope] = {}  # logical id -> what its invocations run as
        self.function_role_arns: dict[str, str] = {}  # logical id -> its own role (under FUNCTION_ROLE_PATH)
        self.environment: dict[str, str] = {}  # the variables every function has, with the same value (Globals)
        self.registry_endpoint: str | None = None  # the emulator's ECR registry endpoint (set before provisioning)

    def provision_resources(self) -> None:
        """The tables, buses and functions (with their roles): what the Organization's execution roles trust."""
        iam = self.client("iam")
        role = iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(_TRUST_POLICY))
        self.role_arn = role["Role"]["Arn"]
        self._create_tables()
        self._create_event_buses()
        self._create_functions()

    def provision_wiring(self) -> None:
        """The state machine, the functions' configuration and the event rules: parameters resolved last (the
        Organization's id, discovered once it is seeded, among them)."""
        self._create_state_machine(self.role_arn)
        self._configure_functions()
        self._create_event_rules()

    def resolver(self) -> Resolver:
        refs = {
            **self.parameters,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": PARTITION,
            "AWS::StackName": self.stack_name,
            "AWS::URLSuffix": "amazonaws.com",
            **self.function_names,
            **self.table_names,
            **self.bus_names,
        }
        # ``!Ref <Fn>.Alias``: the alias's ARN (the function's, qualified by the alias name), made in _configure_functions.
        refs.update(
            {
                f"{lid}.Alias": f"{arn}:{fn.alias}"
                for lid, arn in self.function_arns.items()
                if (fn := self.template.functions[lid]).alias
            }
        )
        attrs = {f"{lid}.Arn": arn for lid, arn in self.function_arns.items()}
        attrs.update({f"{lid}Role.Arn": arn for lid, arn in self.function_role_arns.items()})  # SAM's <Function>Role
        attrs.update(
            {
                f"{lid}.Arn": f"arn:{PARTITION}:dynamodb:{self.region}:{self.account_id}:table/{name}"
                for lid, name in self.table_names.items()
            }
        )
        if self.state_machine_arn:
            sm = self.template.state_machine.logical_id
            refs[sm] = self.state_machine_arn
            attrs[f"{sm}.Arn"] = self.state_machine_arn
            attrs[f"{sm}.Name"] = self.state_machine_arn.rsplit(":", 1)[1]
        resolver = Resolver(refs=refs, attrs=attrs, lists=self.template.list_parameters)
        resolver.condition = Conditions(self.template.conditions, resolver, template=self.template.path.name).holds
        return resolver

    def _create_event_buses(self) -> None:
        """The template's own buses (their policies are IAM, which the emulator does not enforce on PutEvents)."""
        resolver = self.resolver()
        for lid, raw in self.template.event_buses.items():
            name = str(resolver.resolve(raw, where=f"{lid}.Name")) if raw else f"{self.stack_name}-{lid}"
            self.client("events").create_event_bus(Name=name)
            self.bus_names[lid] = name

    def _create_tables(self) -> None:
        ddb = self.client("dynamodb")
        for table in self.template.tables.values():
            name = f"{self.stack_name}-{table.logical_id}"
            ddb.create_table(
                TableName=name,
                AttributeDefinitions=table.attribute_definitions,
                KeySchema=table.key_schema,
                BillingMode=table.billing_mode,
                DeletionProtectionEnabled=table.deletion_protection,
            )
            if table.ttl_attribute:
                ddb.update_time_to_live(
                    TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute}
                )
            self.table_names[table.logical_id] = name

    def _create_functions(self) -> None:
        lam = self.client("lambda")
        iam = self.client("iam")
        code = dummy_zip()
        for fn in self.template.functions.values():
            if not fn.code_dir.is_dir():
                raise StackError(f"{fn.logical_id}: CodeUri {fn.code_dir} is not a directory")
            name = f"{self.stack_name}-{fn.logical_id}"[:64]
            # One role per function, as SAM creates <Function>Role (target-account.yaml trusts them by ARN).
            role = iam.create_role(
                RoleName=f"{self.stack_name}-{fn.logical_id}Role"[:64],
                Path=fn.role_path or FUNCTION_ROLE_PATH,
                AssumeRolePolicyDocument=json.dumps(_LAMBDA_TRUST),
            )
            self.function_role_arns[fn.logical_id] = role["Role"]["Arn"]
            made = lam.create_function(
                FunctionName=name,
                Runtime=fn.runtime,
                Role=role["Role"]["Arn"],
                Handler=fn.handler,
                Code={"ZipFile": code},
                Timeout=fn.timeout,
                MemorySize=fn.memory_size,
            )
            self.function_names[fn.logical_id] = name
            self.function_arns[fn.logical_id] = made["FunctionArn"]

    def _create_state_machine(self, role_arn: str) -> None:
        sm = self.template.state_machine
        resolver = self.resolver()
        values = {
            key: str(resolver.resolve(raw, where=f"{sm.logical_id}.DefinitionSubstitutions.{key}"))
            for key, raw in sm.substitutions.items()
        }
        definition = substitute(sm.definition_path.read_text(), values, where=sm.definition_path.name)
        name = str(resolver.resolve(sm.name, where=f"{sm.logical_id}.Name")) if sm.name else None
        made = self.client("stepfunctions").create_state_machine(
            name=name or f"{self.stack_name}-{sm.logical_id}", definition=definition, roleArn=role_arn, type=sm.type
        )
        self.state_machine_arn = made["stateMachineArn"]

    def _configure_functions(self) -> None:
        """Resolve each function's environment and policies; register its code to run in its own scope."""
        resolver = self.resolver()
        lam = self.client("lambda")
        for fn in self.template.functions.values():
            env = {
                key: str(resolver.resolve(raw, where=f"{fn.logical_id}.Environment.{key}"))
                for key, raw in fn.environment.items()
            }
            if self.registry_endpoint:  # where the registry endpoint is served (on AWS: the one ECR names)
                env[REGISTRY_ENDPOINT_ENV] = self.registry_endpoint
            name = self.function_names[fn.logical_id]
            lam.update_function_configuration(FunctionName=name, Environment={"Variables": env})
            if fn.alias:
                # What SAM's AutoPublishAlias deploys: a version of the configured function, behind the alias (the
                # state machine invokes that, as on AWS).
                version = lam.publish_version(FunctionName=name)["Version"]
                lam.create_alias(FunctionName=name, Name=fn.alias, FunctionVersion=version)
            self.function_environments[fn.logical_id] = env
            # What Lambda adds to a function's environment: its role's session credentials.
            own = {**env, **_session_credentials(self.function_role_arns[fn.logical_id], name, self.account_id)}
            self.function_scopes[fn.logical_id] = scope = FunctionScope(fn.logical_id, name, own)
            code = lambda_runner.FunctionCode(fn.code_dir, fn.handler)
            lambda_runner.register(name, code, account_id=self.account_id, region=self.region, scope=scope)
        envs = list(self.function_environments.values())
        self.environment = {key: value for key, value in envs[0].items() if all(e.get(key) == value for e in envs)}

    def _create_event_rules(self) -> None:
        resolver = self.resolver()
        for rule in self.template.event_rules:
            where = f"{rule.function}.Events.{rule.event_id}"
            name = (
                str(resolver.resolve(rule.rule_name, where=where))
                if rule.rule_name
                else f"{self.stack_name}-{rule.event_id}"
            )
            bus = str(resolver.resolve(rule.event_bus, where=where))
            events = self.client("events")
            pattern = resolver.resolve(rule.pattern, where=f"{where}.Pattern")
            events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern), State="ENABLED")
            events.put_targets(
                Rule=name, EventBusName=bus, Targets=[{"Id": rule.function, "Arn": self.function_arns[rule.function]}]
            )
            self.rule_names.append(name)


def _session_credentials(role_arn: str, session_name: str, account: str) -> dict[str, str]:
    """Session credentials of ``role_arn`` from the emulator's STS, as the Lambda service gets them for a function
    (in process: the Lambda service, not the function, is the principal its trust policy names)."""
    from moto.sts.models import sts_backends

    granted = sts_backends[account][PARTITION].assume_role(
        region_name=HOME_REGION,
        role_session_name=session_name,
        role_arn=role_arn,
        policy="",
        duration=CREDENTIAL_SECONDS,
        external_id="",
    )
    return {
        "AWS_ACCESS_KEY_ID": granted.access_key_id,
        "AWS_SECRET_ACCESS_KEY": granted.secret_access_key,
        "AWS_SESSION_TOKEN": granted.session_token,
    }
