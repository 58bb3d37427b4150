"""What every `realname bench` target shares: a fresh embedded database, the machine line, the report."""
from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
from pathlib import Path

from ..config import Config
from ..store.launch import database_uri


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import psutil
    return f"{cpu}, {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}"


class CpuMeter:
    """CPU seconds used by this process and each of its descendants (by role) between start() and read():
    on a shared two-core machine the wall clock alone does not say which side of a comparison paid."""

    ROLES = (("secantus", "database"), ("province-sim", "stand-in"), ("bench gateway", "gateway bench"))

    def __init__(self):
        self._start: dict[str, float] = {}

    @classmethod
    def _role(cls, cmdline: str) -> str:
        return next((role for needle, role in cls.ROLES if needle in cmdline), "other")

    def _now(self) -> dict[str, float]:
        import psutil
        me = psutil.Process()
        times = me.cpu_times()
        out = {"this process": times.user + times.system}

        def add(proc, inherited: str | None) -> None:
            # A child benchmark's own database and simulator count as that benchmark's.
            try:
                t = proc.cpu_times()
                role = inherited or self._role(" ".join(proc.cmdline()))
                children = proc.children()
            except psutil.Error:   # gone meanwhile
                return
            out[role] = out.get(role, 0.0) + t.user + t.system
            for child in children:
                add(child, role if role == "gateway bench" else None)
        for child in me.children():
            add(child, None)
        return out

    def start(self) -> "CpuMeter":
        self._start = self._now()
        return self

    def read(self) -> dict[str, float]:
        """{role: CPU seconds since start()}, largest first."""
        used = {k: v - self._start.get(k, 0.0) for k, v in self._now().items()}
        return dict(sorted(((k, round(v, 1)) for k, v in used.items() if v >= 0.05), key=lambda kv: -kv[1]))


def cpu_line(used: dict[str, float]) -> str:
    return ", ".join(f"{role} {seconds:.1f} s" for role, seconds in used.items())


def heading(title: str, command: str) -> list[str]:
    """A benchmark section's first lines: its title and time, the command, the machine."""
    from ..domain.site_clock import SITE_TZ
    import datetime as dt
    return [f"## {title} — {dt.datetime.now(SITE_TZ):%Y-%m-%d %H:%M} (UTC+8)", "", f"Command: `{command}`  ",
            f"Machine: {machine()}; embedded SecantusDB (Python server) on the same machine."]


def publish(args: argparse.Namespace, lines: list[str]) -> None:
    """Print a benchmark's Markdown section; append it to --write's file unless it was a --quick run."""
    print("\n".join(lines))
    if args.write and not args.quick:
        with open(args.write, "a", encoding="utf-8") as f:
            f.write("\n" + "\n".join(lines) + "\n")


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--write", metavar="FILE", help="append the figures to this Markdown file")
    parser.add_argument("--quick", action="store_true", help="a short smoke run (small numbers), not for the record")


def run_and_report(args: argparse.Namespace, config: Config, run, report, *, prefix: str) -> int:
    """run(args, config, uri, data_dir) on a fresh embedded database; print report(args, results), append it
    to --write unless --quick, and end with the line `ratio=…`."""
    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    bench_config = config.replace(data_dir=data_dir, embedded_db_port=0)
    with database_uri(bench_config, reuse_running=False) as uri:
        results = asyncio.run(run(args, config, uri, data_dir))
    publish(args, report(args, results))
    print(f"ratio={results['ratio']:.3f}")
    return 0


async def drop_and_close(client, db_name: str) -> None:
    try:
        await client.drop_database(db_name)
    except Exception as exc:  # the data folder is temporary anyway
        log(f"could not drop the benchmark database: {exc}")
    await client.close()
