"""Fixes to moto's Secrets Manager where it differs from AWS in ways rollback depends on.

moto 5.2 moves the AWSCURRENT label in UpdateSecretVersionStage but keeps serving the old version from
GetSecretValue (it reads ``default_version_id``, which only PutSecretValue updates). AWS serves whatever version
holds AWSCURRENT, so the patch keeps the two in step.
"""

from __future__ import annotations

from typing import Any

from moto.secretsmanager.models import SecretsManagerBackend

_original = SecretsManagerBackend.update_secret_version_stage


def _update_secret_version_stage(
    self: SecretsManagerBackend,
    secret_id: str,
    version_stage: str,
    remove_from_version_id: str,
    move_to_version_id: str,
) -> Any:
    result = _original(self, secret_id, version_stage, remove_from_version_id, move_to_version_id)
    if version_stage == "AWSCURRENT" and move_to_version_id:
        secret: Any = self.secrets[secret_id]
        secret.set_default_version_id(move_to_version_id)
    return result


def install() -> None:
    """Patch moto's Secrets Manager backend (idempotent)."""
    SecretsManagerBackend.update_secret_version_stage = _update_secret_version_stage  # type: ignore[method-assign]
