"""The `callcenter` command: thin shells around the domain functions."""

from __future__ import annotations

import sys

import click

from callcenter.config import ConfigError, load_settings


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
def serve(host: str, port: int) -> None:
    """Run the web application."""
    from werkzeug.serving import run_simple

    from callcenter.app import create_app
    app = create_app(_settings())
    run_simple(host, port, app, threaded=True, use_reloader=False)


@main.group()
def users() -> None:
    """User accounts."""


@users.command("create")
@click.option("--username", required=True)
@click.option("--password", required=True, help="At least 8 characters.")
@click.option("--role", required=True,
              type=click.Choice(["agent", "technician", "supervisor", "admin"]))
@click.option("--department", default=None, help='Department path, e.g. "Service/Beijing".')
@click.option("--interface", default=None, help="PBX member interface, e.g. PJSIP/1001.")
@click.option("--scope", default=None,
              type=click.Choice(["own", "related", "department", "all"]),
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


def run() -> None:  # pragma: no cover - console entry for `python -m callcenter`
    sys.exit(main())
