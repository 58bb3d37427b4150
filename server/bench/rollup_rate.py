"""`realname bench rollups`: the attendance rollups' fold throughput against the gateway's sustained
punch rate, measured in the same run on the same machine — the fold must keep up (ratio ≥ 1).

One fresh database, the gateway benchmark's fleet (its projects, entered workers and devices, its
lean devices over real TCP to a `realname gateway` process) shaped like a city's day: one device per
project, every punch on the same site day, so a batch touches as many project-days as devices:
  gateway — a window of devices each punching as soon as the previous punch is acknowledged;
  first   — a PunchTail, resumed from the token saved before the window, folds the window's punches
            from the change stream: every project-day is new to the rollups (the insert path);
  later   — a second window on the same days by the same people, folded the same way: every
            project-day and person-day is already there (the update path: a person's later punches);
  rebuild — rollups.rebuild over every punch of both windows.
The tail folds a backlog here, i.e. as fast as it can: a tail that keeps up folds smaller batches,
which is sustainable as long as this rate is above the arrival rate (a batch then takes less time
than the next one takes to arrive).
"""
from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from .. import synthetic
from ..config import Config
from ..store import rollups
from ..store.db import open_database
from ..store.rollups import PunchTail
from .common import add_output_arguments, drop_and_close, heading, log, run_and_report
from .gateway import _fleet, _prepare, _quiet, gateway_process

HOST = "127.0.0.1"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--devices", type=int, default=500, help="rollups: devices punching at once (default 500)")
    parser.add_argument("--seconds", type=float, default=20.0, help="rollups: length of each gateway window")
    parser.add_argument("--workers-per-project", type=int, default=15, help="rollups: workers entered per project")
    parser.add_argument("--photo-kb", type=float, default=10.0, help="rollups: size of each punch photo in KB")
    add_output_arguments(parser)


def main(args: argparse.Namespace, config: Config) -> int:
    if args.quick:
        args.devices, args.seconds = 50, 5
    return run_and_report(args, config, _run, _report, prefix="realname-bench-rollups-")


async def _run(args, config: Config, uri: str, data_dir: Path) -> dict:
    return await measure(uri, f"bench_rollups_{int(time.time())}", data_dir, devices=args.devices,
                         seconds=args.seconds, photo_kb=args.photo_kb, workers_per_project=args.workers_per_project)


async def measure(uri: str, db_name: str, data_dir: Path | None = None, *, devices: int = 500,
                  seconds: float = 20.0, photo_kb: float = 10.0, workers_per_project: int = 15) -> dict:
    """The whole measurement in a database of its own (dropped after), on the server at uri.

    Returns the gateway's sustained rate (mean of its two windows), the fold rates of the tail's
    insert and update paths and of the rebuild, and `ratio`: the slower tail path / the gateway —
    what `realname bench dashboards` reports as the rollups' throughput against the gateway."""
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="realname-bench-rollups-"))
    client, db = await open_database(uri, db_name, app_name="bench")
    try:
        fleet = await _prepare(db, devices, 0, workers_per_project=workers_per_project, devices_per_project=1)
        photos = synthetic.photo_pool(random.Random(7), 16, int(photo_kb * 1000))
        await _tail_from_now(db)
        with gateway_process(uri, db_name, data_dir) as (_, port):
            windows, folds, later = [], [], 0
            for _ in range(2):
                windows.append(await _fleet(HOST, port, fleet, photos, seconds, None, run=1, later=later, spacing=0))
                log(f"gateway: {windows[-1]['rate']:.0f} acknowledged punches/s ({windows[-1]['acked']} punches)")
                await _quiet(db)
                folds.append(await _tail_timed(db))
                # The second window's punch times start right after the first's (a device's times go
                # up a second a punch): the same day, later punches.
                later = windows[-1]["most_sent"] + 1
                log(f"tail ({'update' if len(folds) == 2 else 'insert'} path): {folds[-1]['punches']} punches folded in "
                    f"{folds[-1]['seconds']:.1f} s = {folds[-1]['rate']:.0f}/s, {folds[-1]['project_days']} project-days")
        started = time.perf_counter()
        rebuilt = await rollups.rebuild(db)
        rebuild = {"punches": rebuilt, "seconds": time.perf_counter() - started}
        rebuild["rate"] = rebuilt / rebuild["seconds"]
        log(f"rebuild: {rebuilt} punches in {rebuild['seconds']:.1f} s = {rebuild['rate']:.0f}/s")
        acked = sum(w["acked"] for w in windows)
        if sum(f["punches"] for f in folds) != acked or rebuilt != acked:
            raise SystemExit(f"the rollups did not fold every acknowledged punch: acknowledged {acked}, "
                             f"tail {[f['punches'] for f in folds]}, rebuild {rebuilt}")
    finally:
        await drop_and_close(client, db_name)
    gateway = statistics.mean(w["rate"] for w in windows)
    first, later = folds
    return {"devices": devices, "seconds": seconds, "gateway": gateway, "gateway_rates": [w["rate"] for w in windows],
            "first": first, "later": later, "rebuild": rebuild,
            "ratio": min(first["rate"], later["rate"]) / gateway, "rebuild_ratio": rebuild["rate"] / gateway}


