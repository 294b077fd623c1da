"""ECR's pull path over the emulator's ECR state: serve what a repository holds, and pull through a matching rule.

A manifest that the repository lacks, under a pull-through cache rule's prefix, is pulled through as ECR does it:

1. the puller needs ``ecr:BatchImportUpstreamImage`` on the repository (identity, registry or repository policy)
   and, when the repository does not exist yet, ``ecr:CreateRepository`` (identity or registry policy) and
   ``ecr:BatchGetImage`` (identity, or the repository policy the template will set);
2. a new repository is made from the longest matching creation template applied for PULL_THROUGH_CACHE (ROOT
   matches every name); a template that sets resource tags or a KMS key without a customRoleArn fails the pull
   (aws/containers-roadmap#2398), before anything is created;
3. the image is read from the upstream with the rule's secret (``username``/``accessToken``), digests checked;
4. it is stored in the emulator's ECR (the index or manifest tagged, the manifests it names untagged, so
   describe-images shows them) and its blobs beside it; later pulls of that tag or digest are served from there.

Serving what a repository holds needs ``ecr:BatchGetImage`` (manifests) or ``ecr:GetDownloadUrlForLayer`` (blobs).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from moto.ecr.models import Image as EcrImage
from moto.ecr.models import ecr_backends

from ..ecr_backend import PullThroughECRBackend, upgrade_backend
from ..ecr_models import PullThroughCacheRule, RepositoryCreationTemplate
from ..ecr_secrets import find_secret, secret_string
from . import oci, permissions
from .upstream_client import UpstreamClient, UpstreamError

#: Where the pull path reaches an upstream kind (``Upstreams.address``); None: no local upstream for it.
Resolve = Callable[[str], str | None]
KMS_TYPES = ("KMS", "KMS_DSSE")


class RegistryError(Exception):
    """An answer other than the content: HTTP status, OCI error code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Registry:
    """One account's registry in one Region, as the endpoint serves it."""

    account: str
    region: str

    @property
    def backend(self) -> PullThroughECRBackend:
        return upgrade_backend(ecr_backends[self.account][self.region])

    def repository_arn(self, name: str) -> str:
        return f"arn:aws:ecr:{self.region}:{self.account}:repository/{name}"


def _check(who: permissions.Puller, registry: Registry, action: str, name: str, policies: list[Any]) -> None:
    resource = registry.repository_arn(name)
    if not permissions.allowed(who, action, resource, registry.account, registry.region, policies):
        raise RegistryError(403, "DENIED", permissions.denial(who, action, resource))


def _stored(repository: Any, reference: str) -> oci.Manifest | None:
    for image in repository.images:
        if reference in image.image_tags or image.get_image_digest() == reference:
            return oci.Manifest(image.image_manifest.encode(), image.image_manifest_media_type)
    return None


def manifest(registry: Registry, who: permissions.Puller, name: str, reference: str, resolve: Resolve) -> oci.Manifest:
    """The manifest ``name:reference`` serves, pulled through a matching rule when the repository lacks it."""
    backend = registry.backend
    repository = backend.repositories.get(name)
    if repository is not None:
        _check(who, registry, "ecr:BatchGetImage", name, [repository.policy])
        found = _stored(repository, reference)
        if found is not None:
            return found
    rule = matching_rule(backend, name)
    if rule is None:
        if repository is None:
            raise RegistryError(
                404,
                "NAME_UNKNOWN",
                f"The repository with name '{name}' does not exist in the registry with id '{registry.account}'",
            )
        raise RegistryError(404, "MANIFEST_UNKNOWN", f"Requested image not found: {name}:{reference}")
    return _pull_through(registry, who, rule, name, reference, resolve)


def blob(registry: Registry, who: permissions.Puller, name: str, digest: str) -> bytes:
    """A blob an image of repository ``name`` names."""
    backend = registry.backend
    repository = backend.repositories.get(name)
    if repository is None:
        raise RegistryError(
            404,
            "NAME_UNKNOWN",
            f"The repository with name '{name}' does not exist in the registry with id '{registry.account}'",
        )
    _check(who, registry, "ecr:GetDownloadUrlForLayer", name, [repository.policy])
    data = backend.layer_blobs.get(digest) if digest in repository.layers else None
    if data is None:
        raise RegistryError(404, "BLOB_UNKNOWN", f"Requested blob not found: {digest}")
    return data


def tags(registry: Registry, who: permissions.Puller, name: str) -> list[str]:
    """The tags of repository ``name`` (what it holds: listing pulls nothing through)."""
    repository = registry.backend.repositories.get(name)
    if repository is None:
        raise RegistryError(
            404,
            "NAME_UNKNOWN",
            f"The repository with name '{name}' does not exist in the registry with id '{registry.account}'",
        )
    _check(who, registry, "ecr:ListImages", name, [repository.policy])
    return sorted({tag for image in repository.images for tag in image.image_tags})


def matching_rule(backend: PullThroughECRBackend, name: str) -> PullThroughCacheRule | None:
    """The rule whose prefix ``name`` sits under (the longest one; a ROOT rule matches every name)."""
    with backend.extension_lock:
        rules = list(backend.pull_through_cache_rules.items())
    under = [(key, rule) for key, rule in rules if key != "ROOT" and name.startswith(key + "/")]
    if under:
        return max(under, key=lambda item: len(item[0]))[1]
    return dict(rules).get("ROOT")


