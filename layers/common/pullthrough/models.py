"""Pydantic models of a rule request, its creation template and rollout options, with ECR's patterns and limits.

Field names follow the ECR API. Models forbid unknown fields so a typo is reported instead of ignored.
"""

from __future__ import annotations

import json
from types import UnionType
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from pullthrough.exceptions import InvalidRequest
from pullthrough.prefixes import canonical_prefix
from pullthrough.regions import check_region
from pullthrough.registries import UPSTREAM_NAMES, Auth, upstream

_PREFIX_PATTERN = r"^([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*\/?|ROOT)$"


def _one_rule_prefix(prefix: str) -> str:
    """A rule prefix as ECR identifies it: ``x/`` is ``x`` (still ECR's 2 characters at least)."""
    prefix = canonical_prefix(prefix)
    if len(prefix) < 2:
        raise PydanticCustomError("prefix_too_short", "must have at least 2 characters before a trailing /")
    return prefix


# ECR's pattern and lengths, checked on the value as given; the trailing "/" is dropped after.
RulePrefix = Annotated[
    str, Field(min_length=2, max_length=30, pattern=_PREFIX_PATTERN), AfterValidator(_one_rule_prefix)
]
UpstreamRepositoryPrefix = Annotated[str, Field(min_length=2, max_length=30, pattern=_PREFIX_PATTERN)]
RoleArn = Annotated[str, Field(max_length=2048, pattern=r"^arn:aws(-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]+$")]
SourceSecretArn = Annotated[
    str,
    Field(max_length=2048, pattern=r"^arn:aws(-[a-z]+)*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+$"),
]
UpstreamRegistryName = Literal[
    "ecr",
    "ecr-public",
    "quay",
    "k8s",
    "docker-hub",
    "github-container-registry",
    "azure-container-registry",
    "gitlab-container-registry",
    "chainguard",
]
assert set(UpstreamRegistryName.__args__) == set(UPSTREAM_NAMES)  # type: ignore[attr-defined]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Credentials(_Strict):
    """Upstream registry credentials as given by a caller; only ever written to Secrets Manager."""

    username: SecretStr = Field(min_length=1, max_length=1024)
    accessToken: SecretStr = Field(min_length=1, max_length=60000)

    @model_validator(mode="after")
    def _fits_a_secret(self) -> Self:
        if len(self.secret_string().encode()) > 65536:
            raise ValueError("username and accessToken together exceed Secrets Manager's 65,536 bytes")
        return self

    def secret_string(self) -> str:
        """The JSON ECR expects in the secret (``username`` + ``accessToken``)."""
        return json.dumps(
            {"username": self.username.get_secret_value(), "accessToken": self.accessToken.get_secret_value()}
        )


class EncryptionConfiguration(_Strict):
    encryptionType: Literal["AES256", "KMS", "KMS_DSSE"]
    kmsKey: (
        Annotated[
            str,
            Field(max_length=2048, pattern=r"^$|arn:aws[a-z0-9-]*:kms:[a-z0-9-]+:[0-9]{12}:key\/[a-z0-9-]+"),
        ]
        | None
    ) = None


class Tag(_Strict):
    Key: Annotated[str, Field(min_length=1, max_length=128)]
    Value: Annotated[str, Field(max_length=256)]


class TagMutabilityExclusionFilter(_Strict):
    filterType: Literal["WILDCARD"]
    filter: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[0-9a-zA-Z._*-]{1,128}$")]


# Keep cached repositories from growing forever: expire untagged images after 14 days and keep at most the
# 100 most recently pulled-through images per repository.
DEFAULT_LIFECYCLE_POLICY = {
    "rules": [
        {
            "rulePriority": 1,
            "description": "Expire untagged images 14 days after they were cached",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 14,
            },
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 2,
            "description": "Keep at most 100 images per cached repository",
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 100},
            "action": {"type": "expire"},
        },
    ]
}


def _policy_document(text: str | None, key: str, kind: type | UnionType, wanted: str) -> str | None:
    """``text`` if it is a JSON object whose ``key`` is a ``kind`` (a non-empty one for a list); a plain-worded
    error saying ``wanted`` otherwise."""
    if text is None:
        return None
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    found = document.get(key) if isinstance(document, dict) else None
    if not isinstance(found, kind) or (isinstance(found, list) and not found):
        raise PydanticCustomError("policy_document", "must be " + wanted)
    return text


