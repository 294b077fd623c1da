"""Physical names in the SAM-translated template: two stacks side by side, and names that fit for long stack names.

Every resource whose name must be unique in an account and region (or in its event bus) is listed in NAMED with the
property that names it and AWS's length limit. A name is evaluated as CloudFormation would for each environment of
samconfig.toml (its stack name and parameter overrides): the `default` and `prod` stacks must share no name, and no
name may stay the same whatever the stack is called. Names that are unique only inside their parent (an alias in its
function, a stage in its API, a statement in its bus policy) and names AWS does not require to be unique (a REST API's)
are left out on purpose.
"""

from __future__ import annotations

import shlex
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from local.iam_policies import translate

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"

# type -> (name property, maximum length, the property naming the scope inside the account and region, if any)
NAMED: dict[str, tuple[str, int, str | None]] = {
    "AWS::Events::EventBus": ("Name", 256, None),
    "AWS::Events::Rule": ("Name", 64, "EventBusName"),
    "AWS::Lambda::LayerVersion": ("LayerName", 140, None),
    "AWS::Lambda::Function": ("FunctionName", 64, None),
    "AWS::StepFunctions::StateMachine": ("StateMachineName", 80, None),
    "AWS::Logs::LogGroup": ("LogGroupName", 512, None),
    "AWS::CloudWatch::Alarm": ("AlarmName", 255, None),
    "AWS::CloudWatch::Dashboard": ("DashboardName", 255, None),
    "AWS::KMS::Alias": ("AliasName", 256, None),
    "AWS::SQS::Queue": ("QueueName", 80, None),
    "AWS::SNS::Topic": ("TopicName", 256, None),
    "AWS::DynamoDB::Table": ("TableName", 255, None),
    "AWS::IAM::Role": ("RoleName", 64, None),
}
# CloudFormation's stack names are at most 128 characters; the state machine's name (80 at most) is the tightest
# that carries the stack name: README's deploy section says so.
LONGEST_STACK_NAME = 72
ACCOUNT, REGION = "123456789012", "us-east-1"


class _Stack:
    """The few intrinsics physical names use, evaluated for one stack."""

    def __init__(self, template: Mapping[str, Any], stack_name: str, overrides: Mapping[str, str]) -> None:
        declared = template.get("Parameters") or {}
        unknown = set(overrides) - set(declared)
        assert not unknown, f"samconfig overrides unknown parameters {unknown}"
        self.template = template
        self.refs: dict[str, Any] = {name: str(spec.get("Default", "")) for name, spec in declared.items()}
        self.refs.update(overrides)
        self.refs.update({"AWS::StackName": stack_name, "AWS::AccountId": ACCOUNT, "AWS::Region": REGION})
        self.refs.update({"AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com", "AWS::NoValue": None})

    def holds(self, condition: str) -> bool:
        return bool(self.value(self.template["Conditions"][condition]))

    def value(self, raw: Any) -> Any:
        if isinstance(raw, list):
            return [self.value(v) for v in raw]
        if not isinstance(raw, dict) or len(raw) != 1:
            return raw
        (fn, arg), *_ = raw.items()
        if fn == "Ref":
            return self.refs[arg] if arg in self.refs else self.name_of(arg)
        if fn == "Fn::Sub":
            text, local = (arg, {}) if isinstance(arg, str) else (arg[0], self.value(arg[1]))
            for name in {**self.refs, **local}:
                text = text.replace("${" + name + "}", str(local.get(name, self.refs.get(name))))
            assert "${" not in text, f"cannot evaluate {text}"
            return text
        if fn == "Fn::If":
            name, when_true, when_false = arg
            return self.value(when_true if self.holds(name) else when_false)
        if fn == "Fn::Equals":
            return self.value(arg[0]) == self.value(arg[1])
        if fn == "Fn::Not":
            return not self.value(arg[0])
        if fn in ("Fn::And", "Fn::Or"):
            results = [self.value(a) for a in arg]
            return all(results) if fn == "Fn::And" else any(results)
        if fn == "Condition":
            return self.holds(arg)
        if fn == "Fn::Join":
            return str(arg[0]).join(str(self.value(v)) for v in arg[1])
        raise AssertionError(f"a physical name uses {fn}, which this test cannot evaluate")

    def name_of(self, logical_id: str) -> str | None:
        resource = self.template["Resources"][logical_id]
        prop = NAMED.get(resource["Type"], ("", 0, None))[0]
        raw = (resource.get("Properties") or {}).get(prop)
        return None if raw is None else str(self.value(raw))

    def names(self) -> dict[tuple[str, str, str], str]:
        """(type, scope, name) -> logical id, for every resource this stack names itself (CloudFormation names the others)."""
        found: dict[tuple[str, str, str], str] = {}
        for logical_id, resource in self.template["Resources"].items():
            kind = resource["Type"]
            condition = resource.get("Condition")
            if kind not in NAMED or (condition and not self.holds(condition)):
                continue
            name = self.name_of(logical_id)
            if name is None:
                continue
            scope_prop = NAMED[kind][2]
            scope = str(self.value((resource.get("Properties") or {}).get(scope_prop, "default"))) if scope_prop else ""
            key = (kind, scope, name)
            assert key not in found, f"{logical_id} and {found[key]} share the name {key}"
            found[key] = logical_id
        return found


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    return translate(TEMPLATE)


