"""A call that hangs ends as AwsTransientError after the attempts the app's client config allows, no more.

tests/contract/test_sdk_timeouts.py sizes those attempts and timeouts against each function's Timeout; this checks
its model of botocore on a loopback endpoint that accepts connections and never answers (timeouts scaled down).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from pullthrough import aws
from pullthrough import exceptions as ex
from pullthrough.adapters.ecr import EcrRegistry
from pullthrough.adapters.store import RolloutStore

READ_TIMEOUT_S = 0.3


@contextlib.contextmanager
def hung_endpoint() -> Iterator[tuple[str, list[socket.socket]]]:
    """A loopback endpoint that accepts connections and never answers: (its URL, the connections it accepted)."""
    accepted: list[socket.socket] = []
    stop = threading.Event()
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(0.05)

        def hold_connections_open() -> None:
            while not stop.is_set():
                try:
                    accepted.append(server.accept()[0])
                except TimeoutError:
                    continue

        holder = threading.Thread(target=hold_connections_open, daemon=True)
        holder.start()
        try:
            yield f"http://127.0.0.1:{server.getsockname()[1]}", accepted
        finally:
            stop.set()
            holder.join()
            for connection in accepted:
                connection.close()


def client_of(service: str, endpoint: str) -> Any:
    config = aws.CLIENT_CONFIG.merge(Config(connect_timeout=READ_TIMEOUT_S, read_timeout=READ_TIMEOUT_S))
    session: Any = boto3.session.Session()
    return session.client(service, region_name="eu-west-1", endpoint_url=endpoint, config=config)


def test_a_hung_call_is_tried_total_max_attempts_times_then_raises_a_transient_error() -> None:
    with hung_endpoint() as (endpoint, accepted):
        ecr = client_of("ecr", endpoint)
        started = time.monotonic()
        with pytest.raises(ex.AwsTransientError, match="ReadTimeoutError"):
            EcrRegistry(ecr).validate_rule("docker-hub")
        elapsed = time.monotonic() - started

    attempts = ecr.meta.config.retries["total_max_attempts"]
    assert len(accepted) == attempts
    assert attempts * READ_TIMEOUT_S <= elapsed < attempts * READ_TIMEOUT_S + 2.0


def test_a_conditional_write_that_times_out_is_a_transient_error_not_a_crash() -> None:
    """Seen at 200 accounts x 17 regions on the emulator: a snapshot write timing out raised AttributeError (a
    botocore timeout's ``response`` is None), which no Retry covers, so the target failed instead of retrying."""
    with hung_endpoint() as (endpoint, _):
        store = RolloutStore(client_of("dynamodb", endpoint), "pullthrough-steps")
        with pytest.raises(ex.AwsTransientError, match="PutItem: ReadTimeoutError"):
            store.put_snapshot("r-1", "eu-west-1", "{}", account="111111111111")
