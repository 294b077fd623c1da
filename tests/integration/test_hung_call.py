"""A call that hangs ends as AwsTransientError after the attempts the app's client config allows, no more.

tests/contract/test_sdk_timeouts.py sizes those attempts and timeouts against each function's Timeout; this checks
its model of botocore on a loopback endpoint that accepts connections and never answers (timeouts scaled down).
"""

from __future__ import annotations

import socket
import threading
import time

import boto3
import pytest
from botocore.config import Config

from pullthrough import aws
from pullthrough import exceptions as ex
from pullthrough.adapters.ecr import EcrRegistry

READ_TIMEOUT_S = 0.3


def test_a_hung_call_is_tried_total_max_attempts_times_then_raises_a_transient_error() -> None:
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
        config = aws.CLIENT_CONFIG.merge(Config(connect_timeout=READ_TIMEOUT_S, read_timeout=READ_TIMEOUT_S))
        ecr = boto3.session.Session().client(
            "ecr", region_name="eu-west-1", endpoint_url=f"http://127.0.0.1:{server.getsockname()[1]}", config=config
        )
        started = time.monotonic()
        try:
            with pytest.raises(ex.AwsTransientError, match="ReadTimeoutError"):
                EcrRegistry(ecr).validate_rule("docker-hub")
        finally:
            elapsed = time.monotonic() - started
            stop.set()
            holder.join()
            for connection in accepted:
                connection.close()

    attempts = ecr.meta.config.retries["total_max_attempts"]  # type: ignore[attr-defined]
    assert len(accepted) == attempts
    assert attempts * READ_TIMEOUT_S <= elapsed < attempts * READ_TIMEOUT_S + 2.0
