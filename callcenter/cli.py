"""The `callcenter` command: thin shells around the domain functions."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from callcenter.config import ConfigError, load_settings
from callcenter.users.models import Role, Scope


def _settings():
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def _sessionmaker(settings):
    from callcenter.db import make_engine, make_sessionmaker
    return make_sessionmaker(make_engine(settings.database_url))


@click.group()
def main() -> None:
    """Call-center and service desk for Asterisk."""
    from callcenter.logredact import install_redaction
    install_redaction()  # every process: no token or password from a URL in any log


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply the Alembic migrations up to REVISION."""
    from callcenter.migrate import upgrade
    settings = _settings()
    upgrade(settings.database_url, revision=revision)
    click.echo(f"database at {revision}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=None, type=click.IntRange(min=2), envvar="SERVE_THREADS",
              help="Worker threads: one per connected browser, and some for pages "
                   "[default: 1000].")
@click.option("--access-log", is_flag=True, envvar="SERVE_ACCESS_LOG",
              help="Log every request (off by default).")
def serve(host: str, port: int, threads: int | None, access_log: bool) -> None:
    """Run the web application (pages, REST API, Socket.IO live updates) under gunicorn.

    One process; for more, run several behind a proxy with sticky sessions
    (docker-compose.yml). SIGTERM stops gracefully, SIGINT at once.
    """
    from callcenter.serving import DEFAULT_THREADS, ServeOptions
    from callcenter.serving import serve as run_server
    run_server(_settings(), ServeOptions(host=host, port=port,
                                         threads=threads or DEFAULT_THREADS,
                                         access_log=access_log))


@main.group()
def users() -> None:
    """User accounts."""


@users.command("create")
@click.option("--username", required=True)
@click.option("--password", required=True,
              help="At least 10 characters; not a common password, not containing the "
                   "username.")
@click.option("--role", required=True,
              type=click.Choice([role.value for role in Role]))
@click.option("--department", default=None, help='Department path, e.g. "Service/Beijing".')
@click.option("--interface", default=None, help="PBX member interface, e.g. PJSIP/1001.")
@click.option("--scope", default=None,
              type=click.Choice([scope.value for scope in Scope]),
              help="Access scope (default depends on the role).")
@click.option("--display-name", default="")
@click.option("--print-token", is_flag=True, help="Print a new API token as the last line.")
def users_create(username, password, role, department, interface, scope, display_name,
                 print_token) -> None:
    """Create a user."""
    from callcenter.db import session_scope
    from callcenter.users.services import UserError, create_user, issue_api_token
    settings = _settings()
    try:
        with session_scope(_sessionmaker(settings)) as session:
            user = create_user(session, username=username, password=password, role=role,
                               department=department, interface=interface, scope=scope,
                               display_name=display_name)
            token = issue_api_token(session, user) if print_token else None
            click.echo(f"created user {user.username} (id {user.id}, role {user.role.value}, "
                       f"scope {user.scope.value})")
    except UserError as exc:
        raise click.ClickException(str(exc)) from exc
    if token:
        click.echo(token)


@users.command("unlock")
@click.argument("username")
def users_unlock(username: str) -> None:
    """Let USERNAME log in again at once: clears the account's wrong-password count and
    wait, and the login throttle's counters for it from every address."""
    from callcenter.db import make_engine, make_sessionmaker, session_scope
    from callcenter.jobs import redis_connection
    from callcenter.login_throttle import clear_account
    from callcenter.users.services import unlock
    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            user = unlock(session, username)
    finally:
        engine.dispose()
    counters = clear_account(redis_connection(settings), username)
    if user is None:
        raise click.ClickException(f"no user {username!r} (throttle counters cleared: "
                                   f"{counters})")
    click.echo(f"unlocked {username} (throttle counters cleared: {counters})")


@main.command("demo")
@click.option("--logins/--no-logins", default=True, show_default=True,
              help="Print the demo logins (the quick start prints them once the product "
                   "answers instead).")
def demo_cmd(logins: bool) -> None:
    """Load the demo data (idempotent) and print the demo logins."""
    from callcenter.db import session_scope
    from callcenter.demo import demo_caller_ids, format_logins, load_demo
    from callcenter.run import demo_callers_file
    from kb.demo import load_demo_kb
    from repairs.demo import load_demo_repairs
    from tickets.demo import load_demo_tickets
    settings = _settings()
    with session_scope(_sessionmaker(settings)) as session:
        result = load_demo(session)
        tickets = load_demo_tickets(session, settings)
        repairs = load_demo_repairs(session, settings)
        knowledge = load_demo_kb(session)
        callers = demo_caller_ids(session)
    # The quick start's PBX simulator calls in as these (callcenter run passes the file).
    demo_callers_file(settings).write_text("\n".join(callers) + "\n", encoding="utf-8")
    click.echo(f"demo data: {result.users_created} users, {result.customers_created} "
               f"customers, {result.products_created} installed products, {tickets} tickets, "
               f"{repairs} repair orders, {knowledge.created} knowledge-base entries added "
               f"({result.customers_total} demo customers in all)")
    if logins:
        click.echo("demo logins:")
        click.echo(format_logins())


