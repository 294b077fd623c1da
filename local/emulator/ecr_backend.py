"""moto's ECR backend extended with pull-through cache rules and repository creation templates.

State lives on the backend instance (one per account and Region), so moto's resets
(``mock_aws`` start/stop, ``POST /moto-api/reset``) drop it like any other ECR state.
Rules and templates are keyed by their prefix without a trailing '/' (ECR assumes one on every
prefix, so 'x' and 'x/' are one); each keeps the prefix as it was created.
"""

import json
import re
import threading
from dataclasses import replace
from typing import Any

import moto.ecr.urls
from moto.ecr.models import ECRBackend
from moto.iam.exceptions import MalformedPolicyDocument

from . import ecr_validation as check
from .ecr_errors import (
    LimitExceededException,
    PullThroughCacheRuleAlreadyExistsException,
    PullThroughCacheRuleNotFoundException,
    TemplateAlreadyExistsException,
    TemplateNotFoundException,
    UnsupportedUpstreamRegistryException,
    invalid_parameter,
)
from .ecr_models import PullThroughCacheRule, RepositoryCreationTemplate, now, paginate
from .ecr_secrets import check_secret_exists, validation_failure

# What a registry permissions policy may grant (anything else: "invalid registry policy").
REGISTRY_POLICY_ACTIONS = frozenset({"ecr:ReplicateImage", "ecr:BatchImportUpstreamImage", "ecr:CreateRepository"})
# Pull-through cache rules per registry per Region (not adjustable).
MAX_RULES_PER_REGION = 50


