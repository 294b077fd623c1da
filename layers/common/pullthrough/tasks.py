"""Input and output records of the state machine's per-region tasks, parsed without pydantic.

A region's state accumulates as it moves through the steps: each step reads the task (the rule, the region,
the source secret ARN) plus what earlier steps reported, and returns only its own change record. Nothing here
holds a credential value: secrets travel by ARN, prior secret state by version id.

Why no pydantic: every step function imports this module, and pydantic plus the request models cost more cold start
(~200 ms) than the boto3 the step needs. The API validated the request fully (pullthrough.models) before the state
machine's input was built from it, so a task only needs its shape checked here: types, known names, ECR's patterns
and the template's cross-field rules, each failure an InvalidRequest naming the field.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Self, cast, get_args

from pullthrough.adapters.ecr import TEMPLATE_FIELDS as ECR_TEMPLATE_FIELDS
from pullthrough.fields import choice_field, flag_field, json_object, refuse, text_field
from pullthrough.images import IMAGE_WORDS, split_image
from pullthrough.prefixes import canonical_prefix
from pullthrough.regions import REGION_PATTERN
from pullthrough.registries import UPSTREAM_NAMES, upstream

Action = Literal["created", "updated", "replaced", "unchanged", "skipped", "deleted"]
ACTIONS: tuple[str, ...] = get_args(Action)

# ECR's patterns, as pullthrough.models states them for requests (tests/unit/test_tasks.py checks they agree).
PREFIX_PATTERN = re.compile(r"([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*\/?|ROOT)")
ROLE_ARN_PATTERN = re.compile(r"arn:aws(-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]+")
ACCOUNT_PATTERN = re.compile(r"\d{12}")
SECRET_ARN_PATTERN = re.compile(r"arn:aws(-[a-z]+)*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+")
# CreateRepositoryCreationTemplate's fields but prefix and appliedFor (pullthrough.models.CreationTemplate's).
TEMPLATE_FIELDS = frozenset(ECR_TEMPLATE_FIELDS) - {"appliedFor"}


@dataclass(frozen=True, kw_only=True, slots=True)
class Record:
    """A task record: ``to_json`` is what the step returns to the state machine (unset fields left out)."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Record):
                value = value.to_json()
            if value is not None:
                out[f.name] = value
        return out

    def dumps(self) -> str:
        """Compact JSON, for records stored as a string (DynamoDB)."""
        return json.dumps(self.to_json(), separators=(",", ":"))


@dataclass(frozen=True, kw_only=True, slots=True)
class Change(Record):
    """What a step did, and the prior state rollback needs."""

    action: Action

    @property
    def changed(self) -> bool:
        return self.action not in ("unchanged", "skipped")

    @classmethod
    def parse(cls, data: Any, where: str) -> Self:
        """A change record an earlier step returned (no unknown keys, as the step made it)."""
        known = frozenset(f.name for f in dataclasses.fields(cls))
        found = json_object(data, where, known)
        choice_field(found, "action", where, ACTIONS)
        for f in dataclasses.fields(cls):
            value = found.get(f.name)
            wanted: type | tuple[type, ...] = {"bool | None": bool, "dict[str, Any] | None": dict}.get(str(f.type), str)
            if value is not None and not isinstance(value, wanted):
                raise refuse(f"{where}.{f.name}", "has the wrong type")
        return cls(**found)

    @classmethod
    def loads(cls, text: str, where: str = "change") -> Self:
        return cls.parse(json.loads(text), where)


@dataclass(frozen=True, kw_only=True, slots=True)
class SecretChange(Change):
    secretArn: str | None = None
    versionId: str | None = None
    priorVersionId: str | None = None  # AWSCURRENT before the step; None when the step created the secret
    priorScheduledForDeletion: bool | None = (
        None  # True when the step restored a secret a DELETE rollout had scheduled for deletion
    )
    sourceVersionId: str | None = None  # the home-region source secret version the step copied


@dataclass(frozen=True, kw_only=True, slots=True)
class RuleChange(Change):
    rule: dict[str, Any] | None = None  # the rule as it stands after the step
    prior: dict[str, Any] | None = None  # the rule before the step; None when there was none


@dataclass(frozen=True, kw_only=True, slots=True)
class TemplateChange(Change):
    prior: dict[str, Any] | None = None  # the creation template before the step; None when there was none