@main.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--show-demo-logins", is_flag=True,
              help="Print the demo logins once the web server answers.")
@click.option("--simulator/--no-simulator", default=True, show_default=True,
              help="Start the PBX simulator (off when a real Asterisk is at AMI_HOST).")
def run_cmd(host: str, port: int, show_demo_logins: bool, simulator: bool) -> None:
    """Run the whole product in the foreground (PBX simulator, web server, worker and
    telephony bridge); Ctrl-C stops it."""
    from callcenter.run import run_product
    note = ""
    if show_demo_logins:
        from callcenter.demo import format_logins
        note = "demo logins:\n" + format_logins()
    sys.exit(run_product(_settings(), host=host, port=port, ready_note=note,
                         simulator=simulator))


@main.command("worker")
@click.option("--burst", is_flag=True, help="Quit once the queues are empty.")
@click.option("--with-scheduler", is_flag=True,
              help="Also run the scheduler: delayed and retried jobs, and the periodic "
                   "jobs (scheduled at start, idempotently: any number of such workers).")
def worker_cmd(burst: bool, with_scheduler: bool) -> None:
    """Run a background worker on the "default" and "imports" queues."""
    import logging

    from callcenter.jobs import run_worker
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        run_worker(burst=burst, with_scheduler=with_scheduler, settings=_settings())
    except ConfigError as exc:  # SLA_ESCALATION is read when the worker starts
        raise click.ClickException(str(exc)) from exc


@main.command("import")
@click.argument("kind", type=click.Choice(["customers", "contacts", "products"]))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as-user", "username", default=None,
              help="Import as this user (their permission and scope apply, and the "
                   "history names them). Default: the operator, unrestricted.")
@click.option("--errors-out", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              default=None, help="Write every rejected row (line, field, message, code) to this "
                   "CSV.")
@click.option("--show-errors", default=20, show_default=True,
              help="How many rejected rows to print.")
def import_cmd(kind: str, file: Path, username: str | None, errors_out: Path | None,
               show_errors: int) -> None:
    """Import a CSV FILE of customers, contacts or products (upsert by external_id).

    Bad rows are reported with their line numbers and skipped; the exit status is
    non-zero only when the file as a whole is unusable.
    """
    from callcenter.db import make_engine, make_sessionmaker
    from callcenter.imports.cli import run_import_command
    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        run_import_command(settings, make_sessionmaker(engine), kind, file, username=username,
                           errors_out=errors_out, show_errors=show_errors)
    finally:
        engine.dispose()


@main.command("simulate")
@click.option("--ami-host", default="127.0.0.1", show_default=True)
@click.option("--ami-port", default=5038, show_default=True, type=int,
              help="AMI port to listen on (0: any free port, printed at start).")
@click.option("--username", default="bridge", show_default=True, envvar="AMI_USERNAME")
@click.option("--secret", default="bridgesecret", show_default=True, envvar="AMI_SECRET")
@click.option("--rate", default=1.0, show_default=True, type=float,
              help="Poisson arrivals, calls per second (0: only AMI Originate).")
@click.option("--queues", default=None,
              help='e.g. "support:ringall=1-3;repairs:rrmemory=4,5" (default: support with '
                   "every agent).")
@click.option("--agents", default=5, show_default=True, type=int)
@click.option("--strategy", default="ringall", show_default=True,
              type=click.Choice(["ringall", "rrmemory"]))
@click.option("--agi-host", default=None, help="Call this FastAGI server as Asterisk does.")
@click.option("--agi-port", default=4573, show_default=True, type=int)
@click.option("--seed", default=None, type=int, help="Reproducible traffic.")
@click.option("--duration", default=None, type=float, help="Generate calls for S seconds.")
@click.option("--max-calls", default=None, type=int)
@click.option("--talk-time", default="3-12", show_default=True, help="Seconds, LOW-HIGH.")
@click.option("--answer-delay", default="1-5", show_default=True, help="Seconds, LOW-HIGH.")
@click.option("--no-answer-prob", default=0.0, show_default=True, type=float)
@click.option("--abandon-prob", default=0.1, show_default=True, type=float)
@click.option("--patience", default="2-30", show_default=True, help="Seconds, LOW-HIGH.")
@click.option("--queue-timeout", default=60.0, show_default=True, type=float)
@click.option("--transfer-prob", default=0.0, show_default=True, type=float)
@click.option("--caller-hangup-prob", default=0.2, show_default=True, type=float)
@click.option("--hostile-share", default=0.3, show_default=True, type=float,
              help="Share of callers from the hostile caller-ID list.")
