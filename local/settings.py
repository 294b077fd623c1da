"""Where and as whom the embedded stack runs: its loopback address, ports (from the environment), home region and
account, and the error it raises when it cannot start as configured."""

from __future__ import annotations

import os
import socket

HOME_REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
PARTITION = "aws"
HOST = "127.0.0.1"
AWS_PORT_ENV = "PULLTHROUGH_AWS_PORT"
API_PORT_ENV = "PULLTHROUGH_API_PORT"
# Functions' variable naming the registry endpoint (pullthrough.adapters.registry.ENDPOINT_ENV; absent on AWS).
REGISTRY_ENDPOINT_ENV = "ECR_REGISTRY_ENDPOINT"
REGISTRY_PORT_ENV = "PULLTHROUGH_REGISTRY_PORT"  # the ECR registry endpoint (default 5001; 0 with aws_port=0)
ACCESS_KEY = "testing"  # the stack's own credentials on the emulator: the home (management) account's root


class StackError(RuntimeError):
    """The local stack cannot start as configured."""


def port_from_env(name: str, default: int) -> int:
    """A TCP port from environment variable ``name`` (0: any free port)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        raise StackError(f"{name}={raw!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise StackError(f"{name}={port} is out of range (0..65535)")
    return port


def check_port_free(port: int, env_name: str) -> None:
    """Raise StackError naming ``env_name`` when 127.0.0.1:``port`` is taken."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Like the servers: a port left in TIME_WAIT by a stopped stack is free, one with a listener is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as error:
            raise StackError(
                f"{HOST}:{port} is already in use ({error.strerror}): set {env_name} to a free port "
                f"(e.g. {env_name}={port + 1}) or stop what listens there"
            ) from None
