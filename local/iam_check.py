"""The embedded stack's IAM check: every AWS call a handler makes is checked against its own function's policies.

``IamCheck.attach(session, role_arn)`` registers botocore handlers on the app's session (``pullthrough.aws.session_hooks``).
Before each call is sent, the function running it (``local.invocation_scope``) and what the call needs
(``needs_of``: its action, resource and condition keys, plus the actions it depends on) are checked against that
function's statements (``local.iam_policies``, SAM's expansion of template.yaml). A denied call never reaches the
emulator: it fails as AWS fails it, a ClientError ``AccessDeniedException`` (``AccessDenied`` for query and XML
protocols), and the denial is recorded in ``IamCheck.denials`` so a test fails even when the app swallows or
retries the error. A call made outside any function invocation is denied the same way: there is no policy for it.

Evaluation, as IAM's for one identity-based policy set: an explicit Deny wins, then an Allow, else denied.
- Actions: case-insensitive, ``*`` and ``?`` wildcards, ``NotAction``.
- Resources: ARN patterns with wildcards, segment by segment, ``NotResource``. Where the call's ARN is known it
  must match: secrets (``SecretId``/``Name``; a name becomes ``arn:<partition>:secretsmanager:<region>:<account>:
  secret:<name>-??????``, Secrets Manager's ARN with its random suffix), DynamoDB tables and indexes, Step Functions
  state machines and executions, EventBridge buses, ECR repositories, IAM roles. Actions that support no
  resource-level permission (IAM's action catalog, shipped with cfn-lint) need ``"Resource": "*"``. Any other
  action is checked by its action alone (its resource is unknown here; a Deny of that action is taken to apply).
- Conditions: ``String*``, ``Arn*``, ``Null`` and ``Bool`` operators, with ``...IfExists`` and the
  ``ForAnyValue:``/``ForAllValues:`` set prefixes, on the keys this check knows for a request:
  ``aws:RequestTag/<key>``, ``aws:TagKeys``, ``aws:RequestedRegion``, ``iam:PassedToService``,
  ``iam:AWSServiceName``, and for a resource whose ARN is known ``aws:ResourceAccount`` (its account) and
  ``aws:ResourceOrgID`` (its account's Organization, as the emulator's Organizations has it; absent outside any,
  so a condition on it fails there), and for a secret ``aws:ResourceTag/<key>`` (its tags on the emulator when the
  call is made; none for a secret that does not exist, as in IAM). Any other key (``aws:ResourceTag/...``, ``aws:SourceArn``, ...) or operator is unknown:
  conservatively, an Allow that depends on it grants nothing and a Deny that depends on it applies. A policy value
  the stack cannot resolve counts as unknown too.
- Dependent actions (what AWS checks besides the call's own action):
  secretsmanager:CreateSecret with Tags also needs secretsmanager:TagResource (the API reference);
  ecr:Create/UpdatePullThroughCacheRule with a credentialArn need secretsmanager:GetSecretValue on that secret
  (CloudFormation's AWS::ECR::PullThroughCacheRule handler asks for the same), and with a customRoleArn
  iam:PassRole on it with iam:PassedToService pullthroughcache.ecr.amazonaws.com;
  ecr:Create/UpdateRepositoryCreationTemplate need ecr:CreateRepository on the prefix's repositories, plus
  ecr:PutLifecyclePolicy / ecr:SetRepositoryPolicy when the template sets a lifecycle / repository policy, and
  iam:PassRole (iam:PassedToService ecr.amazonaws.com) for its customRoleArn (ECR user guide, template authors);
  sts:AssumeRole with a SourceIdentity needs sts:SetSourceIdentity on the role (IAM user guide, source identity).
A session acting in a target account through its execution role (``attach(session, role_arn)``) is checked the
same way against that role's statements (target-account.yaml as the stack deploys it), in that account.
Not modelled: resource-based policies, permission boundaries, SCPs, session policies, KMS key policies and the
first rule's service-linked role creation.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders

from local import invocation_scope
from local.iam_policies import Statement, Unresolved, Value

log = logging.getLogger(__name__)

#: Condition keys this check can tell for a request (lower case; tag keys follow the slash).
KNOWN_CONDITION_KEYS = (
    "aws:requesttag/",
    "aws:tagkeys",
    "aws:requestedregion",
    "iam:passedtoservice",
    "iam:awsservicename",
    "aws:resourceaccount",
    "aws:resourceorgid",
    "aws:resourcetag/",
)
_PARAMS = "pullthrough_iam_params"


@dataclass(frozen=True)
class Need:
    """One permission a call needs: an action on a resource, with the condition keys the request carries.

    ``resource``: an ARN (it may end in a wildcard for "every repository under a prefix"), ``"*"`` for an action
    that supports no resource-level permission, None when unknown here. ``shown``: the ARN a message names.
    ``because``: the call's own action, for a dependent one.
    """

    action: str
    resource: str | None
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    because: str | None = None
    shown: str | None = None

    def describe(self) -> str:
        where = self.shown or self.resource
        text = self.action + (f" on {where}" if where and where != "*" else "")
        return text + (f" (needed by {self.because})" if self.because else "")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str  # which statement allowed or denied it, or why nothing did
    statement: str | None = None  # the Sid of the statement that allowed it


# -- matching ------------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4096)
def _glob(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, 0 if case_sensitive else re.IGNORECASE | re.DOTALL)


def action_matches(pattern: str, action: str) -> bool:
    return _glob(pattern, False).fullmatch(action) is not None


def arn_matches(pattern: str, arn: str) -> bool:
    """IAM's Resource matching: ``*`` alone matches everything; else the six ARN parts match one by one."""
    if pattern == "*":
        return True
    wanted, given = pattern.split(":", 5), arn.split(":", 5)
    if len(wanted) != 6 or len(given) != 6:
        return _glob(pattern, True).fullmatch(arn) is not None
    return all(_glob(w, True).fullmatch(g) is not None for w, g in zip(wanted, given, strict=True))


