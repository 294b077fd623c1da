"""Request validation for ECR pull-through cache rules and repository creation templates.

Patterns, lengths and enums are copied from botocore's ECR service model
(botocore/data/ecr/2015-09-21/service-2.json). botocore checks only required members,
types and minimum lengths on the client side; everything else is checked here and
reported as InvalidParameterException, which is what ECR returns for bad parameters.
"""

import json
import re
from collections.abc import Callable
from typing import Any

from .ecr_errors import UnsupportedUpstreamRegistryException, ValidationException, invalid_parameter

# PullThroughCacheRuleRepositoryPrefix (2..30) and Prefix (1..256) share this pattern.
REPOSITORY_PREFIX_PATTERN = r"^([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*\/?|ROOT)$"
CREDENTIAL_ARN_PATTERN = (
    r"^arn:aws(-\w+)*:secretsmanager:[a-zA-Z0-9-:]+:secret:ecr\-pullthroughcache\/[a-zA-Z0-9\/_+=.@-]+$"
)
REGISTRY_ID_PATTERN = r"[0-9]{12}"
KMS_KEY_PATTERN = r"^$|arn:aws[a-z0-9-]*:kms:[a-z0-9-]+:[0-9]{12}:key\/[a-z0-9-]+"
EXCLUSION_FILTER_PATTERN = r"^[0-9a-zA-Z._*-]{1,128}$"
# The model gives CustomRoleArn only max=2048; ECR documents it as an IAM role in the
# registry's own account, which the emulator enforces with this pattern.
ROLE_ARN_PATTERN = r"arn:aws(-[a-z]+)*:iam::(?P<account>[0-9]{12}):role/[\w+=,.@/-]{1,512}"

RULE_PREFIX_LENGTH = (2, 30)
TEMPLATE_PREFIX_LENGTH = (1, 256)
CREDENTIAL_ARN_LENGTH = (50, 612)
CUSTOM_ROLE_ARN_MAX = 2048
DESCRIPTION_MAX = 256
REPOSITORY_POLICY_MAX = 10240
LIFECYCLE_POLICY_MAX = 30720
MAX_RESULTS_RANGE = (1, 1000)
PREFIX_FILTER_MAX = 100
EXCLUSION_FILTERS_RANGE = (1, 5)
TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256

UPSTREAM_REGISTRIES = (
    "ecr",
    "ecr-public",
    "quay",
    "k8s",
    "docker-hub",
    "github-container-registry",
    "azure-container-registry",
    "gitlab-container-registry",
    "chainguard",
)
# Upstreams that need a Secrets Manager secret (credentialArn).
AUTH_UPSTREAMS = frozenset(
    {
        "docker-hub",
        "github-container-registry",
        "gitlab-container-registry",
        "azure-container-registry",
        "chainguard",
    }
)
# Upstreams that take no credentials at all.
ANONYMOUS_UPSTREAMS = frozenset({"ecr-public", "k8s", "quay"})
FIXED_UPSTREAM_URLS = {
    "public.ecr.aws": "ecr-public",
    "registry.k8s.io": "k8s",
    "quay.io": "quay",
    "registry-1.docker.io": "docker-hub",
    "ghcr.io": "github-container-registry",
    "registry.gitlab.com": "gitlab-container-registry",
    "cgr.dev": "chainguard",
}
AZURE_URL_PATTERN = r"[a-zA-Z0-9]{5,50}\.azurecr\.io"
ECR_URL_PATTERN = r"(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com"

APPLIED_FOR = ("REPLICATION", "PULL_THROUGH_CACHE", "CREATE_ON_PUSH")
IMAGE_TAG_MUTABILITY = ("MUTABLE", "IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION")
EXCLUSION_MUTABILITIES = ("IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION")
ENCRYPTION_TYPES = ("AES256", "KMS", "KMS_DSSE")


def require_string(name: str, value: Any) -> str:
    """Return ``value`` if it is a string, else raise InvalidParameterException."""
    if not isinstance(value, str):
        raise invalid_parameter(name, "Member must be a string")
    return value


def check_length(name: str, value: str, low: int, high: int) -> str:
    """Check ``low <= len(value) <= high``."""
    if not low <= len(value) <= high:
        raise invalid_parameter(name, f"Member must have length between {low} and {high}")
    return value


def check_pattern(name: str, value: str, pattern: str) -> str:
    """Check that the whole of ``value`` matches ``pattern``."""
    if not re.fullmatch(pattern, value):
        raise invalid_parameter(name, f"Member must satisfy regular expression pattern: {pattern}")
    return value


