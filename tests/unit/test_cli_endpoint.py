"""The CLI's endpoint rules: which URL, signed or not, and how a request is signed for API Gateway."""

from __future__ import annotations

import pytest
from botocore.session import Session

from pullthrough_cli.client import Signer, prepare, rule_path
from pullthrough_cli.endpoint import check_url, is_loopback, region_of, resolve
from pullthrough_cli.errors import USAGE, CliError

DEPLOYED = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/v1/"


@pytest.fixture
def creds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Temporary credentials in the environment and nothing else (no profile files, no instance metadata)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token-value")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:3000", True),
        ("http://127.9.9.9:3000/v1", True),
        ("http://localhost:3000", True),
        ("http://[::1]:3000", True),
        (DEPLOYED, False),
        ("https://api.example.com/pullthrough/", False),
        ("http://10.0.0.1:3000", False),
        ("http://127.0.0.1.example.com", False),
    ],
)
def test_only_loopback_urls_go_unsigned(url: str, loopback: bool) -> None:
    assert is_loopback(url) is loopback


def test_the_region_comes_from_an_execute_api_host_only() -> None:
    assert region_of(DEPLOYED) == "eu-west-1"
    assert region_of("https://abc.execute-api.cn-north-1.amazonaws.com.cn/v1/") == "cn-north-1"
    assert region_of("https://api.example.com/") is None


@pytest.mark.parametrize("url", ["ftp://example.com", "example.com/v1", "http://api.example.com/v1/"])
def test_a_url_that_is_not_https_or_loopback_http_is_refused(url: str) -> None:
    with pytest.raises(CliError) as refused:
        check_url(url)
    assert refused.value.exit_code == USAGE


def test_api_url_wins_over_the_environment_and_cannot_be_combined_with_a_stack(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PULLTHROUGH_API_URL", "http://127.0.0.1:3000")
    assert resolve(DEPLOYED, None, Session(), None) == DEPLOYED
    assert resolve(None, None, Session(), None) == "http://127.0.0.1:3000"
    with pytest.raises(CliError, match="not both"):
        resolve(DEPLOYED, "my-stack", Session(), None)


def test_prefixes_are_percent_encoded_in_paths_slashes_too() -> None:
    assert rule_path("team/quay") == "/rules/team%2Fquay"
    assert rule_path("quay/") == "/rules/quay"


def test_a_loopback_url_gets_no_signer_and_its_requests_no_authorization(creds: None) -> None:
    assert Signer.for_url("http://127.0.0.1:3000", Session(), None) is None
    request = prepare("http://127.0.0.1:3000", "GET", "/rules")
    assert request.full_url == "http://127.0.0.1:3000/rules" and not request.has_header("Authorization")


def test_a_deployed_url_is_signed_for_execute_api_in_its_region_with_the_session_token(creds: None) -> None:
    signer = Signer.for_url(DEPLOYED, Session(), "us-east-1")  # the URL's region wins over --region
    assert signer is not None
    request = prepare(
        DEPLOYED, "POST", "/rules", body={"upstreamRegistry": "quay"}, query={"dryRun": "true"}, signer=signer
    )
    assert request.full_url == "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/v1/rules?dryRun=true"
    headers = {key.lower(): value for key, value in request.header_items()}
    assert "Credential=ASIAEXAMPLE/" in headers["authorization"]
    assert "/eu-west-1/execute-api/aws4_request" in headers["authorization"]
    assert headers["x-amz-security-token"] == "session-token-value" and headers["x-amz-date"]


def test_a_custom_domain_needs_a_region_and_credentials(creds: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    with pytest.raises(CliError, match="--region"):
        Signer.for_url("https://api.example.com/", Session(), None)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key)
    with pytest.raises(CliError, match="no AWS credentials"):
        Signer.for_url("https://api.example.com/", Session(), "eu-west-1")
