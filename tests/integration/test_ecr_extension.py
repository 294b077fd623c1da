"""ECR pull-through cache extension for moto, driven through plain boto3 under mock_aws.

The Test* classes here are the contract: test_ecr_extension_server.py runs them again
against a moto server by providing its own ``aws`` fixture.
"""

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError
from moto import mock_aws
from moto.ecr.models import ECRBackend

from local.emulator import ecr_extension
from local.emulator.ecr_backend import PullThroughECRBackend, upgrade_backend

ecr_extension.install()

ACCOUNT = "123456789012"
REGION = "us-east-1"
OTHER_REGION = "us-west-2"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/ecr-pull-through"
CREDENTIALS = json.dumps({"username": "someone@example.com", "accessToken": "dckr_pat_example"})
# total_max_attempts: botocore turns retries={"max_attempts": n} into n + 1 attempts.
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})

# upstreamRegistry -> (upstreamRegistryUrl, needs a secret)
UPSTREAMS = {
    "ecr-public": ("public.ecr.aws", False),
    "k8s": ("registry.k8s.io", False),
    "quay": ("quay.io", False),
    "docker-hub": ("registry-1.docker.io", True),
    "github-container-registry": ("ghcr.io", True),
    "gitlab-container-registry": ("registry.gitlab.com", True),
    "azure-container-registry": ("myregistry.azurecr.io", True),
    "chainguard": ("cgr.dev", True),
    "ecr": ("210987654321.dkr.ecr.eu-west-1.amazonaws.com", False),
}


@dataclass(frozen=True)
class FaultApi:
    """The fault registry's operations, in-process or over HTTP."""

    inject: Callable[..., Any]
    fail_validation: Callable[..., Any]
    clear: Callable[[], None]
    calls: Callable[[], dict[tuple[str, str], int]]
    reset_calls: Callable[[], None]


@dataclass(frozen=True)
class Aws:
    """What a contract test needs: boto3 clients for the target and its fault API."""

    faults: FaultApi
    client_kwargs: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str, region: str = REGION) -> Any:
        make_client: Callable[..., Any] = boto3.client  # service is a plain str, not a stubs Literal
        return make_client(service, region_name=region, config=NO_RETRIES, **self.client_kwargs)


IN_PROCESS_FAULTS = FaultApi(
    inject=ecr_extension.inject,
    fail_validation=ecr_extension.fail_validation,
    clear=ecr_extension.clear,
    calls=ecr_extension.calls,
    reset_calls=ecr_extension.reset_calls,
)


@pytest.fixture
def aws() -> Iterator[Aws]:
    with mock_aws():
        ecr_extension.clear()
        ecr_extension.reset_calls()
        yield Aws(faults=IN_PROCESS_FAULTS)
        ecr_extension.clear()


def put_secret(aws: Aws, name: str, region: str = REGION, value: str = CREDENTIALS) -> str:
    """Create secret ``ecr-pullthroughcache/<name>`` and return its ARN."""
    secrets = aws.client("secretsmanager", region)
    return str(secrets.create_secret(Name=f"ecr-pullthroughcache/{name}", SecretString=value)["ARN"])


def create_rule(aws: Aws, prefix: str, upstream: str = "ecr-public", region: str = REGION, **extra: Any) -> Any:
    """Create a rule for ``upstream`` (adding a fresh secret or role when it needs one)."""
    url, needs_secret = UPSTREAMS[upstream]
    if needs_secret and "credentialArn" not in extra:
        extra["credentialArn"] = put_secret(aws, prefix, region)
    if upstream == "ecr" and "customRoleArn" not in extra:
        extra["customRoleArn"] = ROLE_ARN
    return aws.client("ecr", region).create_pull_through_cache_rule(
        ecrRepositoryPrefix=prefix, upstreamRegistryUrl=url, **extra
    )


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


