"""What the API says when a request is wrong: what each field allows in words, one 404 wording, 4xx for hostile
bodies, and links that resolve for every prefix."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from local.openapi_doc import DOCUMENT
from pullthrough.request_fields import PREFIX_WORDS
from tests.integration.app_support import AppEnv, api, provision
from tests.support import ACCOUNT, CANARY, FakeContext, load_handler

FINISH = load_handler("finish_rollout")
QUAY = {"upstreamRegistry": "quay", "regions": ["us-east-1", "eu-west-1"]}
DOCKER_HUB = {
    "upstreamRegistry": "docker-hub",
    "credentials": {"username": "octocat", "accessToken": CANARY},
    "regions": ["us-east-1"],
}
ECR = {
    "upstreamRegistry": "ecr",
    "upstreamRegistryUrl": "111122223333.dkr.ecr.us-west-2.amazonaws.com",
    "customRoleArn": f"arn:aws:iam::{ACCOUNT}:role/pull",
    "regions": ["us-east-1"],
}
ROLE_WORDS = "must be an IAM role ARN (arn:aws:iam::<12-digit account id>:role/<name>), at most 2,048 characters"
# Pydantic's and regular expressions' vocabulary, which no message may show.
LIBRARY_WORDS = re.compile(r"Value error|Assertion failed|String should|Input should|items after|pattern|\^|\\\\|\$'")


@pytest.fixture
def app(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> AppEnv:
    return provision(monkeypatch)


def template(**fields: Any) -> dict[str, Any]:
    return QUAY | {"creationTemplate": fields}


# (body, field, the message in full)
WORDED: dict[str, tuple[dict[str, Any], str, str]] = {
    "prefix-uppercase": (QUAY | {"ecrRepositoryPrefix": "Bad Prefix"}, "ecrRepositoryPrefix", PREFIX_WORDS),
    "prefix-too-long": (QUAY | {"ecrRepositoryPrefix": "a" * 31}, "ecrRepositoryPrefix", PREFIX_WORDS),
    "prefix-ends-in-dash": (QUAY | {"ecrRepositoryPrefix": "team-"}, "ecrRepositoryPrefix", PREFIX_WORDS),
    "upstream-prefix": (ECR | {"upstreamRepositoryPrefix": "Team"}, "upstreamRepositoryPrefix", PREFIX_WORDS),
    "rule-role": (ECR | {"customRoleArn": "role/pull"}, "customRoleArn", ROLE_WORDS),
    "template-role": (template(customRoleArn="pull"), "creationTemplate.customRoleArn", ROLE_WORDS),
    "secret-arn": (
        DOCKER_HUB | {"credentials": None, "credentialSecretArn": "ecr-pullthroughcache/x"},
        "credentialSecretArn",
        "must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<12-digit account id>:secret:<name>), "
        "at most 2,048 characters",
    ),
    "kms-key": (
        template(
            encryptionConfiguration={"encryptionType": "KMS", "kmsKey": "alias/mine"},
            customRoleArn=ECR["customRoleArn"],
        ),
        "creationTemplate.encryptionConfiguration.kmsKey",
        "must be a KMS key ARN (arn:aws:kms:<region>:<12-digit account id>:key/<key id>)",
    ),
    "tag-filter": (
        template(
            imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
            imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "release tags"}],
        ),
        "creationTemplate.imageTagMutabilityExclusionFilters.0.filter",
        "must be 1-128 characters: letters, digits, '.', '_', '-' and the wildcard '*'",
    ),
    "token-too-long": (
        DOCKER_HUB | {"credentials": {"username": "octocat", "accessToken": "x" * 60_001}},
        "credentials.accessToken",
        "must be 1-60,000 characters",
    ),
    "empty-username": (
        DOCKER_HUB | {"credentials": {"username": "", "accessToken": CANARY}},
        "credentials.username",
        "must be 1-1,024 characters",
    ),
    "no-regions": (QUAY | {"regions": []}, "regions", "must list 1-40 regions"),
    "too-many-filters": (
        template(
            imageTagMutability="MUTABLE_WITH_EXCLUSION",
            imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": f"v{i}*"} for i in range(6)],
        ),
        "creationTemplate.imageTagMutabilityExclusionFilters",
        "must list 1-5 filters",
    ),
    "long-description": (
        template(description="x" * 257),
        "creationTemplate.description",
        "must be at most 256 characters",
    ),
    "long-url": (
        QUAY | {"upstreamRegistry": "ecr", "upstreamRegistryUrl": "x" * 513},
        "upstreamRegistryUrl",
        "must be at most 512 characters",
    ),
    "url-of-another-upstream": (
        QUAY | {"upstreamRegistryUrl": "ghcr.io"},
        "upstreamRegistryUrl",
        "must be quay.io for quay (or left out)",
    ),
    "azure-without-url": (
        DOCKER_HUB | {"upstreamRegistry": "azure-container-registry"},
        "upstreamRegistryUrl",
        "is required for azure-container-registry: the registry name, e.g. myregistry, or myregistry.azurecr.io",
    ),
    "unknown-region": (QUAY | {"regions": ["mars-1"]}, "regions", "'mars-1' is not a region name (like eu-west-1)"),
    "tags-without-role": (
        template(resourceTags=[{"Key": "team", "Value": "platform"}]),
        "creationTemplate",
        "customRoleArn is required when the template uses KMS encryption or resourceTags",
    ),
    "concurrency-zero": (QUAY | {"rollout": {"maxConcurrency": 0}}, "rollout.maxConcurrency", "must be at least 1"),
    "concurrency-text": (
        QUAY | {"rollout": {"maxConcurrency": "two"}},
        "rollout.maxConcurrency",
        "must be a whole number",
    ),
    "account-id": (
        QUAY | {"accounts": ["12345678901", "123456789012"]},
        "accounts.0",
        "must be a 12-digit AWS account id",
    ),
    "account-repeated": (
        QUAY | {"accounts": ["123456789012", "111122223333", "123456789012"]},
        "accounts.2",
        "repeats accounts.0",
    ),
    "ou-id": (
        QUAY | {"organizationalUnits": ["ou-AB12-abcdefgh", "r-ab12"]},
        "organizationalUnits.0",
        "must be an OU id (ou-<4-32 lowercase letters or digits>-<8-32 more>) or a root id (r-<4-32 more>)",
    ),
    "tolerance-twice": (
        QUAY | {"rollout": {"failureTolerance": 1, "failureTolerancePercentage": 10}},
        "rollout.failureTolerancePercentage",
        "give failureTolerance or failureTolerancePercentage, not both",
    ),
    "missing-registry": ({"regions": ["us-east-1"]}, "upstreamRegistry", "is required"),
    "unknown-registry": (
        QUAY | {"upstreamRegistry": "harbor"},
        "upstreamRegistry",
        "must be one of 'ecr', 'ecr-public', 'quay', 'k8s', 'docker-hub', 'github-container-registry', "
        "'azure-container-registry', 'gitlab-container-registry' or 'chainguard'",
    ),
    "unknown-field": (
        QUAY | {"region": "us-east-1"},
        "region",
        "is not a known field (known fields here: upstreamRegistry, ecrRepositoryPrefix, upstreamRegistryUrl, "
        "upstreamRepositoryPrefix, credentials, credentialSecretArn, credentialExpiresAt, customRoleArn, regions, "
        "accounts, organizationalUnits, retainOnAccountRemoval, adopt, smokePull, creationTemplate, rollout)",
    ),
    "smoke-pull-image": (
        QUAY | {"smokePull": {"image": "Library/alpine:3.20"}},
        "smokePull.image",
        "must be REPOSITORY:TAG as the upstream names them, e.g. library/alpine:3.20: a repository of lowercase "
        "path components (letters, digits, '.', '_', '-') and a tag of up to 128 letters, digits, '.', '_', '-'",
    ),
}


@pytest.mark.parametrize("case", sorted(WORDED))
def test_each_refusal_says_what_the_field_allows_in_words(app: AppEnv, case: str) -> None:
    body, field, message = WORDED[case]
    status, answer = api("POST", "/rules", body)
    assert status == 422
    assert answer["errors"] == [{"field": field, "message": message}]
    assert answer["message"] == f"{field}: {message}"
    assert not LIBRARY_WORDS.search(json.dumps(answer)), answer
    assert CANARY not in json.dumps(answer)


def patterned_fields(schema: dict[str, Any], components: dict[str, Any], path: str = "") -> set[str]:
    """Dotted paths (list items as 0) of every string field of ``schema`` that has a pattern."""
    found: set[str] = set()
    for part in schema.get("anyOf", []) + ([schema["items"]] if "items" in schema else []):
        found |= patterned_fields(part, components, path + (".0" if part is schema.get("items") else ""))
    if "$ref" in schema:
        found |= patterned_fields(components[schema["$ref"].rsplit("/", 1)[1]], components, path)
    if "pattern" in schema:
        found.add(path.lstrip("."))
    for name, spec in schema.get("properties", {}).items():
        found |= patterned_fields(spec, components, f"{path}.{name}")
    return found


def test_every_field_with_a_pattern_has_its_words_checked_above() -> None:
    document = json.loads(DOCUMENT.read_text())
    patterned = patterned_fields({"$ref": "#/components/schemas/RuleRequest"}, document["components"]["schemas"])
    assert patterned and patterned <= {field for _, field, _ in WORDED.values()}


def test_an_unknown_key_under_credentials_is_refused_clearly_without_naming_it(app: AppEnv) -> None:
    invented = {"username": "octocat", "accessToken": "t", "pasword": CANARY, CANARY: "x"}
    status, answer = api("POST", "/rules", DOCKER_HUB | {"credentials": invented})
    assert status == 422
    assert (
        answer["errors"] == [{"field": "credentials", "message": "takes only username, accessToken and expiresAt"}] * 2
    )
    assert CANARY not in json.dumps(answer) and "pasword" not in json.dumps(answer)


# -- hostile bodies ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ["[" * 10_000 + "]" * 10_000, '{"a":' * 10_000 + "1" + "}" * 10_000, '{"regions": ' + "[" * 33 + "]" * 33 + "}"],
    ids=["list-10000-deep", "object-10000-deep", "33-deep"],
)
def test_json_nested_too_deep_is_a_422_on_the_body_not_a_500(app: AppEnv, raw: str) -> None:
    status, answer = api("POST", "/rules", raw=raw)
    assert status == 422
    assert answer["errors"] == [{"field": "body", "message": "nests JSON deeper than 32 levels"}]
    assert app.executions() == []


def test_brackets_inside_strings_are_not_nesting(app: AppEnv) -> None:
    status, answer = api("POST", "/rules", QUAY | {"creationTemplate": {"description": "[{" * 100}})
    assert status == 202, answer


def test_a_body_over_256_kb_is_a_413(app: AppEnv) -> None:
    status, answer = api("POST", "/rules", raw=json.dumps(QUAY | {"padding": "x" * 262_144}))
    assert status == 413
    assert answer == {
        "message": "body: is larger than 256 KB",
        "errors": [{"field": "body", "message": "is larger than 256 KB"}],
    }


# -- paths, links and 404s --------------------------------------------------------------------------------------


def test_the_rule_link_of_a_prefix_with_a_slash_resolves_and_the_raw_path_works_too(app: AppEnv) -> None:
    status, started = api("POST", "/rules", QUAY | {"ecrRepositoryPrefix": "team/quay"})
    assert status == 202 and started["links"]["rule"] == "/rules/team%2Fquay"
    for path in (started["links"]["rule"], "/rules/team/quay", "/rules/team/quay/", "/rules/team%2Fquay%2F"):
        status, rule = api("GET", path)
        assert (status, rule["prefix"]) == (200, "team/quay"), path
    FINISH.handler({"rolloutId": started["rolloutId"], "prefix": "team/quay", "regionResults": []}, FakeContext())
    status, deleting = api("DELETE", "/rules/team/quay")
    assert status == 202 and deleting["prefix"] == "team/quay" and "rule" not in deleting["links"]
    assert api("GET", deleting["links"]["rollout"])[0] == 200


NOT_FOUND = re.compile(r"no (rule with prefix|rollout with id) '[^']*'")


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("GET", "/rules/nothing-here", "prefix"),
        ("GET", "/rules/UPPER", "prefix"),
        ("GET", "/rules/team/nothing", "prefix"),
        ("GET", "/rules/" + "x" * 3000, "prefix"),
        ("DELETE", "/rules/nothing-here", "prefix"),
        ("DELETE", "/rules/UPPER", "prefix"),
        ("GET", "/rollouts/r-" + "0" * 32, "rolloutId"),
        ("GET", "/rollouts/not-an-id", "rolloutId"),
    ],
)
def test_every_404_has_one_wording_naming_the_path_parameter(app: AppEnv, method: str, path: str, field: str) -> None:
    status, answer = api(method, path)
    assert status == 404
    assert NOT_FOUND.fullmatch(answer["message"]), answer["message"]
    assert answer["errors"] == [{"field": field, "message": answer["message"]}]
    assert len(answer["message"]) < 100


def test_a_region_without_a_failed_step_shows_step_null(app: AppEnv) -> None:
    _, started = api("POST", "/rules", QUAY)
    results = [
        {"region": "us-east-1", "status": "SUCCEEDED", "step": None, "error": None, "changes": {"rule": "created"}},
        {"region": "eu-west-1", "status": "SKIPPED", "step": None, "error": None, "changes": {"rule": "skipped"}},
    ]
    FINISH.handler(
        {"rolloutId": started["rolloutId"], "prefix": "quay", "regionResults": results, "failureTolerance": 1},
        FakeContext(),
    )
    regions = api("GET", f"/rollouts/{started['rolloutId']}")[1]["regions"]
    assert [regions[r]["step"] for r in ("us-east-1", "eu-west-1")] == [None, None]
