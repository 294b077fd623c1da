"""What an AWS call needs from IAM (``needs_of``): its own action on its resource, with the condition keys the
request carries (``local.iam_evaluation.KNOWN_CONDITION_KEYS``), then the actions AWS also checks for it.

- Resources: where the call's ARN is known it must match: secrets (``SecretId``/``Name``; a name becomes
  ``arn:<partition>:secretsmanager:<region>:<account>:secret:<name>-??????``, Secrets Manager's ARN with its random
  suffix), DynamoDB tables and indexes, Step Functions state machines and executions, EventBridge buses, ECR
  repositories, IAM roles. Actions that support no resource-level permission (IAM's action catalog, shipped with
  cfn-lint) need ``"Resource": "*"``. Any other action is checked by its action alone (its resource is unknown here).
- Dependent actions (what AWS checks besides the call's own action):
  secretsmanager:CreateSecret with Tags also needs secretsmanager:TagResource (the API reference);
  ecr:Create/UpdatePullThroughCacheRule with a credentialArn need secretsmanager:GetSecretValue on that secret
  (CloudFormation's AWS::ECR::PullThroughCacheRule handler asks for the same), and with a customRoleArn
  iam:PassRole on it with iam:PassedToService pullthroughcache.ecr.amazonaws.com;
  ecr:Create/UpdateRepositoryCreationTemplate need ecr:CreateRepository on the prefix's repositories, plus
  ecr:PutLifecyclePolicy / ecr:SetRepositoryPolicy when the template sets a lifecycle / repository policy, and
  iam:PassRole (iam:PassedToService ecr.amazonaws.com) for its customRoleArn (ECR user guide, template authors);
  sts:AssumeRole with a SourceIdentity needs sts:SetSourceIdentity on the role (IAM user guide, source identity).
"""

from __future__ import annotations

import functools
import importlib.util
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.iam_evaluation import Need


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
def _lambda_needs(call: Call, action: str, base: Mapping[str, tuple[str, ...]]) -> list[Need]:
    """Invoke is authorized as lambda:InvokeFunction on the function (its qualified ARN when it names an alias)."""
    if call.operation != "Invoke":
        return [Need(action, None, base)]
    name = str(call.params.get("FunctionName", ""))
    return [
        Need("lambda:InvokeFunction", name if name.startswith("arn:") else call.arn("lambda", f"function:{name}"), base)
    ]


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
    "lambda": _lambda_needs,
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
