"""Render deploy/'s templates (nginx, PgBouncer) with the ports and paths of one installation.

The production files and the local cluster's come from the same template, so the file the cluster tests run is
the file that is deployed. `python -m deploy.render nginx --node 127.0.0.1:8001 --node 127.0.0.1:8002` prints the
nginx site; `python -m deploy.render pgbouncer --postgres-port 5432` prints pgbouncer.ini (`--help` for all).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

DEPLOY_DIR = Path(__file__).resolve().parent
NGINX_TEMPLATE = DEPLOY_DIR / "nginx" / "evotodo.conf.template"
PGBOUNCER_TEMPLATE = DEPLOY_DIR / "pgbouncer" / "pgbouncer.ini.template"
PLACEHOLDER = re.compile(r"@@([A-Z_]+)@@")


class TemplateError(ValueError):
    """A template names a value that was not given, or a value was given that no template uses."""


def render(template: Path, values: Mapping[str, str]) -> str:
    """The template with every `@@NAME@@` replaced; refuses missing and unused values."""
    text = template.read_text()
    names = set(PLACEHOLDER.findall(text))
    if missing := names - set(values):
        raise TemplateError(f"{template.name} needs {sorted(missing)}")
    if unused := set(values) - names:
        raise TemplateError(f"{template.name} has no {sorted(unused)}")
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def render_nginx(
    *,
    nodes: Sequence[str],
    listen: Sequence[str] = ("80",),
    server_name: str = "_",
    access_log: str = "/var/log/nginx/evotodo.access.log",
    error_log: str = "/var/log/nginx/evotodo.error.log",
    max_fails: int = 1,
    fail_timeout_seconds: int = 5,
) -> str:
    """The nginx site for gunicorn `nodes` ("host:port"); `listen` holds each `listen` directive's arguments
    (e.g. "443 ssl" plus the certificate lines in `server_name`'s server, see deploy/README.md)."""
    if not nodes:
        raise TemplateError("at least one gunicorn node")
    servers = "\n".join(
        f"    server {node} max_fails={max_fails} fail_timeout={fail_timeout_seconds}s;" for node in nodes
    )
    return render(
        NGINX_TEMPLATE,
        {
            "UPSTREAM_SERVERS": servers,
            "LISTEN": "\n".join(f"    listen {item};" for item in listen),
            "SERVER_NAME": server_name,
            "ACCESS_LOG": access_log,
            "ERROR_LOG": error_log,
        },
    )


def render_pgbouncer(
    *,
    postgres_port: int = 5432,
    postgres_host: str = "127.0.0.1",
    database: str = "evotodo",
    listen_addr: str = "127.0.0.1",
    listen_port: int = 6432,
    auth_type: str = "scram-sha-256",
    auth_file: str = "/etc/pgbouncer/userlist.txt",
    log_file: str = "/var/log/postgresql/pgbouncer.log",
    pid_file: str = "/var/run/postgresql/pgbouncer.pid",
) -> str:
    """pgbouncer.ini for one database on one PostgreSQL server."""
    return render(
        PGBOUNCER_TEMPLATE,
        {
            "DATABASE_NAME": database,
            "POSTGRES_HOST": postgres_host,
            "POSTGRES_PORT": str(postgres_port),
            "LISTEN_ADDR": listen_addr,
            "LISTEN_PORT": str(listen_port),
            "AUTH_TYPE": auth_type,
            "AUTH_FILE": auth_file,
            "LOG_FILE": log_file,
            "PID_FILE": pid_file,
        },
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_subparsers(dest="which", required=True)
    nginx = which.add_parser("nginx", help="the nginx site")
    nginx.add_argument("--node", action="append", required=True, help="a gunicorn node, host:port (repeat)")
    nginx.add_argument("--listen", action="append", help='a listen directive\'s arguments, e.g. "80" (repeat)')
    nginx.add_argument("--server-name", default="_")
    nginx.add_argument("--access-log", default="/var/log/nginx/evotodo.access.log")
    nginx.add_argument("--error-log", default="/var/log/nginx/evotodo.error.log")
    bouncer = which.add_parser("pgbouncer", help="pgbouncer.ini")
    bouncer.add_argument("--postgres-host", default="127.0.0.1")
    bouncer.add_argument("--postgres-port", type=int, default=5432)
    bouncer.add_argument("--database", default="evotodo")
    bouncer.add_argument("--listen-port", type=int, default=6432)
    bouncer.add_argument("--auth-type", default="scram-sha-256")
    bouncer.add_argument("--auth-file", default="/etc/pgbouncer/userlist.txt")
    args = parser.parse_args(argv)
    if args.which == "nginx":
        text = render_nginx(
            nodes=args.node,
            listen=args.listen or ["80"],
            server_name=args.server_name,
            access_log=args.access_log,
            error_log=args.error_log,
        )
    else:
        text = render_pgbouncer(
            postgres_host=args.postgres_host,
            postgres_port=args.postgres_port,
            database=args.database,
            listen_port=args.listen_port,
            auth_type=args.auth_type,
            auth_file=args.auth_file,
        )
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
