"""Pulling through the emulator's registry endpoint with a real client (skopeo), for integration and e2e tests."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from moto import mock_aws

from local.emulator import registry
from local.emulator.registry import UPSTREAM_FAULTS
from tests.support import ACCOUNT, HOME

SKOPEO_TIMEOUT = 120


@dataclass(frozen=True)
class Pulled:
    """What skopeo did: its exit status, output and error text."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def json(self) -> Any:
        return json.loads(self.stdout)


def skopeo_path() -> str:
    """skopeo on PATH (.ci/run installs the Debian package): a missing one fails the test, never skips it."""
    found = shutil.which("skopeo")
    assert found, "skopeo is not installed: apt-get install -y skopeo (.ci/run does it)"
    return found


def password(ecr: Any) -> str:
    """The password of a fresh GetAuthorizationToken (``AWS:<password>``, base64) from ``ecr``'s credentials."""
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    user, _, secret = base64.b64decode(token).decode().partition(":")
    assert user == "AWS"
    return secret


def inspect(address: str, image: str, secret: str | None) -> Pulled:
    """``skopeo inspect docker://<address>/<image>`` with ``AWS:<secret>`` (None: no credentials)."""
    return upstream_inspect(address, image, None if secret is None else f"AWS:{secret}")


def upstream_inspect(address: str, image: str, creds: str | None) -> Pulled:
    """``skopeo inspect docker://<address>/<image>`` with ``user:password`` ``creds`` (None: anonymously)."""
    creds_args = ["--creds", creds] if creds is not None else ["--no-creds"]
    done = subprocess.run(
        [
            skopeo_path(),
            "inspect",
            "--tls-verify=false",
            "--retry-times",
            "0",
            *creds_args,
            f"docker://{address}/{image}",
        ],
        capture_output=True,
        text=True,
        timeout=SKOPEO_TIMEOUT,
        check=False,
    )
    return Pulled(done.returncode, done.stdout, done.stderr)


def copy_to_dir(address: str, image: str, secret: str, destination: str) -> Pulled:
    """``skopeo copy docker://<address>/<image> dir:<destination>``: every manifest and blob, digests verified."""
    done = subprocess.run(
        [
            skopeo_path(),
            "copy",
            "--src-tls-verify=false",
            "--retry-times",
            "0",
            "--src-creds",
            f"AWS:{secret}",
            f"docker://{address}/{image}",
            f"dir:{destination}",
        ],
        capture_output=True,
        text=True,
        timeout=SKOPEO_TIMEOUT,
        check=False,
    )
    return Pulled(done.returncode, done.stdout, done.stderr)


def served_registries() -> Iterator[registry.Registries]:
    """moto in process, with the ECR registry endpoint and the upstreams served on free loopback ports (a fixture's
    body: ``yield from served_registries()``); the upstreams' faults are cleared after."""
    with mock_aws():
        running = registry.start("127.0.0.1", 0, home=(ACCOUNT, HOME))
        try:
            yield running
        finally:
            running.stop()
            UPSTREAM_FAULTS.clear()