@dataclass(frozen=True, kw_only=True, slots=True)
class PullResult(Record):
    """What SmokePull did: the digest of the manifest pulled through the cache, or ``skipped``."""

    pull: str


@dataclass(frozen=True, kw_only=True, slots=True)
class SmokeImage(Record):
    """The image a rule's smoke pull reads through each target's cache (data, never a credential)."""

    image: str

    @classmethod
    def parse(cls, data: Any) -> SmokeImage:
        found = json_object(data, "smokePull", frozenset({"image"}))
        image = cast(str, text_field(found, "image", "smokePull", required=True, max_length=256))
        if split_image(image) is None:
            raise refuse("smokePull.image", IMAGE_WORDS)
        return cls(image=image)

    @property
    def repository(self) -> str:
        return cast(tuple[str, str], split_image(self.image))[0]

    @property
    def tag(self) -> str:
        return cast(tuple[str, str], split_image(self.image))[1]


@dataclass(frozen=True, kw_only=True, slots=True)
class TaskRule(Record):
    """The desired pull-through cache rule as the task carries it (resolved by the API: URL filled in)."""

    ecrRepositoryPrefix: str
    upstreamRegistry: str
    upstreamRegistryUrl: str
    upstreamRepositoryPrefix: str = "ROOT"
    customRoleArn: str | None = None

    FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"ecrRepositoryPrefix", "upstreamRegistry", "upstreamRegistryUrl", "upstreamRepositoryPrefix", "customRoleArn"}
    )

    @classmethod
    def parse(cls, data: Any) -> TaskRule:
        found = json_object(data, "rule", cls.FIELDS)
        prefix = text_field(found, "ecrRepositoryPrefix", "rule", required=True, pattern=PREFIX_PATTERN, max_length=30)
        assert prefix is not None
        prefix = canonical_prefix(prefix)
        if len(prefix) < 2:
            raise refuse("rule.ecrRepositoryPrefix", "must have at least 2 characters before a trailing /")
        return cls(
            ecrRepositoryPrefix=prefix,
            upstreamRegistry=choice_field(found, "upstreamRegistry", "rule", UPSTREAM_NAMES),
            upstreamRegistryUrl=cast(
                str, text_field(found, "upstreamRegistryUrl", "rule", required=True, max_length=512)
            ),
            upstreamRepositoryPrefix=text_field(
                found, "upstreamRepositoryPrefix", "rule", pattern=PREFIX_PATTERN, max_length=30
            )
            or "ROOT",
            customRoleArn=text_field(found, "customRoleArn", "rule", pattern=ROLE_ARN_PATTERN),
        )

    @property
    def needs_secret(self) -> bool:
        return upstream(self.upstreamRegistry).needs_secret

    def to_ecr(self) -> dict[str, Any]:
        """The fields as CreatePullThroughCacheRule takes them (unset ones left out)."""
        return self.to_json()


@dataclass(frozen=True, slots=True)
class TaskTemplate:
    """The creation template as the task carries it: ECR's fields, checked by the API's model when requested."""

    fields: dict[str, Any]

    @classmethod
    def parse(cls, data: Any) -> TaskTemplate:
        found = {k: v for k, v in json_object(data, "creationTemplate", TEMPLATE_FIELDS).items() if v is not None}
        # The cross-field rules the request model enforces; ECR would refuse the template only later, half-applied.
        encryption = found.get("encryptionConfiguration")
        uses_kms = isinstance(encryption, dict) and encryption.get("encryptionType") != "AES256"
        if (uses_kms or found.get("resourceTags")) and not found.get("customRoleArn"):
            raise refuse(
                "creationTemplate", "customRoleArn is required when the template uses KMS encryption or resourceTags"
            )
        exclusions = found.get("imageTagMutability") in ("IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION")
        if exclusions != bool(found.get("imageTagMutabilityExclusionFilters")):
            raise refuse(
                "creationTemplate",
                "imageTagMutabilityExclusionFilters go with imageTagMutability *_WITH_EXCLUSION, and only with it",
            )
        text_field(found, "customRoleArn", "creationTemplate", pattern=ROLE_ARN_PATTERN)
        return cls(found)

    def to_ecr(self) -> dict[str, Any]:
        """The fields as ECR takes them (unset ones left out, nested ones too)."""
        return cast(dict[str, Any], _without_none(self.fields))


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


