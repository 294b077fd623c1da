"""The upstream catalog: URL rules, auth needs and default prefixes of ECR's nine upstreams."""

from __future__ import annotations

import botocore.session
import pytest

from pullthrough.exceptions import InvalidRequest
from pullthrough.registries import UPSTREAMS, Auth, upstream


def test_catalog_matches_the_nine_values_of_ecrs_service_model() -> None:
    model = botocore.session.get_session().get_service_model("ecr")
    assert set(UPSTREAMS) == set(model.shape_for("UpstreamRegistry").enum)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("registry", "auth", "prefix", "url"),
    [
        ("ecr-public", Auth.NONE, "ecr-public", "public.ecr.aws"),
        ("k8s", Auth.NONE, "kubernetes", "registry.k8s.io"),
        ("quay", Auth.NONE, "quay", "quay.io"),
        ("docker-hub", Auth.SECRET, "docker-hub", "registry-1.docker.io"),
        ("github-container-registry", Auth.SECRET, "github", "ghcr.io"),
        ("gitlab-container-registry", Auth.SECRET, "gitlab", "registry.gitlab.com"),
        ("chainguard", Auth.SECRET, "chainguard", "cgr.dev"),
    ],
)
def test_fixed_url_upstreams_fill_in_their_url(registry: str, auth: Auth, prefix: str, url: str) -> None:
    info = upstream(registry)
    assert (info.auth, info.default_prefix, info.resolve_url(None)) == (auth, prefix, url)
    assert info.resolve_url(f"https://{url}/") == url


def test_a_wrong_url_for_a_fixed_upstream_names_the_field() -> None:
    with pytest.raises(InvalidRequest) as err:
        upstream("quay").resolve_url("ghcr.io")
    assert err.value.field == "upstreamRegistryUrl"


@pytest.mark.parametrize(
    ("given", "expected"),
    [("myregistry", "myregistry.azurecr.io"), ("MyRegistry.azurecr.io", "myregistry.azurecr.io")],
)
def test_azure_takes_a_registry_name_and_fills_in_the_suffix(given: str, expected: str) -> None:
    assert upstream("azure-container-registry").resolve_url(given) == expected


@pytest.mark.parametrize("bad", [None, "", "abc", "my_registry", "myregistry.example.com"])
def test_azure_rejects_missing_or_malformed_names(bad: str | None) -> None:
    with pytest.raises(InvalidRequest) as err:
        upstream("azure-container-registry").resolve_url(bad)
    assert err.value.field == "upstreamRegistryUrl" and "myregistry" in err.value.message


def test_ecr_upstream_needs_an_account_registry_url_and_a_role_not_a_secret() -> None:
    info = upstream("ecr")
    assert info.auth is Auth.ROLE and not info.needs_secret
    assert (
        info.resolve_url("111122223333.dkr.ecr.eu-west-1.amazonaws.com")
        == "111122223333.dkr.ecr.eu-west-1.amazonaws.com"
    )
    for bad in (None, "dkr.ecr.eu-west-1.amazonaws.com", "111122223333.dkr.ecr.moon.amazonaws.com"):
        with pytest.raises(InvalidRequest):
            info.resolve_url(bad)


def test_unknown_upstream_lists_the_valid_ones() -> None:
    with pytest.raises(InvalidRequest) as err:
        upstream("harbor")
    assert err.value.field == "upstreamRegistry" and "docker-hub" in err.value.message
