"""Rotating secrets in an env file: a new value in front, old ones kept as fallbacks, rewritten atomically."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

FALLBACKS_OF = {
    "BETTER_AUTH_SECRET": "BETTER_AUTH_SECRET_FALLBACKS",
    "DJANGO_SECRET_KEY": "DJANGO_SECRET_KEY_FALLBACKS",
}
ASSIGNMENT = re.compile(r"^(?P<prefix>\s*(?:export\s+)?)(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*=(?P<value>.*)$")


class EnvFileError(Exception):
    """The env file cannot be read or rotated; the message says why."""


@dataclass(frozen=True)
class Rotation:
    """What happened to one secret: its new value (None when only pruned) and the fallbacks left."""

    name: str
    new_value: str | None
    had_value: bool
    fallbacks: tuple[str, ...]
    dropped: int


def new_secret() -> str:
    """A strong random secret: 64 URL-safe characters (384 bits)."""
    return secrets.token_urlsafe(48)


def _unquote(raw: str) -> str:
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value.split(" #", 1)[0].strip()


def read_values(lines: Iterable[str]) -> dict[str, str]:
    """The variables a dotenv file assigns (the last assignment wins, as python-dotenv reads it)."""
    values = {}
    for line in lines:
        match = ASSIGNMENT.match(line.rstrip("\n"))
        if match:
            values[match["name"]] = _unquote(match["value"])
    return values


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _assign(lines: list[str], name: str, value: str) -> list[str]:
    """Set `name` in place (every assignment of it, keeping `export`), or append it."""
    found = False
    result = []
    for line in lines:
        match = ASSIGNMENT.match(line.rstrip("\n"))
        if match and match["name"] == name:
            result.append(f"{match['prefix']}{name}={value}\n")
            found = True
        else:
            result.append(line)
    if not found:
        if result and not result[-1].endswith("\n"):
            result[-1] += "\n"
        result.append(f"{name}={value}\n")
    return result


def rotate_secrets(
    path: Path,
    names: Iterable[str],
    *,
    keep: int,
    prune: bool = False,
    dry_run: bool = False,
    generate: Callable[[], str] = new_secret,
) -> list[Rotation]:
    """Rotate (or, with `prune`, drop the fallbacks of) each secret in `path`; every other line stays as it was."""
    path = path.resolve()
    try:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    except (OSError, UnicodeDecodeError) as e:
        raise EnvFileError(f"cannot read {path}: {e}") from e
    values = read_values(lines)
    rotations = []
    for name in names:
        fallbacks_name = FALLBACKS_OF[name]
        current, fallbacks = values.get(name, ""), _split(values.get(fallbacks_name, ""))
        if prune:
            new_value, kept = None, []
        else:
            new_value = generate()
            candidates = ([current] if current else []) + [f for f in fallbacks if f not in (current, new_value)]
            kept = candidates[:keep]
            lines = _assign(lines, name, new_value)
        lines = _assign(lines, fallbacks_name, ",".join(kept))
        dropped = len(fallbacks) + (1 if current and not prune else 0) - len(kept)
        rotations.append(Rotation(name, new_value, bool(current), tuple(kept), max(dropped, 0)))
    if not dry_run:
        write_atomically(path, "".join(lines))
    return rotations


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` all at once: temporary file, fsync, rename; same mode and owner."""
    info = path.stat()
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, stat.S_IMODE(info.st_mode))
        with contextlib.suppress(PermissionError):
            os.chown(temporary, info.st_uid, info.st_gid)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
