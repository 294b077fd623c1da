"""Each template function signs its AWS calls with its own role's credentials, as on Lambda.

On Lambda every function runs in a process of its own whose environment holds its role's session credentials
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN). The embedded stack puts those variables in each
function's scope (``local.invocation_scope``), but the app keeps one boto3 session per process and botocore reads
credentials once per session. ``attach(session, role_arn)`` (a ``pullthrough.aws`` session hook) therefore gives the
app's own session (``role_arn`` None) credentials that are read from the environment each time a request is signed:
inside an invocation, the function's; outside any, the process's. Sessions of an execution role keep the credentials
STS gave them. So the emulator knows which function called it (e.g. whether a role's trust policy lets it in).
"""

from __future__ import annotations

import os
from typing import Any

from botocore.credentials import CredentialProvider, Credentials, ReadOnlyCredentials

METHOD = "pullthrough-function-environment"


class EnvironmentCredentials(Credentials):
    """Credentials read from ``os.environ`` at every use (the invocation scope's view of it)."""

    def __init__(self) -> None:  # no fixed keys: nothing to store
        self.method = METHOD
        self.account_id = None

    @property
    def access_key(self) -> str:  # type: ignore[override]
        return os.environ.get("AWS_ACCESS_KEY_ID", "")

    @property
    def secret_key(self) -> str:  # type: ignore[override]
        return os.environ.get("AWS_SECRET_ACCESS_KEY", "")

    @property
    def token(self) -> str | None:  # type: ignore[override]
        return os.environ.get("AWS_SESSION_TOKEN") or None

    def get_frozen_credentials(self) -> ReadOnlyCredentials:
        return ReadOnlyCredentials(self.access_key, self.secret_key, self.token, None)


class _Provider(CredentialProvider):
    METHOD = CANONICAL_NAME = METHOD

    def load(self) -> Credentials:
        return EnvironmentCredentials()


def attach(session: Any, role_arn: str | None = None) -> None:
    """Make the app's own session sign with the calling function's credentials (``pullthrough.aws`` session hook)."""
    if role_arn is not None:
        return
    # boto3 keeps its botocore session private; the provider chain is botocore's documented extension point.
    resolver = session._session.get_component("credential_provider")
    resolver.insert_before("env", _Provider())
