"""The deployment files stay true to the code: docker-compose.yml against the CLI and
the settings, deploy/asterisk against the queues, the bridge and the demo users.

No Docker engine runs here, so these check what can be checked without one.
"""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import click
import pytest
from compose_support import interpolate, load_compose, service_env

from callcenter.cli import main as cli
from callcenter.config import load_settings
from callcenter.demo import LOGINS

ROOT = Path(__file__).resolve().parent.parent
ASTERISK = ROOT / "deploy" / "asterisk"
HAPROXY_CFG = ROOT / "deploy" / "haproxy" / "haproxy.cfg"
#: Services whose `callcenter` command comes with a later issue. When it lands, the
#: test below fails until the name is taken off this list.
PLANNED_COMMANDS: set[str] = set()
APP_SERVICES = ("migrate", "web", "worker", "bridge")


#: A .env as `callcenter deploy init-env` writes it (the secrets compose requires).
DOT_ENV = {"POSTGRES_PASSWORD": "pg-secret-0123456789", "REDIS_PASSWORD": "redis-secret-0123",
           "AMI_SECRET": "ami-secret-0123456789", "SECRET_KEY": "secret-key-0123456789"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_compose()


def _tls_config(tmp_path: Path) -> Path:
    """The deployed haproxy.cfg with its certificate folder holding a throwaway one."""
    certs = tmp_path / "certs"
    certs.mkdir()
    subprocess.run(["sh", str(ROOT / "deploy" / "haproxy" / "make-cert.sh"), str(certs)],
                   check=True, capture_output=True, timeout=60)
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(HAPROXY_CFG.read_text().replace("/usr/local/etc/haproxy/certs/",
                                                   f"{certs}/"))
    return cfg


def _resolve(args: list[str]) -> tuple[click.Command, list[str]]:
    """The click command that ``callcenter ARGS`` runs, and the arguments left for it."""
    command: click.Command = cli
    args = list(args)
    while isinstance(command, click.Group) and args and not args[0].startswith("-"):
        name = args.pop(0)
        assert name in command.commands, f"no `{name}` command"
        command = command.commands[name]
    return command, args


def test_every_service_runs_a_command_the_cli_has(compose):
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker", "bridge", "asterisk"} <= set(services)
    for name in APP_SERVICES:
        args = services[name]["command"]
        if args[0] in PLANNED_COMMANDS:
            assert args[0] not in cli.commands, (
                f"`callcenter {args[0]}` exists now: remove it from PLANNED_COMMANDS")
            continue
        command, rest = _resolve(args)
        # Parsing the options the way click will at start catches renamed options.
        ctx = command.make_context(f"callcenter {name}", rest, resilient_parsing=False)
        ctx.close()


def test_bridge_gets_valid_bridge_settings_and_serves_agi_where_asterisk_dials(compose):
    from callcenter.bridge.settings import load_bridge_settings
    settings = load_bridge_settings(service_env(compose, "bridge", DOT_ENV))
    assert (settings.ami_host, settings.ami_port) == ("asterisk", 5038)
    assert settings.ami_secret == DOT_ENV["AMI_SECRET"]
    # Only the compose Asterisk may use FastAGI.
    asterisk_ip = compose["services"]["asterisk"]["networks"]["pbx"]["ipv4_address"]
    assert settings.agi_access.allowed_peers == (f"{asterisk_ip}/32",)
    assert settings.agi_host == "0.0.0.0"  # noqa: S104 - inside the container
    assert str(settings.agi_port) in compose["services"]["bridge"]["expose"]
    extensions = (ASTERISK / "extensions.conf").read_text()
    assert f"bridge:{settings.agi_port}" in extensions


def test_the_bridge_reads_the_queue_log_asterisk_writes(compose):
    """The PBX's own record (docs/architecture.md, "Outages"): Asterisk's log volume is
    mounted read-only into the bridge, where PBX_QUEUE_LOG points, and Asterisk is told
    to write its queue_log to a file there."""
    from callcenter.bridge.settings import load_bridge_settings
    settings = load_bridge_settings(service_env(compose, "bridge", DOT_ENV))
    asterisk_logs = next(v for v in compose["services"]["asterisk"]["volumes"]
                         if v.endswith(":/var/log/asterisk"))
    volume = asterisk_logs.split(":")[0]
    bridge_volumes = compose["services"]["bridge"]["volumes"]
    assert f"{volume}:/var/log/asterisk:ro" in bridge_volumes
    assert settings.queue_log_path == "/var/log/asterisk/queue_log"
    logger = _conf(ASTERISK / "logger.conf")["general"]
    assert (logger["queue_log"], logger["queue_log_to_file"], logger["queue_log_name"]) == (
        "yes", "yes", "queue_log")
    # the bridge still shares the instance volume (dead letters, uploads)
    assert any(v.endswith(":/var/lib/callcenter") for v in bridge_volumes)


def test_web_is_scalable_and_the_proxy_publishes_it(compose):
    """`docker compose up --scale web=3`: web binds no host port and has no fixed name;
    the proxy publishes HTTP and HTTPS and finds every replica under the service's name."""
    services = compose["services"]
    web, proxy = services["web"], services["proxy"]
    command, rest = _resolve(web["command"])
    ctx = command.make_context("serve", rest)
    assert (ctx.params["host"], ctx.params["port"]) == ("0.0.0.0", 5000)  # noqa: S104
    assert "ports" not in web and "container_name" not in web
    assert str(ctx.params["port"]) in web["expose"]
    assert not [name for name, service in services.items() if "container_name" in service]

    assert proxy["image"].startswith("haproxy:")
    assert f"./{HAPROXY_CFG.relative_to(ROOT)}:/usr/local/etc/haproxy/haproxy.cfg:ro" \
        in proxy["volumes"]
    assert set(proxy["networks"]) & set(web["networks"])
    assert proxy["depends_on"]["web"]["condition"] == "service_started"
    published = dict(port.split(":") for port in interpolate(proxy["ports"], {}))
    assert published == {"80": "8080", "443": "8443"}  # HTTP (a redirect) and HTTPS

    cfg = HAPROXY_CFG.read_text()
    assert re.search(r"^\s*bind :8080$", cfg, re.M)
    assert re.search(r"^\s*bind :8443 ssl crt /usr/local/etc/haproxy/certs/", cfg, re.M)
    # Every replica, found through docker's DNS under the service's name and port.
    template = re.search(r"^\s*server-template web \S+ (\S+):(\d+) (.*)$", cfg, re.M)
    assert template and template.group(1) == "web"
    assert template.group(2) == str(ctx.params["port"])
    assert "resolvers docker" in template.group(3) and "check" in template.group(3)
    assert re.search(r"^\s*nameserver \w+ 127\.0\.0\.11:53$", cfg, re.M)
    # Sticky sessions: Socket.IO's polling requests of one session reach one process.
    assert re.search(r"^\s*cookie \w+ insert .*\bdynamic\b", cfg, re.M)
    assert re.search(r"^\s*dynamic-cookie-key \S+", cfg, re.M)
    # WebSockets outlive the HTTP timeouts; the tunnel timeout exceeds the ping interval.
    from callcenter.realtime.server import PING_INTERVAL_S
    tunnel = re.search(r"^\s*timeout tunnel (\d+)s$", cfg, re.M)
    assert tunnel and int(tunnel.group(1)) > PING_INTERVAL_S


@pytest.mark.skipif(shutil.which("haproxy") is None or shutil.which("openssl") is None,
                    reason="haproxy or openssl is not installed")
def test_haproxy_accepts_the_proxy_config(tmp_path):
    result = subprocess.run(["haproxy", "-c", "-f", str(_tls_config(tmp_path))],  # noqa: S603,S607
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_app_services_get_valid_settings_and_wait_for_their_dependencies(compose, tmp_path):
    services = compose["services"]
    for name in APP_SERVICES:
        assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEFAULT_PHONE_REGION",
                "TIMEZONE", "CALLCENTER_INSTANCE"} <= set(services[name]["environment"])
        # As compose substitutes a .env with the secrets and nothing else.
        env = service_env(compose, name, DOT_ENV)
        env["CALLCENTER_INSTANCE"] = str(tmp_path / name)
        settings = load_settings(env)
        assert settings.database_url == ("postgresql+psycopg://callcenter:"
                                         f"{DOT_ENV['POSTGRES_PASSWORD']}@postgres:5432/callcenter")
        assert settings.redis_url == f"redis://:{DOT_ENV['REDIS_PASSWORD']}@redis:6379/0"
        assert settings.secret_key == DOT_ENV["SECRET_KEY"]
        assert (settings.proxy_hops, settings.session_cookie_secure) == (1, "auto")
    for name in ("web", "worker", "bridge"):
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully"
        assert deps["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["command"] == ["db", "upgrade"]
    for name in ("postgres", "redis", "web", "asterisk"):
        assert "healthcheck" in services[name]
    assert {"postgres", "redis", "web", "worker", "bridge", "asterisk", "proxy"} <= set(services)
    assert "--appendonly" in services["redis"]["command"]
    assert services["proxy"]["depends_on"]["tls-init"]["condition"] == \
        "service_completed_successfully"


def _conf(path: Path) -> configparser.ConfigParser:
    # "#include" lines (manager.conf's secret) read as comments here.
    parser = configparser.ConfigParser(strict=False, interpolation=None,
                                       comment_prefixes=(";", "#"),
                                       inline_comment_prefixes=(";",),
                                       delimiters=("=", "=>"))
    parser.optionxform = str
    # Asterisk allows repeated keys (member =>, permit =); configparser keeps the last,
    # which is enough for the single-valued keys read here.
    parser.read_string(path.read_text())
    return parser


def test_asterisk_is_mounted_and_ami_stays_internal(compose):
    asterisk = compose["services"]["asterisk"]
    assert "./deploy/asterisk:/etc/asterisk:ro" in asterisk["volumes"]
    assert "ports" not in asterisk  # AMI is never published to the host
    manager = _conf(ASTERISK / "manager.conf")
    assert manager["general"]["port"] == "5038"
    bridge_env = compose["services"]["bridge"]["environment"]
    assert bridge_env["AMI_USERNAME"] in manager
    # The secret itself: tests/security/test_deploy_secrets.py.
    assert "secret" not in manager[bridge_env["AMI_USERNAME"]]
    subnet = compose["networks"]["pbx"]["ipam"]["config"][0]["subnet"]
    assert subnet.split("/")[0] in (ASTERISK / "manager.conf").read_text()


def test_the_bridge_ami_user_has_least_privilege():
    user = _conf(ASTERISK / "manager.conf")["bridge"]
    read = set(user["read"].split(","))
    write = set(user["write"].split(","))
    assert "all" not in read | write
    # The classes the bridge cannot work without.
    assert {"call", "agent"} <= read and {"call", "agent", "originate"} <= write
    # Nothing that reconfigures, restarts or runs commands on the PBX.
    assert not write & {"system", "command", "config"}


def test_dialplan_runs_the_lookup_on_the_bridge_and_queues_exist():
    extensions = (ASTERISK / "extensions.conf").read_text()
    queues = _conf(ASTERISK / "queues.conf")
    assert re.search(r"^AGI_HOST = bridge:4573$", extensions, re.M)
    assert "AGI(agi://${AGI_HOST}/lookup,${CALLERID(num)})" in extensions
    # app_queue takes the caller's priority from QUEUE_PRIO, set from the lookup's answer.
    assert "Set(QUEUE_PRIO=" in extensions and "QUEUE_PRIORITY" in extensions
    used = set(re.findall(r"Queue\((\w+),", extensions))
    assert used == {"support", "repairs"}
    assert used <= set(queues.sections())
    assert queues["support"]["strategy"] == "ringall"
    assert queues["repairs"]["strategy"] == "rrmemory"


def test_demo_agents_are_members_of_the_queues_and_supervisors_have_phones():
    members = set(re.findall(r"^member => ([^,]+),", (ASTERISK / "queues.conf").read_text(),
                             re.M))
    agents = {login.interface for login in LOGINS if login.interface and login.role == "agent"}
    assert agents and agents <= members
    # Supervisors' phones ring for live monitoring: in no queue, but in the dialplan.
    phones = {login.interface for login in LOGINS
              if login.interface and login.role == "supervisor"}
    assert phones and not phones & members
    extensions = (ASTERISK / "extensions.conf").read_text()
    assert "exten => _supervisorX,1," in extensions
    assert all(re.fullmatch(r"Local/supervisor\d@agents/n", phone) for phone in phones)


#: Settings of issue 9 and the service that reads them in compose.
HARDENING_SETTINGS = {"PROXY_HOPS": "web", "SESSION_COOKIE_SECURE": "web",
                      "HSTS_MAX_AGE": "web", "AGI_ALLOWED_PEERS": "bridge",
                      "AGI_MAX_CONNECTIONS_PER_PEER": "bridge", "AGI_IDLE_TIMEOUT": "bridge"}


def test_settings_are_in_the_readme_table_and_passed_through(compose):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    for name, service in HARDENING_SETTINGS.items():
        assert f"`{name}`" in table, name
        value = compose["services"][service]["environment"][name]
        assert value.startswith(f"${{{name}:-"), (name, value)
    for name in ("POSTGRES_PASSWORD", "REDIS_PASSWORD", "HTTP_PORT", "HTTPS_PORT",
                 "TLS_HOSTNAME", "TLS_CERT_DIR", "AMI_SECRET", "SECRET_KEY"):
        assert f"`{name}`" in table, name
