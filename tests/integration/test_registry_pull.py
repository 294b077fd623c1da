"""ECR's pull path on the emulator: skopeo pulls through the registry endpoint, over in-process moto and the local
upstream registries, as principals with and without the permissions ECR asks for."""

from __future__ import annotations

import base64
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.emulator import registry
from local.emulator.registry import UPSTREAM_FAULTS, oci
from local.emulator.registry.upstream import SAMPLE_CREDENTIALS
from tests.registry_support import copy_to_dir, inspect, password, served_registries, upstream_inspect
from tests.support import ACCOUNT, CANARY, HOME

IMAGE = "docker-hub/library/alpine:3.20"
REPOSITORY = "docker-hub/library/alpine"
PULL_ACTIONS = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:ListImages"]
TEMPLATE = {
    "description": "pulled through docker-hub",
    "imageTagMutability": "IMMUTABLE",
    "repositoryPolicy": json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Sid": "Readers", "Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": PULL_ACTIONS}],
        }
    ),
    "lifecyclePolicy": json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 5},
                    "action": {"type": "expire"},
                }
            ]
        }
    ),
}


@pytest.fixture
def registries() -> Iterator[registry.Registries]:
    """moto in process, with the endpoint and the upstreams served on free loopback ports."""
    yield from served_registries()


@pytest.fixture
def address(registries: registry.Registries) -> str:
    return registries.url.removeprefix("http://")


@pytest.fixture
def ecr(registries: registry.Registries) -> Any:
    return boto3.client("ecr", region_name=HOME)


def _rule(ecr: Any, credentials: tuple[str, str] = SAMPLE_CREDENTIALS[0]) -> str:
    arn = boto3.client("secretsmanager", region_name=HOME).create_secret(
        Name="ecr-pullthroughcache/docker-hub",
        SecretString=json.dumps({"username": credentials[0], "accessToken": credentials[1]}),
    )["ARN"]
    ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix="docker-hub",
        upstreamRegistryUrl="registry-1.docker.io",
        upstreamRegistry="docker-hub",
        credentialArn=arn,
    )
    return str(arn)


def _role_ecr(name: str, actions: list[str]) -> Any:
    """An ECR client acting as a new role whose one inline policy allows ``actions`` on docker-hub repositories."""
    iam = boto3.client("iam", region_name=HOME)
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}],
    }
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    statements: list[dict[str, Any]] = [{"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}]
    if actions:
        statements.append(
            {"Effect": "Allow", "Action": actions, "Resource": f"arn:aws:ecr:{HOME}:{ACCOUNT}:repository/docker-hub/*"}
        )
    iam.put_role_policy(
        RoleName=name, PolicyName="pull", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements})
    )
    granted = boto3.client("sts", region_name=HOME).assume_role(RoleArn=role["Arn"], RoleSessionName="puller")
    return _acting("ecr", granted["Credentials"])


def _acting(service: str, credentials: Mapping[str, Any]) -> Any:
    """A client of ``service`` with STS ``credentials`` (AccessKeyId, SecretAccessKey, SessionToken)."""
    return boto3.client(  # type: ignore[call-overload]
        service,
        region_name=HOME,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


FULL = ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository", *PULL_ACTIONS]


def _repositories(ecr: Any) -> list[str]:
    return [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]]


def test_a_principal_with_the_permissions_pulls_and_the_repository_carries_the_template(
    registries: registry.Registries, address: str, ecr: Any, tmp_path: Path
) -> None:
    _rule(ecr)
    ecr.create_repository_creation_template(
        prefix="docker-hub", appliedFor=["PULL_THROUGH_CACHE"], resourceTags=[], **TEMPLATE
    )
    puller = _role_ecr("full-puller", FULL)

    copied = copy_to_dir(address, IMAGE, password(puller), str(tmp_path / "image"))

    assert copied.ok, copied.stderr
    upstream_digest = registries.upstreams.registries["docker-hub"].digest("library/alpine", "3.20")
    assert oci.digest_of((tmp_path / "image" / "manifest.json").read_bytes()) != ""  # skopeo wrote the manifest
    repository = ecr.describe_repositories(repositoryNames=[REPOSITORY])["repositories"][0]
    assert repository["imageTagMutability"] == "IMMUTABLE"
    policy = json.loads(ecr.get_repository_policy(repositoryName=REPOSITORY)["policyText"])
    assert policy["Statement"][0]["Sid"] == "Readers"
    assert json.loads(ecr.get_lifecycle_policy(repositoryName=REPOSITORY)["lifecyclePolicyText"]) == json.loads(
        TEMPLATE["lifecyclePolicy"]
    )
    tagged = [i for i in ecr.describe_images(repositoryName=REPOSITORY)["imageDetails"] if i.get("imageTags")]
    assert [(i["imageTags"], i["imageDigest"]) for i in tagged] == [(["3.20"], upstream_digest)]