def _covers_resource(statement: Statement, resource: str | None) -> bool | None:
    """True/False, or None when an unresolved value decides it."""
    if resource is None:  # unknown here: the action alone is checked
        return True
    if statement.not_resources:
        inside = _any_match(statement.not_resources, resource)
        return None if inside is None else not inside
    return _any_match(statement.resources, resource)


def _any_match(patterns: Iterable[Value], resource: str) -> bool | None:
    unknown = False
    for pattern in patterns:
        if isinstance(pattern, Unresolved):
            unknown = True
        elif (pattern == "*") if resource == "*" else arn_matches(pattern, resource):
            return True
    return None if unknown else False


def _covers_action(statement: Statement, action: str) -> bool:
    if statement.not_actions:
        return not any(action_matches(p, action) for p in statement.not_actions)
    return any(action_matches(p, action) for p in statement.actions)


_STRING_OPERATORS = {
    "stringequals": (False, False, False),  # (negated, like, ignore case)
    "stringnotequals": (True, False, False),
    "stringequalsignorecase": (False, False, True),
    "stringnotequalsignorecase": (True, False, True),
    "stringlike": (False, True, False),
    "stringnotlike": (True, True, False),
    "arnequals": (False, True, False),
    "arnlike": (False, True, False),
    "arnnotequals": (True, True, False),
    "arnnotlike": (True, True, False),
}


def _known(key: str) -> bool:
    key = key.lower()
    return any(key == known or (known.endswith("/") and key.startswith(known)) for known in KNOWN_CONDITION_KEYS)


def _value_matches(pattern: str, value: str, like: bool, ignore_case: bool) -> bool:
    if like:
        return _glob(pattern, not ignore_case).fullmatch(value) is not None
    return pattern.lower() == value.lower() if ignore_case else pattern == value


