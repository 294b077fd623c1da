"""Read template.yaml for the local stack: functions, state machine, table, API routes and EventBridge rules.

CloudFormation's short tags load as their long forms (``!Ref X`` -> ``{"Ref": "X"}``, ``!GetAtt A.B`` ->
``{"Fn::GetAtt": ["A", "B"]}``, ``!Sub s`` -> ``{"Fn::Sub": "s"}``). ``Resolver`` evaluates the few intrinsics the
local stack needs and refuses, loudly, anything it cannot evaluate.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATE = ROOT / "template.yaml"


class TemplateError(Exception):
    """The template lacks something the local stack needs, or holds something it cannot evaluate."""


class CfnLoader(yaml.SafeLoader):
    """A SafeLoader that reads CloudFormation's short-form intrinsic function tags."""


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type,unused-ignore]
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _construct_tag)


@dataclass(frozen=True)
class FunctionDef:
    """An AWS::Serverless::Function with Globals applied."""

    logical_id: str
    code_dir: Path
    handler: str
    runtime: str
    memory_size: int
    timeout: int
    environment: dict[str, Any]  # raw (unresolved) values
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    role_path: str | None = None  # RolePath: the IAM path of the role SAM creates for it
    alias: str | None = None  # AutoPublishAlias: the alias SAM publishes each version behind (``!Ref <Fn>.Alias``)

    @property
    def env_names(self) -> list[str]:
        return sorted(self.environment)


@dataclass(frozen=True)
class ApiRoute:
    """One ``Type: Api`` event: METHOD path -> function."""

    method: str
    path: str
    function: str


@dataclass(frozen=True)
class EventRuleDef:
    """One ``Type: EventBridgeRule`` event of a function."""

    function: str
    event_id: str
    rule_name: Any  # raw
    event_bus: Any  # raw
    pattern: dict[str, Any]


@dataclass(frozen=True)
class StateMachineDef:
    logical_id: str
    definition_path: Path
    substitutions: dict[str, Any]  # raw
    type: str
    name: Any = None  # raw; None: named after the stack and logical id


@dataclass(frozen=True)
class TableDef:
    logical_id: str
    attribute_definitions: list[dict[str, str]]
    key_schema: list[dict[str, str]]
    billing_mode: str
    ttl_attribute: str | None = None  # TimeToLiveSpecification.AttributeName when Enabled
    deletion_protection: bool = False


@dataclass(frozen=True)
class Template:
    path: Path
    parameters: dict[str, str]  # name -> default
    functions: dict[str, FunctionDef]
    state_machine: StateMachineDef
    tables: dict[str, TableDef]
    api_routes: list[ApiRoute]
    event_rules: list[EventRuleDef]
    layer_dirs: list[Path] = field(default_factory=list)
    event_buses: dict[str, Any] = field(default_factory=dict)  # logical id -> raw Name
    list_parameters: frozenset[str] = frozenset()  # CommaDelimitedList parameters: !Ref gives a list
    conditions: dict[str, Any] = field(default_factory=dict)  # the raw Conditions section
    outputs: dict[str, Any] = field(default_factory=dict)  # the raw Outputs section


