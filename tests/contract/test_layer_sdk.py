"""Contract tests of the SDK the layer ships: the locked botocore, new enough, with every model the code calls.

layers/common/Makefile pins boto3/botocore (requirements.txt) and keeps only the service models of SDK_SERVICES.
The checks read the layer `make build` produced (.aws-sam/build/CommonLayer, what `sam deploy` uploads) when there
is one; otherwise .venv's botocore (the same locked version) trimmed here by the Makefile's rule. They never run
sam build.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore
import botocore.session
import pytest
from botocore.config import Config
from botocore.loaders import Loader
from botocore.stub import Stubber

from pullthrough.adapters.ecr import RULE_FIELDS, TEMPLATE_FIELDS, EcrRegistry
from pullthrough.creation_template import DEFAULT_LIFECYCLE_POLICY, CreationTemplate
from pullthrough.models import Rule
from pullthrough.steps.rule import create_rule
from pullthrough.steps.template import apply_template
from pullthrough.tasks import RegionTask

ROOT = Path(__file__).resolve().parents[2]
LAYER_SOURCE = ROOT / "layers" / "common"
BUILT_LAYER = ROOT / ".aws-sam" / "build" / "CommonLayer" / "python"
CODE_DIRS = (LAYER_SOURCE / "pullthrough", ROOT / "functions")
# The oldest botocore checked to know every ECR field we send: upstreamRepositoryPrefix and customRoleArn on rules
# (1.37.0 lacks them, 1.37.20 has them) and imageTagMutabilityExclusionFilters on templates (1.39.7 lacks them).
MIN_BOTOCORE = (1, 39, 14)
# Kept although no code creates its client yet: the cross-account role (PullthroughExecutionRole) is assumed via STS.
KEPT_AHEAD_OF_USE = {"sts"}
# botocore files every client reads, whatever its service.
SHARED_DATA = ("_retry.json", "endpoints.json", "partitions.json", "sdk-default-configuration.json")
REGION = "eu-west-1"
ACCOUNT = "123456789012"


def sdk_services() -> set[str]:
    """The services whose models the layer keeps (the Makefile's SDK_SERVICES)."""
    match = re.search(r"^SDK_SERVICES\s*:=\s*(.+)$", (LAYER_SOURCE / "Makefile").read_text(), re.MULTILINE)
    assert match, "layers/common/Makefile defines no SDK_SERVICES"
    return set(match[1].split())


def locked_version(package: str) -> str:
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    return next(str(p["version"]) for p in lock["package"] if p["name"] == package)


def package_version(site: Path, package: str) -> str:
    """``__version__`` of ``site/package`` read from its source (the built layer's copy is never imported here)."""
    match = re.search(r"^__version__ = ['\"]([^'\"]+)['\"]", (site / package / "__init__.py").read_text(), re.MULTILINE)
    assert match, f"{site / package} states no __version__"
    return match[1]


def created_clients(path: Path) -> set[str]:
    """Service names the code at ``path`` creates clients for: ``*.client("name", ...)`` and the like."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name)):
            continue
        called = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
        if called not in ("client", "create_client", "resource") or not node.args:
            continue
        first = node.args[0]
        if path.name == "aws.py" and path.parent.name == "pullthrough":
            continue  # the one generic factory, client(service, region): its callers are scanned instead
        assert isinstance(first, ast.Constant) and isinstance(first.value, str), (
            f"{path.relative_to(ROOT)}:{node.lineno}: name the service literally so this check can see it"
        )
        names.add(first.value)
    return names


def code_services() -> set[str]:
    return {name for base in CODE_DIRS for path in sorted(base.rglob("*.py")) for name in created_clients(path)}


@pytest.fixture(scope="module")
def layer_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The layer's site directory: the built one, else .venv's boto3/botocore trimmed as the Makefile trims."""
    if BUILT_LAYER.is_dir():
        assert (BUILT_LAYER / "botocore").is_dir(), (
            f"{BUILT_LAYER.relative_to(ROOT)} ships no botocore, so Lambda would run the runtime's own SDK: run make build"
        )
        yield BUILT_LAYER
        return
    site = tmp_path_factory.mktemp("layer") / "python"
    venv_botocore = Path(botocore.__file__).parent
    data = site / "botocore" / "data"
    data.mkdir(parents=True)
    shutil.copy(venv_botocore / "__init__.py", site / "botocore" / "__init__.py")
    for entry in (venv_botocore / "data").iterdir():
        if entry.is_file():
            shutil.copy(entry, data / entry.name)
        elif entry.name in sdk_services():
            shutil.copytree(entry, data / entry.name)
    yield site


def sdk_session(site: Path) -> botocore.session.Session:
    """A botocore session that finds models only in ``site``'s botocore data."""
    session = botocore.session.Session()
    loader = Loader(extra_search_paths=[str(site / "botocore" / "data")], include_default_search_paths=False)
    session.register_component("data_loader", loader)
    return session


def ecr_client(site: Path) -> Any:
    return sdk_session(site).create_client(
        "ecr",
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(parameter_validation=True),  # botocore's ParamValidator checks every request on the model
    )


# ---------------------------------------------------------------------------------------------------------------
# (1) The layer's botocore is the locked one, new enough for the fields we send


def test_layer_botocore_is_the_locked_version_and_knows_the_pull_through_fields(layer_site: Path) -> None:
    version = package_version(layer_site, "botocore")
    assert version == locked_version("botocore")
    assert tuple(int(part) for part in version.split(".")[:3]) >= MIN_BOTOCORE
    # This file's checks load the layer's model with .venv's botocore code: the two must be one version.
    assert botocore.__version__ == version
    if layer_site == BUILT_LAYER:
        assert package_version(layer_site, "boto3") == locked_version("boto3")


# ---------------------------------------------------------------------------------------------------------------
# (2) Every field the app sends to ECR validates against the layer's ECR model

ECR_RULE = {
    "ecrRepositoryPrefix": "team/base",
    "upstreamRegistry": "ecr",
    "upstreamRegistryUrl": f"210987654321.dkr.ecr.{REGION}.amazonaws.com",
    "upstreamRepositoryPrefix": "base",
    "customRoleArn": f"arn:aws:iam::{ACCOUNT}:role/ecr-upstream",
}
DOCKER_HUB_RULE = {
    "ecrRepositoryPrefix": "docker-hub",
    "upstreamRegistry": "docker-hub",
    "upstreamRegistryUrl": "registry-1.docker.io",
    "upstreamRepositoryPrefix": "library",
}
REGIONAL_SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:ecr-pullthroughcache/docker-hub-AbCdEf"
FULL_TEMPLATE = {
    "description": "every field a request may set",
    "encryptionConfiguration": {
        "encryptionType": "KMS",
        "kmsKey": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    },
    "resourceTags": [{"Key": "team", "Value": "platform"}],
    "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
    "imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": "latest*"}],
    "repositoryPolicy": json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Sid": "pull", "Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"}],
        }
    ),
    "lifecyclePolicy": json.dumps(DEFAULT_LIFECYCLE_POLICY),
    "customRoleArn": f"arn:aws:iam::{ACCOUNT}:role/ecr-template",
}


