"""ECR's pull path on the emulator: the registry endpoint and the local upstream registries it pulls from.

    registries = registry.start("127.0.0.1", 5001, home=("123456789012", "us-east-1"))
    registries.url            # http://127.0.0.1:5001
    registries.upstreams.url("docker-hub")
    registries.stop()

docs/local-registry.md says what of ECR's pull path this reproduces and what it does not.
"""

from __future__ import annotations

from .endpoint import RegistryEndpoint
from .server import Server
from .upstream import UPSTREAM_FAULTS, Upstreams

__all__ = ["UPSTREAM_FAULTS", "Registries", "start"]


class Registries:
    """The running endpoint and upstreams."""

    def __init__(self, upstreams: Upstreams, server: Server) -> None:
        self.upstreams = upstreams
        self._server = server

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def url(self) -> str:
        return f"http://{self._server.address}"

    def stop(self) -> None:
        self._server.stop()
        self.upstreams.stop()


def start(host: str, port: int, home: tuple[str, str]) -> Registries:
    """Serve the upstreams (free ports) and the registry endpoint on ``host:port`` (0: any free port)."""
    upstreams = Upstreams(host).start()
    try:
        server = Server(RegistryEndpoint(home, upstreams.address), host, port)
    except BaseException:
        upstreams.stop()
        raise
    return Registries(upstreams, server)
