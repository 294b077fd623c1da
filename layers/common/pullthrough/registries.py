"""The catalog of ECR's nine upstream registries: URL rules, authentication and default prefix."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from pullthrough.exceptions import InvalidRequest


class Auth(StrEnum):
    """What a rule needs to authenticate to its upstream."""

    NONE = "none"
    SECRET = "secret"  # a Secrets Manager secret with username + accessToken
    ROLE = "role"  # an IAM role (customRoleArn) for ECR-to-ECR, needed cross-account


@dataclass(frozen=True, slots=True)
class Upstream:
    """One upstream registry ECR can cache from."""

    registry: str
    auth: Auth
    default_prefix: str
    fixed_url: str | None = None
    url_pattern: re.Pattern[str] | None = None
    url_hint: str = ""

    @property
    def needs_secret(self) -> bool:
        return self.auth is Auth.SECRET

    def resolve_url(self, url: str | None) -> str:
        """Return the upstream URL ECR expects, filling in fixed URLs and the Azure suffix.

        Raises InvalidRequest (field ``upstreamRegistryUrl``) when the URL is missing or does not fit.
        """
        if self.fixed_url is not None:
            if url is not None and _strip_scheme(url) != self.fixed_url:
                raise InvalidRequest(
                    f"must be {self.fixed_url} for {self.registry} (or left out)",
                    field="upstreamRegistryUrl",
                )
            return self.fixed_url
        if not url:
            raise InvalidRequest(
                f"is required for {self.registry}: {self.url_hint}",
                field="upstreamRegistryUrl",
            )
        url = _strip_scheme(url).lower()
        if self.registry == "azure-container-registry" and "." not in url:
            url = f"{url}.azurecr.io"
        assert self.url_pattern is not None
        if not self.url_pattern.fullmatch(url):
            raise InvalidRequest(
                f"{url[:64]!r} does not fit {self.registry}: {self.url_hint}",
                field="upstreamRegistryUrl",
            )
        return url


def _strip_scheme(url: str) -> str:
    return url.removeprefix("https://").rstrip("/")


UPSTREAMS: dict[str, Upstream] = {
    u.registry: u
    for u in (
        Upstream("ecr-public", Auth.NONE, "ecr-public", fixed_url="public.ecr.aws"),
        Upstream("k8s", Auth.NONE, "kubernetes", fixed_url="registry.k8s.io"),
        Upstream("quay", Auth.NONE, "quay", fixed_url="quay.io"),
        Upstream("docker-hub", Auth.SECRET, "docker-hub", fixed_url="registry-1.docker.io"),
        Upstream("github-container-registry", Auth.SECRET, "github", fixed_url="ghcr.io"),
        Upstream("gitlab-container-registry", Auth.SECRET, "gitlab", fixed_url="registry.gitlab.com"),
        Upstream("chainguard", Auth.SECRET, "chainguard", fixed_url="cgr.dev"),
        Upstream(
            "azure-container-registry",
            Auth.SECRET,
            "azure",
            # Azure registry names: 5..50 alphanumerics.
            url_pattern=re.compile(r"[a-z0-9]{5,50}\.azurecr\.io"),
            url_hint="the registry name, e.g. myregistry, or myregistry.azurecr.io",
        ),
        Upstream(
            "ecr",
            Auth.ROLE,
            "ecr",
            url_pattern=re.compile(r"\d{12}\.dkr\.ecr\.[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d\.amazonaws\.com(\.cn)?"),
            url_hint="<account>.dkr.ecr.<region>.amazonaws.com",
        ),
    )
}

UPSTREAM_NAMES: tuple[str, ...] = tuple(UPSTREAMS)


def upstream(registry: str) -> Upstream:
    """Look up an upstream by ECR's ``upstreamRegistry`` value; InvalidRequest when unknown."""
    try:
        return UPSTREAMS[registry]
    except KeyError:
        raise InvalidRequest(
            f"upstreamRegistry {registry!r} is not one of {', '.join(UPSTREAM_NAMES)}",
            field="upstreamRegistry",
        ) from None