class TestPullThroughCacheRules:
    def test_fifty_rules_fit_in_a_region_and_the_51st_is_refused(self, aws: Aws) -> None:
        ecr = aws.client("ecr")
        for index in range(50):  # ECR quota: 50 rules per registry per Region
            create_rule(aws, f"mirror-{index:02d}")
        with pytest.raises(ClientError) as excinfo:
            create_rule(aws, "one-too-many")
        assert error_code(excinfo) == "LimitExceededException"
        assert len(ecr.describe_pull_through_cache_rules(maxResults=1000)["pullThroughCacheRules"]) == 50
        # The quota is per Region.
        create_rule(aws, "one-too-many", region=OTHER_REGION)

    def test_a_duplicate_prefix_is_refused(self, aws: Aws) -> None:
        create_rule(aws, "ecr-public")
        with pytest.raises(ClientError) as excinfo:
            create_rule(aws, "ecr-public", "quay")
        assert error_code(excinfo) == "PullThroughCacheRuleAlreadyExistsException"

    @pytest.mark.parametrize("upstream", sorted(UPSTREAMS))
    def test_every_upstream_creates_and_validates(self, aws: Aws, upstream: str) -> None:
        url, needs_secret = UPSTREAMS[upstream]
        created = create_rule(aws, upstream, upstream)  # upstreamRegistry inferred from the URL
        assert created["upstreamRegistry"] == upstream
        assert created["upstreamRegistryUrl"] == url
        assert created["registryId"] == ACCOUNT
        assert created["upstreamRepositoryPrefix"] == "ROOT"
        assert isinstance(created["createdAt"], datetime)
        assert ("credentialArn" in created) == needs_secret

        validated = aws.client("ecr").validate_pull_through_cache_rule(ecrRepositoryPrefix=upstream)
        assert validated["isValid"] is True
        assert "failure" not in validated
        assert validated["ecrRepositoryPrefix"] == upstream
        assert validated["upstreamRegistryUrl"] == url
        assert validated.get("credentialArn") == created.get("credentialArn")
        assert validated.get("customRoleArn") == created.get("customRoleArn")

    def test_describe_returns_every_field(self, aws: Aws) -> None:
        arn = put_secret(aws, "docker-hub")
        aws.client("ecr").create_pull_through_cache_rule(
            ecrRepositoryPrefix="docker-hub",
            upstreamRegistryUrl="registry-1.docker.io",
            upstreamRegistry="docker-hub",
            credentialArn=arn,
            upstreamRepositoryPrefix="library",
        )
        [rule] = aws.client("ecr").describe_pull_through_cache_rules(ecrRepositoryPrefixes=["docker-hub"])[
            "pullThroughCacheRules"
        ]
        assert rule["registryId"] == ACCOUNT
        assert rule["credentialArn"] == arn
        assert rule["upstreamRepositoryPrefix"] == "library"
        assert rule["createdAt"] <= rule["updatedAt"]

    @pytest.mark.parametrize(
        "call",
        [
            lambda ecr: ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix="nope"),
            lambda ecr: ecr.delete_pull_through_cache_rule(ecrRepositoryPrefix="nope"),
            lambda ecr: ecr.update_pull_through_cache_rule(ecrRepositoryPrefix="nope", customRoleArn=ROLE_ARN),
            lambda ecr: ecr.describe_pull_through_cache_rules(ecrRepositoryPrefixes=["ecr-public", "nope"]),
        ],
        ids=["validate", "delete", "update", "describe"],
    )
    def test_an_unknown_prefix_is_not_found(self, aws: Aws, call: Callable[[Any], Any]) -> None:
        create_rule(aws, "ecr-public")
        with pytest.raises(ClientError) as excinfo:
            call(aws.client("ecr"))
        assert error_code(excinfo) == "PullThroughCacheRuleNotFoundException"

    def test_a_docker_hub_secret_left_only_in_another_region_validates_false(self, aws: Aws) -> None:
        arn = put_secret(aws, "docker-hub")
        create_rule(aws, "docker-hub", "docker-hub", credentialArn=arn)
        aws.client("secretsmanager").delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
        put_secret(aws, "docker-hub", region=OTHER_REGION)

        result = aws.client("ecr").validate_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub")
        assert result["isValid"] is False
        assert "Unable to find the secret" in result["failure"]

    def test_a_secret_in_another_region_is_accepted_at_create_but_fails_validation(self, aws: Aws) -> None:
        arn = put_secret(aws, "docker-hub", region=OTHER_REGION)
        created = create_rule(aws, "docker-hub", "docker-hub", credentialArn=arn)
        assert created["credentialArn"] == arn

        result = aws.client("ecr").validate_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub")
        assert result["isValid"] is False
        assert "same account and Region" in result["failure"]

    def test_a_missing_secret_is_refused_at_create(self, aws: Aws) -> None:
        missing = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:ecr-pullthroughcache/missing-AbCdEf"
        with pytest.raises(ClientError) as excinfo:
            create_rule(aws, "docker-hub", "docker-hub", credentialArn=missing)
        assert error_code(excinfo) == "SecretNotFoundException"

    def test_a_secret_pending_deletion_cannot_be_used(self, aws: Aws) -> None:
        arn = put_secret(aws, "docker-hub")
        create_rule(aws, "docker-hub", "docker-hub", credentialArn=arn)
        aws.client("secretsmanager").delete_secret(SecretId=arn, RecoveryWindowInDays=7)

        result = aws.client("ecr").validate_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub")
        assert result["isValid"] is False
        assert "scheduled for deletion" in result["failure"]
        with pytest.raises(ClientError) as excinfo:
            create_rule(aws, "docker-hub-2", "docker-hub", credentialArn=arn)
        assert error_code(excinfo) == "UnableToAccessSecretException"

    @pytest.mark.parametrize(
        ("secret_value", "expected"),
        [
            ("not json", "not valid JSON"),
            (json.dumps(["username", "accessToken"]), "JSON object"),
            (json.dumps({"username": "someone"}), "'accessToken'"),
            (json.dumps({"username": "", "accessToken": "token"}), "'username'"),
        ],
        ids=["not-json", "not-object", "no-token", "empty-username"],
    )
    def test_a_malformed_secret_fails_validation(self, aws: Aws, secret_value: str, expected: str) -> None:
        arn = put_secret(aws, "github", value=secret_value)
        create_rule(aws, "github", "github-container-registry", credentialArn=arn)
        result = aws.client("ecr").validate_pull_through_cache_rule(ecrRepositoryPrefix="github")
        assert result["isValid"] is False
        assert expected in result["failure"]

    def test_a_cross_account_ecr_upstream_needs_a_role_to_validate(self, aws: Aws) -> None:
        aws.client("ecr").create_pull_through_cache_rule(
            ecrRepositoryPrefix="central", upstreamRegistryUrl=UPSTREAMS["ecr"][0]
        )
        result = aws.client("ecr").validate_pull_through_cache_rule(ecrRepositoryPrefix="central")
        assert result["isValid"] is False
        assert "customRoleArn" in result["failure"]

    @pytest.mark.parametrize("upstream", ["docker-hub", "github-container-registry", "chainguard"])
    def test_an_authenticated_upstream_without_credentials_is_unsupported(self, aws: Aws, upstream: str) -> None:
        with pytest.raises(ClientError) as excinfo:
            aws.client("ecr").create_pull_through_cache_rule(
                ecrRepositoryPrefix="needs-auth", upstreamRegistryUrl=UPSTREAMS[upstream][0]
            )
        assert error_code(excinfo) == "UnsupportedUpstreamRegistryException"
        assert "requires authentication" in str(excinfo.value)

    @pytest.mark.parametrize("upstream", ["ecr-public", "k8s", "quay"])
    def test_an_anonymous_upstream_refuses_credentials(self, aws: Aws, upstream: str) -> None:
        arn = put_secret(aws, "unused")
        with pytest.raises(ClientError) as excinfo:
            create_rule(aws, upstream, upstream, credentialArn=arn)
        assert error_code(excinfo) == "InvalidParameterException"

    @pytest.mark.parametrize(
        ("url", "upstream"),
        [
            ("quay.io", "docker-hub"),
            ("registry.example.com", None),
            ("https://quay.io", None),
            ("myregistry.azurecr.io", "ecr"),
        ],
    )
    def test_the_url_must_belong_to_the_upstream(self, aws: Aws, url: str, upstream: str | None) -> None:
        extra = {"upstreamRegistry": upstream} if upstream else {}
        with pytest.raises(ClientError) as excinfo:
            aws.client("ecr").create_pull_through_cache_rule(
                ecrRepositoryPrefix="mirror", upstreamRegistryUrl=url, **extra
            )
        assert error_code(excinfo) == "UnsupportedUpstreamRegistryException"

    @pytest.mark.parametrize(
        "params",
        [
            {"ecrRepositoryPrefix": "x" * 31},
            {"ecrRepositoryPrefix": "Upper-Case"},
            {"ecrRepositoryPrefix": "double//slash"},
            {"upstreamRepositoryPrefix": "-leading-dash"},
            {"upstreamRegistry": "nexus"},
            {"registryId": "not-an-account"},
            {"registryId": "210987654321"},
            {"customRoleArn": "arn:aws:iam::210987654321:role/other-account"},
            {"customRoleArn": "not-a-role"},
            {"credentialArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:wrong-prefix/docker-hub-AbCdEf"},
        ],
        ids=lambda params: next(iter(params)),
    )
    def test_bad_parameters_are_invalid(self, aws: Aws, params: dict[str, str]) -> None:
        request = {"ecrRepositoryPrefix": "mirror", "upstreamRegistryUrl": UPSTREAMS["ecr"][0], **params}
        with pytest.raises(ClientError) as excinfo:
            aws.client("ecr").create_pull_through_cache_rule(**request)
        assert error_code(excinfo) == "InvalidParameterException"

    def test_root_is_an_allowed_prefix(self, aws: Aws) -> None:
        create_rule(aws, "ROOT", "ecr", upstreamRepositoryPrefix="ROOT")
        assert aws.client("ecr").validate_pull_through_cache_rule(ecrRepositoryPrefix="ROOT")["isValid"]

    def test_an_upstream_repository_prefix_needs_a_prefix_other_than_root(self, aws: Aws) -> None:
        # ECR's user guide: upstreamRepositoryPrefix can be set only with a non-ROOT ecrRepositoryPrefix.
        with pytest.raises(ClientError) as excinfo:
            create_rule(aws, "ROOT", "ecr", upstreamRepositoryPrefix="team-a")
        assert error_code(excinfo) == "ValidationException"
        assert "upstreamRepositoryPrefix" in str(excinfo.value)
        assert aws.client("ecr").describe_pull_through_cache_rules()["pullThroughCacheRules"] == []
        create_rule(aws, "team-a", "ecr", upstreamRepositoryPrefix="team-a")

    def test_a_trailing_slash_names_the_same_rule(self, aws: Aws) -> None:
        # ECR: "There is always an assumed / applied to the end of the prefix".
        ecr = aws.client("ecr")
        create_rule(aws, "mirror")
        with pytest.raises(ClientError) as excinfo:
            create_rule(aws, "mirror/")
        assert error_code(excinfo) == "PullThroughCacheRuleAlreadyExistsException"
        for form in ("mirror", "mirror/"):
            found = ecr.describe_pull_through_cache_rules(ecrRepositoryPrefixes=[form])["pullThroughCacheRules"]
            assert [rule["ecrRepositoryPrefix"] for rule in found] == ["mirror"], form
        assert ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix="mirror/")["ecrRepositoryPrefix"] == "mirror"
        ecr.delete_pull_through_cache_rule(ecrRepositoryPrefix="mirror/")
        assert ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"] == []

    def test_a_rule_created_with_a_trailing_slash_is_found_without_it(self, aws: Aws) -> None:
        ecr = aws.client("ecr")
        create_rule(aws, "team/mirror/")
        with pytest.raises(ClientError) as excinfo:
            create_rule(aws, "team/mirror")
        assert error_code(excinfo) == "PullThroughCacheRuleAlreadyExistsException"
        found = ecr.describe_pull_through_cache_rules(ecrRepositoryPrefixes=["team/mirror", "team/mirror/"])
        assert len(found["pullThroughCacheRules"]) == 1

    def test_update_changes_only_credentials(self, aws: Aws) -> None:
        ecr = aws.client("ecr")
        created = create_rule(aws, "docker-hub", "docker-hub")
        new_arn = put_secret(aws, "docker-hub-rotated")

        updated = ecr.update_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub", credentialArn=new_arn)
        assert updated["credentialArn"] == new_arn
        assert updated["updatedAt"] >= created["createdAt"]
        [rule] = ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"]
        assert rule["credentialArn"] == new_arn
        assert rule["upstreamRegistryUrl"] == "registry-1.docker.io"
        with pytest.raises(ParamValidationError):  # the API has no way to change the upstream
            ecr.update_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub", upstreamRegistryUrl="quay.io")

    def test_update_needs_a_credential_or_role(self, aws: Aws) -> None:
        create_rule(aws, "docker-hub", "docker-hub")
        with pytest.raises(ClientError) as excinfo:
            aws.client("ecr").update_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub")
        assert error_code(excinfo) == "InvalidParameterException"

    def test_update_checks_the_new_secret_and_the_upstream(self, aws: Aws) -> None:
        ecr = aws.client("ecr")
        create_rule(aws, "docker-hub", "docker-hub")
        create_rule(aws, "quay", "quay")
        missing = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:ecr-pullthroughcache/missing-AbCdEf"
        with pytest.raises(ClientError) as excinfo:
            ecr.update_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub", credentialArn=missing)
        assert error_code(excinfo) == "SecretNotFoundException"
        with pytest.raises(ClientError) as excinfo:
            ecr.update_pull_through_cache_rule(ecrRepositoryPrefix="quay", credentialArn=put_secret(aws, "quay"))
        assert error_code(excinfo) == "InvalidParameterException"
        with pytest.raises(ClientError) as excinfo:
            ecr.update_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub", customRoleArn=ROLE_ARN)
        assert error_code(excinfo) == "InvalidParameterException"

    def test_update_sets_the_role_of_an_ecr_rule(self, aws: Aws) -> None:
        ecr = aws.client("ecr")
        ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="central", upstreamRegistryUrl=UPSTREAMS["ecr"][0])
        updated = ecr.update_pull_through_cache_rule(ecrRepositoryPrefix="central", customRoleArn=ROLE_ARN)
        assert updated["customRoleArn"] == ROLE_ARN
        assert ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix="central")["isValid"] is True

    def test_delete_returns_the_rule_and_removes_it(self, aws: Aws) -> None:
        ecr = aws.client("ecr")
        created = create_rule(aws, "k8s", "k8s")
        deleted = ecr.delete_pull_through_cache_rule(ecrRepositoryPrefix="k8s")
        assert deleted["upstreamRegistryUrl"] == created["upstreamRegistryUrl"]
        assert deleted["createdAt"] == created["createdAt"]
        assert ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"] == []

    def test_the_paginator_walks_every_rule(self, aws: Aws) -> None:
        prefixes = [f"mirror-{index:02d}" for index in range(23)]
        for prefix in reversed(prefixes):
            create_rule(aws, prefix)
        paginator = aws.client("ecr").get_paginator("describe_pull_through_cache_rules")
        pages = list(paginator.paginate(PaginationConfig={"PageSize": 5}))
        assert [len(page["pullThroughCacheRules"]) for page in pages] == [5, 5, 5, 5, 3]
        seen = [rule["ecrRepositoryPrefix"] for page in pages for rule in page["pullThroughCacheRules"]]
        assert seen == prefixes

    def test_max_results_above_1000_is_invalid(self, aws: Aws) -> None:
        with pytest.raises(ClientError) as excinfo:
            aws.client("ecr").describe_pull_through_cache_rules(maxResults=1001)
        assert error_code(excinfo) == "InvalidParameterException"

    def test_rules_are_kept_per_region(self, aws: Aws) -> None:
        create_rule(aws, "quay", "quay")
        assert aws.client("ecr", OTHER_REGION).describe_pull_through_cache_rules()["pullThroughCacheRules"] == []


