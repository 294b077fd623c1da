"""Pydantic models of a rule request, its creation template and rollout options, with ECR's patterns and limits.

Field names follow the ECR API. Models forbid unknown fields so a typo is reported instead of ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from types import UnionType
from typing import Annotated, Any, Literal, Protocol, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StrictBool,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from pullthrough.exceptions import InvalidRequest, UnknownOrganizationalUnit
from pullthrough.expiry import normalised
from pullthrough.prefixes import canonical_prefix
from pullthrough.regions import check_region
from pullthrough.registries import UPSTREAM_NAMES, Auth, upstream
from pullthrough.validation import described, field_errors

_PREFIX_PATTERN = r"^([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*\/?|ROOT)$"
PREFIX_WORDS = (
    "must be 2-30 characters: lowercase letters, digits, '.', '_', '-', '/', starting with a letter or digit and "
    "not ending in '.', '_' or '-'; or ROOT"
)


def _one_rule_prefix(prefix: str) -> str:
    """A rule prefix as ECR identifies it: ``x/`` is ``x`` (still ECR's 2 characters at least)."""
    prefix = canonical_prefix(prefix)
    if len(prefix) < 2:
        raise PydanticCustomError("prefix_too_short", "must have at least 2 characters before a trailing /")
    return prefix


# ECR's pattern and lengths, checked on the value as given; the trailing "/" is dropped after. Each shaped string
# says in words what it accepts (``described``): the patterns stay in the OpenAPI document, not in messages.
RulePrefix = Annotated[
    str,
    Field(min_length=2, max_length=30, pattern=_PREFIX_PATTERN),
    AfterValidator(_one_rule_prefix),
    described(PREFIX_WORDS),
]
UpstreamRepositoryPrefix = Annotated[
    str, Field(min_length=2, max_length=30, pattern=_PREFIX_PATTERN), described(PREFIX_WORDS)
]
RoleArn = Annotated[
    str,
    Field(max_length=2048, pattern=r"^arn:aws(-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]+$"),
    described("must be an IAM role ARN (arn:aws:iam::<12-digit account id>:role/<name>), at most 2,048 characters"),
]
SourceSecretArn = Annotated[
    str,
    Field(max_length=2048, pattern=r"^arn:aws(-[a-z]+)*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+$"),
    described(
        "must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<12-digit account id>:secret:<name>), "
        "at most 2,048 characters"
    ),
]
AccountId = Annotated[str, Field(pattern=r"^\d{12}$"), described("must be a 12-digit AWS account id")]
# Organizations' OU and root id patterns (CreateOrganizationalUnit, ListRoots).
OrganizationalUnitId = Annotated[
    str,
    Field(max_length=68, pattern=r"^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$"),
    described("must be an OU id (ou-<4-32 lowercase letters or digits>-<8-32 more>) or a root id (r-<4-32 more>)"),
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


_ACRONYMS = {"ecr": "ECR", "url": "URL", "arn": "ARN", "kms": "KMS", "id": "ID"}


def readable_title(name: str, *_: Any) -> str:
    """``upstreamRegistryUrl`` -> "Upstream registry URL": field titles as people write them."""
    words = re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", name)
    if not words:
        return name
    shown = [_ACRONYMS.get(w.lower(), w.lower()) for w in words]
    return " ".join([shown[0][:1].upper() + shown[0][1:], *shown[1:]])


ExpiresAt = Annotated[str, AfterValidator(normalised)]  # ISO 8601, kept as UTC YYYY-MM-DDTHH:MM:SSZ


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, field_title_generator=readable_title, model_title_generator=lambda m: m.__name__
    )


_ABOUT_PREFIX = (
    "The repository name prefix to use when caching images from the source registry. There is always an assumed / "
    "applied to the end of the prefix, so `team/quay` and `team/quay/` name one rule. ROOT: every repository."
)
_ABOUT_UPSTREAM = (
    "The name of the upstream registry. ecr-public, k8s and quay need no credentials; docker-hub, "
    "github-container-registry, gitlab-container-registry, azure-container-registry and chainguard need a secret; "
    "ecr (ECR to ECR) authenticates with a role."
)
_ABOUT_URL = (
    "The registry URL of the upstream registry: filled in for the registries with a fixed URL (public.ecr.aws, "
    "registry.k8s.io, quay.io, registry-1.docker.io, ghcr.io, registry.gitlab.com, cgr.dev). Required for "
    "azure-container-registry (`NAME.azurecr.io`, or just the name) and ecr (`ACCOUNT.dkr.ecr.REGION.amazonaws.com`)."
)
_ABOUT_UPSTREAM_PREFIX = (
    "The repository name prefix of the upstream registry to match with the upstream repository name. When this "
    "field isn't specified, Amazon ECR will use the ROOT. Not allowed when ecrRepositoryPrefix is ROOT."
)
_ABOUT_RULE_ROLE = (
    "Amazon Resource Name (ARN) of the IAM role to be assumed by Amazon ECR to authenticate to the ECR upstream "
    "registry. This role must be in the same account as the registry that you are configuring. Only for "
    "upstreamRegistry ecr."
)
_TAG_MUTABILITY = Literal["MUTABLE", "IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION"]


class Credentials(_Strict):
    """Upstream registry credentials as given by a caller; only ever written to Secrets Manager."""

    username: Annotated[SecretStr, Field(min_length=1, max_length=1024), described("must be 1-1,024 characters")] = (
        Field(description="The user name for the upstream registry (Docker Hub: your Docker ID or email).")
    )
    accessToken: Annotated[
        SecretStr, Field(min_length=1, max_length=60000), described("must be 1-60,000 characters")
    ] = Field(description="The access token or password for the upstream registry. Stored only in Secrets Manager.")
    expiresAt: ExpiresAt | None = Field(
        default=None,
        description="When the token expires (ISO 8601): kept as a tag on the source secret, never with the value; "
        "GET /rules counts the days left and the sweep warns ahead of it.",
    )

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
    """The encryption configuration to associate with the repository creation template."""

    encryptionType: Literal["AES256", "KMS", "KMS_DSSE"] = Field(
        description="The encryption type to use: AES256 (Amazon S3-managed keys), KMS or KMS_DSSE (a KMS key)."
    )
    kmsKey: (
        Annotated[
            str,
            Field(max_length=2048, pattern=r"^$|arn:aws[a-z0-9-]*:kms:[a-z0-9-]+:[0-9]{12}:key\/[a-z0-9-]+"),
            described("must be a KMS key ARN (arn:aws:kms:<region>:<12-digit account id>:key/<key id>)"),
        ]
        | None
    ) = Field(
        default=None,
        title="KMS key",
        description="If you use the KMS encryption type, specify the KMS key to use for encryption. The full ARN of "
        "the KMS key must be specified. The key must exist in the same Region as the repository. If no key is "
        "specified, the default Amazon Web Services managed KMS key for Amazon ECR will be used.",
    )


class Tag(_Strict):
    """A tag for the repositories the template creates: a key and a value, both of which you define."""

    Key: Annotated[str, Field(min_length=1, max_length=128)] = Field(
        description="One part of a key-value pair that make up a tag (1-128 characters)."
    )
    Value: Annotated[str, Field(max_length=256)] = Field(
        description="A value acts as a descriptor within a tag category (key); at most 256 characters."
    )


class TagMutabilityExclusionFilter(_Strict):
    """A filter that specifies which image tags should be excluded from the image tag mutability setting."""

    filterType: Literal["WILDCARD"] = Field(
        description="The type of filter to apply for excluding image tags from mutability settings."
    )
    filter: Annotated[
        str,
        Field(min_length=1, max_length=128, pattern=r"^[0-9a-zA-Z._*-]{1,128}$"),
        described("must be 1-128 characters: letters, digits, '.', '_', '-' and the wildcard '*'"),
    ] = Field(description="The filter value used to match image tags for exclusion from mutability settings.")


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

    description: Annotated[str, Field(max_length=256)] | None = Field(
        default=None, description="A description for the repository creation template (at most 256 characters)."
    )
    encryptionConfiguration: EncryptionConfiguration | None = Field(
        default=None, description="The encryption configuration to use for repositories created using the template."
    )
    resourceTags: list[Tag] | None = Field(
        default=None,
        description="The metadata to apply to the repository to help you categorize and organize. Needs customRoleArn.",
    )
    imageTagMutability: _TAG_MUTABILITY | None = Field(
        default=None,
        description="The tag mutability setting for the repository. If this parameter is omitted, the default "
        "setting of MUTABLE will be used which will allow image tags to be overwritten. If IMMUTABLE is specified, "
        "all image tags within the repository will be immutable which will prevent them from being overwritten.",
    )
    imageTagMutabilityExclusionFilters: (
        Annotated[
            list[TagMutabilityExclusionFilter], Field(min_length=1, max_length=5), described("must list 1-5 filters")
        ]
        | None
    ) = Field(
        default=None,
        description="A list of filters that specify which image tags should be excluded from the repository "
        "creation template's image tag mutability setting. Only with imageTagMutability *_WITH_EXCLUSION.",
    )
    repositoryPolicy: Annotated[str, Field(max_length=10240)] | None = Field(
        default=None,
        description="The repository policy to apply to repositories created using the template (a JSON policy "
        "document as a string, at most 10,240 characters).",
    )
    lifecyclePolicy: Annotated[str, Field(max_length=30720)] | None = Field(
        default=None,
        description="The lifecycle policy to use for repositories created using the template (a JSON document with "
        '"rules", as a string, at most 30,720 characters).',
    )
    customRoleArn: RoleArn | None = Field(
        default=None,
        description="The ARN of the role to be assumed by Amazon ECR. This role must be in the same account as the "
        "registry that you are configuring. Needed when the template uses KMS encryption or resourceTags.",
    )

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


# Accounts worked on at once by default: 20 accounts of up to 40 regions each keep at most 800 steps running, under
# Lambda's default 1,000 concurrent executions per region; regions within an account run as maxConcurrency says.
DEFAULT_ACCOUNT_CONCURRENCY = 20


class RolloutOptions(_Strict):
    """How a rollout proceeds, like CloudFormation StackSets' operation preferences.

    A target is one (account, region): failure tolerance counts failed targets across every account.
    """

    maxConcurrency: Annotated[int, Field(ge=1, le=40)] | None = Field(
        default=None,
        description="How many regions at most are worked on at once within each account (1-40). Default: all of them.",
    )
    accountConcurrency: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=DEFAULT_ACCOUNT_CONCURRENCY,
        description="How many accounts at most are worked on at once (1-1,000), like StackSets' maximum concurrent "
        f"accounts. Default {DEFAULT_ACCOUNT_CONCURRENCY}: with up to 40 regions each, at most 800 steps run at "
        "once, under Lambda's default of 1,000 concurrent executions.",
    )
    failureTolerance: Annotated[int, Field(ge=0)] = Field(
        default=0,
        description="How many targets (an account in a region) may fail before the rollout stops and rolls every "
        "target it changed back. Default 0: all or nothing. Give this or failureTolerancePercentage, not both.",
    )
    failureTolerancePercentage: Annotated[int, Field(ge=0, le=100)] | None = Field(
        default=None,
        description="Instead of failureTolerance: the percentage of targets (0-100) that may fail, rounded down "
        "like StackSets' (10% of 25 targets tolerates 2 failures).",
    )
    regionOrder: list[str] | None = Field(
        default=None,
        description="The order in which regions are started in each account: exactly the requested regions. "
        "Default: as listed.",
    )

    @field_validator("failureTolerancePercentage")
    @classmethod
    def _one_tolerance(cls, percentage: int | None, info: ValidationInfo) -> int | None:
        if percentage is not None and info.data.get("failureTolerance"):
            raise ValueError("give failureTolerance or failureTolerancePercentage, not both")
        return percentage

    def tolerated_failures(self, total_targets: int) -> int:
        """How many of ``total_targets`` failed targets the rollout tolerates: the count, or the percentage of
        the total rounded down."""
        if self.failureTolerancePercentage is None:
            return self.failureTolerance
        return self.failureTolerancePercentage * total_targets // 100