def test_a_second_pull_is_served_from_the_cache(registries: registry.Registries, address: str, ecr: Any) -> None:
    _rule(ecr)
    secret = password(ecr)  # the account's root
    first = inspect(address, IMAGE, secret)
    upstream = registries.upstreams.registries["docker-hub"]
    reads = upstream.requests["manifests"]
    moved = UPSTREAM_FAULTS.retag("docker-hub", "library/alpine", "3.20")

    second = inspect(address, IMAGE, secret)

    assert first.ok and second.ok, first.stderr + second.stderr
    assert second.json()["Digest"] == first.json()["Digest"] != moved
    assert upstream.requests["manifests"] == reads


def test_without_create_repository_the_first_pull_fails_and_another_principals_succeeds(address: str, ecr: Any) -> None:
    _rule(ecr)
    narrow = _role_ecr("no-create", ["ecr:BatchImportUpstreamImage", *PULL_ACTIONS])
    narrow_secret = password(narrow)

    refused = inspect(address, IMAGE, narrow_secret)

    assert not refused.ok
    assert "is not authorized to perform: ecr:CreateRepository" in refused.stderr
    assert f"repository/{REPOSITORY}" in refused.stderr
    assert REPOSITORY not in _repositories(ecr)

    allowed = inspect(address, IMAGE, password(_role_ecr("creator", FULL)))
    again = inspect(address, IMAGE, narrow_secret)  # the repository exists now: no CreateRepository needed

    assert allowed.ok, allowed.stderr
    assert again.ok, again.stderr
    assert REPOSITORY in _repositories(ecr)


def test_without_batch_import_upstream_image_no_pull_goes_through(address: str, ecr: Any) -> None:
    _rule(ecr)
    refused = inspect(address, IMAGE, password(_role_ecr("no-import", ["ecr:CreateRepository", *PULL_ACTIONS])))

    assert not refused.ok
    assert "is not authorized to perform: ecr:BatchImportUpstreamImage" in refused.stderr


def test_the_registry_permissions_policy_can_grant_the_pull_through_actions(address: str, ecr: Any) -> None:
    _rule(ecr)
    ecr.put_registry_policy(
        policyText=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "PullThroughCache",
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                        "Action": ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
                        "Resource": f"arn:aws:ecr:{HOME}:{ACCOUNT}:repository/docker-hub/*",
                    }
                ],
            }
        )
    )

    pulled = inspect(address, IMAGE, password(_role_ecr("reader", PULL_ACTIONS)))

    assert pulled.ok, pulled.stderr


def test_a_revoked_upstream_credential_fails_the_pull_with_the_upstreams_401(address: str, ecr: Any) -> None:
    _rule(ecr)
    UPSTREAM_FAULTS.revoke("docker-hub", SAMPLE_CREDENTIALS[0][0])

    refused = inspect(address, IMAGE, password(ecr))

    assert not refused.ok
    assert "401" in refused.stderr or "unauthorized" in refused.stderr.lower(), refused.stderr
    assert "incorrect username or password" in refused.stderr
    assert SAMPLE_CREDENTIALS[0][1] not in refused.stderr  # the credential value never shows
    assert REPOSITORY not in _repositories(ecr)  # nothing half-made


def test_a_credential_the_upstream_does_not_accept_fails_the_pull(address: str, ecr: Any) -> None:
    _rule(ecr, credentials=("demo-user", "a-wrong-token"))

    refused = inspect(address, IMAGE, password(ecr))

    assert not refused.ok
    assert "incorrect username or password" in refused.stderr
    assert "a-wrong-token" not in refused.stderr


def test_a_template_with_tags_and_no_custom_role_fails_the_first_pull(address: str, ecr: Any) -> None:
    _rule(ecr)
    ecr.create_repository_creation_template(
        prefix="docker-hub", appliedFor=["PULL_THROUGH_CACHE"], resourceTags=[{"Key": "team", "Value": "platform"}]
    )

    refused = inspect(address, IMAGE, password(ecr))

    assert not refused.ok
    assert "sets resource tags, which require a customRoleArn" in refused.stderr
    assert REPOSITORY not in _repositories(ecr)


