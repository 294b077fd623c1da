"""Add ECR's pull-through cache and repository creation template operations to moto.

moto 5.2 has none of them. ``install()`` swaps our ECRBackend subclass into moto.ecr's
BackendDict and our ECRResponse subclass (plus the fault API paths) into moto.ecr's
url_paths. That serves both ``moto.mock_aws`` and moto's server, provided install() runs
before a server process handles its first ECR request (moto's server builds its ECR routes
once, on that request). Calling it again is harmless.

    from local.emulator.ecr_extension import install, inject, fail_validation, clear, calls
    install()
"""

import threading

import moto.ecr.urls
from moto.ecr.models import ecr_backends

from .ecr_backend import PullThroughECRBackend, upgrade_backend
from .ecr_responses import PullThroughECRResponse
from .faults import FAULTS, Faults, calls, clear, fail_validation, inject, pending, reset_calls
from .faults_http import CALLS_PATH, FAULTS_PATH, calls_endpoint, faults_endpoint, route_unsigned

__all__ = [
    "FAULTS",
    "Faults",
    "PullThroughECRBackend",
    "PullThroughECRResponse",
    "calls",
    "clear",
    "fail_validation",
    "inject",
    "install",
    "is_installed",
    "pending",
    "reset_calls",
]

_install_lock = threading.Lock()


def install() -> None:
    """Patch moto's ECR service in this process (idempotent, thread-safe)."""
    with _install_lock:
        moto.ecr.urls.url_paths.update(
            {
                "{0}/$": PullThroughECRResponse.dispatch,
                "{0}" + FAULTS_PATH + "$": faults_endpoint,
                "{0}" + CALLS_PATH + "$": calls_endpoint,
            }
        )
        route_unsigned()
        ecr_backends.backend = PullThroughECRBackend
        for account_backends in list(ecr_backends.values()):
            account_backends.backend = PullThroughECRBackend
            for backend in list(account_backends.values()):
                upgrade_backend(backend)


def is_installed() -> bool:
    """Whether install() has patched moto in this process."""
    return ecr_backends.backend is PullThroughECRBackend