class OrganizationReader(Protocol):
    """What a request needs of AWS Organizations (pullthrough.adapters.organizations.Organization)."""

    def accounts_in(self, parent_ids: Iterable[str]) -> list[str]: ...


class Rule(_Strict):
    """The desired pull-through cache rule, resolved: URL filled in, prefixes defaulted."""

    ecrRepositoryPrefix: RulePrefix = Field(title="ECR repository prefix", description=_ABOUT_PREFIX)
    upstreamRegistry: UpstreamRegistryName = Field(description=_ABOUT_UPSTREAM)
    upstreamRegistryUrl: Annotated[str, Field(min_length=1, max_length=512)] = Field(description=_ABOUT_URL)
    upstreamRepositoryPrefix: UpstreamRepositoryPrefix = Field(default="ROOT", description=_ABOUT_UPSTREAM_PREFIX)
    customRoleArn: RoleArn | None = Field(default=None, description=_ABOUT_RULE_ROLE)

    @property
    def needs_secret(self) -> bool:
        return upstream(self.upstreamRegistry).needs_secret


class RuleRequest(_Strict):
    """A request to roll a rule out (POST /rules body, EventBridge detail).

    The body is the rule's whole desired state: a request for an existing prefix replaces it, and regions it no
    longer names lose the prefix.
    """

    upstreamRegistry: UpstreamRegistryName = Field(description=_ABOUT_UPSTREAM)
    ecrRepositoryPrefix: RulePrefix | None = Field(
        default=None,
        description=_ABOUT_PREFIX + " Default: the console's prefix for the upstream (docker-hub, quay, ecr-public, "
        "kubernetes, github, gitlab, azure, chainguard, ecr).",
    )
    upstreamRegistryUrl: Annotated[str, Field(min_length=1, max_length=512)] | None = Field(
        default=None, description=_ABOUT_URL
    )
    upstreamRepositoryPrefix: UpstreamRepositoryPrefix | None = Field(default=None, description=_ABOUT_UPSTREAM_PREFIX)
    credentials: Credentials | None = Field(
        default=None,
        description="The credentials to authenticate to the upstream registry, for the upstreams that need them. "
        "pullthrough stores them in Secrets Manager (`ecr-pullthroughcache/PREFIX` in each region) and never shows "
        "them again. Give credentials or credentialSecretArn, not both.",
    )
    credentialSecretArn: SourceSecretArn | None = Field(
        default=None,
        description="Instead of credentials: the ARN of an existing secret in the home region and account whose "
        "name starts with ecr-pullthroughcache/, holding username and accessToken.",
    )
    credentialExpiresAt: ExpiresAt | None = Field(
        default=None,
        description="With credentialSecretArn: when its token expires (ISO 8601), as credentials.expiresAt.",
    )
    customRoleArn: RoleArn | None = Field(default=None, description=_ABOUT_RULE_ROLE)
    regions: Annotated[list[str], Field(min_length=1, max_length=40), described("must list 1-40 regions")] = Field(
        description="The regions where the rule is desired, like eu-west-1 (1-40, no repeats). Regions a previous "
        "request named and this one does not lose the rule."
    )
    accounts: (
        Annotated[list[AccountId], Field(min_length=1, max_length=1000), described("must list 1-1,000 accounts")] | None
    ) = Field(
        default=None,
        description="The accounts where the rule is desired, by 12-digit id (1-1,000, no repeats), in each of the "
        "regions. Default, when organizationalUnits is absent too: pullthrough's own account. An account other "
        "than pullthrough's own needs the role PullthroughExecutionRole (target-account.yaml). Accounts a previous "
        "request targeted and this one does not lose the rule.",
    )
    organizationalUnits: (
        Annotated[
            list[OrganizationalUnitId], Field(min_length=1, max_length=100), described("must list 1-100 OUs or roots")
        ]
        | None
    ) = Field(
        default=None,
        title="Organizational units",
        description="AWS Organizations OUs (ou-...) or the root (r-...) whose ACTIVE accounts, in nested OUs too, "
        "get the rule (1-100, no repeats); added to accounts. Expanded when each rollout starts; an account that "
        "later joins one of them gets the rule too.",
    )
    retainOnAccountRemoval: StrictBool = Field(
        default=False,
        description="What happens in an account that leaves the targeted organizationalUnits (like StackSets' "
        "RetainStacksOnAccountRemoval): false (default) removes the rule, its secret and template from it; true "
        "leaves them there, no longer managed.",
    )
    creationTemplate: CreationTemplate | None = Field(
        default=None,
        description="The repository creation template applied for the prefix (appliedFor PULL_THROUGH_CACHE). "
        "Absent: a default with MUTABLE tags and a lifecycle policy that expires untagged images after 14 days and "
        "keeps 100 images per repository. null: no template.",
    )
    rollout: RolloutOptions = Field(
        default=RolloutOptions(),
        description="How the rollout proceeds across accounts and regions (concurrency, failure tolerance, order).",
    )

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

    @field_validator("accounts", "organizationalUnits")
    @classmethod
    def _no_repeats(cls, ids: list[str] | None, info: ValidationInfo) -> list[str] | None:
        first: dict[str, int] = {}
        for index, found in enumerate(ids or []):
            if found in first:
                # Raised past Pydantic so the error names the item; no value is quoted, only positions.
                raise InvalidRequest(f"repeats {info.field_name}.{first[found]}", field=f"{info.field_name}.{index}")
            first[found] = index
        return ids

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
        if self.credentialExpiresAt is not None and self.credentialSecretArn is None:
            raise InvalidRequest(
                "goes with credentialSecretArn (else: credentials.expiresAt)", field="credentialExpiresAt"
            )
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

    def role_arns(self) -> list[tuple[str, str]]:
        """(field, ARN) of each role the request names for ECR to use: the rule's and the template's."""
        template_role = self.creationTemplate.customRoleArn if self.creationTemplate else None
        named = (("customRoleArn", self.customRoleArn), ("creationTemplate.customRoleArn", template_role))
        return [(field, arn) for field, arn in named if arn is not None]

    def check_account(self, account_id: str, role_path: str = "/") -> None:
        """Refuse a customRoleArn (rule or template) outside ``account_id``, the deployment's account, or outside
        ``role_path``, the IAM path of the roles this deployment may pass to ECR.

        ECR: "This role must be in the same account as the registry that you are configuring".
        """
        for field, arn in self.role_arns():
            if arn.split(":")[4] != account_id:
                raise InvalidRequest(
                    f"must be a role of account {account_id}, where pullthrough runs (ECR takes only roles of the "
                    "registry's own account)",
                    field=field,
                )
            if not arn.split(":", 5)[5].startswith("role" + role_path):
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

    def target_accounts(self, home_account: str, org: OrganizationReader) -> list[str]:
        """The accounts the rule is desired in, sorted: ``accounts`` plus the ACTIVE accounts of
        ``organizationalUnits`` (read from ``org`` only when OUs are given), or ``[home_account]`` when neither is.

        Neither the listed accounts nor the home account need be in the organization. Empty when only OUs are
        given and they hold no active account (yet). Raises InvalidRequest naming ``organizationalUnits.N`` for
        an OU the organization does not have, ``organizationalUnits`` when it cannot be read.
        """
        if self.accounts is None and self.organizationalUnits is None:
            return [home_account]
        found = set(self.accounts or ())
        for index, unit in enumerate(self.organizationalUnits or ()):
            try:
                found.update(org.accounts_in([unit]))
            except UnknownOrganizationalUnit as exc:
                raise UnknownOrganizationalUnit(exc.message, field=f"organizationalUnits.{index}") from exc
        return sorted(found)


def parse_model[M: BaseModel](model: type[M], data: Any, *, what: str = "request") -> M:
    """Validate ``data`` into ``model``; InvalidRequest naming the first bad field otherwise.

    The raised error's ``errors`` list names every bad field; no input value is copied into it.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = field_errors(exc.errors(include_url=False, include_input=False), model)
        first = errors[0]
        raise InvalidRequest(
            f"invalid {what}: {first['field']}: {first['message']}", field=first["field"], errors=errors
        ) from None