def condition_test(
    operator: str,
    key: str,
    wanted: Sequence[Value],
    context: Mapping[str, tuple[str, ...]],
    known: Callable[[str], bool] | None = None,
) -> bool | None:
    """One condition (operator, key, values) against the request; None when this check cannot tell.

    ``known``: which condition keys the caller can tell for a request (default: ``KNOWN_CONDITION_KEYS``); a key it
    can tell but the request lacks is absent, as in IAM.
    """
    op = operator.lower()
    quantifier = ""
    for prefix in ("foranyvalue:", "forallvalues:"):
        if op.startswith(prefix):
            quantifier, op = prefix[:-1], op[len(prefix) :]
    if_exists = op.endswith("ifexists")
    op = op.removesuffix("ifexists")
    if not (known or _known)(key) or (op not in _STRING_OPERATORS and op not in ("null", "bool")):
        return None
    present = context.get(key.lower())
    if op == "null":
        if any(isinstance(w, Unresolved) for w in wanted):
            return None
        return any((w.lower() == "true") == (present is None) for w in wanted if isinstance(w, str))
    if present is None:
        if if_exists or quantifier == "forallvalues":
            return True
        negated = op in _STRING_OPERATORS and _STRING_OPERATORS[op][0]
        return negated
    if op == "bool":
        negated, like, ignore_case = False, False, True
    else:
        negated, like, ignore_case = _STRING_OPERATORS[op]
    unknown = any(isinstance(w, Unresolved) for w in wanted)
    patterns = [w for w in wanted if isinstance(w, str)]

    def one(value: str) -> bool | None:
        if any(_value_matches(p, value, like, ignore_case) for p in patterns):
            return not negated
        return None if unknown else negated

    results = [one(value) for value in present]
    if quantifier == "forallvalues":
        return False if False in results else (None if None in results else True)
    return True if True in results else (None if None in results else False)


def _conditions_hold(statement: Statement, context: Mapping[str, tuple[str, ...]]) -> bool | None:
    verdict: bool | None = True
    for operator, block in (statement.conditions or {}).items():
        for key, wanted in block.items():
            result = condition_test(operator, key, wanted, context)
            if result is False:
                return False
            if result is None:
                verdict = None
    return verdict


def decide(statements: Iterable[Statement], need: Need) -> Decision:
    """IAM's evaluation for one identity: an explicit Deny wins, then an Allow; otherwise denied."""
    allowed_by: Statement | None = None
    for statement in statements:
        if not _covers_action(statement, need.action):
            continue
        covers, holds = _covers_resource(statement, need.resource), _conditions_hold(statement, need.context)
        if statement.effect == "Deny":
            if covers is not False and holds is not False:  # unknown counts as applying
                return Decision(False, f"explicitly denied by {statement.name}")
        elif covers is True and holds is True and allowed_by is None:
            allowed_by = statement
    if allowed_by is not None:
        return Decision(True, f"allowed by {allowed_by.name}", allowed_by.sid)
    return Decision(False, "no statement allows it")


# -- what a call needs ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Call:
    """One AWS API call: service prefix (IAM's, e.g. ``states``), operation, parameters, where."""

    service: str
    operation: str
    params: Mapping[str, Any]
    region: str
    account: str

    @property
    def partition(self) -> str:
        for start, partition in (("cn-", "aws-cn"), ("us-gov-", "aws-us-gov"), ("us-isob-", "aws-iso-b")):
            if self.region.startswith(start):
                return partition
        return "aws-iso" if self.region.startswith("us-iso-") else "aws"

    def arn(self, service: str, resource: str, *, region: str | None = None) -> str:
        where = self.region if region is None else region
        return f"arn:{self.partition}:{service}:{where}:{self.account}:{resource}"


