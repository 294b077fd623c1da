"""The embedded stack: moto server on loopback + ECR pull-through extension + in-process Lambda runner + local API.

    with LocalStack() as stack:          # ports from PULLTHROUGH_AWS_PORT / PULLTHROUGH_API_PORT (5000 / 3000)
        stack.client("ecr", "eu-west-1").describe_pull_through_cache_rules()

Everything is provisioned from template.yaml through plain boto3 against the emulator: the functions (their code
runs in this process), the table, the state machine (DefinitionSubstitutions resolved to the emulator's ARNs), the
EventBridge rules and the API routes. Each function sees only its own environment (the template's Globals and its
own Environment, ``local.invocation_scope``), and with ``iam_check`` on (the default) every AWS call its handler
makes is checked against its own policies as SAM expands them (``local.iam_check``): a call the template does not
grant fails with AccessDeniedException and lands in ``iam_denials``. moto's state and ``os.environ`` are
process-wide: one stack at a time.

Each function has a role of its own under the IAM path target-account.yaml trusts (``/pullthrough/``) and signs its
calls with that role's session credentials (``local.function_credentials``), so the emulator's STS
(``local.emulator.sts_trust``) can refuse an AssumeRole like AWS. The stack's account is the management account of
a seeded Organization (``stack.organization``, ``local.organization``) whose members hold the execution role of
target-account.yaml; ``move_account`` and ``create_member_account`` change it and deliver Organizations' events to
the app's bus, as org-events.yaml forwards them.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import socket
import sys
import threading
import time
import urllib.request
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from local import events_bridge, function_credentials, invocation_scope, lambda_runner, organization
from local.api_server import ApiServer, Route
from local.emulator import ecr_extension, engine_tuning, secret_events, secretsmanager_fixes, sts_trust
from local.execution_events import ExecutionEvents
from local.iam_check import IamCheck
from local.iam_policies import PolicyError, function_statements, translate
from local.invocation_scope import FunctionScope
from local.organization import Organization
from local.target_account import DeployedRole, deployed_role
from local.template_reader import DEFAULT_TEMPLATE, Resolver, Template, load_template, substitute

HOME_REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
PARTITION = "aws"
HOST = "127.0.0.1"
AWS_PORT_ENV = "PULLTHROUGH_AWS_PORT"
API_PORT_ENV = "PULLTHROUGH_API_PORT"
LATENCY_ENV = "PULLTHROUGH_EMULATOR_LATENCY_MS"
ROLE_NAME = "pullthrough-local"
ACCESS_KEY = "testing"  # the stack's own credentials on the emulator: the home (management) account's root
# The IAM path of the functions' roles when template.yaml sets no RolePath: the one target-account.yaml trusts.
FUNCTION_ROLE_PATH = "/pullthrough/"
EXECUTION_ROLE_NAME = "PullthroughExecutionRole"  # when template.yaml has no ExecutionRoleName parameter
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
_CONTROL_PATHS = ("/moto-api", "/_pullthrough")
_active_lock = threading.Lock()
_active: LocalStack | None = None


class StackError(RuntimeError):
    """The local stack cannot start as configured."""


def port_from_env(name: str, default: int) -> int:
    """A TCP port from environment variable ``name`` (0: any free port)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        raise StackError(f"{name}={raw!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise StackError(f"{name}={port} is out of range (0..65535)")
    return port


def check_port_free(port: int, env_name: str) -> None:
    """Raise StackError naming ``env_name`` when 127.0.0.1:``port`` is taken."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Like the servers: a port left in TIME_WAIT by a stopped stack is free, one with a listener is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as error:
            raise StackError(
                f"{HOST}:{port} is already in use ({error.strerror}): set {env_name} to a free port "
                f"(e.g. {env_name}={port + 1}) or stop what listens there"
            ) from None


#: A per-request latency in milliseconds from the request's (region, service), e.g. a benchmark's latency model.
LatencyModel = Callable[[str, str], float]
_SIGNED_SCOPE = re.compile(r"Credential=[^/]*/\d{8}/([^/]+)/([^/]+)/aws4_request")


class EmulatorLatency:
    """WSGI middleware: wait before each AWS call. With a ``model`` set, the model's milliseconds for the request's
    region and service (read from its SigV4 credential scope; empty strings when unsigned); otherwise
    PULLTHROUGH_EMULATOR_LATENCY_MS (read per request, default 0). Control paths never wait."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self._app = app
        self.model: LatencyModel | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if not str(environ.get("PATH_INFO", "")).startswith(_CONTROL_PATHS):
            delay = self._delay_ms(environ)
            if delay > 0:
                time.sleep(delay / 1000)
        return self._app(environ, start_response)

    def _delay_ms(self, environ: dict[str, Any]) -> float:
        model = self.model
        if model is not None:
            scope = _SIGNED_SCOPE.search(str(environ.get("HTTP_AUTHORIZATION", "")))
            return model(*(scope.groups() if scope else ("", "")))
        raw = os.environ.get(LATENCY_ENV)
        if raw:
            with contextlib.suppress(ValueError):
                return float(raw)
        return 0.0


class RequestLog:
    """WSGI middleware: the JSON-protocol operations (``X-Amz-Target``: ECR, Secrets Manager, DynamoDB, Step
    Functions, EventBridge) the emulator received, in order. What reached the server, whoever sent it."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self._app = app
        self._lock = threading.Lock()
        self.operations: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            with self._lock:
                self.operations.append(str(target))
        return self._app(environ, start_response)

    def since(self, mark: int) -> list[str]:
        """Operations received after ``mark`` (a length of ``operations`` taken earlier)."""
        with self._lock:
            return self.operations[mark:]


class EmulatorServer(ThreadedMotoServer):
    """moto's ThreadedMotoServer that reports a failed bind (instead of hanging) and applies the latency knob."""

    def __init__(self, ip_address: str, port: int) -> None:
        super().__init__(ip_address=ip_address, port=port, verbose=False)
        self.error: BaseException | None = None
        self.requests: RequestLog | None = None
        self.latency: EmulatorLatency | None = None

    def _server_entry(self) -> None:
        try:
            app = DomainDispatcherApplication(create_backend_app)
            self.latency = EmulatorLatency(app)
            self.requests = RequestLog(self.latency)
            self._server = make_server(
                self._ip_address, self._port, self.requests, True, request_handler=MotoRequestHandler
            )
        except BaseException as error:
            self.error = error
            self._server_ready_event.set()
            return
        self._server_ready_event.set()
        self._server.serve_forever()

    def start(self) -> None:
        super().start()
        if self.error is not None:
            assert self._thread is not None
            self._thread.join()
            raise self.error


def _dummy_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "# the local stack runs the code from its source directory\n")
    return buffer.getvalue()


