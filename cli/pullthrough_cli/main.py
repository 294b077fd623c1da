"""``pullthrough``: apply, plan, status, rules, delete and pull-test against the rules API, deployed or ``make local``."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

import click

from pullthrough_cli import endpoint
from pullthrough_cli.errors import INTERRUPTED, ROLLOUT_DID_NOT_SUCCEED, ApiError, CliError

# The CLI starts in well under half a second because --help, usage errors and each command import only what they
# use: botocore (a second on its own) only to sign or to read --stack, rich only to draw.
if TYPE_CHECKING:
    from rich.console import Console

    from pullthrough_cli.client import Api

JSON_HELP = "Print the API's JSON (for scripts) instead of tables."
EPILOG = f"""\b
Endpoint: --api-url URL, else ${endpoint.API_URL_ENV}, else --stack NAME (its ApiUrl output).
Requests to a loopback URL (make local) are unsigned; any other is signed with SigV4 from the
normal AWS credential chain (AWS_PROFILE/--profile, SSO, environment, roles; session tokens too).
\b
--json (before or after the command) prints the API's JSON instead of tables, errors included.
\b
Exit codes: 0 done (the rollout SUCCEEDED, or the plan is PLANNED); 1 the rollout FAILED or was
ROLLED_BACK, --timeout passed, or a delete was not confirmed; 2 bad usage or rule file; 3 the API
refused the request or could not be reached."""


@dataclass
class Settings:
    """The global options; the API client is built on first use (``--help`` needs no endpoint)."""

    api_url: str | None
    stack: str | None
    region: str | None
    profile: str | None
    as_json: bool
    _api: Api | None = None
    _console: Console | None = None

    def api(self) -> Api:
        if self._api is None:
            from botocore.session import Session

            from pullthrough_cli.client import Api, Signer

            session = Session(profile=self.profile)
            url = endpoint.resolve(self.api_url, self.stack, session, self.region)
            self._api = Api(url, Signer.for_url(url, session, self.region))
        return self._api

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(highlight=False, markup=False, emoji=False, soft_wrap=True)
        return self._console


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CliError as error:
            settings = ctx.find_object(Settings)
            _report(error, settings.as_json if settings else False)
            ctx.exit(error.exit_code)


def _report(error: CliError, as_json: bool) -> None:
    """The error, once: as one JSON document on stdout with --json, else on stderr with each field error that the
    first line does not already say."""
    if as_json:
        shown = {"status": error.status, **error.body} if isinstance(error, ApiError) else {"message": error.message}
        click.echo(json.dumps({"error": shown}, indent=2))
        return
    click.secho(f"error: {error.message}", err=True, fg="red")
    if isinstance(error, ApiError):
        for item in error.errors:
            line = f"{item.get('field')}: {item.get('message')}"
            if line != error.body.get("message"):
                click.echo(f"  {line}", err=True)
        if error.status == 409 and error.rollout_id:
            click.echo(f"  follow the running rollout: pullthrough status {error.rollout_id} --wait", err=True)


@click.group(cls=_Group, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pullthrough-cli")
@click.option("--api-url", metavar="URL", help=f"The rules API's base URL (default: ${endpoint.API_URL_ENV}).")
@click.option("--stack", metavar="NAME", help="A deployed pullthrough stack: its ApiUrl output is the API.")
@click.option("--region", metavar="REGION", help="Region of --stack (and of the API when its URL does not say).")
@click.option("--profile", metavar="PROFILE", help="AWS profile to sign with (default: the normal chain).")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.pass_context
def cli(
    ctx: click.Context, api_url: str | None, stack: str | None, region: str | None, profile: str | None, as_json: bool
) -> None:
    """Roll Amazon ECR pull-through cache rules out to many regions, all or nothing."""
    ctx.obj = Settings(api_url, stack, region, profile, as_json)


pass_settings = click.make_pass_decorator(Settings)


def _json_anywhere(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    settings = ctx.find_object(Settings)
    if value and settings is not None:
        settings.as_json = True


# ``--json`` after the command too (``pullthrough status r-1 --json``), as before it.
json_option = click.option("--json", is_flag=True, expose_value=False, callback=_json_anywhere, help=JSON_HELP)


def read_rule(source: IO[str]) -> Any:
    """The rule request in ``source`` (a JSON file, or - for standard input)."""
    try:
        return json.load(source)
    except ValueError as error:
        raise click.BadParameter(f"{source.name} is not JSON: {error}", param_hint="-f/--file") from None


def wait_options(fn: Any) -> Any:
    """--interval and --timeout, for the commands that wait for a rollout."""
    fn = click.option(
        "--interval",
        type=click.FloatRange(min=0.1),
        default=1.0,
        show_default=True,
        help="Seconds between status polls.",
    )(fn)
    return click.option(
        "--timeout",
        type=click.FloatRange(min=1),
        metavar="SECONDS",
        help="Stop waiting after this long (exit 1; the rollout goes on).",
    )(fn)


def watch(settings: Settings, started: dict[str, Any], interval: float, timeout: float | None) -> dict[str, Any]:
    """Follow a started rollout to its end, showing each region's progress; the final view."""
    from pullthrough_cli.client import follow
    from pullthrough_cli.render import Progress, rollout_table, targets_summary

    rollout_id = str(started["rolloutId"])
    began = time.monotonic()
    final = started
    views = follow(settings.api(), rollout_id, interval=interval, timeout=timeout)
    try:
        if settings.as_json:
            for view in views:
                final = view
            return final
        console = settings.console
        console.print(
            f"{_kind(started)} {rollout_id} started: prefix {started.get('prefix')}, {targets_summary(started)}"
        )
        with Progress(console) as progress:
            for final in views:
                progress.update(final)
    except KeyboardInterrupt:
        raise CliError(
            f"stopped waiting; the rollout goes on: pullthrough status {rollout_id} --wait", INTERRUPTED
        ) from None
    console.print(rollout_table(final))
    console.print(f"{_kind(final)} {rollout_id} {final.get('status')} after {time.monotonic() - began:.1f} s")
    return final


