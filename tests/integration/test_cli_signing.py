"""What the CLI sends a deployed API is what it signed: a loopback server recomputes each request's SigV4 signature
from what it received (as API Gateway does) with botocore, for a body, a query string and a prefix with a slash."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from pullthrough_cli.client import Api, Signer
from pullthrough_cli.errors import ApiError

CREDENTIALS = ReadOnlyCredentials("ASIAEXAMPLE", "secret-key", "session-token-value")
REGION = "eu-west-1"


def signature_holds(method: str, url: str, headers: dict[str, str], body: bytes) -> bool:
    """Recompute the signature from the received request's signed headers, date and body."""
    authorization = headers["authorization"]
    signed = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    received = authorization.split("Signature=")[1]
    request = AWSRequest(method=method, url=url, data=body, headers={h: headers[h] for h in signed if h != "host"})
    request.context["timestamp"] = headers["x-amz-date"]
    auth = SigV4Auth(CREDENTIALS, "execute-api", REGION)
    expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    return expected == received and "host" in signed


class Verifier(BaseHTTPRequestHandler):
    seen: list[dict[str, Any]] = []

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers = {key.lower(): value for key, value in self.headers.items()}
        url = f"http://{headers['host']}{self.path}"
        ok = signature_holds(self.command, url, headers, body)
        Verifier.seen.append({"path": self.path, "ok": ok, "token": headers.get("x-amz-security-token")})
        payload = json.dumps({"rules": []} if ok else {"message": "signature mismatch"}).encode()
        self.send_response(200 if ok else 403)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def verifier() -> Iterator[str]:
    Verifier.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Verifier)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1/"
    server.shutdown()
    server.server_close()


def test_every_route_arrives_with_a_signature_that_verifies_and_the_session_token(verifier: str) -> None:
    api = Api(verifier, Signer(CREDENTIALS, REGION))
    api.apply({"upstreamRegistry": "quay", "regions": ["eu-west-1"]}, plan=True)
    api.rule("team/quay")
    api.delete("team/quay", plan=True)
    api.rules()
    assert [(s["path"], s["ok"]) for s in Verifier.seen] == [
        ("/v1/rules?dryRun=true", True),
        ("/v1/rules/team%2Fquay", True),
        ("/v1/rules/team%2Fquay?dryRun=true", True),
        ("/v1/rules", True),
    ]
    assert {s["token"] for s in Verifier.seen} == {"session-token-value"}


def test_the_verifier_refuses_a_request_signed_with_other_credentials(verifier: str) -> None:
    other = Signer(ReadOnlyCredentials("ASIAEXAMPLE", "another-secret", "session-token-value"), REGION)
    with pytest.raises(ApiError) as refused:
        Api(verifier, other).rules()
    assert refused.value.status == 403 and Verifier.seen[-1]["ok"] is False


def test_the_readmes_curl_with_a_session_token_is_signed_the_way_api_gateway_checks(
    verifier: str, tmp_path: Path
) -> None:
    """docs/cli.md, "Calling the deployed API": curl --aws-sigv4 with temporary credentials sends the token in x-amz-security-token."""
    body = tmp_path / "rule.json"
    body.write_text(json.dumps({"upstreamRegistry": "quay", "regions": ["eu-west-1"]}))
    user = f"{CREDENTIALS.access_key}:{CREDENTIALS.secret_key}"
    token = f"x-amz-security-token: {CREDENTIALS.token}"
    for extra in (["-X", "POST", "-H", "content-type: application/json", "-d", f"@{body}"], []):
        subprocess.run(
            ["curl", "-sf", "--aws-sigv4", f"aws:amz:{REGION}:execute-api", "--user", user, "-H", token, *extra,
             verifier + "rules"],
            check=True,
            capture_output=True,
        )  # fmt: skip
    assert [(s["path"], s["ok"], s["token"]) for s in Verifier.seen] == [
        ("/v1/rules", True, CREDENTIALS.token),
        ("/v1/rules", True, CREDENTIALS.token),
    ]
