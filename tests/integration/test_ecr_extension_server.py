"""The ECR extension's contract again, against one ThreadedMotoServer for the module (plain boto3 over HTTP).

Faults go through the server's HTTP fault API (local.emulator.faults_client).
"""

import functools
import json
import urllib.request
from collections.abc import Iterator

import pytest

from local.emulator import ecr_extension, faults_client
from tests.integration import test_ecr_extension as contract

ecr_extension.install()  # before the server sees its first ECR request


@pytest.fixture(scope="module")
def endpoint_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _post(url: str) -> None:
    with urllib.request.urlopen(urllib.request.Request(url, data=b"", method="POST"), timeout=10) as response:
        assert response.status == 200


@pytest.fixture
def aws(endpoint_url: str) -> Iterator[contract.Aws]:
    _post(f"{endpoint_url}/moto-api/reset")
    faults_client.clear(endpoint_url)
    faults_client.reset_calls(endpoint_url)
    faults = contract.FaultApi(
        inject=functools.partial(faults_client.inject, endpoint_url),
        fail_validation=functools.partial(faults_client.fail_validation, endpoint_url),
        clear=functools.partial(faults_client.clear, endpoint_url),
        calls=functools.partial(faults_client.calls, endpoint_url),
        reset_calls=functools.partial(faults_client.reset_calls, endpoint_url),
    )
    client_kwargs = {
        "endpoint_url": endpoint_url,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    yield contract.Aws(faults=faults, client_kwargs=client_kwargs)
    faults_client.clear(endpoint_url)


class TestPullThroughCacheRulesServer(contract.TestPullThroughCacheRules):
    pass


class TestRepositoryCreationTemplatesServer(contract.TestRepositoryCreationTemplates):
    pass


class TestFaultInjectionServer(contract.TestFaultInjection):
    pass


# -- server only ----------------------------------------------------------------------------


def test_moto_reset_drops_rules_and_templates(aws: contract.Aws, endpoint_url: str) -> None:
    ecr = aws.client("ecr")
    contract.create_rule(aws, "quay", "quay")
    ecr.create_repository_creation_template(prefix="quay", appliedFor=["PULL_THROUGH_CACHE"])
    _post(f"{endpoint_url}/moto-api/reset")
    assert ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"] == []
    assert ecr.describe_repository_creation_templates()["repositoryCreationTemplates"] == []


def test_the_fault_api_lists_and_clears_faults(aws: contract.Aws, endpoint_url: str) -> None:
    faults_client.inject(endpoint_url, "CreatePullThroughCacheRule", "ServerException", region="eu-west-1", times=2)
    faults_client.fail_validation(endpoint_url, "docker-hub", "bad credentials")
    faults_client.upstream_fault(endpoint_url, "quay", "slow", delayMs=5)
    faults_client.upstream_fault(endpoint_url, "docker-hub", "revoke", username="demo-user")
    armed = faults_client.pending(endpoint_url)
    assert [(f["operation"], f["region"], f["remaining"]) for f in armed["errors"]] == [
        ("CreatePullThroughCacheRule", "eu-west-1", 2)
    ]
    assert [f["prefix"] for f in armed["validationFailures"]] == ["docker-hub"]
    assert armed["upstreams"] == {
        "revoked": [{"upstream": "docker-hub", "username": "demo-user"}],
        "slow": [{"upstream": "quay", "delayMs": 5.0}],
        "unreachable": [],
    }
    faults_client.clear(endpoint_url)
    assert faults_client.pending(endpoint_url) == {
        "errors": [],
        "validationFailures": [],
        "upstreams": {"revoked": [], "slow": [], "unreachable": []},
    }


def test_the_fault_api_refuses_an_unknown_upstream_or_action(endpoint_url: str) -> None:
    with pytest.raises(faults_client.FaultApiError, match="unknown upstream 'dockerhub'"):
        faults_client.upstream_fault(endpoint_url, "dockerhub", "unreachable")
    with pytest.raises(faults_client.FaultApiError, match="unknown upstream action 'break'"):
        faults_client.upstream_fault(endpoint_url, "quay", "break")
    with pytest.raises(faults_client.FaultApiError, match="missing field 'username'"):
        faults_client.upstream_fault(endpoint_url, "quay", "revoke")


@pytest.mark.parametrize(
    "body",
    [
        {"operation": "NoSuchOperation", "errorCode": "ServerException"},
        {"operation": "CreatePullThroughCacheRule"},
        {"kind": "validation", "prefix": "docker-hub"},
        {"kind": "latency"},
    ],
)
def test_the_fault_api_rejects_bad_requests(aws: contract.Aws, endpoint_url: str, body: dict[str, str]) -> None:
    with pytest.raises(faults_client.FaultApiError, match="400"):
        faults_client._request(endpoint_url, "POST", "/_pullthrough/faults", body)


def test_the_fault_api_speaks_plain_json_over_http(aws: contract.Aws, endpoint_url: str) -> None:
    request = urllib.request.Request(
        f"{endpoint_url}/_pullthrough/faults",
        data=json.dumps({"operation": "DescribePullThroughCacheRules", "errorCode": "ThrottlingException"}).encode(),
        method="POST",
        headers={"Authorization": "AWS4-HMAC-SHA256 Credential=x/20240101/us-east-1/ecr/aws4_request"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.loads(response.read())["error"]["status"] == 400
    with pytest.raises(Exception, match="ThrottlingException"):
        aws.client("ecr").describe_pull_through_cache_rules()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "the request body is not JSON"),
        (b"[]", "the request body must be a JSON object"),
        (b'{"kind": "error", "errorCode": "ServerException"}', "missing field 'operation'"),
    ],
)
def test_the_fault_api_answers_a_bad_request_without_a_credential_scope_with_a_json_400(
    aws: contract.Aws, endpoint_url: str, raw: bytes, message: str
) -> None:
    """As docs/local.md's curl sends it when the Authorization header is left out: no SigV4 credential scope."""
    request = urllib.request.Request(f"{endpoint_url}/_pullthrough/faults", data=raw, method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400
    assert refused.value.headers["Content-Type"] == "application/json"
    assert json.loads(refused.value.read())["message"].startswith(message)


def test_the_fault_api_needs_no_credential_scope(aws: contract.Aws, endpoint_url: str) -> None:
    body = {"kind": "validation", "prefix": "docker-hub", "failure": "upstream said no"}
    request = urllib.request.Request(
        f"{endpoint_url}/_pullthrough/faults", data=json.dumps(body).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.loads(response.read())["validationFailure"]["failure"] == "upstream said no"
    with urllib.request.urlopen(f"{endpoint_url}/_pullthrough/calls", timeout=10) as response:
        assert "calls" in json.loads(response.read())
