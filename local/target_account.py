"""The execution role of ``target-account.yaml`` as CloudFormation would create it in one target account.

The embedded stack creates that role in its member accounts, and checks the calls pullthrough makes through it, from
this one reading of the file, so the local role cannot drift from the template users deploy with StackSets.
``deployed_role(parameters, account)`` evaluates the template's Conditions and Fn::If, then Ref/Fn::Sub, for the
account and partition the role lands in.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from local.iam_policies import Statement, document_statements
from local.template_reader import ROOT, CfnLoader, Conditions, Resolver, TemplateError, list_parameters_of

TARGET_ACCOUNT_TEMPLATE = ROOT / "target-account.yaml"
ROLE_TYPE = "AWS::IAM::Role"


@dataclass(frozen=True)
class DeployedRole:
    """The execution role in one account: its name, trust policy and inline policies, every intrinsic resolved."""

    account: str
    name: str
    path: str
    trust_policy: dict[str, Any]
    policies: dict[str, dict[str, Any]]  # policy name -> document
    partition: str = "aws"

    @property
    def arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account}:role{self.path}{self.name}"

    def statements(self) -> list[Statement]:
        """Its inline policies' statements, for the embedded stack's IAM check."""
        resolver = Resolver(refs={}, attrs={})
        return [
            statement
            for name, document in self.policies.items()
            for statement in document_statements(document, resolver, f"{self.name}.{name}")
        ]


def load(path: Path = TARGET_ACCOUNT_TEMPLATE) -> dict[str, Any]:
    """The template as data (CloudFormation's short tags as their long forms); read once per version of the file."""
    return _load(path, path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _load(path: Path, version: int) -> dict[str, Any]:  # callers never change what it returns
    doc = yaml.load(path.read_text(encoding="utf-8"), Loader=CfnLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(doc, dict):
        raise TemplateError(f"{path}: not a CloudFormation template")
    return doc


def parameter_values(doc: Mapping[str, Any], given: Mapping[str, str]) -> dict[str, str]:
    """Defaults overridden by ``given``; TemplateError naming an unknown parameter or a missing required one."""
    declared: Mapping[str, Any] = doc.get("Parameters") or {}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise TemplateError(f"target-account.yaml has no parameter(s) {', '.join(unknown)}")
    values = {name: str(given.get(name, spec.get("Default"))) for name, spec in declared.items()}
    missing = sorted(name for name, spec in declared.items() if name not in given and "Default" not in spec)
    if missing:
        raise TemplateError(f"target-account.yaml needs a value for {', '.join(missing)}")
    return values


def deployed_role(
    parameters: Mapping[str, str],
    account: str,
    *,
    region: str = "us-east-1",
    partition: str = "aws",
    path: Path = TARGET_ACCOUNT_TEMPLATE,
) -> DeployedRole:
    """The template's one AWS::IAM::Role as a stack with ``parameters`` creates it in ``account``."""
    doc = load(path)
    refs = {
        **parameter_values(doc, parameters),
        "AWS::AccountId": account,
        "AWS::Partition": partition,
        "AWS::Region": region,
        "AWS::URLSuffix": "amazonaws.com",
    }
    resolver = Resolver(refs=refs, attrs={}, lists=list_parameters_of(doc))
    resolver.condition = Conditions(doc.get("Conditions") or {}, resolver, template=path.name).holds
    roles = [r for r in (doc.get("Resources") or {}).values() if isinstance(r, dict) and r.get("Type") == ROLE_TYPE]
    if len(roles) != 1:
        raise TemplateError(f"{path.name}: expected one {ROLE_TYPE}, found {len(roles)}")
    props = resolver.choose(roles[0].get("Properties") or {})
    where = f"{path.name} role"
    return DeployedRole(
        account=account,
        name=str(resolver.resolve(props["RoleName"], where=f"{where}.RoleName")),
        path=str(props.get("Path", "/")),
        trust_policy=resolver.resolve(props["AssumeRolePolicyDocument"], where=f"{where}.AssumeRolePolicyDocument"),
        policies={
            str(policy["PolicyName"]): resolver.resolve(policy["PolicyDocument"], where=f"{where}.Policies")
            for policy in props.get("Policies") or []
        },
        partition=partition,
    )
