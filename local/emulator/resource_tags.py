"""The tags of a resource on the emulator, for the IAM check's ``aws:ResourceTag/<key>`` conditions.

IAM decides a call on a secret with ``aws:ResourceTag`` from the secret's tags as they are when the call arrives; a
secret that does not exist has none, so a condition on them does not hold (AWS answers AccessDenied then, not
ResourceNotFound). Only Secrets Manager's secrets are looked up (the only resources template.yaml conditions so).
"""

from __future__ import annotations

from moto.secretsmanager.models import secretsmanager_backends


def secret_tags(arn: str) -> dict[str, str]:
    """The tags of the secret ``arn`` names (``arn:<partition>:secretsmanager:<region>:<account>:secret:<name or
    name-suffix>``); empty when there is no such secret."""
    parts = arn.split(":", 6)
    if len(parts) != 7 or parts[2] != "secretsmanager" or parts[5] != "secret":
        return {}
    region, account, secret_id = parts[3], parts[4], parts[6]
    store = secretsmanager_backends[account][region].secrets
    secret = store.get(arn) or store.get(secret_id)
    tags = getattr(secret, "tags", None) or []
    return {str(tag["Key"]): str(tag.get("Value", "")) for tag in tags}


__all__ = ["secret_tags"]