def matching_template(backend: PullThroughECRBackend, name: str) -> RepositoryCreationTemplate | None:
    """The creation template for a repository ``name`` made by a pull through (longest prefix; ROOT last)."""
    with backend.extension_lock:
        templates = [
            (key, t)
            for key, t in backend.repository_creation_templates.items()
            if "PULL_THROUGH_CACHE" in t.applied_for
        ]
    under = [(key, t) for key, t in templates if key != "ROOT" and (name == key or name.startswith(key + "/"))]
    if under:
        return max(under, key=lambda item: len(item[0]))[1]
    return dict(templates).get("ROOT")


def upstream_repository(rule: PullThroughCacheRule, name: str) -> str:
    """The upstream repository a pull of ``name`` reads: the name after the rule's prefix, under the rule's
    upstream repository prefix."""
    key = rule.ecr_repository_prefix.removesuffix("/")
    rest = name if key == "ROOT" else name[len(key) + 1 :]
    upstream_prefix = rule.upstream_repository_prefix.removesuffix("/")
    return rest if upstream_prefix == "ROOT" else f"{upstream_prefix}/{rest}"


def _template_failure(template: RepositoryCreationTemplate | None) -> str | None:
    if template is None or template.custom_role_arn:
        return None
    needs = []
    if template.resource_tags:
        needs.append("resource tags")
    if template.encryption_configuration.get("encryptionType") in KMS_TYPES:
        needs.append("KMS encryption")
    if not needs:
        return None
    return (
        f"Repository creation failed: the repository creation template '{template.prefix}' sets "
        f"{' and '.join(needs)}, which require a customRoleArn on the template"
    )


def _credentials(rule: PullThroughCacheRule) -> tuple[str, str] | None:
    if rule.credential_arn is None:
        return None
    secret = find_secret(rule.credential_arn)
    text = secret_string(secret) if secret is not None and not secret.is_deleted() else None
    try:
        value = json.loads(text) if text else None
    except ValueError:
        value = None
    if not isinstance(value, dict) or not value.get("username") or not value.get("accessToken"):
        raise RegistryError(
            401,
            "UNAUTHORIZED",
            f"The secret of the pull through cache rule '{rule.ecr_repository_prefix}' holds no usable credentials",
        )
    return str(value["username"]), str(value["accessToken"])


def _pull_through(
    registry: Registry, who: permissions.Puller, rule: PullThroughCacheRule, name: str, reference: str, resolve: Resolve
) -> oci.Manifest:
    backend = registry.backend
    repository = backend.repositories.get(name)
    registry_policy = backend.registry_policy
    _check(who, registry, "ecr:BatchImportUpstreamImage", name, [registry_policy, repository and repository.policy])
    template = None
    if repository is None:
        _check(who, registry, "ecr:CreateRepository", name, [registry_policy])
        template = matching_template(backend, name)
        failure = _template_failure(template)
        if failure is not None:
            raise RegistryError(403, "DENIED", failure)
        # Reading the image it imports needs BatchGetImage as on any repository: under the policy the template
        # will give the new one, checked before anything is made.
        _check(who, registry, "ecr:BatchGetImage", name, [template.repository_policy if template else None])
    address = resolve(rule.upstream_registry)
    if address is None:
        raise RegistryError(
            404, "NAME_UNKNOWN", f"The emulator serves no local upstream for '{rule.upstream_registry}'"
        )
    upstream = upstream_repository(rule, name)
    try:
        fetched = UpstreamClient(address, _credentials(rule), rule.upstream_registry).fetch(upstream, reference)
    except UpstreamError as failed:
        status = failed.status if failed.status in (401, 403, 404) else 502
        raise RegistryError(
            status,
            failed.code if status != 502 else "UNKNOWN",
            f"Failed to pull {upstream}:{reference} from the upstream registry {rule.upstream_registry}: "
            f"{failed.status or 'no answer'} {failed.code}: {failed.message}",
        ) from None
    with backend.extension_lock:
        if name not in backend.repositories:
            _create(backend, name, template)
        _store(backend, name, reference, fetched)
    return fetched.top


def _create(backend: PullThroughECRBackend, name: str, template: RepositoryCreationTemplate | None) -> None:
    """The repository as the template makes it (ECR's defaults without one)."""
    if template is None:
        backend.create_repository(name, None, {"encryptionType": "AES256"}, None, "MUTABLE", [])
        return
    repository = backend.create_repository(
        name,
        None,
        dict(template.encryption_configuration),
        None,
        template.image_tag_mutability,
        [dict(tag) for tag in template.resource_tags],
        cast(Any, template.image_tag_mutability_exclusion_filters),
    )
    repository.policy = template.repository_policy
    repository.lifecycle_policy = template.lifecycle_policy


def _store(backend: PullThroughECRBackend, name: str, reference: str, fetched: Any) -> None:
    repository = backend.repositories[name]
    tag = None if oci.is_digest(reference) else reference
    for manifest, image_tag in [*((m, None) for m in fetched.manifests), (fetched.top, tag)]:
        existing = next((i for i in repository.images if i.get_image_digest() == manifest.digest), None)
        if existing is None:
            for other in repository.images:  # a tag names one image: it moves to the new one
                if image_tag in other.image_tags:
                    other.image_tags.remove(image_tag)
                    other.image_tag = cast(Any, other.image_tags[0] if other.image_tags else None)
            existing = EcrImage(
                backend.account_id,
                cast(Any, image_tag),
                manifest.data.decode(),
                name,
                manifest.media_type,
                manifest.digest,
            )
            repository.images.append(existing)
        elif image_tag is not None and image_tag not in existing.image_tags:
            existing.update_tag(image_tag)
    for digest, data in fetched.blobs.items():
        backend.layer_blobs[digest] = data
        repository.layers[digest] = len(data)
