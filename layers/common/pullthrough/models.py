"""Pydantic models of a rule request (POST /rules body, EventBridge detail) and the rule it resolves to.

Field names follow the ECR API. The shaped strings live in request_fields, the creation template in
creation_template, the rollout options in rollout_options; the targets are resolved in targets.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    SecretStr,
    StrictBool,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from pullthrough.creation_template import CreationTemplate
from pullthrough.exceptions import InvalidRequest
from pullthrough.expiry import normalised
from pullthrough.images import IMAGE_MAX, IMAGE_WORDS, REPOSITORY_PATTERN, TAG_PATTERN
from pullthrough.regions import check_region
from pullthrough.registries import Auth, upstream
from pullthrough.request_fields import (
    AccountId,
    OrganizationalUnitId,
    RoleArn,
    RulePrefix,
    SourceSecretArn,
    StrictModel,
    UpstreamRegistryName,
    UpstreamRepositoryPrefix,
)
from pullthrough.rollout_options import RolloutOptions
from pullthrough.validation import described, field_errors

ExpiresAt = Annotated[str, AfterValidator(normalised)]  # ISO 8601, kept as UTC YYYY-MM-DDTHH:MM:SSZ

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


class Credentials(StrictModel):
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


class Rule(StrictModel):
    """The desired pull-through cache rule, resolved: URL filled in, prefixes defaulted."""

    ecrRepositoryPrefix: RulePrefix = Field(title="ECR repository prefix", description=_ABOUT_PREFIX)
    upstreamRegistry: UpstreamRegistryName = Field(description=_ABOUT_UPSTREAM)
    upstreamRegistryUrl: Annotated[str, Field(min_length=1, max_length=512)] = Field(description=_ABOUT_URL)
    upstreamRepositoryPrefix: UpstreamRepositoryPrefix = Field(default="ROOT", description=_ABOUT_UPSTREAM_PREFIX)
    customRoleArn: RoleArn | None = Field(default=None, description=_ABOUT_RULE_ROLE)

    @property
    def needs_secret(self) -> bool:
        return upstream(self.upstreamRegistry).needs_secret


class SmokePull(StrictModel):
    """The image each target pulls through its cache after ApplyTemplate (a smoke test of the rule)."""

    image: Annotated[
        str,
        Field(min_length=3, max_length=IMAGE_MAX, pattern=rf"^{REPOSITORY_PATTERN}:{TAG_PATTERN}$"),
        described(IMAGE_WORDS),
    ] = Field(
        description="REPOSITORY:TAG, as the upstream names it (Docker Hub's official images with "
        "library/, e.g. library/alpine:3.20). Each target pulls PREFIX/REPOSITORY:TAG through its own "
        "cache; the target's changes.pull is the manifest's digest, and a failed pull fails the target."
    )


class PullTestRequest(SmokePull):
    """POST /pull-tests: pull ``image`` through the rule for ``prefix`` in every target it is deployed in, now."""

    prefix: RulePrefix = Field(description="The rule's ecrRepositoryPrefix.")


class RuleRequest(StrictModel):
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
        "name starts with ecr-pullthroughcache/, holding username and accessToken, encrypted with the AWS managed "
        "key aws/secretsmanager (ECR reads no other); not a source secret pullthrough keeps for another prefix "
        "nor a regional secret it manages.",
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
        "than pullthrough's own must be an ACTIVE account of pullthrough's Organization (else 422 naming "
        "accounts.N) and needs the role PullthroughExecutionRole (target-account.yaml). Accounts a previous "
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
    adopt: StrictBool = Field(
        default=False,
        description="Take over what a target already holds for the prefix that pullthrough did not create (a "
        "pull-through cache rule, an ecr-pullthroughcache/{prefix} secret, a creation template applied for "
        "PULL_THROUGH_CACHE). false (default): such a target fails with error type NotManaged naming it. true: "
        "pullthrough takes it over (tagging the secret managed-by: pullthrough), and a rollback puts it back exactly "
        "as it was. Applies to this request only; it is not kept with the rule.",
    )
    smokePull: SmokePull | None = Field(
        default=None,
        description="After ApplyTemplate, pull this image's manifest through each target's cache and record its "
        "digest (changes.pull); a failed pull fails the target, so it is rolled back like any failed step. Kept "
        "with the rule. A plan does not pull.",
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
