"""Secrets with a chosen ARN.

Secrets Manager ends a secret's ARN with 6 random characters. The sample events in events/ name full ARNs with
fixed ones (``...:secret:ecr-pullthroughcache/_source/docker-hub-AbCdEf``), as the state machine passes them; so
that those events work as-is, the local stack pins the suffix through moto's own custom-id hook: a secret created
later under that name, in that account and region, gets exactly that ARN (again after a delete and re-create).
"""

from __future__ import annotations

import threading

from moto.secretsmanager.utils import SecretsManagerSecretIdentifier
from moto.utilities.id_generator import moto_id_manager

_lock = threading.Lock()
_pinned: dict[str, SecretsManagerSecretIdentifier] = {}


def pin(arn: str) -> str:
    """Secrets created from now on under the name in ``arn`` get ``arn``; returns the secret's name.

    Raises ValueError when ``arn`` is not a full secret ARN (``...:secret:<name>-<6 characters>``).
    """
    parts = arn.split(":", 6)
    if len(parts) != 7 or parts[2] != "secretsmanager" or parts[5] != "secret":
        raise ValueError(f"not a Secrets Manager secret ARN: {arn!r}")
    name, _, suffix = parts[6].rpartition("-")
    if not name or len(suffix) != 6:
        raise ValueError(f"{arn!r} does not end in -<6 characters>")
    identifier = SecretsManagerSecretIdentifier(parts[4], parts[3], name)
    with _lock:
        moto_id_manager.set_custom_id(identifier, suffix)
        _pinned[identifier.unique_identifier] = identifier
    return name


def unpin_all() -> None:
    """Back to random suffixes for every name pinned here (moto keeps custom ids across its resets)."""
    with _lock:
        for identifier in _pinned.values():
            moto_id_manager.unset_custom_id(identifier)
        _pinned.clear()