def region_task(rule: dict[str, Any], **more: Any) -> RegionTask:
    return RegionTask.parse({"rolloutId": "r-contract", "region": REGION, "rule": rule, **more})


def test_the_cases_below_set_every_field_our_models_and_the_adapter_send() -> None:
    assert set(Rule.model_validate(ECR_RULE).model_fields_set) == set(Rule.model_fields)
    assert set(CreationTemplate.model_validate(FULL_TEMPLATE).model_fields_set) == set(CreationTemplate.model_fields)
    assert set(RULE_FIELDS) == set(ECR_RULE) | {"credentialArn"}
    assert set(TEMPLATE_FIELDS) == set(FULL_TEMPLATE) | {"appliedFor"}


def test_create_and_update_rule_requests_validate_against_the_layers_ecr_model(layer_site: Path) -> None:
    ecr = ecr_client(layer_site)
    docker_hub = region_task(DOCKER_HUB_RULE, storeSecret={"action": "created", "secretArn": REGIONAL_SECRET})
    with Stubber(ecr) as stub:
        for task, sent in (
            (region_task(ECR_RULE), ECR_RULE),
            (docker_hub, DOCKER_HUB_RULE | {"credentialArn": REGIONAL_SECRET}),
        ):
            prefix = {"ecrRepositoryPrefix": sent["ecrRepositoryPrefix"]}
            # Create: no rule yet.
            stub.add_client_error(
                "describe_pull_through_cache_rules",
                "PullThroughCacheRuleNotFoundException",
                expected_params={"ecrRepositoryPrefixes": [sent["ecrRepositoryPrefix"]]},
            )
            stub.add_response("create_pull_through_cache_rule", {}, expected_params=sent)
            assert create_rule(task, EcrRegistry(ecr)).action == "created"
            # Update in place: the rule differs only in its role or secret.
            role_or_secret = "customRoleArn" if "customRoleArn" in sent else "credentialArn"
            stale = sent | {role_or_secret: f"{sent[role_or_secret]}-old"}
            stub.add_response(
                "describe_pull_through_cache_rules", {"pullThroughCacheRules": [stale]}, expected_params=None
            )
            stub.add_response(
                "update_pull_through_cache_rule", {}, expected_params=prefix | {role_or_secret: sent[role_or_secret]}
            )
            assert create_rule(task, EcrRegistry(ecr)).action == "updated"
        stub.assert_no_pending_responses()