LIFECYCLE_POLICY = json.dumps(
    {
        "rules": [
            {
                "rulePriority": 1,
                "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 10},
                "action": {"type": "expire"},
            }
        ]
    }
)
REPOSITORY_POLICY = json.dumps({"Version": "2012-10-17", "Statement": []})
KMS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


class TestRepositoryCreationTemplates:
    def test_create_describe_update_delete(self, aws: Aws) -> None:
        ecr = aws.client("ecr")
        created = ecr.create_repository_creation_template(
            prefix="docker-hub",
            description="Docker Hub mirrors",
            appliedFor=["PULL_THROUGH_CACHE"],
            imageTagMutability="IMMUTABLE",
            encryptionConfiguration={"encryptionType": "KMS", "kmsKey": KMS_KEY},
            resourceTags=[{"Key": "team", "Value": "platform"}],
            lifecyclePolicy=LIFECYCLE_POLICY,
            repositoryPolicy=REPOSITORY_POLICY,
            customRoleArn=ROLE_ARN,
        )
        assert created["registryId"] == ACCOUNT
        template = created["repositoryCreationTemplate"]
        assert template["prefix"] == "docker-hub"
        assert template["encryptionConfiguration"] == {"encryptionType": "KMS", "kmsKey": KMS_KEY}
        assert template["resourceTags"] == [{"Key": "team", "Value": "platform"}]
        assert json.loads(template["lifecyclePolicy"]) == json.loads(LIFECYCLE_POLICY)
        assert template["customRoleArn"] == ROLE_ARN

        described = ecr.describe_repository_creation_templates(prefixes=["docker-hub"])
        assert described["registryId"] == ACCOUNT
        assert described["repositoryCreationTemplates"] == [template]

        updated = ecr.update_repository_creation_template(
            prefix="docker-hub",
            description="updated",
            appliedFor=["PULL_THROUGH_CACHE", "REPLICATION"],
            imageTagMutability="IMMUTABLE",
            customRoleArn=ROLE_ARN,
        )["repositoryCreationTemplate"]
        assert updated["description"] == "updated"
        assert updated["appliedFor"] == ["PULL_THROUGH_CACHE", "REPLICATION"]
        assert updated["imageTagMutability"] == "IMMUTABLE"
        assert updated["lifecyclePolicy"] == template["lifecyclePolicy"]  # members not given are kept
        assert updated["encryptionConfiguration"] == template["encryptionConfiguration"]
        assert updated["updatedAt"] >= template["createdAt"]

        deleted = ecr.delete_repository_creation_template(prefix="docker-hub")
        assert deleted["repositoryCreationTemplate"]["description"] == "updated"
        assert ecr.describe_repository_creation_templates()["repositoryCreationTemplates"] == []

    def test_update_follows_the_models_text_for_members_it_leaves_out(self, aws: Aws) -> None:
        # botocore's UpdateRepositoryCreationTemplate: an omitted imageTagMutability means MUTABLE, an omitted
        # customRoleArn means ECR's service-linked role; the other members say "Updates ..." and are kept.
        ecr = aws.client("ecr")
        ecr.create_repository_creation_template(
            prefix="quay",
            appliedFor=["PULL_THROUGH_CACHE"],
            imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
            imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "latest"}],
            customRoleArn=ROLE_ARN,
            lifecyclePolicy=LIFECYCLE_POLICY,
            description="kept",
        )
        updated = ecr.update_repository_creation_template(prefix="quay", appliedFor=["PULL_THROUGH_CACHE"])[
            "repositoryCreationTemplate"
        ]
        assert updated["imageTagMutability"] == "MUTABLE"
        assert "imageTagMutabilityExclusionFilters" not in updated and "customRoleArn" not in updated
        assert (updated["description"], updated["lifecyclePolicy"]) == ("kept", LIFECYCLE_POLICY)

    def test_empty_values_clear_what_an_update_names(self, aws: Aws) -> None:
        ecr = aws.client("ecr")
        ecr.create_repository_creation_template(
            prefix="quay",
            appliedFor=["PULL_THROUGH_CACHE"],
            lifecyclePolicy=LIFECYCLE_POLICY,
            repositoryPolicy=REPOSITORY_POLICY,
            resourceTags=[{"Key": "team", "Value": "platform"}],
            customRoleArn=ROLE_ARN,
        )
        updated = ecr.update_repository_creation_template(
            prefix="quay", lifecyclePolicy="", repositoryPolicy="", resourceTags=[], customRoleArn=""
        )["repositoryCreationTemplate"]
        assert not updated.get("lifecyclePolicy") and not updated.get("repositoryPolicy")
        assert not updated.get("resourceTags") and not updated.get("customRoleArn")

    @pytest.mark.parametrize(
        ("member", "text"),
        [
            ("lifecyclePolicy", "[]"),
            ("lifecyclePolicy", json.dumps({"rules": []})),
            ("lifecyclePolicy", json.dumps({"description": "no rules"})),
            ("repositoryPolicy", "[]"),
            ("repositoryPolicy", json.dumps({"Version": "2012-10-17"})),
        ],
    )
    def test_policies_must_be_json_objects_of_their_kind(self, aws: Aws, member: str, text: str) -> None:
        ecr = aws.client("ecr")
        with pytest.raises(ClientError) as excinfo:
            ecr.create_repository_creation_template(prefix="quay", appliedFor=["PULL_THROUGH_CACHE"], **{member: text})
        assert error_code(excinfo) == "InvalidParameterException" and member in str(excinfo.value)
        ecr.create_repository_creation_template(prefix="quay", appliedFor=["PULL_THROUGH_CACHE"])
        with pytest.raises(ClientError) as excinfo:
            ecr.update_repository_creation_template(prefix="quay", **{member: text})
        assert error_code(excinfo) == "InvalidParameterException"

    def test_a_trailing_slash_names_the_same_template(self, aws: Aws) -> None:
        ecr = aws.client("ecr")
        ecr.create_repository_creation_template(prefix="quay", appliedFor=["PULL_THROUGH_CACHE"])
        with pytest.raises(ClientError) as excinfo:
            ecr.create_repository_creation_template(prefix="quay/", appliedFor=["REPLICATION"])
        assert error_code(excinfo) == "TemplateAlreadyExistsException"
        found = ecr.describe_repository_creation_templates(prefixes=["quay/"])["repositoryCreationTemplates"]
        assert [template["prefix"] for template in found] == ["quay"]
        ecr.update_repository_creation_template(prefix="quay/", description="same one")
        assert ecr.describe_repository_creation_templates()["repositoryCreationTemplates"][0]["description"] == (
            "same one"
        )
        ecr.delete_repository_creation_template(prefix="quay/")
        assert ecr.describe_repository_creation_templates()["repositoryCreationTemplates"] == []

    def test_defaults(self, aws: Aws) -> None:
        template = aws.client("ecr").create_repository_creation_template(prefix="ROOT", appliedFor=["CREATE_ON_PUSH"])[
            "repositoryCreationTemplate"
        ]
        assert template["imageTagMutability"] == "MUTABLE"
        assert template["encryptionConfiguration"] == {"encryptionType": "AES256"}
        assert template["resourceTags"] == []

    def test_a_duplicate_prefix_is_refused(self, aws: Aws) -> None:
        ecr = aws.client("ecr")
        ecr.create_repository_creation_template(prefix="quay", appliedFor=["PULL_THROUGH_CACHE"])
        with pytest.raises(ClientError) as excinfo:
            ecr.create_repository_creation_template(prefix="quay", appliedFor=["REPLICATION"])
        assert error_code(excinfo) == "TemplateAlreadyExistsException"

    @pytest.mark.parametrize("operation", ["update", "delete"])
    def test_an_unknown_prefix_is_not_found(self, aws: Aws, operation: str) -> None:
        ecr = aws.client("ecr")
        with pytest.raises(ClientError) as excinfo:
            if operation == "update":
                ecr.update_repository_creation_template(prefix="nope", description="x")
            else:
                ecr.delete_repository_creation_template(prefix="nope")
        assert error_code(excinfo) == "TemplateNotFoundException"

    @pytest.mark.parametrize(
        "params",
        [
            {"prefix": "Bad Prefix"},
            {"prefix": "x" * 257},
            {"appliedFor": []},
            {"appliedFor": ["ON_TUESDAYS"]},
            {"description": "x" * 257},
            {"imageTagMutability": "SOMETIMES"},
            {"imageTagMutability": "IMMUTABLE_WITH_EXCLUSION"},
            {"imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": "latest"}]},
            {"encryptionConfiguration": {"encryptionType": "ROT13"}},
            {"encryptionConfiguration": {"encryptionType": "AES256", "kmsKey": KMS_KEY}},
            {"lifecyclePolicy": "{not json"},
            {"lifecyclePolicy": json.dumps({"rules": [], "pad": "x" * 30720})},
            {"repositoryPolicy": json.dumps({"pad": "x" * 10240})},
            {"resourceTags": [{"Key": "k" * 129, "Value": "v"}]},
            {"customRoleArn": "arn:aws:iam::210987654321:role/other-account"},
        ],
        ids=lambda params: next(iter(params)),
    )
    def test_bad_parameters_are_invalid(self, aws: Aws, params: dict[str, Any]) -> None:
        request = {"prefix": "mirror", "appliedFor": ["PULL_THROUGH_CACHE"], **params}
        with pytest.raises(ClientError) as excinfo:
            aws.client("ecr").create_repository_creation_template(**request)
        assert error_code(excinfo) == "InvalidParameterException"

    def test_update_validates_the_merged_template(self, aws: Aws) -> None:
        ecr = aws.client("ecr")
        ecr.create_repository_creation_template(prefix="quay", appliedFor=["PULL_THROUGH_CACHE"])
        with pytest.raises(ClientError) as excinfo:
            ecr.update_repository_creation_template(prefix="quay", imageTagMutability="MUTABLE_WITH_EXCLUSION")
        assert error_code(excinfo) == "InvalidParameterException"
        updated = ecr.update_repository_creation_template(
            prefix="quay",
            imageTagMutability="MUTABLE_WITH_EXCLUSION",
            imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "release-*"}],
        )["repositoryCreationTemplate"]
        assert updated["imageTagMutabilityExclusionFilters"] == [{"filterType": "WILDCARD", "filter": "release-*"}]

    def test_describe_skips_unknown_prefixes_and_paginates(self, aws: Aws) -> None:
        ecr = aws.client("ecr")
        prefixes = [f"team-{index}" for index in range(7)]
        for prefix in prefixes:
            ecr.create_repository_creation_template(prefix=prefix, appliedFor=["CREATE_ON_PUSH"])
        filtered = ecr.describe_repository_creation_templates(prefixes=["team-1", "unknown"])
        assert [t["prefix"] for t in filtered["repositoryCreationTemplates"]] == ["team-1"]

        pages = list(
            ecr.get_paginator("describe_repository_creation_templates").paginate(PaginationConfig={"PageSize": 3})
        )
        assert [len(page["repositoryCreationTemplates"]) for page in pages] == [3, 3, 1]
        assert [t["prefix"] for page in pages for t in page["repositoryCreationTemplates"]] == prefixes
        assert all(page["registryId"] == ACCOUNT for page in pages)