def _tag_context(tags: Any, key_field: str = "Key", value_field: str = "Value") -> dict[str, tuple[str, ...]]:
    context: dict[str, tuple[str, ...]] = {}
    keys: list[str] = []
    for tag in tags or []:
        if isinstance(tag, Mapping) and key_field in tag:
            keys.append(str(tag[key_field]))
            context[f"aws:requesttag/{str(tag[key_field]).lower()}"] = (str(tag.get(value_field, "")),)
    if keys:
        context["aws:tagkeys"] = tuple(keys)
    return context


def _secret(call: Call, secret_id: str) -> tuple[str, str]:
    """(ARN to match, ARN to show) of a secret named by name or ARN."""
    if secret_id.startswith("arn:"):
        return secret_id, secret_id
    shown = call.arn("secretsmanager", f"secret:{secret_id}")
    return shown + "-??????", shown


def _secrets_needs(call: Call, action: str, base: Mapping[str, tuple[str, ...]]) -> list[Need]:
    secret_id = call.params.get("SecretId") or call.params.get("Name")
    if not isinstance(secret_id, str):
        return [Need(action, None, base)]
    resource, shown = _secret(call, secret_id)
    context = {**base, **_tag_context(call.params.get("Tags"))}
    needs = [Need(action, resource, context, shown=shown)]
    if call.operation == "CreateSecret" and call.params.get("Tags"):
        needs.append(Need("secretsmanager:TagResource", resource, context, because=action, shown=shown))
    return needs


def _role_need(role_arn: Any, service: str, because: str, base: Mapping[str, tuple[str, ...]]) -> list[Need]:
    if not role_arn:
        return []
    return [Need("iam:PassRole", str(role_arn), {**base, "iam:passedtoservice": (service,)}, because=because)]


def _ecr_needs(call: Call, action: str, base: Mapping[str, tuple[str, ...]]) -> list[Need]:
    params = call.params
    if call.operation in ("CreatePullThroughCacheRule", "UpdatePullThroughCacheRule"):
        needs = [Need(action, None, base)]
        credential = params.get("credentialArn")
        if credential:
            needs.append(Need("secretsmanager:GetSecretValue", str(credential), base, because=action))
        return needs + _role_need(params.get("customRoleArn"), "pullthroughcache.ecr.amazonaws.com", action, base)
    if call.operation in ("CreateRepositoryCreationTemplate", "UpdateRepositoryCreationTemplate"):
        prefix = str(params.get("prefix", ""))
        repositories = call.arn("ecr", "repository/*" if prefix == "ROOT" else f"repository/{prefix.rstrip('/')}/*")
        tagged = {**base, **_tag_context(params.get("resourceTags"))}
        needs = [Need(action, None, base), Need("ecr:CreateRepository", repositories, tagged, because=action)]
        if params.get("lifecyclePolicy"):
            needs.append(Need("ecr:PutLifecyclePolicy", repositories, base, because=action))
        if params.get("repositoryPolicy"):
            needs.append(Need("ecr:SetRepositoryPolicy", repositories, base, because=action))
        return needs + _role_need(params.get("customRoleArn"), "ecr.amazonaws.com", action, base)
    if isinstance(params.get("repositoryName"), str):
        return [Need(action, call.arn("ecr", f"repository/{params['repositoryName']}"), base)]
    return [Need(action, None, base)]


_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


def _table(call: Call, name: str, index: Any = None) -> str:
    table = name if name.startswith("arn:") else call.arn("dynamodb", f"table/{name}")
    return f"{table}/index/{index}" if index else table