def test_an_unreachable_upstream_fails_the_pull_and_a_moved_tag_reaches_a_new_repository(
    address: str, ecr: Any
) -> None:
    _rule(ecr)
    secret = password(ecr)
    UPSTREAM_FAULTS.make_unreachable("docker-hub")

    refused = inspect(address, IMAGE, secret)

    assert not refused.ok
    assert "502" in refused.stderr  # skopeo shows no body for a 5xx
    UPSTREAM_FAULTS.clear()
    moved = UPSTREAM_FAULTS.retag("docker-hub", "library/alpine", "latest")
    pulled = inspect(address, "docker-hub/library/alpine:latest", secret)
    assert pulled.ok, pulled.stderr
    assert pulled.json()["Digest"] == moved


def _get(url: str, host: str | None = None, authorization: str | None = None) -> tuple[int, dict[str, str], Any]:
    headers = {k: v for k, v in (("Host", host), ("Authorization", authorization)) if v}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, dict(answer.headers), json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers), json.loads(refused.read() or b"null")


def test_the_endpoint_asks_for_ecr_basic_auth_for_the_registry_the_host_names(
    registries: registry.Registries, ecr: Any
) -> None:
    host = f"210987654321.dkr.ecr.eu-west-1.amazonaws.com:{registries.port}"

    status, headers, body = _get(registries.url + "/v2/", host=host)

    assert status == 401
    assert headers["WWW-Authenticate"] == (
        'Basic realm="https://210987654321.dkr.ecr.eu-west-1.amazonaws.com/",service="ecr.amazonaws.com"'
    )
    assert body["errors"][0]["code"] == "UNAUTHORIZED"
    _, loopback, _ = _get(registries.url + "/v2/")
    assert f"{ACCOUNT}.dkr.ecr.{HOME}.amazonaws.com" in loopback["WWW-Authenticate"]


def test_an_unknown_or_other_regions_token_is_401_and_a_known_one_passes(
    registries: registry.Registries, ecr: Any
) -> None:
    unknown = "Basic " + base64.b64encode(b"AWS:not-a-token").decode()
    other_region = boto3.client("ecr", region_name="eu-west-1").get_authorization_token()
    foreign = "Basic " + other_region["authorizationData"][0]["authorizationToken"]
    known = "Basic " + ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]

    assert _get(registries.url + "/v2/", authorization=unknown)[0] == 401
    assert _get(registries.url + "/v2/", authorization=foreign)[0] == 401
    assert _get(registries.url + "/v2/", authorization=known)[0] == 200
    status, _, body = _get(registries.url + "/v2/nothing/here/manifests/1", authorization=known)
    assert (status, body["errors"][0]["code"]) == (404, "NAME_UNKNOWN")


@pytest.mark.parametrize(
    ("kind", "anonymous"),
    [
        ("docker-hub", False),
        ("github-container-registry", False),
        ("gitlab-container-registry", False),
        ("azure-container-registry", False),
        ("chainguard", False),
        ("quay", True),
        ("ecr-public", True),
        ("k8s", True),
    ],
)
def test_each_upstream_serves_alpine_and_checks_credentials_like_its_counterpart(
    registries: registry.Registries, kind: str, anonymous: bool
) -> None:
    address = registries.upstreams.url(kind).removeprefix("http://")
    user, token = SAMPLE_CREDENTIALS[0]
    image = "library/alpine:3.20"

    assert upstream_inspect(address, image, f"{user}:{token}").ok
    assert upstream_inspect(address, image, None).ok is anonymous
    assert upstream_inspect(address, image, f"{user}:wrong").ok is (kind == "k8s")  # k8s asks for none


MEMBER = "210987654321"


def _member_admin_role() -> None:
    """The member account's administrator role, trusting the home account (as OrganizationAccountAccessRole does):
    made in that account's IAM directly, since nothing here holds credentials there yet. A real role with a real trust
    policy, so the emulator's STS (which refuses a role that does not exist or does not trust the caller) allows it."""
    from moto.iam.models import iam_backends

    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}],
    }
    backend = iam_backends[MEMBER]["aws"]
    if "admin" not in {role.name for role in backend.roles.values()}:
        backend.create_role("admin", json.dumps(trust), "/", None, "", [], None)


def _member_puller_ecr() -> Any:
    """An ECR client acting as a role of another account whose identity policy allows the whole pull."""
    _member_admin_role()
    admin = boto3.client("sts", region_name=HOME).assume_role(
        RoleArn=f"arn:aws:iam::{MEMBER}:role/admin", RoleSessionName="admin"
    )["Credentials"]
    iam = _acting("iam", admin)
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": MEMBER}, "Action": "sts:AssumeRole"}],
    }
    role = iam.create_role(RoleName="member-puller", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    everything = {"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken", *FULL], "Resource": "*"}
    iam.put_role_policy(
        RoleName="member-puller",
        PolicyName="pull",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [everything]}),
    )
    granted = _acting("sts", admin).assume_role(RoleArn=role["Arn"], RoleSessionName="pulls")
    return _acting("ecr", granted["Credentials"])