class CreationTemplate(_Strict):
    """ECR's CreateRepositoryCreationTemplate fields except ``prefix`` and ``appliedFor``."""

    description: Annotated[str, Field(max_length=256)] | None = None
    encryptionConfiguration: EncryptionConfiguration | None = None
    resourceTags: list[Tag] | None = None
    imageTagMutability: Literal["MUTABLE", "IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION"] | None = (
        None
    )
    imageTagMutabilityExclusionFilters: (
        Annotated[list[TagMutabilityExclusionFilter], Field(min_length=1, max_length=5)] | None
    ) = None
    repositoryPolicy: Annotated[str, Field(max_length=10240)] | None = None
    lifecyclePolicy: Annotated[str, Field(max_length=30720)] | None = None
    customRoleArn: RoleArn | None = None

    @field_validator("lifecyclePolicy")
    @classmethod
    def _lifecycle_policy(cls, value: str | None) -> str | None:
        return _policy_document(value, "rules", list, 'a JSON object with a non-empty "rules" array')

    @field_validator("repositoryPolicy")
    @classmethod
    def _repository_policy(cls, value: str | None) -> str | None:
        return _policy_document(value, "Statement", list | dict, 'a JSON object with a "Statement" (a policy document)')

    @model_validator(mode="after")
    def _role_when_needed(self) -> Self:
        # ECR needs a role to apply KMS encryption or tags to repositories it creates on a pull.
        uses_kms = self.encryptionConfiguration is not None and self.encryptionConfiguration.encryptionType != "AES256"
        if (uses_kms or self.resourceTags) and not self.customRoleArn:
            raise ValueError("customRoleArn is required when the template uses KMS encryption or resourceTags")
        exclusions = self.imageTagMutability in ("IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION")
        if exclusions != bool(self.imageTagMutabilityExclusionFilters):
            raise ValueError(
                "imageTagMutabilityExclusionFilters go with imageTagMutability *_WITH_EXCLUSION, and only with it"
            )
        return self

    @classmethod
    def default(cls) -> CreationTemplate:
        """The template applied when a request names none: mutable tags and a bounded lifecycle."""
        return cls(
            description="Created by pullthrough for pull-through cache repositories",
            imageTagMutability="MUTABLE",
            lifecyclePolicy=json.dumps(DEFAULT_LIFECYCLE_POLICY, separators=(",", ":")),
        )

    def to_ecr(self) -> dict[str, Any]:
        """The fields as ECR takes them (unset ones left out)."""
        return self.model_dump(exclude_none=True)


class RolloutOptions(_Strict):
    """How a rollout proceeds, like CloudFormation StackSets' operation preferences."""

    maxConcurrency: Annotated[int, Field(ge=1, le=40)] | None = None
    failureTolerance: Annotated[int, Field(ge=0)] = 0
    regionOrder: list[str] | None = None


class Rule(_Strict):
    """The desired pull-through cache rule, resolved: URL filled in, prefixes defaulted."""

    ecrRepositoryPrefix: RulePrefix
    upstreamRegistry: UpstreamRegistryName
    upstreamRegistryUrl: Annotated[str, Field(min_length=1, max_length=512)]
    upstreamRepositoryPrefix: UpstreamRepositoryPrefix = "ROOT"
    customRoleArn: RoleArn | None = None

    @property
    def needs_secret(self) -> bool:
        return upstream(self.upstreamRegistry).needs_secret