class PullThroughECRBackend(ECRBackend):
    """ECRBackend plus the nine pull-through cache / creation template operations."""

    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.init_extension_state()

    def init_extension_state(self) -> None:
        """Create the extension's (empty) stores; also used when upgrading an existing backend."""
        self.pull_through_cache_rules: dict[str, PullThroughCacheRule] = {}
        self.repository_creation_templates: dict[str, RepositoryCreationTemplate] = {}
        self.extension_lock = threading.RLock()
        # The bytes of the blobs (configs, layers) pulled through into this registry, by digest: moto's
        # repositories keep only their sizes.
        self.layer_blobs: dict[str, bytes] = {}

    @property
    def _url_module(self) -> Any:
        # BaseBackend derives "<module>.urls" from the class's module name; ours lives outside moto.
        return moto.ecr.urls

    def _validate_registry_policy_action(self, policy_text: str) -> None:
        """A registry permissions policy takes ecr:ReplicateImage, ecr:BatchImportUpstreamImage and
        ecr:CreateRepository (moto's check forgets BatchImportUpstreamImage, the pull-through cache policy's)."""
        for statement in json.loads(policy_text)["Statement"]:
            actions = statement["Action"]
            if set([actions] if isinstance(actions, str) else actions) - REGISTRY_POLICY_ACTIONS:
                raise MalformedPolicyDocument()

    # -- pull-through cache rules -------------------------------------------------------------

    def _rule(self, prefix: str) -> PullThroughCacheRule:
        rule = self.pull_through_cache_rules.get(check.one_prefix(prefix))
        if rule is None:
            raise PullThroughCacheRuleNotFoundException(
                f"The pull through cache rule with prefix '{prefix}' does not exist "
                f"in the registry with id '{self.account_id}'"
            )
        return rule

    def _check_credentials(self, upstream: str, credential_arn: Any, custom_role_arn: Any) -> None:
        if credential_arn is not None:
            check.credential_arn(credential_arn)
            if upstream not in check.AUTH_UPSTREAMS:
                raise invalid_parameter(
                    "credentialArn", f"The upstream registry '{upstream}' does not use a credentialArn"
                )
        if custom_role_arn is not None:
            check.custom_role_arn(custom_role_arn, self.account_id)
            if upstream != "ecr":
                raise invalid_parameter(
                    "customRoleArn", "A customRoleArn is only supported for an Amazon ECR upstream registry"
                )

    def create_pull_through_cache_rule(
        self,
        ecr_repository_prefix: Any,
        upstream_registry_url: Any,
        registry_id: Any = None,
        upstream_registry: Any = None,
        credential_arn: Any = None,
        custom_role_arn: Any = None,
        upstream_repository_prefix: Any = None,
    ) -> PullThroughCacheRule:
        """CreatePullThroughCacheRule.

        The secret behind ``credential_arn`` must exist in the account and Region named by the ARN;
        whether that is the rule's own Region is left to ValidatePullThroughCacheRule, as in ECR.
        """
        check.registry_id(registry_id, self.account_id)
        prefix = check.rule_prefix("ecrRepositoryPrefix", ecr_repository_prefix)
        upstream_prefix = (
            "ROOT"
            if upstream_repository_prefix is None
            else check.rule_prefix("upstreamRepositoryPrefix", upstream_repository_prefix)
        )
        check.upstream_prefix_fits(prefix, upstream_repository_prefix)
        upstream = check.resolve_upstream(upstream_registry_url, upstream_registry)
        self._check_credentials(upstream, credential_arn, custom_role_arn)
        if upstream in check.AUTH_UPSTREAMS and credential_arn is None:
            raise UnsupportedUpstreamRegistryException(
                f"The upstream registry '{upstream}' requires authentication: specify a credentialArn "
                "for a Secrets Manager secret holding the upstream credentials"
            )
        with self.extension_lock:
            if check.one_prefix(prefix) in self.pull_through_cache_rules:
                raise PullThroughCacheRuleAlreadyExistsException(
                    f"The pull through cache rule with prefix '{prefix}' already exists "
                    f"in the registry with id '{self.account_id}'"
                )
            if len(self.pull_through_cache_rules) >= MAX_RULES_PER_REGION:
                raise LimitExceededException(
                    f"The maximum number of pull through cache rules ({MAX_RULES_PER_REGION}) "
                    f"has been reached for the registry '{self.account_id}' in {self.region_name}"
                )
            if credential_arn is not None:
                check_secret_exists(credential_arn)
            rule = PullThroughCacheRule(
                registry_id=self.account_id,
                region=self.region_name,
                ecr_repository_prefix=prefix,
                upstream_registry_url=upstream_registry_url,
                upstream_registry=upstream,
                upstream_repository_prefix=upstream_prefix,
                credential_arn=credential_arn,
                custom_role_arn=custom_role_arn,
            )
            self.pull_through_cache_rules[check.one_prefix(prefix)] = rule
            return rule

    def describe_pull_through_cache_rules(
        self, registry_id: Any = None, prefixes: Any = None, max_results: Any = None, next_token: Any = None
    ) -> tuple[list[PullThroughCacheRule], str | None]:
        """DescribePullThroughCacheRules: any unknown prefix in the filter is an error."""
        check.registry_id(registry_id, self.account_id)
        wanted = check.prefix_filter(
            "ecrRepositoryPrefixes", prefixes, check.rule_prefix, min_items=1, max_items=check.PREFIX_FILTER_MAX
        )
        page_size = check.max_results(max_results)
        with self.extension_lock:
            found = {check.one_prefix(p): self._rule(p) for p in wanted or []}
            rules = list(found.values()) if wanted else list(self.pull_through_cache_rules.values())
        return paginate(rules, lambda rule: check.one_prefix(rule.ecr_repository_prefix), page_size, next_token)

    def update_pull_through_cache_rule(
        self,
        ecr_repository_prefix: Any,
        registry_id: Any = None,
        credential_arn: Any = None,
        custom_role_arn: Any = None,
    ) -> PullThroughCacheRule:
        """UpdatePullThroughCacheRule: only credentialArn and customRoleArn can change."""
        check.registry_id(registry_id, self.account_id)
        prefix = check.rule_prefix("ecrRepositoryPrefix", ecr_repository_prefix)
        if credential_arn is None and custom_role_arn is None:
            raise invalid_parameter("credentialArn", "At least one of credentialArn or customRoleArn must be specified")
        with self.extension_lock:
            rule = self._rule(prefix)
            self._check_credentials(rule.upstream_registry, credential_arn, custom_role_arn)
            if credential_arn is not None:
                check_secret_exists(credential_arn)
            updated = replace(
                rule,
                credential_arn=credential_arn if credential_arn is not None else rule.credential_arn,
                custom_role_arn=custom_role_arn if custom_role_arn is not None else rule.custom_role_arn,
                updated_at=now(),
            )
            self.pull_through_cache_rules[check.one_prefix(prefix)] = updated
            return updated

    def delete_pull_through_cache_rule(
        self, ecr_repository_prefix: Any, registry_id: Any = None
    ) -> PullThroughCacheRule:
        """DeletePullThroughCacheRule: returns the deleted rule."""
        check.registry_id(registry_id, self.account_id)
        prefix = check.rule_prefix("ecrRepositoryPrefix", ecr_repository_prefix)
        with self.extension_lock:
            rule = self._rule(prefix)
            del self.pull_through_cache_rules[check.one_prefix(prefix)]
            return rule

    def validate_pull_through_cache_rule(
        self, ecr_repository_prefix: Any, registry_id: Any = None
    ) -> tuple[PullThroughCacheRule, str | None]:
        """ValidatePullThroughCacheRule: the rule and why it is invalid (None when valid)."""
        check.registry_id(registry_id, self.account_id)
        prefix = check.rule_prefix("ecrRepositoryPrefix", ecr_repository_prefix)
        with self.extension_lock:
            rule = self._rule(prefix)
        return rule, self._rule_failure(rule)

    def _rule_failure(self, rule: PullThroughCacheRule) -> str | None:
        if rule.upstream_registry in check.AUTH_UPSTREAMS:
            if rule.credential_arn is None:
                return f"The upstream registry '{rule.upstream_registry}' requires authentication."
            return validation_failure(rule.credential_arn, self.account_id, self.region_name)
        if rule.upstream_registry == "ecr":
            match = re.fullmatch(check.ECR_URL_PATTERN, rule.upstream_registry_url)
            if match and match["account"] != self.account_id and rule.custom_role_arn is None:
                return (
                    f"Pulling from the Amazon ECR registry of account {match['account']} "
                    "requires a customRoleArn that the upstream registry trusts."
                )
        return None

    # -- repository creation templates --------------------------------------------------------

    def _template(self, prefix: str) -> RepositoryCreationTemplate:
        template = self.repository_creation_templates.get(check.one_prefix(prefix))
        if template is None:
            raise TemplateNotFoundException(
                f"The repository creation template with prefix '{prefix}' does not exist "
                f"in the registry with id '{self.account_id}'"
            )
        return template

    def _template_fields(self, params: dict[str, Any]) -> dict[str, Any]:
        """Validate the optional template members present in ``params`` (request names)."""
        fields: dict[str, Any] = {}
        if params.get("description") is not None:
            description = check.require_string("description", params["description"])
            fields["description"] = check.check_length("description", description, 0, check.DESCRIPTION_MAX)
        if params.get("encryptionConfiguration") is not None:
            fields["encryption_configuration"] = check.encryption_configuration(params["encryptionConfiguration"])
        if params.get("resourceTags") is not None:
            fields["resource_tags"] = check.resource_tags(params["resourceTags"])
        if params.get("imageTagMutability") is not None:
            fields["image_tag_mutability"] = check.check_enum(
                "imageTagMutability", params["imageTagMutability"], check.IMAGE_TAG_MUTABILITY
            )
        if params.get("imageTagMutabilityExclusionFilters") is not None:
            fields["image_tag_mutability_exclusion_filters"] = check.exclusion_filters(
                params["imageTagMutabilityExclusionFilters"]
            )
        if params.get("repositoryPolicy") is not None:
            policy = check.repository_policy(params["repositoryPolicy"])
            fields["repository_policy"] = policy or None
        if params.get("lifecyclePolicy") is not None:
            policy = check.lifecycle_policy(params["lifecyclePolicy"])
            fields["lifecycle_policy"] = policy or None
        if params.get("appliedFor") is not None:
            fields["applied_for"] = check.applied_for(params["appliedFor"])
        if params.get("customRoleArn") is not None:
            role = params["customRoleArn"]
            # An empty customRoleArn clears it (ECR then uses its service-linked role).
            fields["custom_role_arn"] = check.custom_role_arn(role, self.account_id) if role != "" else None
        return fields

    def create_repository_creation_template(self, prefix: Any, params: dict[str, Any]) -> RepositoryCreationTemplate:
        """CreateRepositoryCreationTemplate; ``params`` holds the request's optional members."""
        name = check.template_prefix("prefix", prefix)
        if params.get("appliedFor") is None:
            raise invalid_parameter("appliedFor", "Member must not be null")
        fields = self._template_fields(params)
        template = RepositoryCreationTemplate(prefix=name, **fields)
        check.mutability_consistency(template.image_tag_mutability, template.image_tag_mutability_exclusion_filters)
        with self.extension_lock:
            if check.one_prefix(name) in self.repository_creation_templates:
                raise TemplateAlreadyExistsException(
                    f"The repository creation template with prefix '{name}' already exists "
                    f"in the registry with id '{self.account_id}'"
                )
            self.repository_creation_templates[check.one_prefix(name)] = template
            return template

    def describe_repository_creation_templates(
        self, prefixes: Any = None, max_results: Any = None, next_token: Any = None
    ) -> tuple[list[RepositoryCreationTemplate], str | None]:
        """DescribeRepositoryCreationTemplates.

        Unknown prefixes in the filter are skipped: the operation's error list in ECR's model has
        no TemplateNotFoundException.
        """
        wanted = check.prefix_filter("prefixes", prefixes, check.template_prefix, min_items=0, max_items=None)
        page_size = check.max_results(max_results)
        with self.extension_lock:
            templates = list(self.repository_creation_templates.values())
        if wanted:
            names = {check.one_prefix(prefix) for prefix in wanted}
            templates = [template for template in templates if check.one_prefix(template.prefix) in names]
        return paginate(templates, lambda template: check.one_prefix(template.prefix), page_size, next_token)

    def update_repository_creation_template(self, prefix: Any, params: dict[str, Any]) -> RepositoryCreationTemplate:
        """UpdateRepositoryCreationTemplate: the members given replace the stored ones.

        Members left out follow botocore's documentation of this operation: imageTagMutability "If this parameter is
        omitted, the default setting of MUTABLE will be used"; customRoleArn "When this field isn't specified,
        Amazon ECR will use the service-linked role" (so it is cleared). The others ("Updates the ...") stay.
        """
        name = check.template_prefix("prefix", prefix)
        fields = self._template_fields(params)
        fields.setdefault("image_tag_mutability", "MUTABLE")
        fields.setdefault("custom_role_arn", None)
        if fields["image_tag_mutability"] not in check.EXCLUSION_MUTABILITIES:
            # A plain mutability drops the exclusion filters unless new ones are given.
            fields.setdefault("image_tag_mutability_exclusion_filters", None)
        with self.extension_lock:
            updated = replace(self._template(name), **fields, updated_at=now())
            check.mutability_consistency(updated.image_tag_mutability, updated.image_tag_mutability_exclusion_filters)
            self.repository_creation_templates[check.one_prefix(name)] = updated
            return updated

    def delete_repository_creation_template(self, prefix: Any) -> RepositoryCreationTemplate:
        """DeleteRepositoryCreationTemplate: returns the deleted template."""
        name = check.template_prefix("prefix", prefix)
        with self.extension_lock:
            template = self._template(name)
            del self.repository_creation_templates[check.one_prefix(name)]
            return template


def upgrade_backend(backend: ECRBackend) -> PullThroughECRBackend:
    """Turn an ECRBackend created before install() into a PullThroughECRBackend, keeping its state."""
    if not isinstance(backend, PullThroughECRBackend):
        backend.__class__ = PullThroughECRBackend
        assert isinstance(backend, PullThroughECRBackend)
        backend.init_extension_state()
    return backend
