"""``pullthrough rotate PREFIX``: a new upstream token for a rule with inline credentials, rolled out all or nothing.

The token is read from a file or standard input, never from the command line (where shell history and the process
list would keep it). The rule's whole desired state comes from GET /rules/PREFIX; only the credentials change.
"""

from __future__ import annotations

from typing import IO, Any

import click

from pullthrough_cli.errors import USAGE, CliError

SOURCE_SECRETS = ":secret:ecr-pullthroughcache/_source/"  # where pullthrough keeps inline credentials
RULE_FIELDS = ("upstreamRegistry", "ecrRepositoryPrefix", "upstreamRegistryUrl", "upstreamRepositoryPrefix")
WHERE_FIELDS = ("regions", "accounts", "organizationalUnits", "retainOnAccountRemoval", "creationTemplate", "smokePull")


def read_token(source: IO[str]) -> str:
    """The token in ``source``: its first line, without the line end; CliError when there is none."""
    token = source.readline().rstrip("\r\n")
    if not token:
        raise CliError(f"{getattr(source, 'name', 'the token file')} holds no token (its first line is empty)", USAGE)
    return token


def rotation_request(rule: dict[str, Any], username: str, token: str, expires_at: str | None) -> dict[str, Any]:
    """The rule request that rolls ``rule`` (as GET /rules/PREFIX shows it) out again with new credentials."""
    if SOURCE_SECRETS not in str(rule.get("sourceSecretArn") or ""):
        raise CliError(
            f"rule {rule.get('prefix')} does not keep inline credentials: put the new token in its secret "
            f"({rule.get('sourceSecretArn') or 'none'}); pullthrough rolls the change out by itself",
            USAGE,
        )
    desired = rule.get("rule") or {}
    body = {key: desired[key] for key in RULE_FIELDS if desired.get(key) is not None}
    body |= {key: rule[key] for key in WHERE_FIELDS if key in rule and rule[key] is not None}
    if "creationTemplate" not in body:
        body["creationTemplate"] = None  # the rule skips the template step: keep it so
    credentials = {"username": username, "accessToken": token}
    body["credentials"] = credentials | ({"expiresAt": expires_at} if expires_at else {})
    return body


@click.command()
@click.argument("prefix")
@click.option("--username", required=True, help="The upstream user name the token belongs to.")
@click.option(
    "--token-file",
    type=click.File("r"),
    required=True,
    help="A file whose first line is the new token (- for standard input). Never give the token itself.",
)
@click.option("--expires-at", metavar="ISO8601", help="When the new token expires (GET /rules counts the days).")
@click.option("--wait", is_flag=True, help="Show each region's progress until the rollout ends.")
@click.option(
    "--interval", type=click.FloatRange(min=0.1), default=1.0, show_default=True, help="Seconds between polls."
)
@click.option("--timeout", type=click.FloatRange(min=1), metavar="SECONDS", help="Stop waiting after this long.")
@click.pass_obj
def rotate(
    settings: Any,
    prefix: str,
    username: str,
    token_file: IO[str],
    expires_at: str | None,
    wait: bool,
    interval: float,
    timeout: float | None,
) -> None:
    """Roll a new token for PREFIX's inline credentials out to every target, all or nothing."""
    from pullthrough_cli.main import finish, started_only, watch  # main registers this command

    token = read_token(token_file)
    api = settings.api()
    started = api.apply(rotation_request(api.rule(prefix), username, token, expires_at))
    if not wait:
        return started_only(settings, started)
    finish(settings, watch(settings, started, interval, timeout), "SUCCEEDED")
