"""The embedded stack's own boto3 clients on the emulator: the home account's root, or a member account's
administrator (its OrganizationAccountAccessRole, assumed from the management account)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import boto3

from local.organization import ADMIN_ROLE
from local.settings import ACCESS_KEY, PARTITION


class EmulatorClients:
    """A cache of boto3 clients on the emulator, per (service, region, account acting in)."""

    def __init__(self, endpoint_url: Callable[[], str], account_id: str, region: str) -> None:
        """``endpoint_url()``: the emulator's URL (known once it listens)."""
        self._endpoint_url = endpoint_url
        self.account_id = account_id
        self.region = region
        self._clients: dict[tuple[str, str, str | None], Any] = {}
        self._clients_lock = threading.Lock()  # also guards _boto: boto3 sessions are not thread-safe
        self._boto = boto3.session.Session()  # one session for all of the stack's clients: models load once

    @property
    def endpoint_url(self) -> str:
        return self._endpoint_url()

    def clear(self) -> None:
        with self._clients_lock:
            self._clients.clear()

    def client(self, service: str, region: str, account: str | None = None) -> Any:
        """A boto3 client of ``service`` in ``region`` acting in ``account`` (None or home: the root); see
        ``EmbeddedStack.client``."""
        acting = None if account in (None, self.account_id) else account
        key = (service, region, acting)
        with self._clients_lock:
            if key not in self._clients:
                credentials = {"aws_access_key_id": ACCESS_KEY, "aws_secret_access_key": "testing"}
                if acting is not None:
                    credentials = self._admin_credentials(acting)
                self._clients[key] = self._boto.client(
                    service,  # type: ignore[call-overload]
                    region_name=region,
                    endpoint_url=self.endpoint_url,
                    **credentials,
                )
            return self._clients[key]

    def _admin_credentials(self, account: str) -> dict[str, str]:
        """Session credentials of ``account``'s OrganizationAccountAccessRole, assumed from the management account."""
        sts = self._boto.client(
            "sts",
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key="testing",
        )
        role = f"arn:{PARTITION}:iam::{account}:role/{ADMIN_ROLE}"
        granted = sts.assume_role(RoleArn=role, RoleSessionName="embedded-stack")["Credentials"]
        return {
            "aws_access_key_id": granted["AccessKeyId"],
            "aws_secret_access_key": granted["SecretAccessKey"],
            "aws_session_token": granted["SessionToken"],
        }
