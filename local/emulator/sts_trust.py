"""Make the emulator's sts:AssumeRole refuse like AWS: a missing role, or a trust policy that does not let the caller in.

moto 5.2 grants every AssumeRole, even into a role that does not exist. ``install()`` swaps a TokenResponse subclass
into moto.sts's url_paths (like the ECR extension, before the server's first STS request) whose AssumeRole first
evaluates the target role's trust policy for the caller and answers AWS's ``AccessDenied`` (HTTP 403, "User: <caller>
is not authorized to perform: sts:AssumeRole on resource: <role>") when it does not allow it.

The caller is whoever signed the request: a session of an assumed role (its access key, as moto's STS handed it out:
aws:PrincipalArn is the role's ARN), an IAM user, or else the account's root (moto's default credentials).
Trust evaluation, as IAM's for a role trust policy: an explicit Deny wins, then an Allow whose Principal names the
caller (``*``, the caller's account as id or ``:root`` ARN, or its exact principal ARN) and whose Action covers
sts:AssumeRole, plus sts:SetSourceIdentity when the request carries SourceIdentity. Conditions are evaluated on
aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalOrgID (from moto's Organizations), aws:SourceIdentity,
sts:SourceIdentity, sts:RoleSessionName and aws:RequestedRegion; a condition on any other key does not hold.
Not modelled: the caller's own identity policy (the embedded stack's IAM check covers the functions'), SCPs,
ExternalId, session policies and role chaining limits.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import moto.sts.urls
from moto.core.exceptions import AccessDeniedError
from moto.core.responses import ActionResult
from moto.iam.exceptions import NotFoundException
from moto.iam.models import iam_backends
from moto.organizations.models import organizations_backends
from moto.sts.models import sts_backends
from moto.sts.responses import TokenResponse

from local.iam_evaluation import action_matches, condition_test

TRUST_CONDITION_KEYS = frozenset(
    {
        "aws:principalarn",
        "aws:principalaccount",
        "aws:principalorgid",
        "aws:sourceidentity",
        "sts:sourceidentity",
        "sts:rolesessionname",
        "aws:requestedregion",
    }
)
_install_lock = threading.Lock()


@dataclass(frozen=True)
class Caller:
    """Who signed an AssumeRole request: ``principal_arn`` as aws:PrincipalArn sees it, ``shown`` as errors name it."""

    account: str
    principal_arn: str
    shown: str


def caller_of(access_key: str, default_account: str, partition: str = "aws") -> Caller:
    """The principal behind ``access_key`` on the emulator (the account's root when moto does not know the key)."""
    for account_backends in list(sts_backends.values()):
        for backend in list(account_backends.values()):
            assumed = backend.get_assumed_role_from_access_key(access_key)
            if assumed is not None:
                return Caller(assumed.account_id, assumed.role_arn, assumed.arn)
    for account, by_partition in list(iam_backends.items()):
        iam = by_partition[partition]
        key = iam.access_keys.get(access_key)
        if key is not None and key.user_name:
            user = iam.get_user(key.user_name)
            return Caller(account, user.arn, user.arn)
    root = f"arn:{partition}:iam::{default_account}:root"
    return Caller(default_account, root, root)


def organization_of(account: str, partition: str = "aws") -> str | None:
    """The id of the organization ``account`` belongs to in moto's Organizations, None when none."""
    master = organizations_backends.master_accounts.get(account, (account, partition))[0]
    org = organizations_backends[master][partition].org
    return str(org.id) if org is not None else None


def _principal_matches(principal: Any, caller: Caller) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    named = principal.get("AWS")
    for entry in [named] if isinstance(named, str) else list(named or []):
        entry = str(entry)
        if entry == "*" or entry == caller.principal_arn:
            return True
        if entry == caller.account or entry.endswith(f":iam::{caller.account}:root"):
            return True
    return False  # Service / Federated / CanonicalUser principals are never our callers


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [] if value is None else [value]


def _conditions_hold(conditions: Mapping[str, Any] | None, context: Mapping[str, tuple[str, ...]]) -> bool:
    for operator, block in (conditions or {}).items():
        for key, wanted in dict(block).items():
            verdict = condition_test(
                str(operator),
                str(key),
                [str(w) for w in _as_list(wanted)],
                context,
                known=lambda name: name.lower() in TRUST_CONDITION_KEYS,
            )
            if verdict is not True:
                return False
    return True


def trust_allows(
    document: Mapping[str, Any], caller: Caller, actions: Iterable[str], context: Mapping[str, Any]
) -> bool:
    """Whether trust policy ``document`` lets ``caller`` perform every one of ``actions`` on its role."""
    statements = _as_list(document.get("Statement"))
    for action in actions:
        allowed = False
        for statement in statements:
            covered = any(action_matches(str(p), action) for p in _as_list(statement.get("Action")))
            if not covered or not _principal_matches(statement.get("Principal"), caller):
                continue
            if not _conditions_hold(statement.get("Condition"), context):
                continue
            if statement.get("Effect") == "Deny":
                return False
            allowed = allowed or statement.get("Effect") == "Allow"
        if not allowed:
            return False
    return True


def _role_account(role_arn: str) -> str | None:
    parts = role_arn.split(":", 5)
    return parts[4] if len(parts) == 6 and parts[2] == "iam" and parts[5].startswith("role/") else None


def refusal(
    role_arn: str, caller: Caller, *, source_identity: str | None, session_name: str, region: str, partition: str
) -> str | None:
    """Why ``caller`` may not assume ``role_arn`` (AWS's AccessDenied message), None when it may."""
    denied = f"User: {caller.shown} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    account = _role_account(role_arn)
    if account is None:
        return denied
    try:
        role = iam_backends[account][partition].get_role_by_arn(role_arn)
    except NotFoundException:  # AWS says AccessDenied, never whether the role exists
        return denied
    org = organization_of(caller.account, partition)
    context: dict[str, tuple[str, ...]] = {
        "aws:principalarn": (caller.principal_arn,),
        "aws:principalaccount": (caller.account,),
        "sts:rolesessionname": (session_name,),
        "aws:requestedregion": (region,),
        **({"aws:principalorgid": (org,)} if org else {}),
        **(
            {"aws:sourceidentity": (source_identity,), "sts:sourceidentity": (source_identity,)}
            if source_identity
            else {}
        ),
    }
    actions = ["sts:AssumeRole", *(["sts:SetSourceIdentity"] if source_identity else [])]
    document = json.loads(role.assume_role_policy_document or "{}")
    return None if trust_allows(document, caller, actions, context) else denied


class TrustCheckingTokenResponse(TokenResponse):
    """moto's STS responses, with AssumeRole refused where the role's trust policy refuses the caller."""

    def assume_role(self) -> ActionResult:
        caller = caller_of(self.get_access_key(), self.current_account, self.partition)
        why = refusal(
            str(self._get_param("RoleArn") or ""),
            caller,
            source_identity=self._get_param("SourceIdentity"),
            session_name=str(self._get_param("RoleSessionName") or ""),
            region=self.region,
            partition=self.partition,
        )
        if why is not None:
            raise AccessDeniedError(user_arn=caller.shown, action=why.split("perform: ", 1)[1])
        return super().assume_role()


def install() -> None:
    """Route moto's STS to the trust-checking responses (idempotent; before the server's first STS request)."""
    with _install_lock:
        moto.sts.urls.url_paths["{0}/$"] = TrustCheckingTokenResponse.dispatch


__all__ = ["Caller", "caller_of", "install", "organization_of", "refusal", "trust_allows"]