def _kind(view: dict[str, Any]) -> str:
    return "plan" if view.get("mode") == "PLAN" else "rollout"


def finish(settings: Settings, view: dict[str, Any], success: str) -> None:
    """Print ``view`` as JSON when asked; exit 1 unless it ended ``success``."""
    if settings.as_json:
        click.echo(json.dumps(view, indent=2))
    if view.get("status") != success:
        raise click.exceptions.Exit(ROLLOUT_DID_NOT_SUCCEED)


def started_only(settings: Settings, started: dict[str, Any]) -> None:
    """A rollout started without --wait: say how to follow it."""
    if settings.as_json:
        click.echo(json.dumps(started, indent=2))
        return
    from pullthrough_cli.render import rollout_table

    settings.console.print(rollout_table(started))
    settings.console.print(f"follow it: pullthrough status {started['rolloutId']} --wait")


@cli.command()
@click.option("-f", "--file", "rule_file", type=click.File("r"), required=True, help="The rule request (JSON).")
@click.option("--wait", is_flag=True, help="Show each region's progress until the rollout ends.")
@click.option("--idempotency-key", metavar="KEY", help="Send it again with the same key: the same rollout answers.")
@click.option("--plan", "dry_run", is_flag=True, help="Only show what FILE would change (as pullthrough plan).")
@wait_options
@json_option
@pass_settings
def apply(
    settings: Settings,
    rule_file: IO[str],
    wait: bool,
    idempotency_key: str | None,
    dry_run: bool,
    interval: float,
    timeout: float | None,
) -> None:
    """Roll the rule in FILE out (POST /rules): the file is the prefix's whole desired state."""
    if dry_run:
        return _plan(settings, rule_file, interval, timeout)
    started = settings.api().apply(read_rule(rule_file), idempotency_key=idempotency_key)
    if not wait:
        return started_only(settings, started)
    finish(settings, watch(settings, started, interval, timeout), "SUCCEEDED")


