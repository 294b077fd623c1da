"""Run a state machine definition on aws-local-stepfunctions (npm), a Step Functions engine that shares no code with
moto's (a copy of LocalStack's), through tests/asl_engine/run.mjs. Every Task is mocked by resource; see run.mjs
for the scenario format. Needs node and `npm ci` (make test installs both).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from local.template_reader import CfnLoader, Resolver, load_template

ROOT = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).with_name("run.mjs")
ENGINE_PACKAGE = ROOT / "node_modules" / "aws-local-stepfunctions"
REGION = "us-east-1"
ACCOUNT = "123456789012"


def definition_substitutions(table_name: str, template_path: Path = ROOT / "template.yaml") -> dict[str, str]:
    """template.yaml's DefinitionSubstitutions with made-up physical values: a function's Arn is a Lambda ARN named
    after its logical id, every table is ``table_name``. A value this cannot evaluate raises TemplateError."""
    template = load_template(template_path)
    resources = yaml.load(template_path.read_text(), Loader=CfnLoader)["Resources"]  # CfnLoader is a SafeLoader
    refs = dict(template.parameters) | {
        "AWS::Partition": "aws",
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT,
        "AWS::StackName": "pullthrough",
        "AWS::URLSuffix": "amazonaws.com",
    }
    attrs: dict[str, str] = {}
    for logical_id, resource in resources.items():
        kind = resource.get("Type", "")
        refs[logical_id] = table_name if kind == "AWS::DynamoDB::Table" else logical_id
        attrs[f"{logical_id}.Arn"] = (
            f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{logical_id}"
            if logical_id in template.functions
            else f"arn:aws:{kind.split('::')[1].lower()}:{REGION}:{ACCOUNT}:{logical_id}"
        )
    refs |= {f"{lid}.Alias": f"{attrs[lid + '.Arn']}:{fn.alias}" for lid, fn in template.functions.items() if fn.alias}
    resolver = Resolver(refs=refs, attrs=attrs)
    return {
        name: str(resolver.resolve(value, where=f"DefinitionSubstitutions.{name}"))
        for name, value in template.state_machine.substitutions.items()
    }


@dataclass(frozen=True, repr=False)
class Execution:
    """What the engine did: the execution's end, the states entered, and every call to a mocked resource."""

    status: str
    error: str | None
    cause: str | None
    output: Any
    states: list[dict[str, Any]]  # {"name", "index"}: every state entered, in order (index: the Map iteration)
    failures: list[dict[str, Any]]  # {"state", "index", "error", "cause"}: every state that failed (retried or not)
    calls: dict[str, list[dict[str, Any]]]  # resource -> [{"state", "input", "error"}]
    tables: dict[str, list[dict[str, Any]]]  # the mocked DynamoDB tables at the end (DynamoDB JSON)

    def calls_to(self, resource: str) -> list[dict[str, Any]]:
        return self.calls.get(resource, [])

    def inputs_to(self, resource: str) -> list[Any]:
        return [call["input"] for call in self.calls_to(resource)]

    def failures_of(self, state: str) -> list[dict[str, Any]]:
        return [f for f in self.failures if f["state"] == state]

    def __repr__(self) -> str:
        return f"Execution({self.status}, error={self.error!r})"

    def describe(self) -> str:
        """A short account for assertion messages."""
        return json.dumps(
            {"status": self.status, "error": self.error, "cause": (self.cause or "")[:300], "failures": self.failures},
            indent=1,
        )


def run(
    definition: Path,
    substitutions: dict[str, str],
    execution_input: dict[str, Any],
    *,
    tables: dict[str, list[dict[str, Any]]] | None = None,
    mocks: dict[str, dict[str, Any]] | None = None,
    timeout: float = 60,
) -> Execution:
    """Run ``definition`` once; ``mocks`` and ``tables`` as run.mjs describes. A scenario the runner cannot serve
    (a resource without a mock, an expression its DynamoDB does not read) fails the calling test."""
    node = shutil.which("node")
    if node is None or not ENGINE_PACKAGE.is_dir():
        raise RuntimeError("the second ASL engine needs node and node_modules: run `make node_modules/.installed`")
    scenario = {
        "definition": str(definition),
        "substitutions": substitutions,
        "input": execution_input,
        "tables": tables or {},
        "mocks": with_defaults(default_mocks(substitutions), mocks or {}),
    }
    done = subprocess.run(
        [node, str(RUNNER)], input=json.dumps(scenario), capture_output=True, text=True, cwd=ROOT, timeout=timeout
    )
    if done.returncode != 0:
        raise AssertionError(f"run.mjs exited {done.returncode}: {done.stderr.strip()}")
    report = json.loads(done.stdout)
    return Execution(**{name: report[name] for name in Execution.__dataclass_fields__})


# What each step function returns when a scenario does not say otherwise: the shapes the real handlers return
# (tasks.py's change records), which the ASL reads (e.g. $.storeSecret.action).
STEP_OUTPUTS: dict[str, dict[str, Any]] = {
    "StoreSecretFunctionArn": {"return": {"action": "created", "secretArn": "arn:secret", "versionId": "v1"}},
    "CreateRuleFunctionArn": {"return": {"action": "created"}},
    "ValidateRuleFunctionArn": {"return": {"isValid": True}},
    "ApplyTemplateFunctionArn": {"return": {"action": "created"}},
    "RemoveRuleFunctionArn": {
        "return": {
            "storeSecret": {"action": "deleted"},
            "createRule": {"action": "deleted"},
            "applyTemplate": {"action": "deleted"},
        }
    },
    "SnapshotRegionFunctionArn": {"gate": True},
    "FinishRolloutFunctionArn": {"finish": True},
}


def default_mocks(substitutions: dict[str, str]) -> dict[str, Any]:
    """Realistic outputs for the step functions named in ``substitutions`` (FinishRollout and the gate decide)."""
    return {substitutions[name]: {"outcomes": [out]} for name, out in STEP_OUTPUTS.items() if name in substitutions}


def with_defaults(defaults: dict[str, Any], mocks: dict[str, Any]) -> dict[str, Any]:
    """The scenario's mocks over the defaults; a mock with only per-region cases keeps the default elsewhere."""
    merged = dict(defaults)
    for arn, mock in mocks.items():
        merged[arn] = (
            {"outcomes": defaults[arn]["outcomes"]} | mock if "outcomes" not in mock and arn in defaults else mock
        )
    return merged


def returns(value: Any = None) -> dict[str, Any]:
    """An outcome: the task returns ``value`` (default {})."""
    return {"return": {} if value is None else value}


def throws(error: str, cause: str | None = None) -> dict[str, Any]:
    """An outcome: the task fails with the ASL error name ``error``."""
    return {"throw": error} | ({"cause": cause} if cause is not None else {})


APPLY = {"apply": True}  # an outcome for dynamodb:* resources: run the call on the mocked table
