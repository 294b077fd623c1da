"""The embedded stack: our app on the embedded AWS emulator, as one object.

    with EmbeddedStack() as stack:          # ports from PULLTHROUGH_AWS_PORT / PULLTHROUGH_API_PORT (5000 / 3000)
        stack.client("ecr", "eu-west-1").describe_pull_through_cache_rules()

The parts: the AWS emulator (``local.emulator.server``: moto's server with ECR pull-through, STS trust, the Secrets
Manager fixes); template.yaml deployed on it through plain boto3 (``local.deploy``); the host, here: the functions'
code runs in this process (``local.lambda_runner``), each function seeing only its own environment
(``local.invocation_scope``) and signing its calls with its own role's session credentials
(``local.function_credentials``), every AWS call a handler makes checked against its own policies as SAM expands
them (``local.iam_check``, with ``iam_check`` on, the default: a call the template does not grant fails with
AccessDeniedException and lands in ``iam_denials``), executions' status events (``local.execution_events``), the
local API (``local.api_server``) and the seeded Organization (``local.organization_host``). moto's state and
``os.environ`` are process-wide: one stack at a time.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from local import events_bridge, function_credentials, invocation_scope, lambda_runner
from local.api_server import ApiServer, Route
from local.deploy import Deployment, dummy_zip
from local.emulator import engine_tuning, organization_events, registry, resource_tags, secret_events, sts_trust
from local.emulator.server import Emulator, LatencyModel, RequestLog
from local.emulator_clients import EmulatorClients
from local.execution_events import ExecutionEvents
from local.function_roles import put_function_policies
from local.iam_check import IamCheck
from local.iam_policies import PolicyError, function_statements, translate
from local.organization import Organization
from local.organization_host import StackOrganization
from local.settings import (
    ACCOUNT_ID,
    API_PORT_ENV,
    AWS_PORT_ENV,
    HOME_REGION,
    HOST,
    REGISTRY_PORT_ENV,
    StackError,
    check_port_free,
    port_from_env,
)
from local.target_account import DeployedRole
from local.template_reader import DEFAULT_TEMPLATE, Template, load_template

_active_lock = threading.Lock()
_active: EmbeddedStack | None = None


class EmbeddedStack:
    """The app on the embedded emulator. Use as a context manager, or start()/stop()."""

    def __init__(
        self,
        *,
        aws_port: int | None = None,
        api_port: int | None = None,
        template: Path | str = DEFAULT_TEMPLATE,
        parameters: dict[str, str] | None = None,
        stack_name: str = "pullthrough",
        verbose: bool = False,
        iam_check: bool = True,
        registry_port: int | None = None,
    ) -> None:
        """``aws_port``/``api_port``: None reads PULLTHROUGH_AWS_PORT/PULLTHROUGH_API_PORT (5000/3000), 0 any free.

        ``parameters`` override the template's parameter defaults (like ``sam deploy --parameter-overrides``).
        ``iam_check``: check every AWS call a handler makes against its function's policies (needs the SAM
        translator of ``make sam-tools``).
        """
        self.aws_port = port_from_env(AWS_PORT_ENV, 5000) if aws_port is None else aws_port
        self.api_port = port_from_env(API_PORT_ENV, 3000) if api_port is None else api_port
        default_registry_port = 0 if aws_port == 0 else 5001
        self.registry_port = (
            port_from_env(REGISTRY_PORT_ENV, default_registry_port) if registry_port is None else registry_port
        )
        self.registries: registry.Registries | None = None  # the ECR registry endpoint and the local upstreams
        self._emulator = Emulator(self.aws_port, verbose=verbose)
        self.region = HOME_REGION
        self.account_id = ACCOUNT_ID
        self.stack_name = stack_name
        self.verbose = verbose
        self.template: Template = load_template(template)
        unknown = set(parameters or {}) - set(self.template.parameters)
        if unknown:
            raise StackError(f"unknown template parameter(s): {', '.join(sorted(unknown))}")
        # Locally no step outlives its call, so a failed region Map needs no long settle before its rollback.
        # A source secret's change rolls out after a short debounce window (pullthrough.rotation); an account's
        # rollout waits for its execution role in short steps.
        local_defaults = {"InFlightSettleSeconds": "1", "RotationDebounceSeconds": "2", "ExecutionRoleWaitSeconds": "1"}
        self.parameters = {**self.template.parameters, **local_defaults, **(parameters or {})}
        self.deployment = Deployment(
            self.template,
            self.parameters,
            stack_name=stack_name,
            region=self.region,
            account_id=self.account_id,
            client=self.client,
        )
        # What the deployment made, under the names the stack has always had (the same dicts, filled at start()).
        self.function_names = self.deployment.function_names  # logical id -> name
        self.bus_names = self.deployment.bus_names  # logical id -> name of the template's own event buses
        self.function_arns = self.deployment.function_arns
        self.table_names = self.deployment.table_names
        self.rule_names = self.deployment.rule_names
        self.function_environments = self.deployment.function_environments  # logical id -> its resolved environment
        self.function_scopes = self.deployment.function_scopes  # logical id -> what its invocations run as
        self.function_role_arns = self.deployment.function_role_arns  # logical id -> its own role
        self._execution_events: ExecutionEvents | None = None
        self.org = StackOrganization(
            self.template,
            self.parameters,
            region=self.region,
            account_id=self.account_id,
            client=self.client,
            bus_names=self.deployment.bus_names,
        )
        self.iam: IamCheck | None = None
        self._iam_wanted = iam_check
        self._translated: dict[str, Any] | None = None
        self._api: ApiServer | None = None
        self._clients = EmulatorClients(lambda: self.endpoint_url, self.account_id, self.region)
        self._added_paths: list[str] = []

    # -- lifecycle ----------------------------------------------------------------------------------------
    def __enter__(self) -> EmbeddedStack:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> EmbeddedStack:
        """Start the emulator, provision the template on it, start the API."""
        global _active
        check_port_free(self.aws_port, AWS_PORT_ENV)
        check_port_free(self.api_port, API_PORT_ENV)
        check_port_free(self.registry_port, REGISTRY_PORT_ENV)
        with _active_lock:
            if _active is not None:
                raise StackError("an EmbeddedStack is already running in this process (they share os.environ)")
            _active = self
        try:
            if self._iam_wanted:
                try:
                    self._translated = translate(self.template.path)
                except PolicyError as error:
                    raise StackError(str(error)) from None
            for layer in self.template.layer_dirs:  # the functions' layer, as Lambda puts it on sys.path
                if str(layer) not in sys.path:
                    sys.path.insert(0, str(layer))
                    self._added_paths.append(str(layer))
            self._start_emulator()
            self._provision()
            self._execution_events = ExecutionEvents(
                self.client("stepfunctions"), self.client("events"), self.state_machine_arn
            )
            self._execution_events.start()
            self._start_api()
            engine_tuning.freeze_heap()  # provisioned: what lives now lives until stop()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Shut everything down and give the process its environment back (safe to call twice)."""
        global _active
        if _active is not self:
            return
        if self._api is not None:
            self._api.stop()
            self._api = None
        if self._execution_events is not None:
            self._execution_events.stop()
            self._execution_events = None
        if self.registries is not None:
            self.registries.stop()
            self.registries = None
        events_bridge.wait_idle(timeout=5)
        self._emulator.stop()
        lambda_runner.unregister_all()
        lambda_runner.uninstall()
        events_bridge.uninstall()
        secret_events.uninstall()
        organization_events.uninstall()
        if self.iam is not None:
            _session_hooks().remove(self.iam.attach)
        with contextlib.suppress(ImportError, ValueError):
            _session_hooks().remove(function_credentials.attach)
        invocation_scope.uninstall()
        for entry in self._added_paths:
            with contextlib.suppress(ValueError):
                sys.path.remove(entry)
        self._added_paths.clear()
        self._clients.clear()
        _reset_app_clients()
        engine_tuning.thaw_heap()
        with _active_lock:
            _active = None

    # -- helpers --------------------------------------------------------------------------------------------
    @property
    def requests(self) -> RequestLog:
        """Every JSON-protocol operation the emulator has received (for tests that count writes)."""
        return self._emulator.requests

    def set_latency_model(self, model: LatencyModel | None) -> None:
        """Price each AWS request by ``model(region, service)`` milliseconds (None: back to the flat knob)."""
        self._emulator.set_latency_model(model)

    @property
    def endpoint_url(self) -> str:
        return self._emulator.endpoint_url

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.api_port}"

    @property
    def role_arn(self) -> str:
        """The IAM role the stack's state machine and extra functions (``add_function``) use; each template function
        has a role of its own (``function_role_arns``)."""
        return self.deployment.role_arn

    @property
    def state_machine_arn(self) -> str:
        return self.deployment.state_machine_arn

    @property
    def environment(self) -> dict[str, str]:
        """The variables every function has, with the same value (the template's Globals)."""
        return self.deployment.environment

    def client(self, service: str, region: str = HOME_REGION, account: str | None = None) -> Any:
        """A boto3 client of ``service`` in ``region`` pointed at the emulator (cached).

        ``account``: a member account of the seeded organization to act in, as its administrator (through the
        OrganizationAccountAccessRole that Organizations creates in each account it creates, so it works in an
        account without the execution role too); None or the home account: the home account's root.
        """
        return self._clients.client(service, region, account)

    # -- the organization (local.organization_host) --------------------------------------------------------------
    @property
    def organization(self) -> Organization | None:
        """The seeded Organization (None until the stack started)."""
        return self.org.organization

    @property
    def event_bus_name(self) -> str:
        """The app's own bus (where rule requests go and the app's events come out)."""
        return self.org.event_bus_name

    @property
    def execution_role_name(self) -> str:
        """The role pullthrough assumes in target accounts (template parameter ExecutionRoleName)."""
        return self.org.execution_role_name

    def execution_role(self, account: str) -> DeployedRole:
        """target-account.yaml's role as this stack's StackSets deployment creates it in ``account``."""
        return self.org.execution_role(account)

    @property
    def trusted_function_role_arns(self) -> list[str]:
        """The template's FunctionRoleArns output: the exact roles target-account.yaml's execution role trusts."""
        output = self.template.outputs.get("FunctionRoleArns") or {}
        if "Value" not in output:
            raise StackError(f"{self.template.path.name} has no FunctionRoleArns output (target-account.yaml needs it)")
        return str(self.deployment.resolver().resolve(output["Value"], where="Outputs.FunctionRoleArns")).split(",")

    @property
    def function_role_path(self) -> str:
        """The IAM path of the functions' roles: template.yaml's RolePath (Globals), else FUNCTION_ROLE_PATH."""
        return self.org.function_role_path

    def move_account(self, account_id: str, destination_ou_id: str) -> None:
        """Move a member account to an OU (or the root); delivers Organizations' MoveAccount event to the app's bus."""
        self.org.move_account(account_id, destination_ou_id)

    def create_member_account(self, name: str, ou_id: str, with_role: bool = True) -> str:
        """A new member account in OU ``ou_id``, with the execution role unless ``with_role`` is False; its id."""
        return self.org.create_member_account(name, ou_id, with_role)

    def wait_for_execution(self, execution_arn: str, timeout: float = 60.0) -> dict[str, Any]:
        """Poll DescribeExecution until the execution leaves RUNNING; its description. TimeoutError otherwise."""
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                return described
            if time.monotonic() > deadline:
                raise TimeoutError(f"{execution_arn} still RUNNING after {timeout:.0f} s")
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)

    @property
    def iam_denials(self) -> list[str]:
        """Every call the IAM check refused so far, as messages naming the function, the action and the resource."""
        return list(self.iam.denials) if self.iam is not None else []

    @contextlib.contextmanager
    def running_as(self, logical_id: str) -> Iterator[None]:
        """Run the block as the template function ``logical_id``: its environment, its policies."""
        with invocation_scope.entered(self.function_scopes[logical_id]):
            yield

    def add_function(self, name: str, code: lambda_runner.FunctionCode, *, timeout: int = 30) -> str:
        """Create an extra Lambda function in the home region that runs ``code`` in process; its ARN."""
        made = self.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=self.deployment.role_arn,
            Handler=code.handler,
            Code={"ZipFile": dummy_zip()},
            Timeout=timeout,
        )
        lambda_runner.register(name, code, account_id=self.account_id, region=self.region)
        return str(made["FunctionArn"])

    def invoke(self, logical_id: str, event: Any) -> tuple[Any, bool]:
        """Invoke a template function (RequestResponse) through the emulator: (decoded payload, function error)."""
        answer = self.client("lambda").invoke(
            FunctionName=self.function_arns[logical_id], Payload=json.dumps(event).encode()
        )
        payload = answer["Payload"].read()
        return (json.loads(payload) if payload else None), "FunctionError" in answer

    # -- start-up -----------------------------------------------------------------------------------------
    def _start_emulator(self) -> None:
        # The app's own patches of moto, installed before the server handles its first request.
        invocation_scope.install()
        lambda_runner.install()
        events_bridge.install()
        self._emulator.start()
        self.aws_port = self._emulator.aws_port
        _reset_app_clients()
        self.registries = registry.start(HOST, self.registry_port, home=(self.account_id, self.region))
        self.registry_port = self.registries.port
        self.deployment.registry_endpoint = self.registries.url  # the functions' ECR_REGISTRY_ENDPOINT

    def _provision(self) -> None:
        self.deployment.provision_resources()
        self.org.seed(lambda: self.trusted_function_role_arns)
        self.deployment.provision_wiring()
        self.org.forward_events()  # from now on Organizations' events reach the app, as org-events.yaml forwards them
        envs = list(self.function_environments.values())
        # No function may read another's variables from the process environment.
        self._emulator.set_env(dict.fromkeys({key for env in envs for key in env}))
        _session_hooks().append(function_credentials.attach)
        if self._translated is not None:
            statements = function_statements(self._translated, self.deployment.resolver())
            put_function_policies(self.client("iam"), self.function_role_arns, statements)
            self.iam = IamCheck(
                statements,
                account_id=self.account_id,
                role_statements=self.org.execution_role_statements,
                organization_of=sts_trust.organization_of,
                secret_tags=resource_tags.secret_tags,
            )
            _session_hooks().append(self.iam.attach)
        _reset_app_clients()

    def _routes(self) -> Iterable[Route]:
        for route in self.template.api_routes:
            fn = self.template.functions[route.function]
            yield Route(
                method=route.method,
                path=route.path,
                function_name=self.function_names[fn.logical_id],
                function_arn=self.function_arns[fn.logical_id],
                code=lambda_runner.FunctionCode(fn.code_dir, fn.handler),
                memory_mb=fn.memory_size,
                timeout_s=fn.timeout,
                scope=self.function_scopes[fn.logical_id],
            )

    def _start_api(self) -> None:
        try:
            api = ApiServer(list(self._routes()), host=HOST, port=self.api_port, account_id=self.account_id)
        except OSError as error:
            raise StackError(
                f"cannot listen on {HOST}:{self.api_port} ({error.strerror}): set {API_PORT_ENV} to a free port"
            ) from None
        api.start()
        self._api = api
        self.api_port = api.port


def _session_hooks() -> list[Callable[[Any, str | None], None]]:
    """The app's hooks on each new boto3 session (the layer is on sys.path once the stack started)."""
    from pullthrough import aws

    return aws.session_hooks


def _reset_app_clients() -> None:
    """Drop the app's cached boto3 clients (they captured the old endpoint)."""
    with contextlib.suppress(ImportError):
        from pullthrough import aws

        aws.reset()