@cli.command()
@click.option("-f", "--file", "rule_file", type=click.File("r"), required=True, help="The rule request (JSON).")
@wait_options
@json_option
@pass_settings
def plan(settings: Settings, rule_file: IO[str], interval: float, timeout: float | None) -> None:
    """Show what applying FILE would change in each region, changing nothing (POST /rules?dryRun=true)."""
    _plan(settings, rule_file, interval, timeout)


def _plan(settings: Settings, rule_file: IO[str], interval: float, timeout: float | None) -> None:
    started = settings.api().apply(read_rule(rule_file), plan=True)
    finish(settings, watch(settings, started, interval, timeout), "PLANNED")


@cli.command()
@click.argument("rollout_id")
@click.option("--wait", is_flag=True, help="Follow it until it ends (exit 0 only when it SUCCEEDED or is PLANNED).")
@wait_options
@json_option
@pass_settings
def status(settings: Settings, rollout_id: str, wait: bool, interval: float, timeout: float | None) -> None:
    """Show a rollout: its status and each region's (each account's, when it reaches several)."""
    view = settings.api().rollout(rollout_id)
    if wait and view.get("status") == "RUNNING":
        view = watch(settings, view, interval, timeout)
    elif not settings.as_json:
        from pullthrough_cli.render import rollout_table

        settings.console.print(rollout_table(view))
    if wait:
        finish(settings, view, "PLANNED" if view.get("mode") == "PLAN" else "SUCCEEDED")
    elif settings.as_json:
        click.echo(json.dumps(view, indent=2))


@cli.command()
@click.argument("prefix", required=False)
@json_option
@pass_settings
def rules(settings: Settings, prefix: str | None) -> None:
    """List the desired rules and how each one's last rollout ended, failed or not; or show the one for PREFIX."""
    from pullthrough_cli.render import rule_table, rules_table

    if prefix:
        rule = settings.api().rule(prefix)
        if settings.as_json:
            click.echo(json.dumps(rule, indent=2))
        else:
            settings.console.print(rule_table(rule))
        return
    found = settings.api().rules()
    if settings.as_json:
        click.echo(json.dumps({"rules": found}, indent=2))
    else:
        settings.console.print(rules_table(found))


@cli.command()
@click.argument("prefix")
@click.option("--wait", is_flag=True, help="Show each region's progress until the removal ends.")
@click.option("--plan", "dry_run", is_flag=True, help="Only show what would be removed (DELETE ...?dryRun=true).")
@click.option(
    "-y", "--yes", is_flag=True, help="Do not ask before deleting (not asked either when stdin is no terminal)."
)
@wait_options
@json_option
@pass_settings
def delete(
    settings: Settings, prefix: str, wait: bool, dry_run: bool, yes: bool, interval: float, timeout: float | None
) -> None:
    """Remove PREFIX's rule, template and secret from every region pullthrough wrote them to."""
    if not (yes or dry_run) and interactive():
        question = f"Delete the rule {prefix} from every region and account pullthrough wrote it to?"
        if not click.confirm(question, default=False, err=True):
            raise CliError("nothing deleted", ROLLOUT_DID_NOT_SUCCEED)
    started = settings.api().delete(prefix, plan=dry_run)
    if not (wait or dry_run):
        return started_only(settings, started)
    finish(settings, watch(settings, started, interval, timeout), "PLANNED" if dry_run else "SUCCEEDED")


@cli.command("pull-test")
@click.argument("prefix")
@click.argument("image")
@json_option
@pass_settings
def pull_test(settings: Settings, prefix: str, image: str) -> None:
    """Pull IMAGE (REPOSITORY:TAG, e.g. library/alpine:3.20) through PREFIX's rule in every target, now."""
    from pullthrough_cli.pull_test import failed, pull_test_table

    result = settings.api().pull_test(prefix, image)
    if settings.as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        settings.console.print(pull_test_table(result))
    if failed(result):
        raise click.exceptions.Exit(ROLLOUT_DID_NOT_SUCCEED)


def interactive() -> bool:
    """Whether a person can answer a question: standard input is a terminal."""
    return sys.stdin.isatty()


def main() -> None:
    """The console script."""
    cli()


from pullthrough_cli.rotate import rotate  # noqa: E402 - its own module; it uses the helpers above

cli.add_command(rotate)
