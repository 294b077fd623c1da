"""Add AWS Account Management's region opt-in operations to moto: GetRegionOptStatus, EnableRegion, DisableRegion.

moto 5.2's account service has only alternate contacts. ``install()`` routes the three paths to a subclass of its
response class; each account's opt-in state lives on moto's own account backend, so moto's reset clears it. Regions
AWS enables by default answer ENABLED_BY_DEFAULT; opt-in regions start ENABLED (the emulator's accounts have them
all, as before) until DisableRegion. Call install() before a server process handles its first account request.
"""

from __future__ import annotations

import threading
from typing import Any

import moto.account.urls
from moto.account.models import account_backends
from moto.account.responses import AccountResponse
from moto.core.responses import ActionResult, EmptyResult

_install_lock = threading.Lock()


def _states(backend: Any) -> dict[str, str]:
    states: dict[str, str] = backend.__dict__.setdefault("_region_opt_status", {})
    return states


class RegionOptResponse(AccountResponse):
    """moto's account responses plus the region opt-in operations."""

    def _backend(self) -> Any:
        return account_backends[self._get_account_id()][self.partition]

    def get_region_opt_status(self) -> ActionResult:
        region = str(self._get_param("RegionName"))
        # The app's layer is on sys.path once the stack has started (not when `python -m local.serve` imports this).
        from pullthrough.regions import OPT_IN_REGIONS

        default = "ENABLED" if region in OPT_IN_REGIONS else "ENABLED_BY_DEFAULT"
        return ActionResult({"RegionName": region, "RegionOptStatus": _states(self._backend()).get(region, default)})

    def enable_region(self) -> EmptyResult:
        _states(self._backend())[str(self._get_param("RegionName"))] = "ENABLED"
        return EmptyResult()

    def disable_region(self) -> EmptyResult:
        _states(self._backend())[str(self._get_param("RegionName"))] = "DISABLED"
        return EmptyResult()


def install() -> None:
    """Route the opt-in operations in this process (idempotent)."""
    with _install_lock:
        moto.account.urls.url_paths.update(
            {
                "{0}/putAlternateContact$": RegionOptResponse.dispatch,
                "{0}/getAlternateContact$": RegionOptResponse.dispatch,
                "{0}/deleteAlternateContact$": RegionOptResponse.dispatch,
                "{0}/getRegionOptStatus$": RegionOptResponse.dispatch,
                "{0}/enableRegion$": RegionOptResponse.dispatch,
                "{0}/disableRegion$": RegionOptResponse.dispatch,
            }
        )
