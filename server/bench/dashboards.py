"""`realname bench dashboards`: each dashboard data function's p95 on a city-scale dataset, next to the
time the same day's or month's figures take from the raw punches, and the rollup fold's throughput.

The city (≥ 600 projects, ≥ 50,000 workers, 30 days of punches) is generated with bulk writes of the
rollups' inputs — people, roster entries built by the roster store's own entry_document, punch
documents built by PunchIn.document() exactly as the gateway stores them — while projects, units,
teams and devices go through their stores. The rollups then come from the real rollup code
(rollups.rebuild, the fold the tail runs), timed; the tail's throughput against the gateway's in the
same run comes from `realname bench rollups`' measurement (server/bench/rollup_rate.py), in a database
of its own on the same server.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bson import ObjectId
from pymongo import AsyncMongoClient, MongoClient

from ..config import Config
from .. import synthetic
from ..domain import vocabulary
from ..domain.attendance_grid import Month
from ..store import devices, projects, rollup_months, rollups, roster_entries, workforce
from ..domain.site_clock import SITE_TZ, parse_day, site_today
from ..store.db import connect, open_database
from ..store.launch import database_uri
from ..store.punches import PunchIn
from ..store.punches import _insert_ignoring_duplicates as insert_ignoring_duplicates
from . import rollup_rate
from .common import add_output_arguments, machine, publish
from .gateway import _pct

KEY_POST_SHARE = {vocabulary.PROJECT_MANAGER: 0.9, vocabulary.CHIEF_SUPERVISOR: 0.8, vocabulary.SAFETY_OFFICER: 0.9,
                  vocabulary.TECHNICAL_LEAD: 0.7}
# Counties whose projects rarely punch, so the update rates vary as in the guide's example.
LOW_UPDATE_COUNTIES = ("江海区", "恩平市")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--projects", type=int, default=600, help="dashboards: projects in the generated city")
    parser.add_argument("--workers", type=int, default=50_000, help="dashboards: workers entered over all projects")
    parser.add_argument("--days", type=int, default=30, help="dashboards: days of punches, ending today")
    parser.add_argument("--calls", type=int, default=20, help="dashboards: calls per data function for the p95")
    parser.add_argument("--no-fold-rate", action="store_true",
                        help="dashboards: leave out the rollup fold against the gateway (realname bench rollups)")
    parser.add_argument("--reuse", type=Path, default=None, metavar="DIR",
                        help="dashboards: keep the generated database in DIR; a later run with the same sizes "
                             "skips generation and folding and times the pages only")
    add_output_arguments(parser)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def _city(db, n_projects: int, n_workers: int, n_days: int) -> dict:
    rng = random.Random(3)
    today = site_today()
    first = today - dt.timedelta(days=n_days - 1)
    since = first - dt.timedelta(days=60)
    gc = await workforce.create_enterprise(db, credit_code=synthetic.credit_code(rng), name="基准总承包建设有限公司")
    sv = await workforce.create_enterprise(db, credit_code=synthetic.credit_code(rng), name="基准监理有限公司")
    suppliers = [{"name": f"广东基准设备{i + 1}有限公司", "credit_code": f"91440700MA{i:08d}", "vendor_code": f"BV{i:02d}",
                  "scopes": [{"scope": "attendance", "state": "approved"}], "created_at": dt.datetime.now(dt.timezone.utc)}
                 for i in range(14)]
    await db.suppliers.insert_many(suppliers)
    per_project = n_workers // n_projects
    worker_no, sites, stopped = 1_000_000, [], 0
    people_docs, roster_docs, id_numbers = [], [], set()
    for p in range(n_projects):
        county = vocabulary.COUNTIES[p % len(vocabulary.COUNTIES)]
        project = await workforce.create_project(db, name=f"基准项目{p + 1}", county=county, status_date=since)
        if p % 40 == 7:   # a few projects stop halfway through the window
            await projects.change_status(db, project["_id"], status="停工", day=first + dt.timedelta(days=n_days // 2),
                                         reason="基准", actor="bench")
            stopped += 1
        unit = await workforce.add_unit(db, project_id=project["_id"], enterprise_id=gc["_id"],
                                        unit_type=vocabulary.GENERAL_CONTRACTOR, entry_date=since)
        sunit = await workforce.add_unit(db, project_id=project["_id"], enterprise_id=sv["_id"],
                                         unit_type=vocabulary.SUPERVISOR, entry_date=since)
        teams = {"gc": await workforce.manager_team(db, unit["_id"]), "sv": await workforce.manager_team(db, sunit["_id"]),
                 "w": await workforce.add_team(db, project_id=project["_id"], unit_id=unit["_id"], name="土建",
                                               entry_date=since)}
        await devices.register(db, project_id=project["_id"], vendor_code=suppliers[p % 14]["vendor_code"],
                               device_id=f"D{p:05d}", environment="production")
        jobs_here = [job for job, share in KEY_POST_SHARE.items() if rng.random() < share]
        members = []
        for i in range(per_project):
            worker_no += 1
            job = jobs_here[i] if i < len(jobs_here) else vocabulary.ORDINARY_WORKER
            team = teams["sv"] if job == vocabulary.CHIEF_SUPERVISOR else teams["gc"] if job in KEY_POST_SHARE else teams["w"]
            id_number = synthetic.id_number(rng)
            while id_number in id_numbers:   # the generator repeats itself now and then at this scale
                id_number = synthetic.id_number(rng)
            id_numbers.add(id_number)
            person = {"_id": ObjectId(), "id_number": id_number, "worker_no": worker_no, "name": synthetic.chinese_name(rng),
                      "created_at": dt.datetime.now(dt.timezone.utc)}
            people_docs.append(person)
            roster_docs.append({"_id": ObjectId(), **roster_entries.entry_document(
                project_id=project["_id"], person=person, team=team, job=job, entry_date=since)})
            members.append(worker_no)
        sites.append((project["_id"], county, members))
        if len(people_docs) >= 5000 or p == n_projects - 1:
            # Ids set here and duplicates ignored: on a loaded machine the driver may retry a bulk
            # insert the server had already applied.
            await insert_ignoring_duplicates(db.people, people_docs)
            await insert_ignoring_duplicates(db.roster, roster_docs)
            people_docs, roster_docs, id_numbers = [], [], set()
    return {"sites": sites, "first": first, "today": today, "stopped": stopped}


# The punch index the rollup rebuild and the raw-punch figures read; the others (the gateway's and
# the device pages') are dropped before the city's punches are bulk-inserted and left out: the
# embedded server inserts a punch ~2x faster without them, and building them over a million punches
# outlasted the driver's socket timeout. Nothing this benchmark times reads them.
READ_INDEX = "day_projects"
SECOND_PUNCH_SHARE = 0.2   # an evening punch too; the pages' figures count people and days, not punches


async def _punches(db, city: dict, n_days: int) -> int:
    """One punch per person-day, some two; low-update counties punch on few days. Bulk-inserted."""
    dropped = [ix async for ix in await db.punches.list_indexes() if ix["name"] not in ("_id_", READ_INDEX)]
    for ix in dropped:
        await db.punches.drop_index(ix["name"])
    _log(f"punch indexes left out: {', '.join(ix['name'] for ix in dropped)}")
    return await _insert_punches(db, city, n_days)


async def _insert_punches(db, city: dict, n_days: int) -> int:
    rng = random.Random(5)
    received = dt.datetime.now(dt.timezone.utc)
    batch, total = [], 0
    for day_n in range(n_days):
        day = city["first"] + dt.timedelta(days=day_n)
        for project_id, county, members in city["sites"]:
            if county in LOW_UPDATE_COUNTIES and rng.random() < 0.8:
                continue
            for worker in members:
                if rng.random() > 0.7:
                    continue
                times = [dt.datetime.combine(day, dt.time(7, rng.randrange(60)))]
                if rng.random() < SECOND_PUNCH_SHARE:
                    times.append(dt.datetime.combine(day, dt.time(18, rng.randrange(60))))
                for moment in times:
                    batch.append(PunchIn(vendor_code="BENCH", device_id=f"D{project_id:05d}", project_id=project_id,
                                         worker_no=worker, device_time=moment, mode=6, photo=b"",
                                         received_at=received, flags=[]).document())
                if len(batch) >= 10_000:
                    await insert_ignoring_duplicates(db.punches, batch)
                    total, batch = total + len(batch), []
    if batch:
        await insert_ignoring_duplicates(db.punches, batch)
        total += len(batch)
    return total


async def _raw_day(db, day: str) -> float:
    """The day's figures from raw punches: people per project (what the day pages need)."""
    start = time.perf_counter()
    pipeline = [{"$match": {"date": day, "test": False}},
                {"$group": {"_id": {"p": "$project_id", "w": "$worker_no"}}},
                {"$group": {"_id": "$_id.p", "people": {"$sum": 1}}}]
    [d async for d in await db.punches.aggregate(pipeline)]
    return time.perf_counter() - start


