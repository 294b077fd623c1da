"""ECR adapter: pull-through cache rules and repository creation templates in one region."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pullthrough import exceptions as ex
from pullthrough.adapters.errors import translated
from pullthrough.prefixes import canonical_prefix

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

RULE_FIELDS = (
    "ecrRepositoryPrefix",
    "upstreamRegistry",
    "upstreamRegistryUrl",
    "upstreamRepositoryPrefix",
    "credentialArn",
    "customRoleArn",
)
TEMPLATE_FIELDS = (
    "description",
    "encryptionConfiguration",
    "resourceTags",
    "imageTagMutability",
    "imageTagMutabilityExclusionFilters",
    "repositoryPolicy",
    "lifecyclePolicy",
    "appliedFor",
    "customRoleArn",
)

_RULE_ERRORS: dict[str, type[ex.PullthroughError]] = {
    "PullThroughCacheRuleNotFoundException": ex.RuleNotFound,
    "PullThroughCacheRuleAlreadyExistsException": ex.RuleAlreadyExists,
    "LimitExceededException": ex.RuleLimitExceeded,
    "UnsupportedUpstreamRegistryException": ex.UpstreamRejected,
    "SecretNotFoundException": ex.UpstreamSecretRejected,
    "UnableToAccessSecretException": ex.UpstreamSecretRejected,
    "UnableToDecryptSecretValueException": ex.UpstreamSecretRejected,
    "InvalidParameterException": ex.AwsRequestRejected,
    "ValidationException": ex.AwsRequestRejected,
}
_TEMPLATE_ERRORS: dict[str, type[ex.PullthroughError]] = {
    "TemplateAlreadyExistsException": ex.ConcurrentModification,
    "TemplateNotFoundException": ex.ConcurrentModification,
    "InvalidParameterException": ex.TemplateRejected,
    "ValidationException": ex.TemplateRejected,
}


def _pick(data: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {k: data[k] for k in fields if data.get(k) not in (None, "", [])}


def _rule_read(rule: Any) -> dict[str, Any]:
    """A rule as ECR describes it, its prefix in the one form pullthrough uses (``x/`` is ``x``)."""
    picked = _pick(dict(rule), RULE_FIELDS)
    picked["ecrRepositoryPrefix"] = canonical_prefix(picked["ecrRepositoryPrefix"])
    return picked


class EcrRegistry:
    """Rules and creation templates of the account's registry in the client's region."""

    def __init__(self, client: ECRClient) -> None:
        self._ecr = client

    # Pull-through cache rules
    def get_rule(self, prefix: str) -> dict[str, Any] | None:
        """The rule for ``prefix`` (ECR's fields, unset ones left out), or None."""
        try:
            with translated(_RULE_ERRORS, "DescribePullThroughCacheRules"):
                found = self._ecr.describe_pull_through_cache_rules(ecrRepositoryPrefixes=[prefix])
        except ex.RuleNotFound:
            return None
        rules = found.get("pullThroughCacheRules", [])
        return _rule_read(rules[0]) if rules else None

    def list_rules(self) -> list[dict[str, Any]]:
        """Every rule in the region, a page (up to 1000) per call."""
        with translated(_RULE_ERRORS, "DescribePullThroughCacheRules"):
            pages = self._ecr.get_paginator("describe_pull_through_cache_rules").paginate(
                PaginationConfig={"PageSize": 1000}
            )
            return [_rule_read(r) for page in pages for r in page.get("pullThroughCacheRules", [])]

    def create_rule(self, rule: dict[str, Any]) -> None:
        params = _pick(rule, RULE_FIELDS)
        if params.get("upstreamRepositoryPrefix") == "ROOT":
            del params["upstreamRepositoryPrefix"]  # ECR's default, and ECR takes the field only with a non-ROOT prefix
        with translated(_RULE_ERRORS, "CreatePullThroughCacheRule"):
            self._ecr.create_pull_through_cache_rule(**params)

    def update_rule(self, prefix: str, *, credential_arn: str | None, custom_role_arn: str | None) -> None:
        params = {"credentialArn": credential_arn, "customRoleArn": custom_role_arn}
        with translated(_RULE_ERRORS, "UpdatePullThroughCacheRule"):
            self._ecr.update_pull_through_cache_rule(
                ecrRepositoryPrefix=prefix, **{k: v for k, v in params.items() if v}
            )

    def delete_rule(self, prefix: str) -> bool:
        """Delete the rule; False when there was none."""
        try:
            with translated(_RULE_ERRORS, "DeletePullThroughCacheRule"):
                self._ecr.delete_pull_through_cache_rule(ecrRepositoryPrefix=prefix)
        except ex.RuleNotFound:
            return False
        return True

    def validate_rule(self, prefix: str) -> tuple[bool, str]:
        """ECR's verdict on the rule: (isValid, failure text)."""
        with translated(_RULE_ERRORS, "ValidatePullThroughCacheRule"):
            answer = self._ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix=prefix)
        return bool(answer.get("isValid")), str(answer.get("failure") or "")

    # Repository creation templates
    def get_template(self, prefix: str) -> dict[str, Any] | None:
        """The creation template for ``prefix`` (without prefix and timestamps), or None."""
        try:
            with translated(_TEMPLATE_ERRORS, "DescribeRepositoryCreationTemplates"):
                found = self._ecr.describe_repository_creation_templates(prefixes=[prefix])
        except ex.ConcurrentModification:  # TemplateNotFoundException
            return None
        for template in found.get("repositoryCreationTemplates", []):
            if canonical_prefix(template.get("prefix", "")) == canonical_prefix(prefix):
                return _pick(dict(template), TEMPLATE_FIELDS)
        return None

    def list_templates(self) -> dict[str, dict[str, Any]]:
        """Every creation template in the region by prefix, a page (up to 1000) per call."""
        with translated(_TEMPLATE_ERRORS, "DescribeRepositoryCreationTemplates"):
            pages = self._ecr.get_paginator("describe_repository_creation_templates").paginate(
                PaginationConfig={"PageSize": 1000}
            )
            return {
                canonical_prefix(t["prefix"]): _pick(dict(t), TEMPLATE_FIELDS)
                for page in pages
                for t in page.get("repositoryCreationTemplates", [])
            }

    def put_template(self, prefix: str, template: dict[str, Any], *, exists: bool) -> None:
        """Create the template, or update the fields ``template`` names (an empty value included: it clears one)."""
        fields = {k: template[k] for k in TEMPLATE_FIELDS if template.get(k) is not None}
        if exists:
            with translated(_TEMPLATE_ERRORS, "UpdateRepositoryCreationTemplate"):
                self._ecr.update_repository_creation_template(prefix=prefix, **fields)
        else:
            with translated(_TEMPLATE_ERRORS, "CreateRepositoryCreationTemplate"):
                self._ecr.create_repository_creation_template(prefix=prefix, **fields)

    def delete_template(self, prefix: str) -> bool:
        """Delete the template; False when there was none."""
        try:
            with translated(_TEMPLATE_ERRORS, "DeleteRepositoryCreationTemplate"):
                self._ecr.delete_repository_creation_template(prefix=prefix)
        except ex.ConcurrentModification:
            return False
        return True
