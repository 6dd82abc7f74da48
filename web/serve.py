"""`make web`: the demo auth server (Better Auth), the API and the SPA's dev server on this machine, until Ctrl-C.

Each is a process of its own, stopped by its PID when this one ends (or when any of them exits)."""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
AUTH_SERVER = ROOT / "interop" / "better-auth"
DATA = WEB / ".data"


def wait_for(url: str, process: subprocess.Popen[bytes], name: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (loopback)
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{name} did not answer {url} within {seconds:.0f} s")


def demo_secret() -> str:
    """Better Auth's secret for the demo, kept in web/.data: its keys and sessions outlive a restart."""
    DATA.mkdir(exist_ok=True)
    path = DATA / "better-auth-secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="one host for all three, so the auth cookie is same-site")
    parser.add_argument("--api-port", type=int, default=8000)
    parser.add_argument("--auth-port", type=int, default=3000)
    parser.add_argument("--web-port", type=int, default=5173)
    parser.add_argument("--jwt-expiration", default="15m", help='token lifetime, e.g. "30s" to see refreshes')
    args = parser.parse_args()

    api_url = f"http://{args.host}:{args.api_port}"
    auth_url = f"http://{args.host}:{args.auth_port}"
    web_url = f"http://{args.host}:{args.web_port}"
    node = shutil.which("node") or sys.exit("make web needs Node.js 20+")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        auth = subprocess.Popen(
            [node, "server.mjs"],
            cwd=AUTH_SERVER,
            env={
                **os.environ,
                "PORT": str(args.auth_port),
                "BETTER_AUTH_URL": auth_url,
                "BETTER_AUTH_SECRET": demo_secret(),
                "DATABASE_FILE": str(DATA / "better-auth.sqlite"),
                "TRUSTED_ORIGINS": web_url,
                "JWT_EXPIRATION": args.jwt_expiration,
            },
        )
        processes.append(auth)
        wait_for(f"{auth_url}/api/fixture/health", auth, "Better Auth")

        # The API as `make run` serves it (SQLite unless .env says otherwise), verifying tokens with the JWKS.
        api_env = {
            **os.environ,
            "DJANGO_DEBUG": os.environ.get("DJANGO_DEBUG", "true"),
            "BETTER_AUTH_URL": auth_url,
            "BETTER_AUTH_JWKS_URL": f"{auth_url}/api/auth/jwks",
            "BETTER_AUTH_ISSUER": auth_url,
            "BETTER_AUTH_AUDIENCE": auth_url,
            "CORS_ALLOWED_ORIGINS": web_url,
        }
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=api_env, check=True)
        api = subprocess.Popen(
            [*manage, "runserver", "--noreload", f"{args.host}:{args.api_port}"], cwd=ROOT, env=api_env
        )
        processes.append(api)
        wait_for(f"{api_url}/healthz", api, "the API")

        vite = WEB / "node_modules" / ".bin" / "vite"
        spa = subprocess.Popen(
            [str(vite), "--host", args.host, "--port", str(args.web_port), "--strictPort"],
            cwd=WEB,
            env={**os.environ, "VITE_API_URL": api_url, "VITE_AUTH_URL": auth_url},
        )
        processes.append(spa)
        wait_for(web_url, spa, "the SPA")

        sys.stdout.write(
            f"\nEvo-TODO is up: open {web_url}\n  API {api_url}  Better Auth {auth_url}\nCtrl-C stops all three.\n\n"
        )
        sys.stdout.flush()
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.terminate()
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
            if process.poll() is None:
                process.kill()


if __name__ == "__main__":
    main()