def _dynamodb_needs(call: Call, action: str, base: Mapping[str, tuple[str, ...]]) -> list[Need]:
    params = call.params
    if isinstance(params.get("TableName"), str):
        return [Need(action, _table(call, params["TableName"], params.get("IndexName")), base)]
    if isinstance(params.get("RequestItems"), Mapping):  # BatchGetItem / BatchWriteItem
        return [Need(action, _table(call, str(name)), base) for name in params["RequestItems"]]
    if isinstance(params.get("TransactItems"), list):  # each item needs its own action on its table
        return [
            Need(
                f"dynamodb:{_TRANSACT_ACTIONS[kind]}",
                _table(call, str(body.get("TableName", ""))),
                base,
                because=action,
            )
            for item in params["TransactItems"]
            for kind, body in item.items()
            if kind in _TRANSACT_ACTIONS and isinstance(body, Mapping)
        ]
    return [Need(action, None, base)]


def _states_needs(call: Call, action: str, base: Mapping[str, tuple[str, ...]]) -> list[Need]:
    for name in ("executionArn", "stateMachineArn", "mapRunArn", "activityArn"):
        if isinstance(call.params.get(name), str):
            return [Need(action, call.params[name], base)]
    return [Need(action, None, base)]


def _events_needs(call: Call, action: str, base: Mapping[str, tuple[str, ...]]) -> list[Need]:
    if call.operation == "PutEvents":
        buses = {str(e.get("EventBusName") or "default") for e in call.params.get("Entries") or []} or {"default"}
        return [
            Need(action, b if b.startswith("arn:") else call.arn("events", f"event-bus/{b}"), base)
            for b in sorted(buses)
        ]
    return [Need(action, None, base)]


def _iam_needs(call: Call, action: str, base: Mapping[str, tuple[str, ...]]) -> list[Need]:
    if call.operation == "CreateServiceLinkedRole":
        service = str(call.params.get("AWSServiceName", ""))
        name = SERVICE_LINKED_ROLES.get(service, "*")  # the role the call creates, when the service has one
        role = f"arn:{call.partition}:iam::{call.account}:role/aws-service-role/{service}/{name}"
        return [Need(action, role, {**base, "iam:awsservicename": (service,)})]
    if isinstance(call.params.get("RoleArn"), str):  # sts:AssumeRole
        role = call.params["RoleArn"]
        if call.params.get("SourceIdentity"):  # the caller's policy must allow setting it too (IAM user guide)
            return [Need(action, role, base), Need("sts:SetSourceIdentity", role, base, because=action)]
        return [Need(action, role, base)]
    return [Need(action, None, base)]


#: The service-linked role CreateServiceLinkedRole makes for a service (ECR user guide, "Using service-linked roles").
SERVICE_LINKED_ROLES = {
    "pullthroughcache.ecr.amazonaws.com": "AWSServiceRoleForECRPullThroughCache",
    "ecr.amazonaws.com": "AWSServiceRoleForECRTemplate",
}

_BY_SERVICE = {
    "secretsmanager": _secrets_needs,
    "ecr": _ecr_needs,
    "dynamodb": _dynamodb_needs,
    "states": _states_needs,
    "events": _events_needs,
    "iam": _iam_needs,
    "sts": _iam_needs,
}


