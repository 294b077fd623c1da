"""``python -m local.demo`` (``make demo``): roll a sample Docker Hub rule out to four regions on the emulator.

Only the API is driven (POST /rules, then GET /rollouts/{id}); the result is read back region by region with
boto3 from the emulator, and an image is pulled through the home region's cache with skopeo (the registry
endpoint, docs/local-registry.md; a line says so when skopeo is not installed). Exits 0 only when the rollout
SUCCEEDED, every region holds what it should and the pull worked.
Ports: any free ones, unless PULLTHROUGH_AWS_PORT / PULLTHROUGH_API_PORT are set.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from local.settings import API_PORT_ENV, AWS_PORT_ENV, StackError, port_from_env
from local.stack import EmbeddedStack
from local.template_reader import ROOT, TemplateError

SAMPLE_EVENT = ROOT / "events" / "api_post_rules.json"
INLINE_SAMPLE: dict[str, Any] = {
    "upstreamRegistry": "docker-hub",
    "credentials": {"username": "demo-user", "accessToken": "demo-placeholder-token"},
    "regions": ["us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1"],
}
TIMEOUT_SECONDS = float(os.environ.get("PULLTHROUGH_DEMO_TIMEOUT", "180"))


def sample_request() -> dict[str, Any]:
    """The POST /rules body: events/api_post_rules.json (an API Gateway event or a bare body), else inline."""
    if not SAMPLE_EVENT.is_file():
        return dict(INLINE_SAMPLE)
    loaded = json.loads(SAMPLE_EVENT.read_text())
    if isinstance(loaded, dict) and "httpMethod" in loaded:
        body = loaded.get("body") or "{}"
        return dict(json.loads(body))
    return dict(loaded)


def call(base: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """One unsigned JSON request to the local API: (status, decoded body)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback URL
        base + path, data=data, method=method, headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw) if raw else None
        except ValueError:
            return error.code, raw.decode(errors="replace")


@dataclass
class RegionCheck:
    region: str
    status: str
    upstream: str
    secret: str
    template: str
    ok: bool


def inspect_region(
    stack: EmbeddedStack, region: str, status: str, prefix: str, account: str | None = None
) -> RegionCheck:
    """What the emulator holds for ``prefix`` in ``region`` (of ``account``, a member of the local organization)."""
    ecr = stack.client("ecr", region, account=account)
    rules = ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"]
    rule = next((r for r in rules if r["ecrRepositoryPrefix"] == prefix), None)
    upstream_text, secret_text, secret_ok = "-", "-", False
    if rule:
        upstream_text = rule["upstreamRegistryUrl"]
        arn = rule.get("credentialArn")
        if arn:
            name = arn.rsplit(":", 1)[-1]  # the secret's name and Secrets Manager's 6-character suffix
            try:
                stack.client("secretsmanager", region, account=account).describe_secret(SecretId=arn)
                secret_text, secret_ok = name, True
            except stack.client("secretsmanager", region, account=account).exceptions.ResourceNotFoundException:
                secret_text = f"{name} (missing!)"
        else:
            secret_text, secret_ok = "(none needed)", True
    templates = ecr.describe_repository_creation_templates()["repositoryCreationTemplates"]
    template = next((t for t in templates if t["prefix"] == prefix), None)
    template_text = "-"
    if template:
        applied = ",".join(template.get("appliedFor", []))
        template_text = f"{applied}, lifecycle" if template.get("lifecyclePolicy") else applied
    ok = bool(rule) and secret_ok and template is not None
    return RegionCheck(region, status, upstream_text, secret_text, template_text, ok)


def table(rows: list[RegionCheck], accounts: list[str] | None = None) -> str:
    """One line per region; per account and region when ``accounts`` names each row's account (then without the
    upstream, the same in every row, to keep within 120 columns)."""
    header: tuple[str, ...] = ("REGION", "STATUS", "RULE'S UPSTREAM", "CREDENTIAL SECRET", "CREATION TEMPLATE")
    cells = [header, *((r.region, r.status, r.upstream, r.secret, r.template) for r in rows)]
    if accounts is not None:
        cells = [(a, *row[:2], *row[3:]) for a, row in zip(["ACCOUNT", *accounts], cells, strict=True)]
        header = cells[0]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells)


def next_steps() -> str:
    """What to try after the demo: the local API, the CLI, the README and docs/."""
    api = f"http://127.0.0.1:{port_from_env(API_PORT_ENV, 3000)}"
    cli = ".venv/bin/pullthrough"
    return "\n".join(
        [
            "Next:",
            f"  make local             the API on {api} (state in memory), the emulator beside it; then:",
            f"  export PULLTHROUGH_API_URL={api}",
            f"  {cli} plan -f events/rule_request_quay.json           what a rollout would change",
            f"  {cli} apply -f events/rule_request_docker_hub.json --wait",
            f"  {cli} rules         {cli} delete docker-hub --wait",
            "  README.md, then docs/deploy.md, docs/cli.md, docs/operating.md: deploying, calling the API, day 2",
        ]
    )


