"""Rule requests and creation templates: ECR's patterns and limits, and errors that name the field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pullthrough.creation_template import CreationTemplate
from pullthrough.exceptions import InvalidRequest
from pullthrough.models import RuleRequest, parse_model
from pullthrough.rollouts.checks import check_roles
from tests.support import ACCOUNT, CANARY, ECR_REFUSALS, ECR_UPSTREAM, OTHER_ACCOUNT


def request(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "upstreamRegistry": "docker-hub",
        "credentials": {"username": "octocat", "accessToken": CANARY},
        "regions": ["us-east-1", "eu-west-1"],
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not ...}


def refused(body: dict[str, Any]) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as err:
        parse_model(RuleRequest, body)
    assert CANARY not in str(err.value) and CANARY not in json.dumps(err.value.errors)
    return err.value


def test_a_minimal_docker_hub_request_resolves_to_ecr_defaults() -> None:
    req = parse_model(RuleRequest, request())
    rule = req.rule()
    assert (rule.ecrRepositoryPrefix, rule.upstreamRegistryUrl, rule.upstreamRepositoryPrefix) == (
        "docker-hub",
        "registry-1.docker.io",
        "ROOT",
    )
    assert req.template() == CreationTemplate.default()
    assert CANARY not in repr(req) and CANARY not in str(req.model_dump())


def test_creation_template_null_skips_the_step_and_absent_applies_the_default() -> None:
    assert parse_model(RuleRequest, request(creationTemplate=None)).template() is None
    default = parse_model(RuleRequest, request()).template()
    assert default is not None and json.loads(default.lifecyclePolicy or "{}")["rules"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"upstreamRegistry": "harbor"}, "upstreamRegistry"),
        ({"ecrRepositoryPrefix": "Docker"}, "ecrRepositoryPrefix"),
        ({"ecrRepositoryPrefix": "d"}, "ecrRepositoryPrefix"),
        ({"ecrRepositoryPrefix": "a" * 31}, "ecrRepositoryPrefix"),
        ({"ecrRepositoryPrefix": "a--b/-c"}, "ecrRepositoryPrefix"),
        ({"regions": []}, "regions"),
        ({"regions": ["us-east-1", "us-east-1"]}, "regions"),
        ({"regions": ["mars-1"]}, "regions"),
        ({"credentials": ...}, "credentials"),
        ({"credentials": {"username": "u"}}, "credentials.accessToken"),
        ({"credentials": {"username": "u", "accessToken": ""}}, "credentials.accessToken"),
        ({"upstreamRegistry": "quay"}, "credentials"),
        ({"credentialSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x"}, "credentials"),
        ({"upstreamRegistryUrl": "ghcr.io"}, "upstreamRegistryUrl"),
        ({"customRoleArn": "arn:aws:iam::123456789012:role/x"}, "customRoleArn"),
        ({"rollout": {"maxConcurrency": 0}}, "rollout.maxConcurrency"),
        ({"rollout": {"failureTolerance": -1}}, "rollout.failureTolerance"),
        ({"rollout": {"regionOrder": ["eu-west-1"]}}, "rollout.regionOrder"),
        ({"creationTemplate": {"imageTagMutability": "SOMETIMES"}}, "creationTemplate.imageTagMutability"),
        ({"creationTemplate": {"lifecyclePolicy": "{not json"}}, "creationTemplate.lifecyclePolicy"),
        ({"creationTemplate": {"prefix": "x"}}, "creationTemplate.prefix"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_bad_requests_name_the_field(fields: dict[str, Any], field: str) -> None:
    assert refused(request(**fields)).field == field


def test_a_too_long_token_is_refused_without_echoing_it() -> None:
    err = refused(request(credentials={"username": "u", "accessToken": CANARY * 5000}))
    assert err.field == "credentials.accessToken"


def test_ecr_to_ecr_takes_a_role_and_a_registry_url() -> None:
    req = parse_model(
        RuleRequest,
        {
            "upstreamRegistry": "ecr",
            "upstreamRegistryUrl": "111122223333.dkr.ecr.us-west-2.amazonaws.com",
            "customRoleArn": "arn:aws:iam::123456789012:role/ecr-pull",
            "regions": ["eu-west-1"],
        },
    )
    assert req.rule().customRoleArn == "arn:aws:iam::123456789012:role/ecr-pull"
    assert not req.rule().needs_secret


@pytest.mark.parametrize(
    "template",
    [
        {"encryptionConfiguration": {"encryptionType": "KMS"}},
        {"resourceTags": [{"Key": "team", "Value": "platform"}]},
        {"imageTagMutability": "IMMUTABLE_WITH_EXCLUSION"},
        {
            "imageTagMutability": "MUTABLE",
            "imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": "latest"}],
        },
        {"description": "x" * 257},
        {"lifecyclePolicy": json.dumps({"rules": []}) + " " * 30720},
    ],
)
def test_creation_templates_that_ecr_would_refuse_or_that_break_pulls_are_refused(template: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest) as err:
        parse_model(CreationTemplate, template)
    assert err.value.field is not None


def test_a_kms_template_with_a_role_is_accepted_and_serialised_for_ecr() -> None:
    template = parse_model(
        CreationTemplate,
        {
            "encryptionConfiguration": {"encryptionType": "KMS"},
            "customRoleArn": "arn:aws:iam::123456789012:role/ecr-template",
            "imageTagMutability": "IMMUTABLE",
        },
    )
    assert template.to_ecr() == {
        "encryptionConfiguration": {"encryptionType": "KMS"},
        "customRoleArn": "arn:aws:iam::123456789012:role/ecr-template",
        "imageTagMutability": "IMMUTABLE",
    }


@pytest.mark.parametrize(("given", "prefix"), [("mirror/", "mirror"), ("team/mirror/", "team/mirror"), ("ab/", "ab")])
def test_a_trailing_slash_is_dropped_so_x_slash_is_the_rule_x(given: str, prefix: str) -> None:
    # ECR's user guide: "There is always an assumed / applied to the end of the prefix".
    assert parse_model(RuleRequest, request(ecrRepositoryPrefix=given)).rule().ecrRepositoryPrefix == prefix


def test_the_upstream_prefix_keeps_what_was_given() -> None:
    rule = parse_model(RuleRequest, ECR_UPSTREAM | {"upstreamRepositoryPrefix": "team/", "regions": ["eu-west-1"]})
    assert rule.rule().upstreamRepositoryPrefix == "team/"


@pytest.mark.parametrize("given", ["a/", "ROOT/", "mirror//"])
def test_a_prefix_that_is_not_one_without_its_slash_is_refused(given: str) -> None:
    err = refused(request(ecrRepositoryPrefix=given))
    assert err.field == "ecrRepositoryPrefix" and "Value error" not in err.message


@pytest.mark.parametrize(
    ("name", "body", "field"),
    [(name, body, field) for name, (body, field) in ECR_REFUSALS.items() if "account" not in name],
)
def test_requests_ecr_refuses_are_refused_naming_the_field(name: str, body: dict[str, Any], field: str) -> None:
    err = refused(body | {"regions": ["eu-west-1"]})
    assert err.field == field and "Value error" not in err.message


def test_root_takes_the_default_upstream_prefix() -> None:
    req = parse_model(
        RuleRequest,
        ECR_UPSTREAM | {"ecrRepositoryPrefix": "ROOT", "upstreamRepositoryPrefix": "ROOT", "regions": ["eu-west-1"]},
    )
    assert req.rule().ecrRepositoryPrefix == "ROOT"


@pytest.mark.parametrize(
    ("name", "body", "field"),
    [(name, body, field) for name, (body, field) in ECR_REFUSALS.items() if "account" in name],
)
def test_a_role_outside_the_deployments_account_is_refused(name: str, body: dict[str, Any], field: str) -> None:
    req = parse_model(RuleRequest, body | {"regions": ["eu-west-1"]})
    with pytest.raises(InvalidRequest) as err:
        check_roles(req, ACCOUNT)
    assert err.value.field == field and ACCOUNT in err.value.message  # says which account it must be
    check_roles(req, OTHER_ACCOUNT)  # in the other account's own deployment it is fine


def test_roles_of_the_deployments_account_pass() -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/ecr-template"
    template = {"encryptionConfiguration": {"encryptionType": "KMS"}, "customRoleArn": role}
    check_roles(
        parse_model(RuleRequest, ECR_UPSTREAM | {"creationTemplate": template, "regions": ["eu-west-1"]}), ACCOUNT
    )


@pytest.mark.parametrize(
    ("member", "text"),
    [
        ("lifecyclePolicy", "{not json"),
        ("lifecyclePolicy", '"text"'),
        ("lifecyclePolicy", "{}"),
        ("lifecyclePolicy", '{"rules": {}}'),
        ("repositoryPolicy", "null"),
        ("repositoryPolicy", '{"Statement": "allow"}'),
    ],
)
def test_policies_that_are_not_documents_of_their_kind_are_refused(member: str, text: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        parse_model(CreationTemplate, {member: text})
    assert err.value.field == member and "Value error" not in err.value.message


SMOKE_BASE = {"upstreamRegistry": "quay", "regions": ["eu-west-1"]}


def test_a_smoke_pull_image_is_kept_as_given() -> None:
    request = parse_model(RuleRequest, SMOKE_BASE | {"smokePull": {"image": "library/alpine:3.20"}})

    assert request.smokePull is not None and request.smokePull.image == "library/alpine:3.20"


@pytest.mark.parametrize(
    "smoke",
    [
        {"image": "alpine"},
        {"image": "Library/alpine:3.20"},
        {"image": "library/alpine:-bad"},
        {"image": "library/alpine@sha256:" + "0" * 64},
        {"image": 7},
        {"image": "library/alpine:3.20", "credentials": CANARY},
    ],
)
def test_a_malformed_smoke_pull_is_refused_naming_the_field(smoke: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_model(RuleRequest, SMOKE_BASE | {"smokePull": smoke})

    assert refused.value.field is not None and refused.value.field.startswith("smokePull")
    assert CANARY not in json.dumps(refused.value.errors)
