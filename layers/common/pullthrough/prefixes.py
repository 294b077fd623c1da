"""One identity per prefix: ECR assumes a trailing ``/`` on every repository prefix, so ``x`` and ``x/`` are one."""

from __future__ import annotations


def canonical_prefix(prefix: str) -> str:
    """``prefix`` without its trailing ``/`` (ECR's user guide: "There is always an assumed / applied to the end of
    the prefix"). ``ROOT`` has none to drop."""
    return prefix.removesuffix("/")