class RuleRequest(_Strict):
    """A request to roll a rule out (POST /rules body, EventBridge detail)."""

    upstreamRegistry: UpstreamRegistryName
    ecrRepositoryPrefix: RulePrefix | None = None
    upstreamRegistryUrl: Annotated[str, Field(min_length=1, max_length=512)] | None = None
    upstreamRepositoryPrefix: UpstreamRepositoryPrefix | None = None
    credentials: Credentials | None = None
    credentialSecretArn: SourceSecretArn | None = None
    customRoleArn: RoleArn | None = None
    regions: Annotated[list[str], Field(min_length=1, max_length=40)]
    creationTemplate: CreationTemplate | None = None
    rollout: RolloutOptions = RolloutOptions()

    @field_validator("regions")
    @classmethod
    def _known_unique_regions(cls, regions: list[str]) -> list[str]:
        for name in regions:
            try:
                check_region(name)
            except InvalidRequest as exc:
                raise ValueError(exc.message) from None
        if len(set(regions)) != len(regions):
            raise ValueError("regions must not repeat a region")
        return regions

    @model_validator(mode="after")
    def _auth_fits_upstream(self) -> Self:
        # Cross-field rules raise InvalidRequest (not ValueError) so the error names its field.
        info = upstream(self.upstreamRegistry)
        if self.credentials is not None and self.credentialSecretArn is not None:
            raise InvalidRequest("give credentials or credentialSecretArn, not both", field="credentials")
        has_credentials = self.credentials is not None or self.credentialSecretArn is not None
        if info.auth is Auth.SECRET and not has_credentials:
            raise InvalidRequest(
                f"{self.upstreamRegistry} needs credentials (username, accessToken) or credentialSecretArn",
                field="credentials",
            )
        if info.auth is not Auth.SECRET and has_credentials:
            field = "credentials" if self.credentials is not None else "credentialSecretArn"
            raise InvalidRequest(f"{self.upstreamRegistry} takes no credentials: remove {field}", field=field)
        if info.auth is not Auth.ROLE and self.customRoleArn is not None:
            raise InvalidRequest("customRoleArn applies to upstreamRegistry ecr only", field="customRoleArn")
        info.resolve_url(self.upstreamRegistryUrl)
        if self.rollout.regionOrder is not None and sorted(self.rollout.regionOrder) != sorted(self.regions):
            raise InvalidRequest("must list exactly the requested regions", field="rollout.regionOrder")
        return self

    @model_validator(mode="after")
    def _upstream_prefix_fits(self) -> Self:
        # ECR's user guide: an upstream repository prefix only with an ECR repository prefix other than ROOT.
        prefix = self.ecrRepositoryPrefix or upstream(self.upstreamRegistry).default_prefix
        if prefix == "ROOT" and self.upstreamRepositoryPrefix not in (None, "ROOT"):
            raise InvalidRequest(
                "can be set only when ecrRepositoryPrefix is not ROOT (ECR refuses it with ROOT)",
                field="upstreamRepositoryPrefix",
            )
        return self

    def check_account(self, account_id: str, role_path: str = "/") -> None:
        """Refuse a customRoleArn (rule or template) outside ``account_id``, the deployment's account, or outside
        ``role_path``, the IAM path of the roles this deployment may pass to ECR.

        ECR: "This role must be in the same account as the registry that you are configuring".
        """
        template_role = self.creationTemplate.customRoleArn if self.creationTemplate else None
        for field, arn in (("customRoleArn", self.customRoleArn), ("creationTemplate.customRoleArn", template_role)):
            if arn is not None and arn.split(":")[4] != account_id:
                raise InvalidRequest(
                    f"must be a role of account {account_id}, where pullthrough runs (ECR takes only roles of the "
                    "registry's own account)",
                    field=field,
                )
            if arn is not None and not arn.split(":", 5)[5].startswith("role" + role_path):
                raise InvalidRequest(
                    f"must be a role under the path {role_path} (this deployment passes no other role to ECR)",
                    field=field,
                )

    @property
    def skips_template(self) -> bool:
        """True when the caller sent ``creationTemplate: null`` (absent means: the default template)."""
        return "creationTemplate" in self.model_fields_set and self.creationTemplate is None

    def rule(self) -> Rule:
        """The resolved rule this request asks for."""
        info = upstream(self.upstreamRegistry)
        return Rule(
            ecrRepositoryPrefix=self.ecrRepositoryPrefix or info.default_prefix,
            upstreamRegistry=self.upstreamRegistry,
            upstreamRegistryUrl=info.resolve_url(self.upstreamRegistryUrl),
            upstreamRepositoryPrefix=self.upstreamRepositoryPrefix or "ROOT",
            customRoleArn=self.customRoleArn,
        )

    def template(self) -> CreationTemplate | None:
        """The creation template to apply, or None when the caller skipped it."""
        if self.skips_template:
            return None
        return self.creationTemplate or CreationTemplate.default()

    def ordered_regions(self) -> list[str]:
        return list(self.rollout.regionOrder or self.regions)


def field_errors(error: ValidationError) -> list[dict[str, str]]:
    """Pydantic errors as ``[{field, message}]``, without the offending input (it may be a credential).

    Under ``credentials`` only the known keys are named: a key the caller invented could itself be a secret.
    """
    out = []
    for e in error.errors(include_url=False, include_input=False, include_context=False):
        parts = [str(part) for part in e["loc"]]
        if parts[:1] == ["credentials"] and parts[1:2] not in (["username"], ["accessToken"]):
            parts = parts[:1]
        out.append({"field": ".".join(parts) or "body", "message": e["msg"]})
    return out


def parse_model[M: BaseModel](model: type[M], data: Any, *, what: str = "request") -> M:
    """Validate ``data`` into ``model``; InvalidRequest naming the first bad field otherwise.

    The raised error's ``errors`` list names every bad field; no input value is copied into it.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = field_errors(exc)
        first = errors[0]
        raise InvalidRequest(
            f"invalid {what}: {first['field']}: {first['message']}", field=first["field"], errors=errors
        ) from None