def test_another_accounts_principal_pulls_only_when_the_registry_and_repository_policies_name_it(
    registries: registry.Registries, ecr: Any
) -> None:
    _rule(ecr)
    member = _member_puller_ecr()
    basic = "Basic " + member.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    host = f"{ACCOUNT}.dkr.ecr.{HOME}.amazonaws.com:{registries.port}"
    url = registries.url + f"/v2/{REPOSITORY}/manifests/3.20"

    refused, _, body = _get(url, host=host, authorization=basic)

    assert refused == 403
    assert body["errors"][0]["code"] == "DENIED"
    assert (
        "assumed-role/member-puller/pulls is not authorized to perform: ecr:BatchImportUpstreamImage"
        in (body["errors"][0]["message"])
    )
    ecr.put_registry_policy(
        policyText=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{MEMBER}:root"},
                        "Action": ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
                        "Resource": f"arn:aws:ecr:{HOME}:{ACCOUNT}:repository/docker-hub/*",
                    }
                ],
            }
        )
    )
    readers = {"Effect": "Allow", "Principal": {"AWS": MEMBER}, "Action": PULL_ACTIONS}
    ecr.create_repository_creation_template(
        prefix="docker-hub",
        appliedFor=["PULL_THROUGH_CACHE"],
        repositoryPolicy=json.dumps({"Version": "2012-10-17", "Statement": [readers]}),
    )

    status, headers, _ = _get(url, host=host, authorization=basic)

    assert status == 200
    assert headers["Docker-Content-Digest"] == registries.upstreams.registries["docker-hub"].digest(
        "library/alpine", "3.20"
    )


def test_manifests_answer_head_and_digests_and_blobs_need_an_image_that_names_them(
    registries: registry.Registries, ecr: Any
) -> None:
    _rule(ecr)
    basic = "Basic " + ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    base = registries.url + f"/v2/{REPOSITORY}"
    _, headers, index = _get(base + "/manifests/3.20", authorization=basic)
    child = index["manifests"][0]["digest"]

    head = urllib.request.Request(base + "/manifests/3.20", method="HEAD", headers={"Authorization": basic})
    with urllib.request.urlopen(head, timeout=30) as answer:
        assert answer.headers["Docker-Content-Digest"] == headers["Docker-Content-Digest"]
        assert answer.headers["Content-Type"] == oci.INDEX
        assert answer.read() == b""
    status, child_headers, manifest = _get(base + f"/manifests/{child}", authorization=basic)
    assert (status, child_headers["Content-Type"]) == (200, oci.MANIFEST)
    config = manifest["config"]["digest"]
    status, _, config_body = _get(base + f"/blobs/{config}", authorization=basic)
    assert status == 200 and config_body["architecture"] in ("amd64", "arm64")
    unknown = "sha256:" + "0" * 64
    status, _, body = _get(base + f"/blobs/{unknown}", authorization=basic)
    assert (status, body["errors"][0]["code"]) == (404, "BLOB_UNKNOWN")
    status, _, tags = _get(base + "/tags/list", authorization=basic)
    assert tags == {"name": REPOSITORY, "tags": ["3.20"]}


def test_the_rules_credential_shows_nowhere_when_the_upstream_refuses_it(
    registries: registry.Registries, address: str, ecr: Any, caplog: pytest.LogCaptureFixture
) -> None:
    _rule(ecr, credentials=("demo-user", CANARY))
    secret = password(ecr)
    basic = "Basic " + base64.b64encode(f"AWS:{secret}".encode()).decode()
    caplog.set_level(logging.DEBUG)  # everything the pull path logs, from here on

    refused = inspect(address, IMAGE, secret)
    status, headers, body = _get(registries.url + f"/v2/{REPOSITORY}/manifests/3.20", authorization=basic)

    assert not refused.ok and status == 401
    for seen in (refused.stdout, refused.stderr, json.dumps(body), json.dumps(headers), caplog.text):
        assert CANARY not in seen
        assert secret not in seen  # nor the registry token


def test_a_first_pull_without_batch_get_image_is_denied_and_creates_nothing(address: str, ecr: Any) -> None:
    _rule(ecr)
    importer = _role_ecr("importer", ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"])

    refused = inspect(address, IMAGE, password(importer))

    assert not refused.ok
    assert "is not authorized to perform: ecr:BatchGetImage" in refused.stderr
    assert REPOSITORY not in _repositories(ecr)
