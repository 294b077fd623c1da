"""Drive the embedded stack for the measurements: rollouts through the app's own rollout service, the same
handlers called one region after another, the emulator's latency knob, and cleanup between runs.

Every measured rollout uses a fresh prefix and is cleaned up afterwards (rule, template, secrets, desired rule),
so no region ever gets near ECR's 50-rules quota however many runs a benchmark makes.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from benchmarks.counters import Call, Counters, InvocationRecord
from benchmarks.latency_model import LatencyModel
from benchmarks.settings import HOME_REGION, Settings
from local import lambda_runner
from local.emulator.server import LATENCY_ENV
from local.stack import EmbeddedStack

SECRET_PREFIX = "ecr-pullthroughcache/"
SOURCE_PREFIX = "ecr-pullthroughcache/_source/"
# The per-region steps of an APPLY rollout, in order: step name -> template logical id.
STEPS = {
    "StoreSecret": "StoreSecretFunction",
    "CreateRule": "CreateRuleFunction",
    "ValidateRule": "ValidateRuleFunction",
    "ApplyTemplate": "ApplyTemplateFunction",
}
UPSTREAM = {"upstreamRegistry": "docker-hub", "upstreamRegistryUrl": "registry-1.docker.io"}


@dataclass
class RolloutRun:
    """One finished rollout and what it cost."""

    rollout_id: str
    execution_arn: str
    prefix: str
    regions: list[str]
    status: str  # the execution's status
    outcome: str  # the rollout's status as FinishRollout reports it (SUCCEEDED, ROLLED_BACK, ...)
    duration: float  # execution start -> stop, by the engine's clock (seconds)
    cpu: float  # this process's CPU seconds while the rollout ran (emulator, engine and handlers share it)
    gc_seconds: float = 0.0  # of the wall time, spent in the interpreter's cyclic garbage collector
    gc_full: int = 0  # full (generation 2) collections during the rollout
    calls: list[Call] = field(default_factory=list)  # API calls the handlers made
    invocations: list[InvocationRecord] = field(default_factory=list)


class Bench:
    """The stack plus counters and helpers; a context manager that installs and removes the hooks."""

    def __init__(self, stack: EmbeddedStack, settings: Settings) -> None:
        self.stack = stack
        self.settings = settings
        self.counters = Counters()
        self._serial = itertools.count(1)
        self._tag = uuid.uuid4().hex[:4]
        self._saved_latency: str | None = None
        self._gc_started = self._gc_wall = 0.0
        self.gc_seconds = 0.0  # time in garbage collections since the bench started
        self.gc_full = 0
        self.gc_pauses: list[tuple[float, float]] = []  # full collections: (epoch seconds at start, seconds)

    def __enter__(self) -> Bench:
        self._saved_latency = os.environ.get(LATENCY_ENV)
        self.counters.install()
        gc.callbacks.append(self._gc_callback)
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._gc_callback)
        self.counters.uninstall()
        if self._saved_latency is None:
            os.environ.pop(LATENCY_ENV, None)
        else:
            os.environ[LATENCY_ENV] = self._saved_latency

    def _gc_callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started, self._gc_wall = time.perf_counter(), time.time()
            return
        took = time.perf_counter() - self._gc_started
        self.gc_seconds += took
        if info.get("generation") == 2:
            self.gc_full += 1
            self.gc_pauses.append((self._gc_wall, took))

    # -- knobs and names --------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def latency(self, ms: float) -> Iterator[None]:
        """Every AWS API request to the emulator waits ``ms`` milliseconds while inside the block."""
        before = os.environ.get(LATENCY_ENV)
        os.environ[LATENCY_ENV] = str(ms)
        try:
            yield
        finally:
            if before is None:
                os.environ.pop(LATENCY_ENV, None)
            else:
                os.environ[LATENCY_ENV] = before

    @contextlib.contextmanager
    def latency_model(self, model: LatencyModel) -> Iterator[None]:
        """Inside the block every AWS API request waits what ``model`` says for its region and service."""
        self.stack.set_latency_model(model.call_ms)
        try:
            yield
        finally:
            self.stack.set_latency_model(None)

    def prefix(self, tag: str) -> str:
        """A rule prefix no earlier run used (ECR: 2..30 characters)."""
        return f"{tag}-{self._tag}{next(self._serial)}"[:30]

    def function_name(self, logical_id: str) -> str:
        return self.stack.function_names[logical_id]

    def step_of(self, function_name: str) -> str:
        """'pullthrough-StoreSecretFunction' -> 'StoreSecret'."""
        for logical_id, name in self.stack.function_names.items():
            if name == function_name:
                return logical_id.removesuffix("Function")
        return function_name

    # -- set-up -----------------------------------------------------------------------------------------------
    def source_secret(self, prefix: str, token: str | None = None) -> str:
        """Create (or give a new value to) the home-region source secret of ``prefix``; its ARN."""
        sm = self.stack.client("secretsmanager", HOME_REGION)
        value = json.dumps({"username": "bench", "accessToken": token or f"token-{uuid.uuid4().hex}"})
        name = SOURCE_PREFIX + prefix
        with self.latency(0):
            try:
                return str(sm.put_secret_value(SecretId=name, SecretString=value)["ARN"])
            except sm.exceptions.ResourceNotFoundException:
                return str(sm.create_secret(Name=name, SecretString=value)["ARN"])

    def request(self, prefix: str, regions: list[str], source_arn: str) -> Any:
        """The rule request a user would POST (docker-hub, credentials by ARN, the default creation template)."""
        from pullthrough.models import RuleRequest

        return RuleRequest.model_validate(
            {**UPSTREAM, "ecrRepositoryPrefix": prefix, "credentialSecretArn": source_arn, "regions": regions}
        )

    # -- rollouts ---------------------------------------------------------------------------------------------
    def rollout(self, prefix: str, regions: list[str], source_arn: str, timeout: float = 300.0) -> RolloutRun:
        """Start a rollout with the app's rollout service (as the API does) and wait for it to end."""
        from pullthrough.rollouts.start import start
        from pullthrough.rollouts.view import view as view_of
        from pullthrough.wiring import rollouts_from_env

        mark = self.counters.mark()
        cpu, gc_seconds, gc_full = time.process_time(), self.gc_seconds, self.gc_full
        with self.stack.running_as("ApiFunction"):  # its environment and its policies, as the API's POST
            deps = rollouts_from_env()
            started = start(deps, self.request(prefix, regions, source_arn), idempotency_key=uuid.uuid4().hex)
            arn = deps.require_executions().execution_arn(started["rolloutId"])
        described = self.wait(arn, timeout)
        cpu = time.process_time() - cpu
        calls, invocations = self.counters.since(mark)
        with self.stack.running_as("ApiFunction"):  # GET /rollouts/{id}
            view = view_of(deps, started["rolloutId"]) or {}
        return RolloutRun(
            rollout_id=started["rolloutId"],
            execution_arn=arn,
            prefix=prefix,
            regions=list(regions),
            status=described["status"],
            outcome=str(view.get("status", described["status"])),  # the rollout's own status (ROLLED_BACK, ...)
            duration=(described["stopDate"] - described["startDate"]).total_seconds(),
            cpu=cpu,
            gc_seconds=self.gc_seconds - gc_seconds,
            gc_full=self.gc_full - gc_full,
            calls=[call for call in calls if call.function is not None],
            invocations=invocations,
        )

    def wait(self, execution_arn: str, timeout: float = 300.0) -> dict[str, Any]:
        """Poll DescribeExecution every 50 ms until the execution ends."""
        sfn = self.stack.client("stepfunctions")
        deadline = time.monotonic() + timeout
        while True:
            described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                return described
            if time.monotonic() > deadline:
                raise TimeoutError(f"{execution_arn} still RUNNING after {timeout:.0f} s")
            time.sleep(0.05)

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        """The execution's history events (fetched without emulator latency)."""
        sfn = self.stack.client("stepfunctions")
        events: list[dict[str, Any]] = []
        with self.latency(0):
            for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
                events.extend(page["events"])
        return events

    def sequential(self, prefix: str, regions: list[str], source_arn: str) -> float:
        """The same four handlers called in process, one region after another (a CLI loop); seconds taken."""
        handlers = {}
        for step, logical_id in STEPS.items():
            fn = self.stack.template.functions[logical_id]
            handlers[step] = lambda_runner.load_handler(lambda_runner.FunctionCode(fn.code_dir, fn.handler))
        request = self.request(prefix, regions, source_arn)
        template = request.template()
        base = {
            "rolloutId": f"r-seq{uuid.uuid4().hex[:12]}",
            "operation": "APPLY",
            "rule": request.rule().model_dump(exclude_none=True),
            "sourceSecretArn": source_arn,
            "creationTemplate": template.to_ecr() if template else None,
            "failureTolerance": 0,
        }
        started = time.perf_counter()
        for region in regions:
            task: dict[str, Any] = {
                **base,
                "region": region,
                "storeSecret": None,
                "createRule": None,
                "applyTemplate": None,
            }
            task["storeSecret"] = self._call(handlers, "StoreSecret", task, region)
            task["createRule"] = self._call(handlers, "CreateRule", task, region)
            self._call(handlers, "ValidateRule", task, region)
            task["applyTemplate"] = self._call(handlers, "ApplyTemplate", task, region)
        return time.perf_counter() - started

    def guide_loop(self, prefix: str, regions: list[str]) -> float:
        """What a user following AWS's guide does, one region after another: 4 calls a region (create the secret,
        create the rule, validate it, create the creation template), reading nothing; seconds taken. The user holds
        the credentials, so no source secret is read; the template is the app's default, as ours applies."""
        request = self.request(prefix, regions, "arn:aws:secretsmanager:us-east-1:000000000000:secret:unused")
        template = request.template()
        fields = {"appliedFor": ["PULL_THROUGH_CACHE"], **(template.to_ecr() if template else {})}
        value = json.dumps({"username": "bench", "accessToken": f"token-{uuid.uuid4().hex}"})
        started = time.perf_counter()
        for region in regions:
            ecr = self.stack.client("ecr", region)
            secret = self.stack.client("secretsmanager", region).create_secret(
                Name=SECRET_PREFIX + prefix, SecretString=value
            )
            ecr.create_pull_through_cache_rule(ecrRepositoryPrefix=prefix, credentialArn=secret["ARN"], **UPSTREAM)
            ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix=prefix)
            ecr.create_repository_creation_template(prefix=prefix, **fields)
        return time.perf_counter() - started

    def _call(self, handlers: dict[str, Any], step: str, task: dict[str, Any], region: str) -> Any:
        """One step's handler, run as its function (its environment, its policies), like Lambda would."""
        with self.stack.running_as(STEPS[step]):
            return handlers[step](task, self._context(step, region))

    def _context(self, step: str, region: str) -> lambda_runner.LambdaContext:
        logical_id = STEPS[step]
        fn = self.stack.template.functions[logical_id]
        return lambda_runner.LambdaContext(
            self.function_name(logical_id), self.stack.function_arns[logical_id], fn.memory_size, fn.timeout, region
        )

    # -- cleanup ----------------------------------------------------------------------------------------------
    def cleanup(self, prefix: str, regions: list[str]) -> None:
        """Delete what a rollout of ``prefix`` left: template, rule and secret per region, source secret, records."""
        with self.latency(0):
            for region in regions:
                ecr = self.stack.client("ecr", region)
                sm = self.stack.client("secretsmanager", region)
                with contextlib.suppress(ClientError):
                    ecr.delete_repository_creation_template(prefix=prefix)
                with contextlib.suppress(ClientError):
                    ecr.delete_pull_through_cache_rule(ecrRepositoryPrefix=prefix)
                with contextlib.suppress(ClientError):
                    sm.delete_secret(SecretId=SECRET_PREFIX + prefix, ForceDeleteWithoutRecovery=True)
            with contextlib.suppress(ClientError):
                self.stack.client("secretsmanager", HOME_REGION).delete_secret(
                    SecretId=SOURCE_PREFIX + prefix, ForceDeleteWithoutRecovery=True
                )
            self.delete_desired(prefix)

    def delete_desired(self, prefix: str | None = None) -> None:
        """Delete the desired rule of ``prefix`` from the table (every desired rule when None)."""
        ddb = self.stack.client("dynamodb")
        table = self.stack.environment["TABLE_NAME"]
        if prefix is not None:
            keys = [prefix]
        else:
            pages = ddb.get_paginator("query").paginate(
                TableName=table, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": "RULES"}}
            )
            keys = [item["sk"]["S"] for page in pages for item in page.get("Items", [])]
        for key in keys:
            ddb.delete_item(TableName=table, Key={"pk": {"S": "RULES"}, "sk": {"S": key}})

    def purge_region(self, region: str) -> None:
        """Delete every pull-through cache rule, creation template and ``ecr-pullthroughcache/`` secret in a region."""
        ecr = self.stack.client("ecr", region)
        sm = self.stack.client("secretsmanager", region)
        with self.latency(0):
            for rule in ecr.describe_pull_through_cache_rules().get("pullThroughCacheRules", []):
                ecr.delete_pull_through_cache_rule(ecrRepositoryPrefix=rule["ecrRepositoryPrefix"])
            for template in ecr.describe_repository_creation_templates().get("repositoryCreationTemplates", []):
                ecr.delete_repository_creation_template(prefix=template["prefix"])
            pages = sm.get_paginator("list_secrets").paginate(Filters=[{"Key": "name", "Values": [SECRET_PREFIX]}])
            for secret in [s for page in pages for s in page.get("SecretList", [])]:
                sm.delete_secret(SecretId=secret["ARN"], ForceDeleteWithoutRecovery=True)
