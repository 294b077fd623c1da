"""TEMP placeholder until the org-api branch merges (it replaces this file)."""

from __future__ import annotations

from typing import Any


class Organization:
    def __init__(self, client: Any) -> None:
        self._client = client

    def ancestors_of(self, account_id: str) -> list[str]:
        raise NotImplementedError