class LocalStack:
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
    ) -> None:
        """``aws_port``/``api_port``: None reads PULLTHROUGH_AWS_PORT/PULLTHROUGH_API_PORT (5000/3000), 0 any free.

        ``parameters`` override the template's parameter defaults (like ``sam deploy --parameter-overrides``).
        ``iam_check``: check every AWS call a handler makes against its function's policies (needs the SAM
        translator of ``make sam-tools``).
        """
        self.aws_port = port_from_env(AWS_PORT_ENV, 5000) if aws_port is None else aws_port
        self.api_port = port_from_env(API_PORT_ENV, 3000) if api_port is None else api_port
        self.region = HOME_REGION
        self.account_id = ACCOUNT_ID
        self.stack_name = stack_name
        self.verbose = verbose
        self.template: Template = load_template(template)
        unknown = set(parameters or {}) - set(self.template.parameters)
        if unknown:
            raise StackError(f"unknown template parameter(s): {', '.join(sorted(unknown))}")
        # Locally no step outlives its call, so a failed region Map needs no long settle before its rollback.
        # A source secret's change rolls out after a short debounce window (pullthrough.rotation).
        local_defaults = {"InFlightSettleSeconds": "1", "RotationDebounceSeconds": "2"}
        self.parameters = {**self.template.parameters, **local_defaults, **(parameters or {})}
        self.function_names: dict[str, str] = {}  # logical id -> name
        self.bus_names: dict[str, str] = {}  # logical id -> name of the template's own event buses
        self.function_arns: dict[str, str] = {}
        self.table_names: dict[str, str] = {}
        self.state_machine_arn = ""
        self._execution_events: ExecutionEvents | None = None
        self._role_arn = ""
        self.rule_names: list[str] = []
        self.function_environments: dict[str, dict[str, str]] = {}  # logical id -> its resolved environment
        self.function_scopes: dict[str, FunctionScope] = {}  # logical id -> what its invocations run as
        self.function_role_arns: dict[str, str] = {}  # logical id -> its own role (under FUNCTION_ROLE_PATH)
        self.organization: Organization | None = None
        self.environment: dict[str, str] = {}  # the variables every function has, with the same value (Globals)
        self.iam: IamCheck | None = None
        self._iam_wanted = iam_check
        self._translated: dict[str, Any] | None = None
        self._server: EmulatorServer | None = None
        self._api: ApiServer | None = None
        self._saved_env: dict[str, str | None] = {}
        self._saved_sfn_config: dict[str, Any] | None = None
        self._clients: dict[tuple[str, str, str | None], Any] = {}
        self._clients_lock = threading.Lock()  # also guards _boto: boto3 sessions are not thread-safe
        self._boto = boto3.session.Session()  # one session for all of the stack's clients: models load once
        self._added_paths: list[str] = []
        self._saved_levels: dict[str, int] = {}

    # -- lifecycle ----------------------------------------------------------------------------------------
    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> LocalStack:
        """Start the emulator, provision the template on it, start the API."""
        global _active
        check_port_free(self.aws_port, AWS_PORT_ENV)
        check_port_free(self.api_port, API_PORT_ENV)
        with _active_lock:
            if _active is not None:
                raise StackError("a LocalStack is already running in this process (they share os.environ)")
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
        events_bridge.wait_idle(timeout=5)
        if self._server is not None:
            with contextlib.suppress(Exception):
                self._moto_api("reset")
            if self._saved_sfn_config is not None:
                with contextlib.suppress(Exception):
                    self._moto_api("config", {"stepfunctions": self._saved_sfn_config})
            self._server.stop()
            self._server = None
        lambda_runner.unregister_all()
        lambda_runner.uninstall()
        events_bridge.uninstall()
        secret_events.uninstall()
        if self.iam is not None:
            _session_hooks().remove(self.iam.attach)
        with contextlib.suppress(ImportError, ValueError):
            _session_hooks().remove(function_credentials.attach)
        invocation_scope.uninstall()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()
        for name, level in self._saved_levels.items():
            logging.getLogger(name).setLevel(level)
        self._saved_levels.clear()
        for entry in self._added_paths:
            with contextlib.suppress(ValueError):
                sys.path.remove(entry)
        self._added_paths.clear()
        self._clients.clear()
        _reset_app_clients()
        engine_tuning.uninstall()
        engine_tuning.thaw_heap()
        with _active_lock:
            _active = None

    # -- helpers --------------------------------------------------------------------------------------------
    @property
    def requests(self) -> RequestLog:
        """Every JSON-protocol operation the emulator has received (for tests that count writes)."""
        assert self._server is not None and self._server.requests is not None, "the stack is not running"
        return self._server.requests

    def set_latency_model(self, model: LatencyModel | None) -> None:
        """Price each AWS request by ``model(region, service)`` milliseconds (None: back to the flat knob)."""
        assert self._server is not None and self._server.latency is not None, "the stack is not running"
        self._server.latency.model = model

    @property
    def endpoint_url(self) -> str:
        return f"http://{HOST}:{self.aws_port}"

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.api_port}"

    @property
    def role_arn(self) -> str:
        """The IAM role the stack's state machine and extra functions (``add_function``) use; each template function
        has a role of its own (``function_role_arns``)."""
        return self._role_arn

    def client(self, service: str, region: str = HOME_REGION, account: str | None = None) -> Any:
        """A boto3 client of ``service`` in ``region`` pointed at the emulator (cached).

        ``account``: a member account of the seeded organization to act in, as its administrator (through the
        OrganizationAccountAccessRole that Organizations creates in each account it creates, so it works in an
        account without the execution role too); None or the home account: the home account's root.
        """
        acting = None if account in (None, self.account_id) else account
        key = (service, region, acting)
        with self._clients_lock:
            if key not in self._clients:
                credentials = {"aws_access_key_id": ACCESS_KEY, "aws_secret_access_key": "testing"}
                if acting is not None:
                    credentials = self._admin_credentials(acting)
                self._clients[key] = self._boto.client(
                    service,  # type: ignore[call-overload]
                    region_name=region,
                    endpoint_url=self.endpoint_url,
                    **credentials,
                )
            return self._clients[key]

    def _admin_credentials(self, account: str) -> dict[str, str]:
        """Session credentials of ``account``'s OrganizationAccountAccessRole, assumed from the management account."""
        sts = self._boto.client(
            "sts",
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key="testing",
        )
        role = f"arn:{PARTITION}:iam::{account}:role/{organization.ADMIN_ROLE}"
        granted = sts.assume_role(RoleArn=role, RoleSessionName="embedded-stack")["Credentials"]
        return {
            "aws_access_key_id": granted["AccessKeyId"],
            "aws_secret_access_key": granted["SecretAccessKey"],
            "aws_session_token": granted["SessionToken"],
        }

    # -- the organization -------------------------------------------------------------------------------------
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
            "FunctionRolePath": self.function_role_path,
            "PassableRolePath": self.parameters.get("PassableRolePath", "/"),
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
        """Move a member account to an OU (or the root) and deliver Organizations' MoveAccount event to the app's
        bus, as org-events.yaml forwards it."""
        event = organization.move_account(self._org_clients, self._org(), account_id, destination_ou_id)
        self._deliver_org_events([event])

    def create_member_account(self, name: str, ou_id: str, with_role: bool = True) -> str:
        """A new member account in OU ``ou_id`` (the root id: stays in the root), with the execution role unless
        ``with_role`` is False; delivers CreateAccountResult (and MoveAccount when moved out of the root) to the
        app's bus. Its id."""
        account, events = organization.create_member_account(
            self._org_clients, self._org(), self._deployed_role, name, ou_id, with_role=with_role
        )
        self._deliver_org_events(events)
        return account

    def _deliver_org_events(self, entries: list[dict[str, Any]]) -> None:
        answer = self.client("events").put_events(
            Entries=[{**entry, "EventBusName": self.event_bus_name} for entry in entries]
        )
        if answer.get("FailedEntryCount"):
            raise StackError(f"the app's bus refused Organizations events: {answer['Entries']}")

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
            Role=self._role_arn,
            Handler=code.handler,
            Code={"ZipFile": _dummy_zip()},
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
    def _set_env(self, values: dict[str, str | None]) -> None:
        for key, value in values.items():
            if key not in self._saved_env:
                self._saved_env[key] = os.environ.get(key)
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def _start_emulator(self) -> None:
        if not self.verbose:
            # One line per request, and moto's dumps of every ASL evaluation error (the history has them too).
            for name, level in (("werkzeug", logging.WARNING), ("moto.stepfunctions.parser", logging.CRITICAL)):
                self._saved_levels[name] = logging.getLogger(name).level
                logging.getLogger(name).setLevel(level)
        # Installed before the server handles its first request (moto builds a service's routes on first use).
        invocation_scope.install()
        ecr_extension.install()
        sts_trust.install()
        secretsmanager_fixes.install()
        secret_events.install()  # CloudTrail's secret events on the default buses
        lambda_runner.install()
        events_bridge.install()
        engine_tuning.install()
        server = EmulatorServer(HOST, self.aws_port)
        try:
            server.start()
        except OSError as error:
            raise StackError(
                f"cannot listen on {HOST}:{self.aws_port} ({error.strerror}): set {AWS_PORT_ENV} to a free port"
            ) from None
        self._server = server
        self.aws_port = server.get_host_and_port()[1]
        stray = [key for key in os.environ if key.startswith("AWS_ENDPOINT_URL_")]
        self._set_env(
            {
                "AWS_ACCESS_KEY_ID": ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": None,
                "AWS_PROFILE": None,
                "AWS_DEFAULT_REGION": HOME_REGION,
                "AWS_REGION": HOME_REGION,
                "MOTO_PORT": str(self.aws_port),
                "AWS_ENDPOINT_URL": self.endpoint_url,
                **dict.fromkeys(stray),
            }
        )
        _reset_app_clients()
        from moto.core.config import default_user_config

        self._saved_sfn_config = dict(default_user_config.get("stepfunctions", {}))
        self._moto_api("reset")  # moto's state is process-wide: start from a clean slate
        self._moto_api("config", {"stepfunctions": {"execute_state_machine": True}})

    def _moto_api(self, action: str, body: dict[str, Any] | None = None) -> None:
        request = urllib.request.Request(  # noqa: S310 - loopback URL built here
            f"{self.endpoint_url}/moto-api/{action}", data=json.dumps(body or {}).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()

    def _resolver(self) -> Resolver:
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
        return Resolver(refs=refs, attrs=attrs)

    def _provision(self) -> None:
        iam = self.client("iam")
        role = iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(_TRUST_POLICY))
        self._role_arn = role_arn = role["Role"]["Arn"]
        self._create_tables()
        self._create_event_buses()
        self._create_functions()
        self._create_state_machine(role_arn)
        self._configure_functions()
        self._create_event_rules()
        self.organization = organization.seed(self._org_clients, self._deployed_role)

    def _create_event_buses(self) -> None:
        """The template's own buses (their policies are IAM, which the emulator does not enforce on PutEvents)."""
        resolver = self._resolver()
        for lid, raw in self.template.event_buses.items():
            name = str(resolver.resolve(raw, where=f"{lid}.Name")) if raw else f"{self.stack_name}-{lid}"
            self.client("events").create_event_bus(Name=name)
            self.bus_names[lid] = name

    @property
    def event_bus_name(self) -> str:
        """The app's own bus (where rule requests go and the app's events come out)."""
        return self.parameters.get("EventBusName", "default")

    def _create_tables(self) -> None:
        ddb = self.client("dynamodb")
        for table in self.template.tables.values():
            name = f"{self.stack_name}-{table.logical_id}"
            ddb.create_table(
                TableName=name,
                AttributeDefinitions=table.attribute_definitions,
                KeySchema=table.key_schema,
                BillingMode=table.billing_mode,
            )
            self.table_names[table.logical_id] = name

    def _create_functions(self) -> None:
        lam = self.client("lambda")
        iam = self.client("iam")
        code = _dummy_zip()
        for fn in self.template.functions.values():
            if not fn.code_dir.is_dir():
                raise StackError(f"{fn.logical_id}: CodeUri {fn.code_dir} is not a directory")
            name = f"{self.stack_name}-{fn.logical_id}"[:64]
            # One role per function, as SAM creates <Function>Role, under the path target-account.yaml trusts.
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
        resolver = self._resolver()
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
        resolver = self._resolver()
        lam = self.client("lambda")
        for fn in self.template.functions.values():
            env = {
                key: str(resolver.resolve(raw, where=f"{fn.logical_id}.Environment.{key}"))
                for key, raw in fn.environment.items()
            }
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
        # No function may read another's variables from the process environment.
        self._set_env(dict.fromkeys({key for env in envs for key in env}))
        _session_hooks().append(function_credentials.attach)
        if self._translated is not None:
            statements = function_statements(self._translated, resolver)
            self.iam = IamCheck(statements, account_id=self.account_id, role_statements=self._execution_role_statements)
            _session_hooks().append(self.iam.attach)
        _reset_app_clients()

    def _create_event_rules(self) -> None:
        resolver = self._resolver()
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

    def _execution_role_statements(self, role_arn: str) -> list[Any] | None:
        """The statements of the execution role ``role_arn`` names (None: not the execution role)."""
        account, name = role_arn.split(":", 5)[4], role_arn.rsplit("/", 1)[-1]
        if name != self.execution_role_name:
            return None
        return self.execution_role(account).statements()


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


def _session_hooks() -> list[Callable[[Any, str | None], None]]:
    """The app's hooks on each new boto3 session (the layer is on sys.path once the stack started)."""
    from pullthrough import aws

    return aws.session_hooks


def _reset_app_clients() -> None:
    """Drop the app's cached boto3 clients (they captured the old endpoint)."""
    with contextlib.suppress(ImportError):
        from pullthrough import aws

        aws.reset()