def test_create_and_update_template_requests_validate_against_the_layers_ecr_model(layer_site: Path) -> None:
    ecr = ecr_client(layer_site)
    task = region_task(DOCKER_HUB_RULE | {"upstreamRepositoryPrefix": "ROOT"}, creationTemplate=FULL_TEMPLATE)
    sent = {"prefix": task.prefix, **FULL_TEMPLATE, "appliedFor": ["PULL_THROUGH_CACHE"]}
    described = {"prefixes": [task.prefix]}
    with Stubber(ecr) as stub:
        stub.add_response("describe_repository_creation_templates", {"repositoryCreationTemplates": []}, described)
        stub.add_response("create_repository_creation_template", {}, expected_params=sent)
        assert apply_template(task, EcrRegistry(ecr)).action == "created"
        stale = sent | {"description": "an older description"}
        stub.add_response("describe_repository_creation_templates", {"repositoryCreationTemplates": [stale]}, described)
        stub.add_response("update_repository_creation_template", {}, expected_params=sent)
        assert apply_template(task, EcrRegistry(ecr)).action == "updated"
        stub.assert_no_pending_responses()


# ---------------------------------------------------------------------------------------------------------------
# (3) The trimmed SDK holds a model for every service the code creates a client for


def test_the_layer_keeps_the_model_of_every_service_the_code_calls_and_little_else() -> None:
    called, kept = code_services(), sdk_services()
    assert {"ecr", "secretsmanager", "dynamodb", "stepfunctions", "events"} <= called, "the scan found too little"
    assert called <= kept, f"add {sorted(called - kept)} to SDK_SERVICES in layers/common/Makefile"
    assert kept - called <= KEPT_AHEAD_OF_USE, f"no code calls {sorted(kept - called - KEPT_AHEAD_OF_USE)}"


def test_the_layers_botocore_creates_every_client_from_its_own_models_only(layer_site: Path) -> None:
    data = layer_site / "botocore" / "data"
    assert all((data / name).is_file() for name in SHARED_DATA)
    services = {entry.name for entry in data.iterdir() if entry.is_dir()}
    if layer_site == BUILT_LAYER:
        assert services == sdk_services(), "the built layer is stale or the Makefile trims differently: make build"
    session = sdk_session(layer_site)
    assert set(session.get_available_services()) == services
    for service in sorted(sdk_services()):
        session.create_client(service, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    # pullthrough.regions reads ECR's regions of each partition from the shared endpoint data.
    assert REGION in session.get_available_regions("ecr")
    assert "cn-north-1" in session.get_available_regions("ecr", partition_name="aws-cn")


def test_the_built_layers_own_sdk_runs_the_apps_client_factory() -> None:
    """The built layer's pure-Python SDK (and what it needs) alone, outside .venv: pullthrough.aws makes clients."""
    if not BUILT_LAYER.is_dir():
        pytest.skip("no built layer: make build")
    script = (
        "import sys, boto3, botocore\n"
        f"assert botocore.__file__.startswith({str(BUILT_LAYER)!r}), botocore.__file__\n"
        "from pullthrough import aws, regions\n"
        f"for service in {sorted(sdk_services())!r}: aws.client(service, {REGION!r})\n"
        f"assert {REGION!r} in regions.ecr_regions()\n"
    )
    env = {"PYTHONPATH": str(BUILT_LAYER), "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    subprocess.run([sys.executable, "-S", "-c", script], env=env, check=True, timeout=60)  # -S: no site-packages