async def _tail_from_now(db) -> None:
    """The tail's saved place: the change stream as it stands before the first window."""
    tail = PunchTail(db)
    try:
        await tail.open()
        await tail.step()
    finally:
        await tail.close()


async def _tail_timed(db) -> dict:
    """A tail resumed from the saved token folds everything there is; timed to its last fold (not
    the idle wait that tells it the stream is drained)."""
    from ..store import rollup_queries
    before = await db[rollup_queries.PROJECT_DAYS].count_documents({})
    tail = PunchTail(db)
    started = time.perf_counter()
    elapsed = 0.0
    try:
        await tail.open()
        while await tail.step():
            elapsed = time.perf_counter() - started
    finally:
        await tail.close()
    touched = await db[rollup_queries.PROJECT_DAYS].count_documents({}) - before
    return {"punches": tail.folded, "seconds": elapsed, "rate": tail.folded / elapsed if elapsed else 0.0,
            "project_days": touched}


def summary(r: dict) -> str:
    """One sentence of the figures, for another benchmark's report."""
    return (f"Rollup fold against the gateway, same run (`realname bench rollups`, {r['devices']} devices): gateway "
            f"{r['gateway']:.0f} punches/s; change-stream tail {r['first']['rate']:.0f}/s (insert path) and "
            f"{r['later']['rate']:.0f}/s (update path); rebuild {r['rebuild']['rate']:.0f}/s; "
            f"**fold/gateway ratio {r['ratio']:.2f}** (target ≥ 1).")


def _report(args, r: dict) -> list[str]:
    first, later, rebuild = r["first"], r["later"], r["rebuild"]
    return [
        *heading("Rollup fold", f"realname bench rollups --devices {args.devices} --seconds {args.seconds:g} "
                                f"--workers-per-project {args.workers_per_project}"),
        "",
        "| measure | value |",
        "|---|---|",
        f"| gateway, {args.devices} devices (one per project, {args.workers_per_project} workers each) each sending on "
        f"acknowledgement, all on one site day, two windows of {args.seconds:g} s | "
        f"{' / '.join(f'{x:.0f}' for x in r['gateway_rates'])} acknowledged punches/s (mean {r['gateway']:.0f}) |",
        f"| tail, first window's punches (every project-day new: insert path) | {first['punches']} punches, "
        f"{first['project_days']} project-days in {first['seconds']:.1f} s = **{first['rate']:.0f} punches/s** |",
        f"| tail, second window's punches (same days and people: update path) | {later['punches']} punches in "
        f"{later['seconds']:.1f} s = **{later['rate']:.0f} punches/s** |",
        f"| rebuild from raw punches (both windows) | {rebuild['punches']} punches in {rebuild['seconds']:.1f} s = "
        f"**{rebuild['rate']:.0f} punches/s** (rebuild/gateway {r['rebuild_ratio']:.2f}) |",
        f"| **fold/gateway ratio** (slower tail path / gateway; target ≥ 1) | **{r['ratio']:.2f}** |",
    ]
