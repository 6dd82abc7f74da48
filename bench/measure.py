"""Load one running server with wrk and account the CPU its processes spent, per request.

Reusable on its own: `measure(url, requests_file, concurrency, duration, pids_fn)` needs only the URL of a server
that is already up and a function that lists the pids to account (e.g. `process_group(pgid)` for a gunicorn
started in its own session, plus `postgres_backends(dsn, application_name)` for the database backends serving it).

How the CPU is counted: /proc/<pid>/stat's utime+stime of every listed process, read when the run starts, every
`SAMPLE_SECONDS` during it, and when it ends. A process that appears during the run counts from zero. A process
that exits during the run is counted through its parent when the parent is accounted too (a recycled gunicorn
worker: the master reaps it, and its whole life lands in the master's cutime+cstime, which is counted); otherwise
(a PostgreSQL backend, whose parent is the postmaster of every database) up to its last sample, so at most
`SAMPLE_SECONDS` of its CPU is missed. The load generator (wrk) and this sampler are not counted.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WRK_SCRIPT = Path(__file__).resolve().parent / "wrk.lua"
SAMPLE_SECONDS = 0.25
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcessTimes:
    """One reading of /proc/<pid>/stat: who the process is (pid and start time, so a reused pid is another
    process), its parent, and its own and its reaped children's CPU, in clock ticks."""

    pid: int
    started: int
    ppid: int
    pgrp: int
    own: int
    reaped: int

    @property
    def key(self) -> tuple[int, int]:
        return self.pid, self.started


def read_times(pid: int) -> ProcessTimes | None:
    """The process's times, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) may hold spaces and parentheses: the fields after it start at the last ")".
    fields = text[text.rindex(")") + 2 :].split()
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return ProcessTimes(
        pid=pid,
        started=int(fields[19]),
        ppid=int(fields[1]),
        pgrp=int(fields[2]),
        own=utime + stime,
        reaped=cutime + cstime,
    )


def process_group(pgid: int) -> Callable[[], list[int]]:
    """The pids of a process group: a gunicorn started with `start_new_session=True` (master and workers)."""

    def pids() -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                times = read_times(int(entry.name))
                if times is not None and times.pgrp == pgid:
                    found.append(times.pid)
        return found

    return pids


def postgres_backends(dsn: str, application_name: str) -> Callable[[], list[int]]:
    """The pids of the PostgreSQL backends whose clients set `application_name` (the servers under test set
    it through their DATABASE_URL, so two servers on one database are told apart), over one connection of
    its own that is not counted."""
    import psycopg

    connection = psycopg.connect(dsn, autocommit=True, application_name="evotodo-bench-sampler")
    lock = threading.Lock()

    def pids() -> list[int]:
        with lock:
            rows = connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND pid <> pg_backend_pid()",
                [application_name],
            ).fetchall()
        return [pid for (pid,) in rows]

    return pids


def combined(*sources: Callable[[], list[int]]) -> Callable[[], list[int]]:
    return lambda: [pid for source in sources for pid in source()]


class CPUAccount:
    """The CPU spent by the processes `pids_fn` lists, between `start()` and `stop()` (see the module docstring)."""

    def __init__(self, pids_fn: Callable[[], list[int]], interval: float = SAMPLE_SECONDS) -> None:
        self.pids_fn = pids_fn
        self.interval = interval
        self.first: dict[tuple[int, int], ProcessTimes] = {}
        self.last: dict[tuple[int, int], ProcessTimes] = {}
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._sample_until_stopped, daemon=True)

    def _sample(self) -> dict[tuple[int, int], ProcessTimes]:
        now = {}
        for pid in self.pids_fn():
            times = read_times(pid)
            if times is not None:
                now[times.key] = times
        self.last.update(now)
        return now

    def _sample_until_stopped(self) -> None:
        while not self._stopping.wait(self.interval):
            self._sample()

    def start(self) -> None:
        self.first = self._sample()
        self._thread.start()

    def stop(self) -> dict[str, Any]:
        """Seconds of CPU over the run, and how many processes were accounted, came and went."""
        self._stopping.set()
        self._thread.join()
        final = self._sample()
        live_pids = {key[0] for key in final}
        ticks = 0
        for key, last in self.last.items():
            base = self.first.get(key)
            base_own, base_reaped = (base.own, base.reaped) if base else (0, 0)
            if key in final:
                ticks += final[key].own - base_own + final[key].reaped - base_reaped
            elif last.ppid in live_pids:
                # Reaped by an accounted parent: its whole life is in the parent's reaped time.
                ticks -= base_own + base_reaped
            else:
                ticks += last.own - base_own + last.reaped - base_reaped
        return {
            "cpu_s": round(ticks / TICKS_PER_SECOND, 3),
            "processes": len(self.last),
            "appeared": len(self.last.keys() - self.first.keys()),
            "exited": len(self.last.keys() - final.keys()),
        }


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise FileNotFoundError("wrk is needed: apt-get install wrk")
    return found


def run_wrk(url: str, requests_file: Path, concurrency: int, duration: float) -> dict[str, Any]:
    """wrk replaying `requests_file` (bench/wrk.lua's format) against `url`: its counts and latencies."""
    out = subprocess.run(  # noqa: S603 (our own arguments)
        [
            wrk_binary(),
            f"-t{min(concurrency, 2)}",
            f"-c{concurrency}",
            f"-d{duration}s",
            "--latency",
            "-s",
            str(WRK_SCRIPT),
            url,
            "--",
            str(requests_file),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    result["rps"] = round(result["requests"] / (result["duration_us"] / 1e6), 1)
    result["p50_ms"] = round(result["p50_us"] / 1000, 2)
    result["p99_ms"] = round(result["p99_us"] / 1000, 2)
    return result


def measure(
    url: str, requests_file: Path, concurrency: int, duration: float, pids_fn: Callable[[], list[int]]
) -> dict[str, Any]:
    """wrk's results for one run, plus the server CPU it cost: `cpu_ms_per_request` is the CPU of every process
    `pids_fn` lists (read during the run) divided by the requests wrk completed."""
    account = CPUAccount(pids_fn)
    account.start()
    try:
        result = run_wrk(url, requests_file, concurrency, duration)
    finally:
        cpu = account.stop()
    requests = result["requests"] or 1
    return {**result, **cpu, "cpu_ms_per_request": round(1000 * cpu["cpu_s"] / requests, 3)}