def check_enum(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    """Check that ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise invalid_parameter(name, f"Member must satisfy enum value set: [{', '.join(allowed)}]")
    return str(value)


def rule_prefix(name: str, value: Any) -> str:
    """Validate an ecrRepositoryPrefix / upstreamRepositoryPrefix."""
    text = require_string(name, value)
    check_length(name, text, *RULE_PREFIX_LENGTH)
    return check_pattern(name, text, REPOSITORY_PREFIX_PATTERN)


def template_prefix(name: str, value: Any) -> str:
    """Validate a repository creation template prefix."""
    text = require_string(name, value)
    check_length(name, text, *TEMPLATE_PREFIX_LENGTH)
    return check_pattern(name, text, REPOSITORY_PREFIX_PATTERN)


def registry_id(value: Any, account_id: str) -> None:
    """Accept an omitted registryId or the caller's own account ID."""
    if value is None:
        return
    check_pattern("registryId", require_string("registryId", value), REGISTRY_ID_PATTERN)
    if value != account_id:
        raise invalid_parameter("registryId", f"Member must be the caller's registry ID ({account_id})")


def credential_arn(value: Any) -> str:
    """Validate a credentialArn (length and the ECR pattern only)."""
    text = require_string("credentialArn", value)
    check_length("credentialArn", text, *CREDENTIAL_ARN_LENGTH)
    return check_pattern("credentialArn", text, CREDENTIAL_ARN_PATTERN)


def custom_role_arn(value: Any, account_id: str) -> str:
    """Validate a customRoleArn: an IAM role ARN in the registry's account."""
    text = require_string("customRoleArn", value)
    check_length("customRoleArn", text, 1, CUSTOM_ROLE_ARN_MAX)
    match = re.fullmatch(ROLE_ARN_PATTERN, text)
    if not match:
        raise invalid_parameter("customRoleArn", "Member must be an IAM role ARN")
    if match["account"] != account_id:
        raise invalid_parameter("customRoleArn", "The role must be in the same account as the registry")
    return text


def max_results(value: Any) -> int:
    """Validate maxResults (1..1000); the default page size is 100."""
    if value is None:
        return 100
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_parameter("maxResults", "Member must be an integer")
    low, high = MAX_RESULTS_RANGE
    if not low <= value <= high:
        raise invalid_parameter("maxResults", f"Member must have value between {low} and {high}")
    return value


def upstream_from_url(url: str) -> str | None:
    """Return the upstream registry a URL belongs to, or None if ECR does not support it."""
    if url in FIXED_UPSTREAM_URLS:
        return FIXED_UPSTREAM_URLS[url]
    if re.fullmatch(AZURE_URL_PATTERN, url):
        return "azure-container-registry"
    if re.fullmatch(ECR_URL_PATTERN, url):
        return "ecr"
    return None


def resolve_upstream(url: Any, upstream: Any) -> str:
    """Validate upstreamRegistryUrl / upstreamRegistry and return the upstream registry.

    When upstreamRegistry is omitted it is inferred from the URL.
    """
    text = require_string("upstreamRegistryUrl", url)
    if upstream is not None:
        check_enum("upstreamRegistry", upstream, UPSTREAM_REGISTRIES)
    inferred = upstream_from_url(text)
    if inferred is None:
        raise UnsupportedUpstreamRegistryException(
            f"The upstream registry URL '{text}' is not supported by pull through cache"
        )
    if upstream is not None and upstream != inferred:
        raise UnsupportedUpstreamRegistryException(
            f"The upstream registry URL '{text}' does not match the upstream registry '{upstream}'"
        )
    return inferred


def _policy_document(name: str, value: Any, limit: int) -> dict[str, Any] | None:
    """A policy text: at most ``limit`` characters of JSON object; None for the empty text (which clears it)."""
    text = require_string(name, value)
    check_length(name, text, 0, limit)
    if not text:
        return None
    try:
        document = json.loads(text)
    except ValueError:
        raise invalid_parameter(name, "Member must be a valid JSON document") from None
    if not isinstance(document, dict):
        raise invalid_parameter(name, "Member must be a JSON object")
    return document


def lifecycle_policy(value: Any) -> str:
    """Validate a lifecycle policy: a JSON object with a non-empty ``rules`` array (or empty text)."""
    document = _policy_document("lifecyclePolicy", value, LIFECYCLE_POLICY_MAX)
    if document is not None and not (isinstance(document.get("rules"), list) and document["rules"]):
        raise invalid_parameter("lifecyclePolicy", "Lifecycle policy must have a non-empty 'rules' array")
    return str(value)


def repository_policy(value: Any) -> str:
    """Validate a repository policy: a JSON object with a ``Statement`` (or empty text)."""
    document = _policy_document("repositoryPolicy", value, REPOSITORY_POLICY_MAX)
    if document is not None and not isinstance(document.get("Statement"), list | dict):
        raise invalid_parameter("repositoryPolicy", "Repository policy must have a 'Statement'")
    return str(value)


def one_prefix(prefix: str) -> str:
    """The identity of a prefix: ECR assumes a trailing '/' on every prefix, so 'x/' names the same rule as 'x'."""
    return prefix.removesuffix("/")


def upstream_prefix_fits(ecr_prefix: str, upstream_prefix: Any) -> None:
    """An upstreamRepositoryPrefix other than the default needs an ecrRepositoryPrefix other than ROOT (user guide)."""
    if ecr_prefix == "ROOT" and upstream_prefix not in (None, "ROOT"):
        raise ValidationException("upstreamRepositoryPrefix can only be specified when ecrRepositoryPrefix is not ROOT")


def applied_for(value: Any) -> list[str]:
    """Validate appliedFor: a non-empty list of RCTAppliedFor values (duplicates dropped)."""
    if not isinstance(value, list) or not value:
        raise invalid_parameter("appliedFor", "Member must be a non-empty list")
    return list(dict.fromkeys(check_enum("appliedFor", item, APPLIED_FOR) for item in value))


def encryption_configuration(value: Any) -> dict[str, str]:
    """Validate an EncryptionConfigurationForRepositoryCreationTemplate."""
    if not isinstance(value, dict):
        raise invalid_parameter("encryptionConfiguration", "Member must be a structure")
    encryption_type = check_enum(
        "encryptionConfiguration.encryptionType", value.get("encryptionType"), ENCRYPTION_TYPES
    )
    result = {"encryptionType": encryption_type}
    kms_key = value.get("kmsKey")
    if kms_key is not None:
        text = require_string("encryptionConfiguration.kmsKey", kms_key)
        check_length("encryptionConfiguration.kmsKey", text, 0, 2048)
        check_pattern("encryptionConfiguration.kmsKey", text, KMS_KEY_PATTERN)
        if text and encryption_type == "AES256":
            raise invalid_parameter("encryptionConfiguration.kmsKey", "kmsKey is only valid with KMS encryption")
        if text:
            result["kmsKey"] = text
    return result


def resource_tags(value: Any) -> list[dict[str, str]]:
    """Validate a TagList (keys 1..128 and values 0..256 characters)."""
    if not isinstance(value, list):
        raise invalid_parameter("resourceTags", "Member must be a list")
    tags = []
    for tag in value:
        if not isinstance(tag, dict):
            raise invalid_parameter("resourceTags", "Member must be a list of Key/Value structures")
        key = check_length("resourceTags.Key", require_string("resourceTags.Key", tag.get("Key")), 1, TAG_KEY_MAX)
        tag_value = require_string("resourceTags.Value", tag.get("Value"))
        tags.append({"Key": key, "Value": check_length("resourceTags.Value", tag_value, 0, TAG_VALUE_MAX)})
    return tags


def exclusion_filters(value: Any) -> list[dict[str, str]]:
    """Validate imageTagMutabilityExclusionFilters (1..5 WILDCARD filters)."""
    name = "imageTagMutabilityExclusionFilters"
    low, high = EXCLUSION_FILTERS_RANGE
    if not isinstance(value, list) or not low <= len(value) <= high:
        raise invalid_parameter(name, f"Member must be a list of between {low} and {high} filters")
    filters = []
    for item in value:
        if not isinstance(item, dict):
            raise invalid_parameter(name, "Member must be a list of filter structures")
        filter_type = check_enum(f"{name}.filterType", item.get("filterType"), ("WILDCARD",))
        pattern = require_string(f"{name}.filter", item.get("filter"))
        filters.append(
            {"filterType": filter_type, "filter": check_pattern(f"{name}.filter", pattern, EXCLUSION_FILTER_PATTERN)}
        )
    return filters


def mutability_consistency(mutability: str, filters: list[dict[str, str]] | None) -> None:
    """Exclusion filters go with (and only with) the *_WITH_EXCLUSION mutabilities."""
    if (mutability in EXCLUSION_MUTABILITIES) != bool(filters):
        raise invalid_parameter(
            "imageTagMutabilityExclusionFilters",
            f"Exclusion filters are required with, and only allowed with, {' or '.join(EXCLUSION_MUTABILITIES)}"
            f" (imageTagMutability is {mutability})",
        )


def prefix_filter(
    name: str, value: Any, validate_one: Callable[[str, Any], str], min_items: int, max_items: int | None
) -> list[str] | None:
    """Validate a Describe* prefix filter list; duplicates are dropped, None means no filter."""
    if value is None:
        return None
    if not isinstance(value, list) or len(value) < min_items:
        raise invalid_parameter(name, f"Member must be a list of at least {min_items} items")
    if max_items is not None and len(value) > max_items:
        raise invalid_parameter(name, f"Member must have at most {max_items} items")
    return list(dict.fromkeys(validate_one(name, item) for item in value)) or None
