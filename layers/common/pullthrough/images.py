"""Image references a rule's smoke pull names: ``<upstream repository>:<tag>`` (the OCI distribution spec's shapes)."""

from __future__ import annotations

import re

# A repository name (path components of lowercase letters and digits joined by separators) and a tag, as the OCI
# distribution spec defines them; ECR's repository names take the same shape.
REPOSITORY_PATTERN = r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*"
TAG_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}"
IMAGE = re.compile(rf"(?P<repository>{REPOSITORY_PATTERN}):(?P<tag>{TAG_PATTERN})")
IMAGE_MAX = 256
IMAGE_WORDS = (
    "must be REPOSITORY:TAG as the upstream names them, e.g. library/alpine:3.20: a repository of lowercase path "
    "components (letters, digits, '.', '_', '-') and a tag of up to 128 letters, digits, '.', '_', '-'"
)


def split_image(image: str) -> tuple[str, str] | None:
    """(repository, tag) of ``image``; None when it does not have that shape."""
    found = IMAGE.fullmatch(image) if len(image) <= IMAGE_MAX else None
    return (found["repository"], found["tag"]) if found else None