async def _raw_month(db, first: str, following: str) -> float:
    """The month's figures from raw punches: days per project and person (what the month pages need)."""
    start = time.perf_counter()
    pipeline = [{"$match": {"date": {"$gte": first, "$lt": following}}},
                {"$group": {"_id": {"p": "$project_id", "w": "$worker_no", "d": "$date"}}}]
    [d async for d in await db.punches.aggregate(pipeline)]
    return time.perf_counter() - start


def _timed_month(today: dt.date) -> Month:
    """The month the month pages (and their raw-punch figure) are timed on: yesterday's, unless it holds
    fewer than 15 days yet — early in a month, the month before (full in a 30-day window)."""
    yesterday = today - dt.timedelta(days=1)
    return Month.of(yesterday if yesterday.day >= 15 else yesterday.replace(day=1) - dt.timedelta(days=1))


def _timed(function, calls: int) -> dict:
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return {"p50": statistics.median(times), "p95": _pct(sorted(times), 0.95)}


def main(args: argparse.Namespace, config: Config) -> int:
    if args.quick:
        args.projects, args.workers, args.days, args.calls = 40, 2000, 5, 3
    data_dir = args.reuse or Path(tempfile.mkdtemp(prefix="realname-bench-dash-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    with database_uri(config.replace(data_dir=data_dir, embedded_db_port=0), reuse_running=False) as uri:
        results = _run(args, uri)
    publish(args, _report(args, results))
    print(f"p95_ms={max(r['p95'] for r in results['functions'].values()):.0f}")
    return 0


REUSED_DB = "bench_dash"


def _sizes(args) -> dict:
    return {"projects": args.projects, "workers": args.workers, "days": args.days}


def _reusable(args) -> dict | None:
    """What a kept run measured, when --reuse names a folder holding a city of these sizes."""
    if args.reuse is None or not (args.reuse / REUSE_FILE).exists():
        return None
    kept = json.loads((args.reuse / REUSE_FILE).read_text())
    return kept if kept.get("sizes") == _sizes(args) else None


REUSE_FILE = "bench_dashboards.json"


def _run(args, uri: str) -> dict:
    kept = _reusable(args)
    db_name = REUSED_DB if args.reuse else f"bench_dash_{int(time.time())}"
    if kept:
        _log(f"reusing the city kept in {args.reuse} (generated {kept['generated']})")
        prepared = kept["prepared"]
        prepared["city"]["today"] = parse_day(prepared["city"]["today"])
        # The month rollup is made again (seconds): a change to its code is measured on the kept city.
        prepared["month_days"], prepared["months_s"] = asyncio.run(_months_again(uri, db_name))
    else:
        if args.reuse:
            MongoClient(uri).drop_database(db_name)
        prepared = asyncio.run(_prepare(args, uri, db_name))
        if args.reuse:
            stored = {**prepared, "city": {**prepared["city"], "today": prepared["city"]["today"].isoformat()}}
            (args.reuse / REUSE_FILE).write_text(json.dumps(
                {"sizes": _sizes(args), "generated": dt.datetime.now(SITE_TZ).isoformat(), "prepared": stored}))
    functions = _time_pages(args, uri, db_name, prepared["city"], drop=not args.reuse)
    return {**prepared, "functions": functions, "reused": bool(kept)}


async def _months_again(uri: str, db_name: str) -> tuple[int, float]:
    # Not open_database: its ensure_schema would build the punch indexes left out (see READ_INDEX).
    client = connect(uri, app_name="bench")
    db = client[db_name]
    try:
        started = time.perf_counter()
        days = await rollup_months.rebuild(db)
        return days, time.perf_counter() - started
    finally:
        await client.close()


async def _prepare(args, uri: str, db_name: str) -> dict:
    client, db = await open_database(uri, db_name, app_name="bench")
    try:
        generation = started = time.perf_counter()
        city = await _city(db, args.projects, args.workers, args.days)
        _log(f"city: {len(city['sites'])} projects, {args.workers} workers in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        punches = await _punches(db, city, args.days)
        _log(f"punches: {punches} bulk-inserted in {time.perf_counter() - started:.0f} s")
        generate_s = time.perf_counter() - generation
    finally:
        await client.close()
    # Without the platform's socket timeout: on a million punches the rebuild's first- and last-punch
    # reads (a sort on date) and the raw month's grouping each take the embedded server over 30 s.
    client = AsyncMongoClient(uri, tz_aware=True, socketTimeoutMS=None)
    try:
        return await _fold_and_measure(args, uri, client[db_name], city, punches, generate_s)
    finally:
        await client.close()


async def _fold_and_measure(args, uri: str, db, city: dict, punches: int, generate_s: float) -> dict:
    """The rollups from the real code, timed; the tail; the same figures from raw punches."""
    started = time.perf_counter()
    folded = await rollups.rebuild(db, city["first"])
    fold_s = time.perf_counter() - started
    _log(f"rollups: {folded} punches folded in {fold_s:.0f} s ({folded / fold_s:.0f}/s)")
    started = time.perf_counter()
    month_days = await rollup_months.rebuild(db)
    months_s = time.perf_counter() - started
    _log(f"month rollup: {month_days} project-days carried in {months_s:.1f} s")
    gateway_fold = None
    if not args.no_fold_rate:
        # The change-stream tail against the gateway, same run and server, a database of its own.
        gateway_fold = await rollup_rate.measure(uri, f"{db.name}_fold",
                                                 devices=50 if args.quick else 500, seconds=5 if args.quick else 20)
    yesterday = (city["today"] - dt.timedelta(days=1)).isoformat()
    month = _timed_month(city["today"])
    raw_day = await _raw_day(db, yesterday)
    raw_month = await _raw_month(db, month.first.isoformat(), (month.last + dt.timedelta(days=1)).isoformat())
    _log(f"raw punches: a day {raw_day:.1f} s, the month {raw_month:.1f} s")
    await db.rollup_state.update_one({"_id": "punch_tail"}, {"$set": {"updated_at": dt.datetime.now(dt.timezone.utc)}},
                                     upsert=True)
    small_city = {"today": city["today"], "stopped": city["stopped"], "projects": len(city["sites"]),
                  "project_id": city["sites"][0][0]}
    return {"city": small_city, "punches": punches, "folded": folded, "fold_s": fold_s, "months_s": months_s,
            "month_days": month_days, "raw_day": raw_day, "raw_month": raw_month, "gateway_fold": gateway_fold,
            "generate_s": generate_s}


def _time_pages(args, uri: str, db_name: str, city: dict, *, drop: bool) -> dict:
    from dashboards import data   # imported once the city is made: the pages' own module, as they run it

    client = MongoClient(uri, tz_aware=True)
    db = client[db_name]
    yesterday = city["today"] - dt.timedelta(days=1)
    month = f"{_timed_month(city['today']).first:%Y-%m}"
    project_id = city["project_id"]
    calls = {
        "county_execution": lambda: data.county_execution(db, {}, yesterday),
        "county_execution (county)": lambda: data.county_execution(db, {"county": "蓬江区"}, yesterday),
        "project_execution": lambda: data.project_execution(db, {}, yesterday),
        "supplier_support": lambda: data.supplier_support(db, {}, yesterday),
        "manager_attendance": lambda: data.manager_attendance(db, {}, month, vocabulary.PROJECT_MANAGER),
        "manager_monthly": lambda: data.manager_monthly(db, {}, month),
        "manager_monthly_detail": lambda: data.manager_monthly_detail(db, {}, month, project_id),
        "home_today": lambda: data.home_today(db, {}),
        "county_trends": lambda: data.county_trends(db, {}, days=args.days),
        "project_overview": lambda: data.project_overview(db, {}, project_id),
    }
    functions = {}
    try:
        for name, call in calls.items():
            functions[name] = _timed(call, args.calls)
            _log(f"{name}: p50 {functions[name]['p50']:.0f} ms, p95 {functions[name]['p95']:.0f} ms")
    finally:
        if drop:
            client.drop_database(db_name)
        client.close()
    return functions


def _report(args, r: dict) -> list[str]:
    month_pages = ("manager_attendance", "manager_monthly", "manager_monthly_detail", "county_trends")
    rows = [f"| {name} | {f['p50']:.0f} | {f['p95']:.0f} | "
            f"{(r['raw_month'] if name in month_pages else r['raw_day']) * 1000:.0f} |"
            for name, f in r["functions"].items()]
    fold_rate = (rollup_rate.summary(r["gateway_fold"]) if r.get("gateway_fold")
                 else "The fold against the gateway not measured (--no-fold-rate).")
    load = " / ".join(f"{v:.1f}" for v in os.getloadavg())
    return [
        f"## Dashboards data — {dt.datetime.now(SITE_TZ):%Y-%m-%d %H:%M} (UTC+8)",
        "",
        f"Command: `realname bench dashboards --projects {args.projects} --workers {args.workers} --days {args.days} "
        f"--calls {args.calls}{' --no-fold-rate' if args.no_fold_rate else ''}`  ",
        f"Machine: {machine()}; embedded SecantusDB (Python server) on the same machine; load average at the end "
        f"(1 / 5 / 15 min) {load}.",
        "",
        f"City: {r['city']['projects']} projects ({r['city']['stopped']} stopping mid-window), {args.workers} workers, "
        f"{r['punches']} punches over {args.days} days, generated in {r['generate_s']:.0f} s"
        f"{' (kept from an earlier run: --reuse)' if r.get('reused') else ''}.",
        f"Rollup fold (rollups.rebuild, the tail's fold): {r['folded']} punches in {r['fold_s']:.0f} s = "
        f"**{r['folded'] / r['fold_s']:.0f} punches/s**. Month rollup (rollup_months.rebuild): "
        f"{r['month_days']} project-days in {r['months_s']:.1f} s. {fold_rate}",
        "",
        "| data function | p50 ms | p95 ms | same figures from raw punches, ms |",
        "|---|---|---|---|",
        *rows,
    ]