class TestFaultInjection:
    def test_an_injected_error_fails_the_next_matching_call_only(self, aws: Aws) -> None:
        aws.faults.inject("CreatePullThroughCacheRule", "ThrottlingException", "Rate exceeded")
        with pytest.raises(ClientError) as excinfo:
            create_rule(aws, "quay", "quay")
        assert error_code(excinfo) == "ThrottlingException"
        assert excinfo.value.response["Error"]["Message"] == "Rate exceeded"
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        create_rule(aws, "quay", "quay")

    @pytest.mark.parametrize(
        ("code", "status"),
        [
            ("ServerException", 500),
            ("ServiceUnavailableException", 503),
            ("PullThroughCacheRuleNotFoundException", 400),
        ],
    )
    def test_the_status_follows_the_error_code(self, aws: Aws, code: str, status: int) -> None:
        aws.faults.inject("DescribePullThroughCacheRules", code)
        with pytest.raises(ClientError) as excinfo:
            aws.client("ecr").describe_pull_through_cache_rules()
        assert error_code(excinfo) == code
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == status

    def test_region_and_prefix_narrow_the_match(self, aws: Aws) -> None:
        aws.faults.inject("CreatePullThroughCacheRule", "ServerException", region=OTHER_REGION, prefix="quay")
        create_rule(aws, "quay", "quay")  # other Region: untouched
        create_rule(aws, "k8s", "k8s", region=OTHER_REGION)  # other prefix: untouched
        with pytest.raises(ClientError) as excinfo:
            create_rule(aws, "quay", "quay", region=OTHER_REGION)
        assert error_code(excinfo) == "ServerException"

    def test_times_none_fails_until_cleared(self, aws: Aws) -> None:
        aws.faults.inject("DeleteRepositoryCreationTemplate", "ServiceUnavailableException", times=None)
        ecr = aws.client("ecr")
        ecr.create_repository_creation_template(prefix="quay", appliedFor=["PULL_THROUGH_CACHE"])
        for _ in range(3):
            with pytest.raises(ClientError):
                ecr.delete_repository_creation_template(prefix="quay")
        aws.faults.clear()
        ecr.delete_repository_creation_template(prefix="quay")

    def test_a_validation_failure_on_purpose(self, aws: Aws) -> None:
        create_rule(aws, "docker-hub", "docker-hub")
        aws.faults.fail_validation("docker-hub", "Authentication to the upstream registry failed", times=1)
        ecr = aws.client("ecr")
        forced = ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub")
        assert forced["isValid"] is False
        assert forced["failure"] == "Authentication to the upstream registry failed"
        assert ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub")["isValid"] is True

    def test_calls_are_counted_per_region_and_operation(self, aws: Aws) -> None:
        aws.faults.inject("CreatePullThroughCacheRule", "ServerException")
        with pytest.raises(ClientError):
            create_rule(aws, "quay", "quay")
        create_rule(aws, "quay", "quay")
        create_rule(aws, "quay", "quay", region=OTHER_REGION)
        aws.client("ecr").describe_pull_through_cache_rules()

        counts = aws.faults.calls()
        assert counts[(REGION, "CreatePullThroughCacheRule")] == 2  # failed calls count too
        assert counts[(OTHER_REGION, "CreatePullThroughCacheRule")] == 1
        assert counts[(REGION, "DescribePullThroughCacheRules")] == 1
        aws.faults.reset_calls()
        assert aws.faults.calls() == {}