def _resources_of(resources: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {
        lid: r.get("Properties") or {} for lid, r in resources.items() if isinstance(r, dict) and r.get("Type") == kind
    }


def _function(lid: str, props: dict[str, Any], globals_: dict[str, Any], base: Path) -> FunctionDef:
    def pick(key: str, default: Any = None) -> Any:
        return props.get(key, globals_.get(key, default))

    code_uri = props.get("CodeUri", globals_.get("CodeUri"))
    if not isinstance(code_uri, str):
        raise TemplateError(f"{lid}: CodeUri must be a local directory (got {code_uri!r})")
    handler = pick("Handler")
    if not isinstance(handler, str) or "." not in handler:
        raise TemplateError(f"{lid}: Handler must look like module.function (got {handler!r})")
    env = dict((globals_.get("Environment") or {}).get("Variables") or {})
    env.update((props.get("Environment") or {}).get("Variables") or {})
    return FunctionDef(
        logical_id=lid,
        code_dir=(base / code_uri).resolve(),
        handler=handler,
        runtime=str(pick("Runtime", "python3.13")),
        memory_size=int(pick("MemorySize", 128)),
        timeout=int(pick("Timeout", 3)),
        environment=env,
        events=dict(props.get("Events") or {}),
        role_path=str(pick("RolePath")) if isinstance(pick("RolePath"), str) else None,
        alias=str(pick("AutoPublishAlias")) if isinstance(pick("AutoPublishAlias"), str) else None,
    )


def _ttl_attribute(table: Mapping[str, Any]) -> str | None:
    spec = table.get("TimeToLiveSpecification") or {}
    return str(spec["AttributeName"]) if spec.get("Enabled") is True else None


def load_template(path: Path | str = DEFAULT_TEMPLATE) -> Template:
    """Parse ``path`` into what the local stack provisions."""
    path = Path(path).resolve()
    if not path.is_file():
        raise TemplateError(f"{path} not found")
    doc = yaml.load(path.read_text(), Loader=CfnLoader)  # noqa: S506 - CfnLoader is a SafeLoader subclass
    if not isinstance(doc, dict):
        raise TemplateError(f"{path}: not a CloudFormation template")
    base = path.parent
    resources: dict[str, Any] = doc.get("Resources") or {}
    globals_ = ((doc.get("Globals") or {}).get("Function")) or {}
    parameters = {name: str(p.get("Default", "")) for name, p in (doc.get("Parameters") or {}).items()}
    list_parameters = list_parameters_of(doc)

    functions = {
        lid: _function(lid, props, globals_, base)
        for lid, props in _resources_of(resources, "AWS::Serverless::Function").items()
    }
    if not functions:
        raise TemplateError(f"{path}: no AWS::Serverless::Function resources")

    machines = _resources_of(resources, "AWS::Serverless::StateMachine")
    if len(machines) != 1:
        raise TemplateError(f"{path}: expected one AWS::Serverless::StateMachine, found {len(machines)}")
    (sm_id, sm_props), *_ = machines.items()
    definition_uri = sm_props.get("DefinitionUri")
    if not isinstance(definition_uri, str):
        raise TemplateError(f"{sm_id}: DefinitionUri must name a local file")
    state_machine = StateMachineDef(
        logical_id=sm_id,
        definition_path=(base / definition_uri).resolve(),
        substitutions=dict(sm_props.get("DefinitionSubstitutions") or {}),
        type=str(sm_props.get("Type", "STANDARD")),
        name=sm_props.get("Name"),
    )

    tables = {
        lid: TableDef(
            logical_id=lid,
            attribute_definitions=list(props.get("AttributeDefinitions") or []),
            key_schema=list(props.get("KeySchema") or []),
            billing_mode=str(props.get("BillingMode", "PAY_PER_REQUEST")),
            ttl_attribute=_ttl_attribute(props),
            deletion_protection=props.get("DeletionProtectionEnabled") is True,
        )
        for lid, props in _resources_of(resources, "AWS::DynamoDB::Table").items()
    }

    routes: list[ApiRoute] = []
    rules: list[EventRuleDef] = []
    for fn in functions.values():
        for event_id, event in fn.events.items():
            kind, props = event.get("Type"), event.get("Properties") or {}
            if kind == "Api":
                routes.append(
                    ApiRoute(method=str(props["Method"]).upper(), path=str(props["Path"]), function=fn.logical_id)
                )
            elif kind == "EventBridgeRule":
                rules.append(
                    EventRuleDef(
                        function=fn.logical_id,
                        event_id=event_id,
                        rule_name=props.get("RuleName"),
                        event_bus=props.get("EventBusName", "default"),
                        pattern=dict(props.get("Pattern") or {}),
                    )
                )
    layer_dirs = [
        (base / str(props["ContentUri"])).resolve()
        for props in _resources_of(resources, "AWS::Serverless::LayerVersion").values()
        if isinstance(props.get("ContentUri"), str)
    ]
    return Template(
        path=path,
        layer_dirs=layer_dirs,
        parameters=parameters,
        list_parameters=list_parameters,
        conditions=dict(doc.get("Conditions") or {}),
        outputs=dict(doc.get("Outputs") or {}),
        functions=functions,
        state_machine=state_machine,
        tables=tables,
        api_routes=routes,
        event_rules=rules,
        event_buses={
            lid: props.get("Name") for lid, props in _resources_of(resources, "AWS::Events::EventBus").items()
        },
    )


_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")
_NO_VALUE = {"Ref": "AWS::NoValue"}


def list_parameters_of(doc: Mapping[str, Any]) -> frozenset[str]:
    """The template's list parameters (CommaDelimitedList, List<...>): a ``!Ref`` to one is a list."""
    declared: Mapping[str, Any] = doc.get("Parameters") or {}
    return frozenset(
        name
        for name, spec in declared.items()
        if str(spec.get("Type", "")) == "CommaDelimitedList" or str(spec.get("Type", "")).startswith("List<")
    )


@dataclass
class Resolver:
    """Evaluates Ref, Fn::GetAtt, Fn::Sub (both forms), Fn::Join, Fn::Split and Fn::If against the local stack's
    physical names.

    ``refs``: logical id or parameter name -> value of ``!Ref``; ``attrs``: "LogicalId.Attr" -> value; ``lists``: the
    parameters whose ``!Ref`` is a list (their value comma-separated); ``condition``: a template condition's value,
    for Fn::If (None: Fn::If cannot be evaluated). Anything else (another intrinsic, an unknown name) raises
    TemplateError.
    """

    refs: dict[str, str]
    attrs: dict[str, str]
    lists: frozenset[str] = frozenset()
    condition: Callable[[str], bool] | None = None

    def resolve(self, value: Any, *, where: str = "") -> Any:
        if isinstance(value, str | int | float | bool):
            return value if not isinstance(value, bool) else str(value).lower()
        if isinstance(value, list):
            return [self.resolve(v, where=where) for v in value]
        if isinstance(value, dict) and len(value) == 1:
            (fn, arg), *_ = value.items()
            if fn == "Ref" and str(arg) in self.lists:
                return self._ref(str(arg), where).split(",")
            if fn == "Ref":
                return self._ref(str(arg), where)
            if fn == "Fn::GetAtt":
                parts = arg.split(".", 1) if isinstance(arg, str) else list(arg)
                return self._attr(".".join(str(p) for p in parts), where)
            if fn == "Fn::Sub" and isinstance(arg, str):
                return _SUB_VARIABLE.sub(lambda m: self._sub_name(m.group(1), where), arg)
            if fn == "Fn::Sub" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str):
                # The long form SAM's policy templates expand to: [format, {name: value}].
                local = {str(k): str(self.resolve(v, where=where)) for k, v in dict(arg[1]).items()}
                return _SUB_VARIABLE.sub(
                    lambda m: local[name] if (name := m.group(1).strip()) in local else self._sub_name(name, where),
                    arg[0],
                )
            if fn == "Fn::Join" and isinstance(arg, list) and len(arg) == 2:
                parts = self.resolve(arg[1], where=where)
                if isinstance(parts, list):
                    return str(arg[0]).join(str(v) for v in parts)
            if fn == "Fn::Split" and isinstance(arg, list) and len(arg) == 2:
                return str(self.resolve(arg[1], where=where)).split(str(arg[0]))
            if fn == "Fn::If" and self.condition is not None and isinstance(arg, list) and len(arg) == 3:
                return self.resolve(self.choose(value), where=where)
        if isinstance(value, dict) and not any(str(k).startswith("Fn::") or k == "Ref" for k in value):
            return {k: self.resolve(v, where=f"{where}.{k}") for k, v in value.items()}  # plain data, e.g. a pattern
        raise TemplateError(f"{where or 'template'}: cannot evaluate {value!r} locally")

    def choose(self, value: Any) -> Any:
        """``value`` with every Fn::If replaced by its chosen branch and AWS::NoValue left out (nothing else
        resolved). Without ``condition``, ``value`` as it is."""
        if self.condition is None:
            return value
        if isinstance(value, list):
            return [self.choose(v) for v in value if v != _NO_VALUE]
        if isinstance(value, dict):
            if set(value) == {"Fn::If"}:
                name, when_true, when_false = value["Fn::If"]
                return self.choose(when_true if self.condition(str(name)) else when_false)
            return {k: self.choose(v) for k, v in value.items() if v != _NO_VALUE}
        return value

    def _ref(self, name: str, where: str) -> str:
        if name in self.refs:
            return self.refs[name]
        raise TemplateError(f"{where or 'template'}: !Ref {name} has no local value")

    def _attr(self, name: str, where: str) -> str:
        if name in self.attrs:
            return self.attrs[name]
        raise TemplateError(f"{where or 'template'}: !GetAtt {name} has no local value")

    def _sub_name(self, name: str, where: str) -> str:
        name = name.strip()
        return self._attr(name, where) if "." in name and name not in self.refs else self._ref(name, where)


