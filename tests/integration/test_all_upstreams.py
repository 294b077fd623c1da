"""Every one of ECR's nine upstreams: a request resolves, the steps create its rule, and ECR validates it."""

from __future__ import annotations

import json

import boto3
import pytest

from pullthrough.models import RuleRequest, parse_model
from pullthrough.registries import UPSTREAMS
from tests.integration.steps_support import run_all
from tests.support import HOME

EXTRA = {
    "azure-container-registry": {"upstreamRegistryUrl": "myregistry"},
    "ecr": {
        "upstreamRegistryUrl": "111122223333.dkr.ecr.us-west-2.amazonaws.com",
        "customRoleArn": "arn:aws:iam::123456789012:role/ecr-pull",
    },
}


@pytest.mark.parametrize("registry", sorted(UPSTREAMS))
def test_each_upstream_is_created_and_validated(moto_aws: None, registry: str) -> None:
    body: dict[str, object] = {"upstreamRegistry": registry, "regions": ["ap-southeast-2"], **EXTRA.get(registry, {})}
    source = None
    if UPSTREAMS[registry].needs_secret:
        sm = boto3.client("secretsmanager", region_name=HOME)
        source = sm.create_secret(
            Name=f"ecr-pullthroughcache/_source/{registry}",
            SecretString=json.dumps({"username": "u", "accessToken": "t"}),
        )["ARN"]
        body["credentialSecretArn"] = source
    request = parse_model(RuleRequest, body)
    rule = request.rule()
    template = request.template()
    state = run_all(
        {
            "rolloutId": f"r-{registry}",
            "region": "ap-southeast-2",
            "rule": rule.model_dump(exclude_none=True),
            "sourceSecretArn": source,
            "creationTemplate": template.to_ecr() if template else None,
        }
    )
    assert state["validateRule"] == {"isValid": True}
    ecr = boto3.client("ecr", region_name="ap-southeast-2")
    made = ecr.describe_pull_through_cache_rules(ecrRepositoryPrefixes=[rule.ecrRepositoryPrefix])[
        "pullThroughCacheRules"
    ][0]
    assert made["upstreamRegistryUrl"] == rule.upstreamRegistryUrl
    assert bool(made.get("credentialArn")) == UPSTREAMS[registry].needs_secret