@functools.cache
def _iam_catalog() -> Mapping[str, Any]:
    """IAM's action catalog as cfn-lint ships it (service -> Actions -> action -> Resources).

    Read from its file: importing cfnlint itself takes seconds.
    """
    spec = importlib.util.find_spec("cfnlint")
    if spec is None or spec.origin is None:
        raise RuntimeError("the IAM check needs cfn-lint's IAM action catalog: run `make setup`")
    path = Path(spec.origin).parent / "data" / "AdditionalSpecs" / "Policies.json"
    catalog: Mapping[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return catalog


def supports_resource_permissions(action: str) -> bool | None:
    """Whether ``action`` can be scoped to resources; None when IAM's catalog does not list it."""
    service, _, name = action.lower().partition(":")
    entry = _iam_catalog().get(service, {}).get("Actions", {}).get(name)
    return None if entry is None else bool(entry.get("Resources"))


#: Calls IAM never refuses: "No permissions are required to perform this operation" (STS API reference).
NEEDS_NO_PERMISSION = frozenset({"sts:GetCallerIdentity"})


def needs_of(call: Call) -> list[Need]:
    """Every permission ``call`` needs: its own action first, then the actions AWS also checks for it (none for
    ``NEEDS_NO_PERMISSION``)."""
    action = f"{call.service}:{call.operation}"
    if action in NEEDS_NO_PERMISSION:
        return []
    base = {"aws:requestedregion": (call.region,)}
    needs = _BY_SERVICE.get(call.service, _action_only)(call, action, base)
    if supports_resource_permissions(action) is False:  # e.g. ecr:DescribePullThroughCacheRules, ListSecrets
        needs[0] = Need(action, "*", needs[0].context)
    return needs


def _action_only(call: Call, action: str, base: Mapping[str, tuple[str, ...]]) -> list[Need]:
    return [Need(action, None, base)]


# -- the check -----------------------------------------------------------------------------------------------------
RoleStatements = Callable[[str], Sequence[Statement] | None]
EXECUTION_ROLE = "ExecutionRole"  # who ``IamCheck.exercised`` names for target-account.yaml's role


@dataclass(frozen=True)
class ExecutionRole:
    """A role a session acts as in a target account, and its statements (None: a role this check does not know)."""

    arn: str
    statements: Sequence[Statement] | None

    @property
    def account(self) -> str:
        return self.arn.split(":", 5)[4]

    def describe(self, logical_id: str | None) -> str:
        by = f", assumed by {logical_id}" if logical_id else ""
        return f"{self.arn.rsplit('/', 1)[-1]} (in {self.account}{by})"


class IamCheck:
    """Checks the calls of the app's sessions against the acting role's statements; records every denial.

    The app's own session acts as the calling function's role (``statements``: function logical id -> its
    statements); a session of a target account's execution role acts as that role (``role_statements``: role ARN ->
    its statements, None for a role it does not know).
    """

    def __init__(
        self,
        statements: Mapping[str, Sequence[Statement]],
        *,
        account_id: str,
        role_statements: RoleStatements | None = None,
        organization_of: Callable[[str], str | None] | None = None,
        secret_tags: Callable[[str], Mapping[str, str]] | None = None,
    ) -> None:
        self.statements = statements
        self.organization_of = organization_of
        self.secret_tags = secret_tags
        self.account_id = account_id
        self.role_statements = role_statements
        self.denials: list[str] = []
        # (function logical id, or EXECUTION_ROLE, Sid) of every statement that allowed a call: what tests exercise
        self.exercised: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        # A rollout asks the same questions over and over (one per call, the same few per region): each answer
        # depends only on the function's statements and the need, so it is worked out once.
        self._decisions: dict[tuple[str, str, str | None, tuple[tuple[str, tuple[str, ...]], ...]], Decision] = {}

    def attach(self, session: Any, role_arn: str | None = None) -> None:
        """Register the check on a boto3 session (``pullthrough.aws.session_hooks``).

        ``role_arn``: the target account's execution role a session acts as (None: the calling function's own role).
        """
        role = None
        if role_arn is not None:
            role = ExecutionRole(role_arn, self.role_statements(role_arn) if self.role_statements else None)
        session.events.register("before-parameter-build", self._keep_params, unique_id="pullthrough-iam-params")
        # Last: a client's own before-call handlers (e.g. one that refuses writes in a plan) run first, and a call
        # they stop never reaches AWS, so IAM never sees it either.
        session.events.register_last(
            "before-call", functools.partial(self._before_call, role), unique_id="pullthrough-iam-check"
        )

    def check_role(self, role: ExecutionRole, logical_id: str | None, call: Call) -> list[str]:
        """The denial messages for ``call`` made through execution role ``role`` (empty: allowed)."""
        needs = needs_of(call)
        who = role.describe(logical_id)
        if not needs:
            return []
        if role.statements is None:
            return [f"IAM check: {who} is not a role this stack created: {needs[0].describe()} is not allowed"]
        return self._denied(who, role.statements, needs, EXECUTION_ROLE)

    def check(self, logical_id: str | None, call: Call) -> list[str]:
        """The denial messages for ``call`` made by ``logical_id`` (empty: allowed)."""
        needs = needs_of(call)
        if not needs:
            return []
        if logical_id is None:
            return [f"IAM check: {needs[0].describe()} was called outside any function invocation (no policy applies)"]
        if logical_id not in self.statements:
            return [f"IAM check: {logical_id} has no role in the template: {needs[0].describe()} is not allowed"]
        return self._denied(logical_id, self.statements[logical_id], needs, logical_id)

    def _with_resource_keys(self, need: Need) -> Need:
        """``need`` with aws:ResourceAccount and aws:ResourceOrgID of its resource, when its ARN names an account,
        and a secret's aws:ResourceTag keys."""
        parts = (need.resource or "").split(":", 5)
        if len(parts) != 6 or not parts[4].isdigit():
            return need
        context = {**need.context, "aws:resourceaccount": (parts[4],)}
        org = self.organization_of(parts[4]) if self.organization_of is not None else None
        if org:
            context["aws:resourceorgid"] = (org,)
        if parts[2] == "secretsmanager" and self.secret_tags is not None:
            for key, value in self.secret_tags(need.shown or str(need.resource)).items():
                context[f"aws:resourcetag/{key.lower()}"] = (value,)
        return Need(need.action, need.resource, context, need.because, need.shown)

    def _denied(self, who: str, statements: Sequence[Statement], needs: Iterable[Need], owner: str) -> list[str]:
        denied = []
        for need in map(self._with_resource_keys, needs):
            # Remembered per (identity, action, resource, condition values): ``who`` names one statement set.
            key = (who, need.action, need.resource, tuple(sorted(need.context.items())))
            decision = self._decisions.get(key)
            if decision is None:
                decision = self._decisions[key] = decide(statements, need)
            if decision.allowed and decision.statement:
                self.exercised.add((owner, decision.statement))
            if not decision.allowed:
                denied.append(f"IAM check: {who} is not allowed {need.describe()}: {decision.reason}")
        return denied

    def _keep_params(self, params: Mapping[str, Any], context: dict[str, Any], **_: Any) -> None:
        context[_PARAMS] = params

    def _before_call(
        self, role: ExecutionRole | None, model: Any, context: dict[str, Any], **_: Any
    ) -> tuple[AWSResponse, dict[str, Any]] | None:
        scope = invocation_scope.current()
        call = Call(
            service=str(model.service_model.signing_name),
            operation=str(model.name),
            params=context.get(_PARAMS) or {},
            region=str(context.get("client_region") or ""),
            account=self.account_id if role is None else role.account,
        )
        logical_id = scope.logical_id if scope else None
        denied = self.check(logical_id, call) if role is None else self.check_role(role, logical_id, call)
        if not denied:
            return None
        with self._lock:
            self.denials.extend(denied)
        for message in denied:
            log.warning("%s", message)
        code = "AccessDeniedException" if model.service_model.protocol in ("json", "rest-json") else "AccessDenied"
        return _error_response(code, "; ".join(denied))


def _error_response(code: str, message: str) -> tuple[AWSResponse, dict[str, Any]]:
    """What botocore turns into the service's modeled ClientError for ``code`` (HTTP 400, no request sent)."""
    request_id = str(uuid.uuid4())
    headers = HTTPHeaders()
    headers["x-amzn-requestid"] = request_id
    http = AWSResponse(url="", status_code=400, headers=headers, raw=None)
    parsed = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {
            "RequestId": request_id,
            "HTTPStatusCode": 400,
            "HTTPHeaders": dict(headers),
            "RetryAttempts": 0,
        },
    }
    return http, parsed
