"""The shaped strings and the strict base model of the request models, with ECR's patterns and limits.

Each shaped string says in words what it accepts (``described``): the patterns stay in the OpenAPI document, not in
messages. Models forbid unknown fields so a typo is reported instead of ignored.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from pullthrough.prefixes import canonical_prefix
from pullthrough.registries import UPSTREAM_NAMES
from pullthrough.validation import described

_PREFIX_PATTERN = r"^([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*\/?|ROOT)$"
PREFIX_WORDS = (
    "must be 2-30 characters: lowercase letters, digits, '.', '_', '-', '/', starting with a letter or digit and "
    "not ending in '.', '_' or '-'; or ROOT"
)


def _one_rule_prefix(prefix: str) -> str:
    """A rule prefix as ECR identifies it: ``x/`` is ``x`` (still ECR's 2 characters at least)."""
    prefix = canonical_prefix(prefix)
    if len(prefix) < 2:
        raise PydanticCustomError("prefix_too_short", "must have at least 2 characters before a trailing /")
    return prefix


# ECR's pattern and lengths, checked on the value as given; the trailing "/" is dropped after. Each shaped string
# says in words what it accepts (``described``): the patterns stay in the OpenAPI document, not in messages.
RulePrefix = Annotated[
    str,
    Field(min_length=2, max_length=30, pattern=_PREFIX_PATTERN),
    AfterValidator(_one_rule_prefix),
    described(PREFIX_WORDS),
]
UpstreamRepositoryPrefix = Annotated[
    str, Field(min_length=2, max_length=30, pattern=_PREFIX_PATTERN), described(PREFIX_WORDS)
]
RoleArn = Annotated[
    str,
    Field(max_length=2048, pattern=r"^arn:aws(-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]+$"),
    described("must be an IAM role ARN (arn:aws:iam::<12-digit account id>:role/<name>), at most 2,048 characters"),
]
SourceSecretArn = Annotated[
    str,
    Field(max_length=2048, pattern=r"^arn:aws(-[a-z]+)*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+$"),
    described(
        "must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<12-digit account id>:secret:<name>), "
        "at most 2,048 characters"
    ),
]
AccountId = Annotated[str, Field(pattern=r"^\d{12}$"), described("must be a 12-digit AWS account id")]
# Organizations' OU and root id patterns (CreateOrganizationalUnit, ListRoots).
OrganizationalUnitId = Annotated[
    str,
    Field(max_length=68, pattern=r"^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$"),
    described("must be an OU id (ou-<4-32 lowercase letters or digits>-<8-32 more>) or a root id (r-<4-32 more>)"),
]
UpstreamRegistryName = Literal[
    "ecr",
    "ecr-public",
    "quay",
    "k8s",
    "docker-hub",
    "github-container-registry",
    "azure-container-registry",
    "gitlab-container-registry",
    "chainguard",
]
assert set(UpstreamRegistryName.__args__) == set(UPSTREAM_NAMES)  # type: ignore[attr-defined]


_ACRONYMS = {"ecr": "ECR", "url": "URL", "arn": "ARN", "kms": "KMS", "id": "ID"}


def readable_title(name: str, *_: Any) -> str:
    """``upstreamRegistryUrl`` -> "Upstream registry URL": field titles as people write them."""
    words = re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", name)
    if not words:
        return name
    shown = [_ACRONYMS.get(w.lower(), w.lower()) for w in words]
    return " ".join([shown[0][:1].upper() + shown[0][1:], *shown[1:]])


class StrictModel(BaseModel):
    """Unknown fields refused, values frozen, titles as people write them."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, field_title_generator=readable_title, model_title_generator=lambda m: m.__name__
    )
