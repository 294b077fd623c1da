"""Whether a puller may do an ECR action on a repository: its identity policies and the registry's and
repository's resource policies, evaluated as IAM does for one request.

Same account: allowed when an identity policy or a resource policy allows it and nothing denies it. Another
account's principal needs both an identity Allow and a resource-policy Allow naming it. The account's root (the
identity of credentials the emulator issued to nobody) holds every action in its own account. Statements are read
with ``local.iam_policies`` and matched with ``local.iam_evaluation``'s action, ARN and condition tests; the condition
keys known here are the principal's (``aws:PrincipalArn``, ``aws:PrincipalAccount``, ``aws:PrincipalOrgID``),
``aws:RequestedRegion`` and ``aws:ResourceAccount`` (the registry's account); an Allow that depends on another key
grants nothing, a Deny that does applies.
Not modelled: permission boundaries, SCPs/RCPs, session policies.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from moto.iam.exceptions import NotFoundException
from moto.iam.models import iam_backends
from moto.organizations.models import organizations_backends

from local.iam_evaluation import action_matches, arn_matches, condition_test
from local.iam_policies import Statement, Unresolved, document_statements
from local.template_reader import Resolver

from .tokens import Principal

_KNOWN = (
    "aws:principalarn",
    "aws:principalaccount",
    "aws:principalorgid",
    "aws:requestedregion",
    "aws:resourceaccount",
)
_NO_INTRINSICS = Resolver(refs={}, attrs={})


@dataclass(frozen=True)
class Policy:
    """One statement and, for a resource policy, the principals it names (None: an identity policy)."""

    statement: Statement
    principals: tuple[str, ...] | None


def policy_statements(document: Any, where: str, resource_policy: bool) -> list[Policy]:
    """The statements of a policy document (JSON text or parsed); unreadable ones: none."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return []
    if not isinstance(document, Mapping):
        return []
    raw = document.get("Statement")
    raws = raw if isinstance(raw, list) else [raw] if isinstance(raw, Mapping) else []
    if resource_policy:  # a repository policy names no Resource: it is about the repository it is set on
        raws = [one if "Resource" in one or "NotResource" in one else {**one, "Resource": "*"} for one in raws]
    parsed = document_statements({"Statement": raws}, _NO_INTRINSICS, where)
    return [
        Policy(statement, _principals(one.get("Principal")) if resource_policy else None)
        for one, statement in zip(raws, parsed, strict=True)
    ]


def _principals(value: Any) -> tuple[str, ...]:
    if value == "*":
        return ("*",)
    if not isinstance(value, Mapping):
        return ()
    aws = value.get("AWS", ())
    return tuple(str(v) for v in (aws if isinstance(aws, list) else [aws]))


@dataclass(frozen=True)
class Puller:
    """The principal of a registry token, resolved against the emulator's IAM."""

    principal: Principal
    role_arn: str | None  # the role of an assumed-role session
    identity: list[Policy]
    org_id: str | None

    @property
    def account(self) -> str:
        return self.principal.account

    def context(self, region: str) -> dict[str, tuple[str, ...]]:
        found: dict[str, tuple[str, ...]] = {
            "aws:principalarn": (self.role_arn or self.principal.arn,),
            "aws:principalaccount": (self.account,),
            "aws:requestedregion": (region,),
        }
        if self.org_id:
            found["aws:principalorgid"] = (self.org_id,)
        return found

    def named_by(self, principals: Iterable[str]) -> bool:
        own = {self.principal.arn, self.role_arn}
        for name in principals:
            if name == "*" or name in own:
                return True
            if name in (self.account, f"arn:aws:iam::{self.account}:root"):
                return True
        return False


def puller(principal: Principal) -> Puller:
    """The token's principal with its identity policies (inline, attached, and its groups', for a user)."""
    iam = iam_backends[principal.account]["aws"]
    policies: list[Policy] = []
    role_arn = None
    holders: list[Any] = []
    kind, _, rest = principal.arn.split(":", 5)[5].partition("/")
    try:
        if kind == "assumed-role":
            role = iam.get_role(rest.split("/", 1)[0])
            role_arn = str(role.arn)
            holders = [role]
        elif kind == "user":
            user = iam.get_user(rest.rsplit("/", 1)[-1])
            holders = [user, *iam.get_groups_for_user(user.name)]
    except NotFoundException:
        holders = []
    for holder in holders:
        for name, document in holder.policies.items():
            policies.extend(policy_statements(document, f"{holder.name}.{name}", resource_policy=False))
        for managed in holder.managed_policies.values():
            default = next((v for v in managed.versions if v.is_default), None)
            if default is not None:
                policies.extend(policy_statements(default.document, managed.name, resource_policy=False))
    return Puller(principal, role_arn, policies, _org_id(principal.account))


def _org_id(account: str) -> str | None:
    for backends in list(organizations_backends.values()):
        for backend in list(backends.values()):
            org = getattr(backend, "org", None)
            if org is not None and any(a.id == account for a in getattr(backend, "accounts", [])):
                return str(org.id)
    return None


def _covers(statement: Statement, action: str, resource: str) -> bool | None:
    if statement.not_actions:
        if any(action_matches(p, action) for p in statement.not_actions):
            return False
    elif not any(action_matches(p, action) for p in statement.actions):
        return False
    patterns, inverted = (statement.not_resources, True) if statement.not_resources else (statement.resources, False)
    if any(isinstance(p, Unresolved) for p in patterns):
        return None
    inside = any(arn_matches(str(p), resource) for p in patterns)
    return inside != inverted


def _holds(statement: Statement, context: Mapping[str, tuple[str, ...]]) -> bool | None:
    verdict: bool | None = True
    for operator, block in (statement.conditions or {}).items():
        for key, wanted in block.items():
            result = condition_test(operator, key, wanted, context, known=lambda k: k.lower() in _KNOWN)
            if result is False:
                return False
            if result is None:
                verdict = None
    return verdict


def _verdict(policies: Iterable[Policy], action: str, resource: str, context: Mapping[str, tuple[str, ...]]) -> str:
    """ "deny" (an explicit Deny applies), "allow" or "none"."""
    allowed = False
    for policy in policies:
        statement = policy.statement
        covers, holds = _covers(statement, action, resource), _holds(statement, context)
        if statement.effect == "Deny" and covers is not False and holds is not False:
            return "deny"
        if statement.effect == "Allow" and covers is True and holds is True:
            allowed = True
    return "allow" if allowed else "none"


def allowed(
    who: Puller, action: str, resource: str, registry_account: str, region: str, resource_policies: Iterable[Any]
) -> bool:
    """Whether ``who`` may do ``action`` on ``resource`` (an ARN) of ``registry_account``'s registry, given the
    resource policy documents (JSON text or None) that apply to it."""
    context = who.context(region) | {"aws:resourceaccount": (registry_account,)}
    named = [
        policy
        for document in resource_policies
        if document
        for policy in policy_statements(document, "resource policy", resource_policy=True)
        if who.named_by(policy.principals or ())
    ]
    on_resource = _verdict(named, action, resource, context)
    root = who.principal.is_root and who.account == registry_account
    identity = "allow" if root else _verdict(who.identity, action, resource, context)
    if "deny" in (on_resource, identity):
        return False
    if who.account == registry_account:
        return "allow" in (on_resource, identity)
    return on_resource == identity == "allow"


def denial(who: Puller, action: str, resource: str) -> str:
    """ECR's AccessDenied text."""
    return f"User: {who.principal.arn} is not authorized to perform: {action} on resource: {resource}"