@click.option("--callers", default=None, type=click.Path(exists=True, dir_okay=False),
              help='Draw ordinary callers from this file (one \'"Name" <number>\' a line).')
@click.option("--ring-timeout", default=15.0, show_default=True, type=float)
@click.option("--retry", default=2.0, show_default=True, type=float)
@click.option("--wrapup", default=2.0, show_default=True, type=float)
@click.option("--quiet-dialplan", is_flag=True, help="No VarSet/Newexten events.")
@click.option("--queue-log", default=None, type=click.Path(dir_okay=False),
              help="Append app_queue's queue_log lines to this file.")
def simulate_cmd(**options) -> None:
    """Run a PBX simulator that speaks AMI (and FastAGI) like Asterisk 22."""
    from telephony.simulator.cli import run as run_simulator
    run_simulator(options)


@main.group()
def deploy() -> None:
    """Deployment helpers (docker compose)."""


@deploy.command("init-env")
@click.option("--path", "path", default=".env", show_default=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="The .env file beside docker-compose.yml.")
def deploy_init_env(path: Path) -> None:
    """Write a .env with generated secrets (POSTGRES_PASSWORD, REDIS_PASSWORD,
    AMI_SECRET, SECRET_KEY). An existing file is never overwritten: only the secrets it
    lacks are added."""
    from callcenter.deploy_env import init_env
    result = init_env(path)
    if result.created:
        click.echo(f"wrote {path} with {', '.join(result.added)} (mode 600)")
        return
    if result.added:
        click.echo(f"{path} exists; added {', '.join(result.added)}; kept "
                   f"{', '.join(result.kept) or 'nothing'} as they were")
        if "POSTGRES_PASSWORD" in result.added:
            click.echo("note: a PostgreSQL volume created before keeps its old password; "
                       "see the README (Production) to change it", err=True)
    else:
        click.echo(f"{path} exists and has every secret; nothing changed")


@main.command("bridge")
def bridge_cmd() -> None:
    """Run the telephony bridge: AMI client, FastAGI server, screen pops, call log.

    Reads AMI_HOST, AMI_PORT, AMI_USERNAME, AMI_SECRET, AGI_HOST and AGI_PORT besides
    DATABASE_URL and REDIS_URL. Only one bridge per PBX is active; another one started
    against the same Redis waits as a standby and takes over when the first dies.
    """
    from callcenter.bridge.main import main as run_bridge_main
    from callcenter.bridge.settings import load_bridge_settings
    settings = _settings()
    try:
        bridge_settings = load_bridge_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    sys.exit(run_bridge_main(settings, bridge_settings))


@main.group("dead-letters")
def dead_letters() -> None:
    """What the bridge could not write after a long outage (see /healthz)."""


@dead_letters.command("list")
def dead_letters_list() -> None:
    """Print each kept item: when, which worker, what kind, the error."""
    from datetime import UTC, datetime

    from callcenter.bridge.dead_letters import read_dead_letters
    items = read_dead_letters(_settings().instance_path)
    for entry in items:
        at = entry.get("at")
        when = datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds") \
            if isinstance(at, int | float) else "?"
        click.echo(f"{when}  {entry.get('worker', '?')}  {entry.get('kind', '?')}  "
                   f"{entry.get('error', '')}  ({entry['file']}:{entry['line']})")
    click.echo(f"{len(items)} kept")


@dead_letters.command("replay")
def dead_letters_replay() -> None:
    """Write the kept call-log rows back (idempotent), then archive the files."""
    from callcenter.bridge.dead_letters import archive_dead_letters, replay_dead_letters
    from callcenter.db import session_scope
    settings = _settings()
    with session_scope(_sessionmaker(settings)) as session:
        counts = replay_dead_letters(session, settings.instance_path,
                                     region=settings.default_phone_region)
    archive_dead_letters(settings.instance_path)
    click.echo(f"{counts['replayed']} call-log rows written again, {counts['kept_only']} "
               f"stale live updates archived, {counts['unreadable']} unreadable lines")


def run() -> None:  # pragma: no cover - console entry for `python -m callcenter`
    sys.exit(main())


def _add_domain_commands() -> None:
    from kb.cli import kb_group
    main.add_command(kb_group)


_add_domain_commands()
