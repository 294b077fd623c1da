"""Each template function's IAM statements, as the SAM translator expands template.yaml.

SAM turns a function's ``Policies`` (inline statements and policy templates such as DynamoDBCrudPolicy) into an
``AWS::IAM::Role`` that the function's ``Role`` names (``<Function>Role``). The translator (aws-sam-translator) lives
in the SAM CLI's own tool environment, ``.tools/sam`` (``make sam-tools``), kept out of the app's dependencies; it
runs there as a subprocess, offline, and its output is cached per template content and translator version, so a test
session pays for it once. The statements' intrinsics are then resolved against the embedded stack's names.

Managed policy ARNs SAM attaches (AWSLambdaBasicExecutionRole, AWSXrayWriteOnlyAccess) are left out: they grant
logs and traces, which Lambda writes, not the handlers. A resource or condition value that cannot be resolved
locally (a resource the stack does not create, such as the dead-letter queue) becomes ``Unresolved``: it grants
nothing, and a Deny naming it is taken to apply (see ``local.iam_check``).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.template_reader import ROOT, Resolver, TemplateError

SAM_PYTHON = ROOT / ".tools" / "sam" / "bin" / "python"
CACHE_DIR = Path(tempfile.gettempdir()) / "pullthrough-sam-translations"

# Runs in the SAM tool environment: template path in argv[1], the translated template as JSON on stdout.
# Local paths (CodeUri, ContentUri, DefinitionUri) are replaced by values the translator accepts offline.
_TRANSLATE = r"""
import json, os, sys
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse
template = yaml_parse(open(sys.argv[1], encoding="utf-8").read())
for resource in (template.get("Resources") or {}).values():
    kind, props = resource.get("Type"), resource.get("Properties") or {}
    if kind == "AWS::Serverless::Function" and "InlineCode" not in props:
        props["CodeUri"] = "s3://bucket/key"
    elif kind == "AWS::Serverless::LayerVersion":
        props["ContentUri"] = "s3://bucket/key"
    elif kind == "AWS::Serverless::StateMachine" and "DefinitionUri" in props:
        del props["DefinitionUri"]
        props["Definition"] = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
    resource["Properties"] = props
class NoManagedPolicies:
    def load(self):
        return {}
json.dump(transform(template, {}, NoManagedPolicies()), sys.stdout)
"""


class PolicyError(RuntimeError):
    """The template's policies cannot be expanded (no SAM translator, or the translator refused the template)."""


@dataclass(frozen=True)
class Unresolved:
    """A policy value the local stack cannot evaluate (e.g. the ARN of a resource it does not create)."""

    expression: str

    def __str__(self) -> str:
        return f"<unresolved {self.expression}>"


Value = str | Unresolved


@dataclass(frozen=True)
class Statement:
    """One IAM policy statement with its intrinsics resolved."""

    sid: str
    effect: str  # "Allow" | "Deny"
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[Value, ...] = ()
    not_resources: tuple[Value, ...] = ()
    conditions: Mapping[str, Mapping[str, tuple[Value, ...]]] | None = None

    @property
    def name(self) -> str:
        return self.sid or "a statement without Sid"


def _translator_version() -> str:
    site = next(SAM_PYTHON.parent.parent.glob("lib/python*/site-packages"), None)
    found = sorted(site.glob("aws_sam_translator-*.dist-info")) if site else []
    if not SAM_PYTHON.exists() or not found:
        raise PolicyError(
            f"the IAM check needs the SAM translator in {SAM_PYTHON.parent.parent.relative_to(ROOT)}: "
            "run `make sam-tools` (or start the stack with iam_check=False)"
        )
    return found[-1].name


def translate(template: Path) -> dict[str, Any]:
    """The SAM translator's CloudFormation for ``template`` (cached per content and translator version)."""
    text = template.read_bytes()
    key = hashlib.sha256(text + _translator_version().encode() + _TRANSLATE.encode()).hexdigest()
    cached = CACHE_DIR / f"{key}.json"
    if cached.is_file():
        try:
            loaded: dict[str, Any] = json.loads(cached.read_text(encoding="utf-8"))
            return loaded
        except ValueError:
            pass  # a torn write by another process: translate again
    done = subprocess.run(  # noqa: S603 - our own interpreter and script, the template path as argument
        [str(SAM_PYTHON), "-c", _TRANSLATE, str(template)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "SAM_CLI_TELEMETRY": "0"},
    )
    if done.returncode != 0:
        raise PolicyError(f"the SAM translator refused {template.name}:\n{done.stderr.strip()[-2000:]}")
    translated: dict[str, Any] = json.loads(done.stdout)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(translated), encoding="utf-8")
    partial.replace(cached)
    return translated


def _as_tuple(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    return tuple(value) if isinstance(value, list) else (value,)


def _resolve(resolver: Resolver, values: Any, where: str) -> tuple[Value, ...]:
    """Each of ``values`` resolved; a list parameter (``!Ref`` to a CommaDelimitedList) gives each of its items."""
    resolved: list[Value] = []
    for value in _as_tuple(values):
        try:
            found = resolver.resolve(value, where=where)
        except TemplateError:
            resolved.append(Unresolved(json.dumps(value, sort_keys=True)))
            continue
        resolved.extend(str(v) for v in _as_tuple(found))
    return tuple(resolved)


def _statement(raw: Mapping[str, Any], resolver: Resolver, where: str) -> Statement:
    raw = resolver.choose(raw)  # Fn::If on the template's conditions (e.g. HasOrganization)
    conditions: dict[str, dict[str, tuple[Value, ...]]] = {}
    for operator, block in (raw.get("Condition") or {}).items():
        conditions[str(operator)] = {str(key): _resolve(resolver, values, where) for key, values in block.items()}
    return Statement(
        sid=str(raw.get("Sid", "")),
        effect=str(raw.get("Effect", "")),
        actions=tuple(str(a) for a in _as_tuple(raw.get("Action"))),
        not_actions=tuple(str(a) for a in _as_tuple(raw.get("NotAction"))),
        resources=_resolve(resolver, raw.get("Resource"), where),
        not_resources=_resolve(resolver, raw.get("NotResource"), where),
        conditions=conditions or None,
    )


def document_statements(document: Mapping[str, Any], resolver: Resolver, where: str) -> list[Statement]:
    """The statements of one policy document, resolved (e.g. an execution role's inline policy)."""
    return [_statement(raw, resolver, where) for raw in _as_tuple(document.get("Statement"))]


def function_statements(translated: Mapping[str, Any], resolver: Resolver) -> dict[str, list[Statement]]:
    """Function logical id -> the statements of its role's inline policies, resolved."""
    resources: Mapping[str, Any] = translated.get("Resources") or {}
    found: dict[str, list[Statement]] = {}
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Lambda::Function":
            continue
        role = (resource.get("Properties") or {}).get("Role")
        target = role.get("Fn::GetAtt", [None])[0] if isinstance(role, dict) else None
        role_props = (resources.get(str(target)) or {}).get("Properties") or {}
        statements = found.setdefault(logical_id, [])
        for policy in role_props.get("Policies") or []:
            where = f"{target}.{policy.get('PolicyName', '')}"
            statements.extend(document_statements(policy.get("PolicyDocument") or {}, resolver, where))
    return found