@dataclass(frozen=True, kw_only=True, slots=True)
class RegionTask:
    """One region's work item, as the state machine's Map hands it to every step."""

    rolloutId: str
    region: str
    rule: TaskRule
    account: str | None = None  # the target account; None: the home account (the app's own)
    mode: Literal["APPLY", "PLAN"] = "APPLY"  # PLAN: every write is refused (see pullthrough.planning)
    action: Literal["APPLY", "REMOVE"] = "APPLY"
    inlineCredentials: bool = False  # a plan of a request with inline credentials (never stored, so no ARN)
    dropTemplate: bool = False  # no template desired any more, but the previous desired state applied one
    adopt: bool = False  # take over a rule, secret or template for the prefix that pullthrough did not create
    failureTolerance: int = 0
    checkTolerance: bool = True  # False: every target started at once, so none can start after another failed
    sourceSecretArn: str | None = None
    creationTemplate: TaskTemplate | None = None  # None: leave creation templates alone
    smokePull: SmokeImage | None = None  # None: no smoke pull after ApplyTemplate
    storeSecret: SecretChange | None = None
    createRule: RuleChange | None = None
    applyTemplate: TemplateChange | None = None

    @classmethod
    def parse(cls, event: Any) -> RegionTask:
        """The task from a step's event; InvalidRequest naming the first field that does not fit.

        The state carries more keys (error records, timings): each step takes what it needs and ignores the rest.
        """
        data = json_object(event, "")
        tolerance = data.get("failureTolerance", 0)
        if not isinstance(tolerance, int) or isinstance(tolerance, bool) or tolerance < 0:
            raise refuse("failureTolerance", "must be a whole number, 0 or more")
        # The shape only: the API checked the region against ECR's list when the rollout was requested, and that list
        # costs a first invocation ~300 ms (botocore's endpoint data, loaded again by a new session).
        region = text_field(data, "region", "", required=True, pattern=REGION_PATTERN, max_length=32)
        template, secret, rule, applied, smoke = (
            data.get(k) for k in ("creationTemplate", "storeSecret", "createRule", "applyTemplate", "smokePull")
        )
        return cls(
            rolloutId=cast(str, text_field(data, "rolloutId", "", required=True, max_length=80)),
            region=cast(str, region),
            rule=TaskRule.parse(data.get("rule")),
            account=text_field(data, "account", "", pattern=ACCOUNT_PATTERN),
            mode=cast(Literal["APPLY", "PLAN"], choice_field(data, "mode", "", ("APPLY", "PLAN"), "APPLY")),
            action=cast(Literal["APPLY", "REMOVE"], choice_field(data, "action", "", ("APPLY", "REMOVE"), "APPLY")),
            inlineCredentials=flag_field(data, "inlineCredentials"),
            dropTemplate=flag_field(data, "dropTemplate"),
            adopt=flag_field(data, "adopt"),
            failureTolerance=tolerance,
            checkTolerance=flag_field(data, "checkTolerance", True),
            sourceSecretArn=text_field(data, "sourceSecretArn", "", pattern=SECRET_ARN_PATTERN),
            creationTemplate=None if template is None else TaskTemplate.parse(template),
            smokePull=None if smoke is None else SmokeImage.parse(smoke),
            storeSecret=None if secret is None else SecretChange.parse(secret, "storeSecret"),
            createRule=None if rule is None else RuleChange.parse(rule, "createRule"),
            applyTemplate=None if applied is None else TemplateChange.parse(applied, "applyTemplate"),
        )

    @property
    def prefix(self) -> str:
        return self.rule.ecrRepositoryPrefix

    @property
    def planning(self) -> bool:
        return self.mode == "PLAN"


@dataclass(frozen=True, kw_only=True, slots=True)
class RemovalResult(Record):
    """What a DELETE rollout removed from one region, in the shape rollback reads."""

    storeSecret: SecretChange
    createRule: RuleChange
    applyTemplate: TemplateChange


@dataclass(frozen=True, kw_only=True, slots=True)
class RollbackResult(Record):
    """What rollback did to each resource of one region."""

    region: str
    template: Action
    rule: Action
    secret: Action
