"""AWS Account Management, read only: whether an account has enabled a region (opt-in regions)."""

from __future__ import annotations

from typing import Any

from pullthrough.adapters.errors import translated

ENABLED = frozenset({"ENABLED", "ENABLED_BY_DEFAULT"})


class AccountRegions:
    """The regions of the account ``client`` acts in (an ``account`` client, through the execution role elsewhere)."""

    def __init__(self, client: Any) -> None:
        self._account = client

    def is_enabled(self, region: str) -> bool:
        """Whether the account may use ``region`` (ENABLED or ENABLED_BY_DEFAULT; ENABLING and DISABLING are not
        yet / no longer usable). AwsTransientError on throttling, AccessDenied when the role may not ask."""
        with translated({}, "GetRegionOptStatus"):
            answer = self._account.get_region_opt_status(RegionName=region)
        return str(answer.get("RegionOptStatus")) in ENABLED
