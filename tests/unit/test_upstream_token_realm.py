"""The emulator's pull path never sends a rule's credential to a token service other than its upstream's own."""

from __future__ import annotations

from typing import Any

import pytest

from local.emulator.registry.upstream_client import UpstreamClient, UpstreamError


@pytest.mark.parametrize(
    "realm",
    [
        "http://127.0.0.1:5000@elsewhere.example/token",  # starts with the upstream's address, names another host
        "http://127.0.0.1:50001/token",  # another port
        "https://127.0.0.1:5000/token",  # another scheme
    ],
)
def test_a_token_realm_elsewhere_is_refused_before_anything_is_sent(realm: str, monkeypatch: Any) -> None:
    client = UpstreamClient("127.0.0.1:5000", ("user", "canary-secret"), "docker-hub")
    sent: list[str] = []
    monkeypatch.setattr(client, "_open", lambda path, headers: sent.append(path))
    with pytest.raises(UpstreamError):
        client._bearer(f'Bearer realm="{realm}",service="registry"', "library/alpine")
    assert sent == []


def test_the_upstreams_own_realm_gets_the_token_request(monkeypatch: Any) -> None:
    client = UpstreamClient("127.0.0.1:5000", ("user", "canary-secret"), "docker-hub")
    sent: list[str] = []

    def opened(path: str, headers: dict[str, str]) -> Any:
        sent.append(path)
        raise UpstreamError(502, "UNKNOWN", "stop here")

    monkeypatch.setattr(client, "_open", opened)
    with pytest.raises(UpstreamError):
        client._bearer('Bearer realm="http://127.0.0.1:5000/token",service="registry"', "library/alpine")
    assert [path.split("?")[0] for path in sent] == ["/token"]
