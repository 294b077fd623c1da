"""moto's ECR response handler extended with the nine operations, fault injection and call counting."""

import json
from typing import Any

from moto.core.common_types import TYPE_RESPONSE
from moto.core.responses import ActionResult
from moto.ecr.models import ecr_backends
from moto.ecr.responses import ECRResponse

from .ecr_backend import PullThroughECRBackend, upgrade_backend
from .faults import FAULTS, InjectedError
from .registry import tokens

_TEMPLATE_MEMBERS = (
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


class PullThroughECRResponse(ECRResponse):
    """Serves every ECR operation; counts calls and fires injected faults before dispatching."""

    @property
    def extended_backend(self) -> PullThroughECRBackend:
        return upgrade_backend(ecr_backends[self.current_account][self.region])

    def call_action(self) -> TYPE_RESPONSE:
        operation = self._get_action()
        if operation:
            FAULTS.record_call(self.region, operation)
            fault = FAULTS.take_error(operation, self.region, self._request_prefixes())
            if fault is not None:
                return self._fault_response(fault)
        return super().call_action()

    def _request_prefixes(self) -> list[str]:
        """The rule/template prefixes a request names, for matching prefix-scoped faults."""
        prefixes: list[str] = []
        for single in ("ecrRepositoryPrefix", "prefix"):
            value = self._get_param(single)
            if isinstance(value, str):
                prefixes.append(value)
        for many in ("ecrRepositoryPrefixes", "prefixes"):
            values = self._get_param(many)
            if isinstance(values, list):
                prefixes.extend(value for value in values if isinstance(value, str))
        return prefixes

    def _fault_response(self, fault: InjectedError) -> TYPE_RESPONSE:
        """An awsJson1.1 error response, as botocore expects from ECR."""
        headers: dict[str, Any] = dict(self.response_headers)
        headers.update({"Content-Type": "application/x-amz-json-1.1", "X-Amzn-Errortype": fault.error_code})
        headers, body = self._enrich_response(
            headers, json.dumps({"__type": fault.error_code, "message": fault.message})
        )
        return fault.status, headers, body

    def get_authorization_token(self) -> ActionResult:
        """GetAuthorizationToken: a token per registry that the registry endpoint maps back to the caller."""
        arn, account = tokens.caller(self.get_access_key(), self.current_account, self.partition)
        registry_ids = self._get_param("registryIds") or [self.current_account]
        data = []
        for registry_id in registry_ids:
            token, expires_at = tokens.issue(arn, account, self.region)
            data.append(
                {
                    "authorizationToken": token,
                    "expiresAt": expires_at,
                    "proxyEndpoint": f"https://{registry_id}.dkr.ecr.{self.region}.amazonaws.com",
                }
            )
        return ActionResult({"authorizationData": data})

    def _template_params(self) -> dict[str, Any]:
        return {name: self._get_param(name) for name in _TEMPLATE_MEMBERS}

    # -- pull-through cache rules -------------------------------------------------------------

    def create_pull_through_cache_rule(self) -> ActionResult:
        rule = self.extended_backend.create_pull_through_cache_rule(
            ecr_repository_prefix=self._get_param("ecrRepositoryPrefix"),
            upstream_registry_url=self._get_param("upstreamRegistryUrl"),
            registry_id=self._get_param("registryId"),
            upstream_registry=self._get_param("upstreamRegistry"),
            credential_arn=self._get_param("credentialArn"),
            custom_role_arn=self._get_param("customRoleArn"),
            upstream_repository_prefix=self._get_param("upstreamRepositoryPrefix"),
        )
        return ActionResult(rule.to_dict())

    def describe_pull_through_cache_rules(self) -> ActionResult:
        rules, next_token = self.extended_backend.describe_pull_through_cache_rules(
            registry_id=self._get_param("registryId"),
            prefixes=self._get_param("ecrRepositoryPrefixes"),
            max_results=self._get_param("maxResults"),
            next_token=self._get_param("nextToken"),
        )
        result: dict[str, Any] = {"pullThroughCacheRules": [rule.to_dict() for rule in rules]}
        if next_token:
            result["nextToken"] = next_token
        return ActionResult(result)

    def update_pull_through_cache_rule(self) -> ActionResult:
        rule = self.extended_backend.update_pull_through_cache_rule(
            ecr_repository_prefix=self._get_param("ecrRepositoryPrefix"),
            registry_id=self._get_param("registryId"),
            credential_arn=self._get_param("credentialArn"),
            custom_role_arn=self._get_param("customRoleArn"),
        )
        return ActionResult(rule.to_dict())

    def delete_pull_through_cache_rule(self) -> ActionResult:
        rule = self.extended_backend.delete_pull_through_cache_rule(
            ecr_repository_prefix=self._get_param("ecrRepositoryPrefix"),
            registry_id=self._get_param("registryId"),
        )
        return ActionResult(rule.to_dict())

    def validate_pull_through_cache_rule(self) -> ActionResult:
        rule, failure = self.extended_backend.validate_pull_through_cache_rule(
            ecr_repository_prefix=self._get_param("ecrRepositoryPrefix"),
            registry_id=self._get_param("registryId"),
        )
        failure = FAULTS.take_validation_failure(self.region, rule.ecr_repository_prefix) or failure
        result = rule.to_dict()
        result["isValid"] = failure is None
        if failure is not None:
            result["failure"] = failure
        return ActionResult(result)

    # -- repository creation templates --------------------------------------------------------

    def _template_result(self, template: Any) -> ActionResult:
        return ActionResult(
            {"registryId": self.extended_backend.account_id, "repositoryCreationTemplate": template.to_dict()}
        )

    def create_repository_creation_template(self) -> ActionResult:
        template = self.extended_backend.create_repository_creation_template(
            self._get_param("prefix"), self._template_params()
        )
        return self._template_result(template)

    def describe_repository_creation_templates(self) -> ActionResult:
        templates, next_token = self.extended_backend.describe_repository_creation_templates(
            prefixes=self._get_param("prefixes"),
            max_results=self._get_param("maxResults"),
            next_token=self._get_param("nextToken"),
        )
        result: dict[str, Any] = {
            "registryId": self.extended_backend.account_id,
            "repositoryCreationTemplates": [template.to_dict() for template in templates],
        }
        if next_token:
            result["nextToken"] = next_token
        return ActionResult(result)

    def update_repository_creation_template(self) -> ActionResult:
        template = self.extended_backend.update_repository_creation_template(
            self._get_param("prefix"), self._template_params()
        )
        return self._template_result(template)

    def delete_repository_creation_template(self) -> ActionResult:
        template = self.extended_backend.delete_repository_creation_template(self._get_param("prefix"))
        return self._template_result(template)