class Conditions:
    """A template's condition functions (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition), evaluated with
    ``resolver`` (``holds`` is what a Resolver's ``condition`` takes)."""

    def __init__(self, raw: Mapping[str, Any], resolver: Resolver, *, template: str = "template") -> None:
        self._raw, self._resolver, self._template, self._done = raw, resolver, template, dict[str, bool]()

    def holds(self, name: str) -> bool:
        if name not in self._done:
            if name not in self._raw:
                raise TemplateError(f"{self._template}: no condition {name}")
            self._done[name] = self._evaluate(self._raw[name])
        return self._done[name]

    def _evaluate(self, expression: Any) -> bool:
        (fn, arg), *_ = dict(expression).items()
        if fn == "Condition":
            return self.holds(str(arg))
        if fn == "Fn::Equals":
            left, right = (self._resolver.resolve(a, where="Conditions") for a in arg)
            return bool(left == right)
        if fn == "Fn::Not":
            return not self._evaluate(arg[0])
        if fn in ("Fn::And", "Fn::Or"):
            results = [self._evaluate(a) for a in arg]
            return all(results) if fn == "Fn::And" else any(results)
        raise TemplateError(f"{self._template}: cannot evaluate condition {expression!r}")


_DEFINITION_VARIABLE = re.compile(r"\$\{([A-Za-z0-9_.:-]+)\}")


def substitute(definition: str, values: dict[str, str], *, where: str = "definition") -> str:
    """Replace ``${Name}`` in a state machine definition; a name without a value is an error."""
    missing = sorted({name for name in _DEFINITION_VARIABLE.findall(definition) if name not in values})
    if missing:
        raise TemplateError(
            f"{where} uses {', '.join('${' + m + '}' for m in missing)} without a DefinitionSubstitution"
        )
    return _DEFINITION_VARIABLE.sub(lambda m: values[m.group(1)], definition)