def _environments() -> dict[str, tuple[str, dict[str, str]]]:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    found = {}
    for env, sections in config.items():
        if not isinstance(sections, dict) or "global" not in sections:
            continue
        stack_name = sections["global"]["parameters"]["stack_name"]
        raw = sections.get("deploy", {}).get("parameters", {}).get("parameter_overrides", "")
        found[env] = (stack_name, dict(pair.split("=", 1) for pair in shlex.split(raw)))
    return found


def test_the_default_and_prod_stacks_share_no_physical_name(translated: dict[str, Any]) -> None:
    environments = _environments()
    assert {"default", "prod"} <= set(environments)
    (default_name, default_overrides), (prod_name, prod_overrides) = environments["default"], environments["prod"]
    default = _Stack(translated, default_name, default_overrides).names()
    prod = _Stack(translated, prod_name, prod_overrides).names()
    assert default and prod
    shared = sorted(set(default) & set(prod))
    assert not shared, f"both stacks would create {shared}"


def test_no_physical_name_is_fixed_whatever_the_stack_is_called(translated: dict[str, Any]) -> None:
    one, other = _Stack(translated, "one", {}).names(), _Stack(translated, "other", {}).names()
    fixed = sorted(f"{one[key]} ({key[0]}): {key[2]}" for key in set(one) & set(other))
    assert not fixed, "these names do not follow the stack name:\n" + "\n".join(fixed)


def test_every_physical_name_fits_for_long_stack_names(translated: dict[str, Any]) -> None:
    for length in (LONGEST_STACK_NAME, 128):
        stack = _Stack(translated, "s" * length, {})
        for (kind, _, name), logical_id in stack.names().items():
            limit = NAMED[kind][1]
            if kind == "AWS::StepFunctions::StateMachine" and length > LONGEST_STACK_NAME:
                continue  # the binding limit, documented
            assert len(name) <= limit, f"{logical_id}: {len(name)} characters for a {length}-character stack name"
    # the state machine is what bounds the stack name: one character more and it would not fit
    machine = _Stack(translated, "s" * (LONGEST_STACK_NAME + 1), {}).name_of("RolloutStateMachine")
    assert machine is not None and len(machine) > NAMED["AWS::StepFunctions::StateMachine"][1]


def test_a_fresh_account_deploys_with_the_defaults(translated: dict[str, Any]) -> None:
    """A REST API stage refuses access or execution logging until the account-level API Gateway CloudWatch role is
    set (AWS::ApiGateway::Account), which a fresh account lacks: with the defaults the stage logs nothing."""
    stack = _Stack(translated, "pullthrough", {})
    (stage,) = [r for r in translated["Resources"].values() if r["Type"] == "AWS::ApiGateway::Stage"]
    props = stage["Properties"]
    assert stack.value(props.get("AccessLogSetting")) is None
    assert {stack.value(s.get("LoggingLevel", "OFF")) for s in props.get("MethodSettings", [])} <= {"OFF"}