def wait_rollout(api: str, rollout_id: str, timeout: float) -> dict[str, Any]:
    """Poll GET /rollouts/{id} until it leaves RUNNING (TimeoutError after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        status, view = call(api, "GET", f"/rollouts/{quote(rollout_id, safe='')}")
        if status != 200:
            raise RuntimeError(f"GET /rollouts/{rollout_id} -> {status}: {view}")
        if view["status"] != "RUNNING":
            return dict(view)
        if time.monotonic() > deadline:
            raise TimeoutError(f"rollout {rollout_id} still RUNNING after {timeout:.0f} s")
        time.sleep(0.25)


def run(stack: EmbeddedStack) -> int:
    body = sample_request()
    regions = list(body.get("regions", []))
    print(f"emulator {stack.endpoint_url}   API {stack.api_url}   registry http://127.0.0.1:{stack.registry_port}")
    print(f"POST /rules  {body.get('upstreamRegistry')} rule to {len(regions)} regions: {', '.join(regions)}")
    print("             (a placeholder credential, the one the local upstream registries accept)")
    started = time.monotonic()
    status, answer = call(stack.api_url, "POST", "/rules", body)
    if status != 202:
        print(f"POST /rules -> {status}: {answer}", file=sys.stderr)
        return 1
    rollout_id, prefix = answer["rolloutId"], answer.get("prefix") or body.get("ecrRepositoryPrefix")
    print(f"rollout {rollout_id} {answer['status']} ...", flush=True)
    view = wait_rollout(stack.api_url, rollout_id, TIMEOUT_SECONDS)
    elapsed = time.monotonic() - started
    prefix = str(view.get("prefix") or prefix)
    rows = [
        inspect_region(stack, region, view["regions"].get(region, {}).get("status", "?"), prefix) for region in regions
    ]
    print()
    print(table(rows))
    print()
    for region, entry in sorted(view["regions"].items()):
        if entry.get("error"):
            error = entry["error"]
            print(f"  {region}: {entry.get('step')} failed: {error.get('type')}: {error.get('message')}")
    if view["status"] != "SUCCEEDED":
        print(f"{view['status']} after {elapsed:.1f} s")
        return 1
    if stack.iam_denials:  # the app may have retried or swallowed them: template.yaml lacks a grant all the same
        print("\n".join(sorted(set(stack.iam_denials))), file=sys.stderr)
        return 1
    missing = [row.region for row in rows if not row.ok]
    if missing:
        print(f"SUCCEEDED, but the emulator lacks the rule, secret or template in: {', '.join(missing)}")
        return 1
    print(f"SUCCEEDED in {elapsed:.1f} s: rule, secret and creation template in all {len(rows)} regions")
    if stack.region in regions and pull_through(stack, prefix) != 0:
        return 1
    if run_across_accounts(stack, body, regions[:2]) != 0:
        return 1
    if stack.iam is not None:
        print("every AWS call the handlers made was allowed by their own function's policies in template.yaml")
    print()
    print(next_steps())
    return 0


def pull_through(stack: EmbeddedStack, prefix: str) -> int:
    """Pull ``<prefix>/library/alpine:3.20`` through the home region's cache with skopeo, as a user would."""
    image = f"{prefix}/library/alpine:3.20"
    skopeo = shutil.which("skopeo")
    if skopeo is None or stack.registries is None:
        print(f"not pulled: skopeo is not installed (apt-get install -y skopeo), so {image} was not pulled")
        return 0
    token = stack.client("ecr").get_authorization_token()["authorizationData"][0]["authorizationToken"]
    creds = base64.b64decode(token).decode()  # AWS:<password>, what `aws ecr get-login-password` prints after AWS:
    address = stack.registries.url.removeprefix("http://")
    done = subprocess.run(  # noqa: S603 - skopeo from PATH, arguments made here
        [skopeo, "inspect", "--tls-verify=false", "--creds", creds, f"docker://{address}/{image}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        print(f"pulling {image} through the cache failed: {done.stderr.strip()}", file=sys.stderr)
        return 1
    digest = json.loads(done.stdout)["Digest"]
    print(f"pulled {image} through the cache (skopeo, {address}):")
    print(f"  {digest}")
    return 0


def run_across_accounts(stack: EmbeddedStack, body: dict[str, Any], regions: list[str]) -> int:
    """The same upstream under another prefix, to every account of the local organization's OU ``workloads``."""
    org = stack.organization
    if org is None:
        return 0
    unit = org.ous["workloads"]
    request = body | {"ecrRepositoryPrefix": "org/docker-hub", "regions": regions, "organizationalUnits": [unit]}
    print()
    print(f"POST /rules  org/docker-hub to the accounts of OU workloads ({unit}) x {', '.join(regions)}")
    started = time.monotonic()
    status, answer = call(stack.api_url, "POST", "/rules", request)
    if status != 202:
        print(f"POST /rules -> {status}: {answer}", file=sys.stderr)
        return 1
    view = wait_rollout(stack.api_url, answer["rolloutId"], TIMEOUT_SECONDS)
    elapsed = time.monotonic() - started
    targets = view.get("targets") or []
    rows = [inspect_region(stack, t["region"], t["status"], "org/docker-hub", t["account"]) for t in targets]
    print(table(rows, [t["account"] for t in targets]))
    accounts = {t["account"] for t in targets}
    if view["status"] != "SUCCEEDED" or not all(row.ok for row in rows):
        print(f"{view['status']} after {elapsed:.1f} s")
        return 1
    print(
        f"SUCCEEDED in {elapsed:.1f} s: {len(accounts)} accounts x {len(regions)} regions, each through its "
        "PullthroughExecutionRole (a child execution per account)"
    )
    return 0


def main() -> int:
    try:
        aws_port = port_from_env(AWS_PORT_ENV, 0)
        api_port = port_from_env(API_PORT_ENV, 0)
        level = os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING")  # the functions' own logs: quiet by default
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # and their metric lines (EMF on stdout)
        with EmbeddedStack(aws_port=aws_port, api_port=api_port, parameters={"LogLevel": level}) as stack:
            return run(stack)
    except (StackError, TemplateError) as error:
        print(f"demo: {error}", file=sys.stderr)
        return 2
    except (TimeoutError, RuntimeError) as error:
        print(f"demo: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