# -- in-process only ------------------------------------------------------------------------


def test_install_twice_keeps_existing_rules(aws: Aws) -> None:
    create_rule(aws, "quay", "quay")
    ecr_extension.install()
    assert ecr_extension.is_installed()
    assert len(aws.client("ecr").describe_pull_through_cache_rules()["pullThroughCacheRules"]) == 1


def test_a_backend_created_before_install_is_upgraded_in_place() -> None:
    backend = ECRBackend(REGION, ACCOUNT)
    backend.registry_policy = "{}"
    upgraded = upgrade_backend(backend)
    assert upgraded is backend
    assert isinstance(backend, PullThroughECRBackend)
    assert backend.registry_policy == "{}"
    assert backend.pull_through_cache_rules == {}


def test_rules_and_templates_go_away_with_the_mock() -> None:
    for _ in range(2):
        with mock_aws():
            ecr = boto3.client("ecr", region_name=REGION)
            assert ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"] == []
            assert ecr.describe_repository_creation_templates()["repositoryCreationTemplates"] == []
            ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="quay", upstreamRegistryUrl="quay.io")
            ecr.create_repository_creation_template(prefix="quay", appliedFor=["PULL_THROUGH_CACHE"])


def test_inject_rejects_unknown_operations_and_bad_times() -> None:
    with pytest.raises(ValueError, match="unknown ECR operation"):
        ecr_extension.inject("CreatePullThroughCacheRules", "ServerException")
    with pytest.raises(ValueError, match="times"):
        ecr_extension.inject("CreatePullThroughCacheRule", "ServerException", times=0)
    assert ecr_extension.pending() == {
        "errors": [],
        "validationFailures": [],
        "upstreams": {"revoked": [], "slow": [], "unreachable": []},
    }
