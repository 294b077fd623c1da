"""Secrets Manager checks for pull-through cache credentials, against moto's secretsmanager backend.

Two different checks, on purpose:

* at Create/Update the secret must exist in the account and Region named by its own ARN
  (ECR's credentialArn pattern does not tie the secret to the rule's Region);
* ValidatePullThroughCacheRule additionally requires the secret to be in the rule's account
  and Region, named ``ecr-pullthroughcache/...``, encrypted with the default key and holding a
  JSON object with non-empty ``username`` and ``accessToken``; any miss is reported as
  ``isValid: false`` with a failure text, as ECR does.
"""

import json
from dataclasses import dataclass
from typing import Any

from moto.secretsmanager.models import secretsmanager_backends

from .ecr_errors import SecretNotFoundException, UnableToAccessSecretException

SECRET_NAME_PREFIX = "ecr-pullthroughcache/"
DEFAULT_SECRET_KEY = "alias/aws/secretsmanager"


@dataclass(frozen=True)
class SecretArn:
    """The parts of a Secrets Manager ARN that locate the secret."""

    partition: str
    region: str
    account: str
    secret_id: str  # name, with or without the 6-character suffix

    @property
    def name_prefix_ok(self) -> bool:
        return self.secret_id.startswith(SECRET_NAME_PREFIX)


def parse_secret_arn(arn: str) -> SecretArn | None:
    """Split ``arn:<partition>:secretsmanager:<region>:<account>:secret:<id>``; None if malformed."""
    parts = arn.split(":", 6)
    if len(parts) != 7 or parts[0] != "arn" or parts[2] != "secretsmanager" or parts[5] != "secret":
        return None
    return SecretArn(partition=parts[1], region=parts[3], account=parts[4], secret_id=parts[6])


def find_secret(arn: str) -> Any | None:
    """Return moto's secret for a full or partial ARN, looked up in the ARN's own account/Region."""
    parsed = parse_secret_arn(arn)
    if parsed is None:
        return None
    account_backends = secretsmanager_backends[parsed.account]
    if parsed.region not in account_backends:
        return None
    return account_backends[parsed.region].secrets.get(arn)


def check_secret_exists(arn: str) -> None:
    """Create/Update check: the secret exists (in its ARN's Region) and is not pending deletion."""
    secret = find_secret(arn)
    if secret is None:
        raise SecretNotFoundException(f"The secret '{arn}' was not found. Check the credentialArn and try again.")
    if secret.is_deleted():
        raise UnableToAccessSecretException(f"The secret '{arn}' is scheduled for deletion and cannot be accessed.")


def secret_string(secret: Any) -> str | None:
    """The secret's current string value (None when it has none)."""
    version_id = secret.default_version_id
    version = secret.versions.get(version_id) if version_id else None
    return None if version is None else version.get("secret_string")


def validation_failure(arn: str, rule_account: str, rule_region: str) -> str | None:
    """Return why the secret cannot serve a rule in ``rule_account``/``rule_region`` (None if it can)."""
    parsed = parse_secret_arn(arn)
    if parsed is None:
        return f"The credentialArn '{arn}' is not a valid Secrets Manager secret ARN."
    if (parsed.account, parsed.region) != (rule_account, rule_region):
        return (
            f"The secret '{arn}' must be in the same account and Region as the pull through cache rule "
            f"({rule_account}/{rule_region}), not {parsed.account}/{parsed.region}."
        )
    if not parsed.name_prefix_ok:
        return f"The secret name must start with '{SECRET_NAME_PREFIX}'."
    secret = find_secret(arn)
    if secret is None:
        return f"Unable to find the secret '{arn}' in Secrets Manager. The secret may have been deleted."
    if secret.is_deleted():
        return f"Unable to access the secret '{arn}': it is scheduled for deletion."
    kms_key = getattr(secret, "kms_key_id", None)
    if kms_key and not kms_key.endswith(DEFAULT_SECRET_KEY):
        return f"The secret must be encrypted with the default '{DEFAULT_SECRET_KEY}' key, not '{kms_key}'."
    return _credentials_failure(secret_string(secret))


def _credentials_failure(secret_string: str | None) -> str | None:
    expected = "The secret value must be a JSON object with non-empty 'username' and 'accessToken' keys."
    if not secret_string:
        return f"The secret has no SecretString. {expected}"
    try:
        value = json.loads(secret_string)
    except ValueError:
        return f"The secret value is not valid JSON. {expected}"
    if not isinstance(value, dict):
        return expected
    missing = [key for key in ("username", "accessToken") if not isinstance(value.get(key), str) or not value[key]]
    if missing:
        return f"The secret is missing {' and '.join(repr(key) for key in missing)}. {expected}"
    return None
