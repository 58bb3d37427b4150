"""`realname bench upload`: a city day of attendance through the upload pipeline to the stand-in, against
the stand-in's own ceiling.

Measured side by side in one run on one machine, so the figure that matters is a ratio:
  set-up   — projects with a unit, teams and entered workers (with credentials, registered on the
             stand-in); their units, teams, workers and entries are uploaded by pipeline passes before the
             punches exist (not timed: a city's structure is uploaded once, its attendance every day);
then `--rounds` times (the `ratio=` line is their median):
  pipeline — a round's punches are stored as the gateway stores them (`punches.store`, groups of
             REALNAME_PUNCH_BATCH_MAX, stamped as they arrived), then passes run (the job kind's
             `run_once`) until every punch is 上传成功: punches per second;
  ceiling  — the same punches, in the same batches the pipeline sent (built from its batch records into
             the same payloads, outside the timed window), posted straight to the stand-in by a plain
             concurrent client that then polls each serial to its outcome (the platform already holds
             them, so it answers "already exists" per item: the same checks, no store);
each with the CPU seconds of every process in its window (who paid for the difference);
  read     — the round's window read alone as the pipeline reads it (the punches' feed), and from it the
             highest ratio these cores allow a pipeline that reads its punches from the database
             (`_bound`); then the same window read from the punches themselves (by received time, as
             before the feed), to show what the feed saves the embedded server;
  gateway  — optionally (`--gateway`), after the timed rounds: `realname bench gateway` (GATEWAY_ARGS)
             runs while rounds of new punches (not timed) go through the pipeline one after the
             other for as long as it measures, this process at the worker's niceness
             (REALNAME_WORKER_NICE) as the worker runs them; its ratio is reported with how long it
             measured beside them.
The stand-in runs as its own process (`realname province-sim`), as it does for the demo.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterable, Iterator

from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from .. import synthetic
from ..config import Config
from ..cpu_priority import lower_priority
from ..domain.site_clock import SITE_TZ
from ..province import payloads, pipeline, signing
from ..province.client import HttpPlatform, upload_method
from ..store import devices, people, punch_feed, uploads, workforce
from ..store import punches as punch_store
from ..store.db import open_database
from ..store.punches import PunchIn
from .common import CpuMeter, add_output_arguments, cpu_line, drop_and_close, log as _log, machine, run_and_report

VENDOR = "BENCHUP"
# The pipeline keeps its punch watermark this far behind its read: the rounds follow each other within
# seconds, and the setting's 120 s would have a round read the punches of the round before again.
BENCH_MARGIN_SECONDS = 5.0
# A round's punches arrive over (at most) this many seconds before they are inserted: a burst, ~1,700
# punches/s for 50,000, above what the gateway itself takes in.
ARRIVAL_SECONDS = 30
# With --gateway: the gateway's bench as its own section runs it (500 devices, 20 s windows, its default
# ceiling), with fewer idle devices for less time (their figures are its own section's); at most this many
# rounds (not timed) run beside it, which measures for ~3 min.
GATEWAY_ARGS = ("--devices", "500", "--seconds", "20", "--idle-devices", "200", "--idle-seconds", "5")
GATEWAY_LOAD_ROUNDS = 16


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--projects", type=int, default=100)
    parser.add_argument("--workers", type=int, default=25, help="workers per project")
    parser.add_argument("--teams", type=int, default=2, help="teams per project")
    parser.add_argument("--punches", type=int, default=50_000, help="punches of a round, over all workers")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of new punches, each through the pipeline and then straight to the stand-in")
    parser.add_argument("--gateway", action="store_true",
                        help="first run `realname bench gateway` beside rounds of the pipeline (not timed)")
    add_output_arguments(parser)


def _creds(p: int) -> tuple[str, str, str]:
    return f"benchapp{p:04d}", f"bench-secret-{p:04d}-0123456789abcdef", f"4407{p:010d}"


class Standin:
    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-m", "server.cli", "province-sim", "--port", "0"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            raise SystemExit(f"province-sim did not start: {line!r}")
        self.api = line.split()[-1]
        self.base = self.api.rsplit("/", 1)[0]

    def platform(self, config: Config) -> HttpPlatform:
        """The adapter pointed at this stand-in, with the configured time-outs."""
        return HttpPlatform.from_config(config.replace(province_url=self.api))

    async def control(self, path: str, body: str) -> None:
        await AsyncHTTPClient().fetch(self.base + path, method="POST", body=body)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


async def take_part(db, standin: Standin, project_id: int, p: int) -> None:
    """The project gets its platform credentials, and the stand-in knows them."""
    import json
    appid, secret, code = _creds(p)
    await db.projects.update_one({"_id": project_id}, {"$set": {"province": {
        "appid": appid, "appsecret": secret, "project_code": code}}})
    await standin.control("/_sim/apps", json.dumps({"appid": appid, "appsecret": secret, "projectCode": code}))


async def _prepare(db, standin: Standin, args) -> list[dict]:
    """Projects with credentials, a unit, teams and entered workers; returns [{project_id, worker_nos}]."""
    rng = random.Random(1)
    photo = synthetic.jpeg_photo(rng, target_bytes=3000)
    enterprise = await workforce.create_enterprise(db, credit_code=synthetic.credit_code(rng), name="基准测试建设有限公司")
    sites = []
    for p in range(args.projects):
        project = await workforce.create_project(db, name=f"基准上传项目{p + 1}", county="蓬江区")
        await take_part(db, standin, project["_id"], p)
        await devices.register(db, project_id=project["_id"], vendor_code=VENDOR, device_id=_device_id(project["_id"]))
        unit = await workforce.add_unit(db, project_id=project["_id"], enterprise_id=enterprise["_id"],
                                        unit_type="施工总承包单位")
        teams = [await workforce.add_team(db, project_id=project["_id"], unit_id=unit["_id"], name=f"班组{t + 1}")
                 for t in range(args.teams)]
        worker_nos = []
        for w in range(args.workers):
            card = people.check_person_card({"id_number": synthetic.id_number(rng), "name": synthetic.chinese_name(rng),
                                             "nation": "01"})
            person, _ = await people.enroll(db, card, id_photo=photo, capture_photo=photo, source={"bench": True})
            await workforce.enter_person(db, project_id=project["_id"], worker_no=person["worker_no"],
                                         team_id=teams[w % len(teams)]["_id"], job="普通工人")
            worker_nos.append(person["worker_no"])
        sites.append({"project_id": project["_id"], "worker_nos": worker_nos})
    return sites


def _device_id(project_id: int) -> str:
    return f"U{project_id}"


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    items = iter(items)
    while chunk := list(itertools.islice(items, size)):
        yield chunk


def _day_punches(sites: list[dict], n: int) -> Iterator[dict]:
    """n punches of today (site time), spread over the workers, one second apart per worker, all in the past;
    made as they are taken (a round's at a time, not every spare round's up front)."""
    now = dt.datetime.now(SITE_TZ).replace(tzinfo=None, microsecond=0)
    start = now.replace(hour=0, minute=0, second=0)
    workers = [(s["project_id"], w) for s in sites for w in s["worker_nos"]]
    per_worker = -(-n // len(workers))
    span = max(1, int((now - start).total_seconds()) - 60)
    step = max(1, span // per_worker)
    received = dt.datetime.now(dt.timezone.utc)
    for i in range(n):
        project_id, worker_no = workers[i % len(workers)]
        k = i // len(workers)
        when = start + dt.timedelta(seconds=k * step + (i % len(workers)) % step)
        yield PunchIn(vendor_code=VENDOR, device_id=_device_id(project_id), project_id=project_id, worker_no=worker_no,
                      device_time=when, mode=6, photo=b"", received_at=received, flags=[]).document()


async def upload_structure(db, platform, config: Config) -> dict:
    """Pipeline passes until every record (units, teams, workers, entries: no punches yet) is 上传成功."""
    async def structure_done():
        return (await db.uploads.count_documents({}) > 0
                and not await db.uploads.count_documents({"state": {"$ne": uploads.SUCCEEDED}}))
    passes, seconds = await _passes_until(db, platform, config, structure_done, deadline=3600)
    structure = {"records": await db.uploads.count_documents({}), "seconds": seconds, "passes": passes}
    _log(f"structure uploaded: {structure['records']} records in {seconds:.1f} s ({passes} passes)")
    return structure


async def _passes_until(db, platform, config, done, *, deadline: float) -> tuple[int, float]:
    """Pipeline passes until done(); returns (passes, seconds). The seconds are the passes' and the waits
    between them, not done()'s: the bench's own check reads every batch record, the pipeline does not."""
    started = time.monotonic()
    passes, seconds = 0, 0.0
    while not await done():
        if time.monotonic() - started > deadline:
            raise SystemExit(f"the pipeline did not finish within {deadline:g} s")
        pass_started = time.monotonic()
        report = await pipeline.run_once(db, platform, config)
        passes += 1
        _log(report.line())
        if report.sent == 0:
            await asyncio.sleep(0.05)  # outcomes not ready yet on the stand-in
        seconds += time.monotonic() - pass_started
    return passes, seconds


async def _ceiling(db, standin: Standin, http: AsyncHTTPClient, concurrency: int, *,
                   since: dt.datetime) -> tuple[int, float]:
    """The same batches the pipeline sent of the punches received since `since` (its batch records, built into
    the same payloads), posted straight to the stand-in with the pipeline's HTTP client, each polled to its
    outcome."""
    sites = await pipeline.sites(db)
    batches = await db.uploads.find(uploads.batched_query(since), {"history": 0}).to_list(None)
    batches = [{**b, "items": uploads.items_of(b)} for b in batches]
    folks = await people.by_worker_nos(db, (i["worker_no"] for b in batches for i in b["items"]), ("id_number",))
    teams = await uploads.states_of(db, {uploads.upload_id("team", b["team_id"]) for b in batches})
    forms = []
    for b in batches:
        site = sites[b["project_id"]]
        team_sys_no = teams[uploads.upload_id("team", b["team_id"])]["platform_ids"]["teamSysNo"]
        cards = payloads.id_cards(folks, {i["worker_no"] for i in b["items"]}, site.creds.appsecret)
        forms.append((site.creds, payloads.attendance_payload(site.code, team_sys_no, b["items"], cards), b["n"]))
    limit = asyncio.Semaphore(concurrency)

    async def post(creds, method, payload) -> dict:
        import json
        form = signing.build_form(creds.appid, creds.appsecret, method, payload)
        async with limit:
            response = await http.fetch(HTTPRequest(standin.api, method="POST", body=signing.form_body(form),
                                                    request_timeout=60))
        return json.loads(response.body)

    async def one(creds, payload):
        serial = (await post(creds, upload_method("attendance"), payload))["data"]["requestSerialCode"]
        while (await post(creds, "AsyncHandleResult.Query", {"requestSerialCode": serial}))["data"]["status"] == 0:
            await asyncio.sleep(0.05)

    started = time.monotonic()
    await asyncio.gather(*(one(creds, payload) for creds, payload, _ in forms))
    return sum(n for *_, n in forms), time.monotonic() - started


async def _read_alone(db, since: dt.datetime) -> dict:
    """The round's window read as the pipeline reads it (the punches' feed), and nothing else: what the
    database spends before anything is batched or sent. Then the same window read from the punches
    themselves, by received time (`punches`): what the pipeline read before the feed."""
    out = {}
    for name, reads in (("feed", punch_feed.since(db, since)),
                        ("punches", pipeline.by_time(db, since, dt.datetime.now(dt.timezone.utc)))):
        meter = CpuMeter().start()
        started = time.monotonic()
        n = 0
        async for some in reads:
            n += sum(1 for p in some if p["received_at"] >= since)
        out[name] = {"punches": n, "seconds": time.monotonic() - started,
                     "database": meter.read().get("database", 0.0)}
    return {**out["feed"], "punches_read": out["punches"]}


def _bound(ceiling_seconds: float, ceiling_cpu: dict, read: dict) -> float:
    """The highest ratio this machine allows a pipeline that reads its punches from the database: it does
    at least the ceiling's work (the stand-in's and the client's CPU) and the read's, and on n cores it
    cannot take less than 1/n of those CPU seconds."""
    floor = (ceiling_cpu.get("stand-in", 0.0) + ceiling_cpu.get("this process", 0.0) + read["database"]) / (os.cpu_count() or 1)
    return ceiling_seconds / max(floor, ceiling_seconds)


class GatewayBench:
    """`realname bench gateway` as its own process beside the pipeline. `measuring` is set
    when its timed turns begin (its set-up is no load on the gateway worth counting) and the moments its
    turns began and it ended are kept, to say how much of its measuring the pipeline ran beside."""

    def __init__(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "bench", "gateway", *GATEWAY_ARGS],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.measuring = threading.Event()
        self.started_at = self.ended_at = None
        self._watch = threading.Thread(target=self._watch_log, daemon=True)
        self._watch.start()

    def _watch_log(self) -> None:
        for line in self.proc.stderr:
            if "database ceiling" in line and not self.measuring.is_set():   # its first timed turn
                self.started_at = time.monotonic()
                self.measuring.set()
        self.ended_at = time.monotonic()
        self.measuring.set()

    async def wait_measuring(self) -> None:
        await asyncio.to_thread(self.measuring.wait, 900)

    def result(self, beside: tuple[float, float]) -> dict:
        """Its ratio, and the seconds of its measuring the pipeline ran beside (beside: the pipeline's span)."""
        out, _ = self.proc.communicate(timeout=1800)
        self._watch.join(60)
        last = out.strip().splitlines()[-1] if out.strip() else ""
        ratio = float(last.split("=", 1)[1]) if last.startswith("ratio=") else None
        start, end = self.started_at or self.ended_at, self.ended_at
        overlap = max(0.0, min(end, beside[1]) - max(start, beside[0]))
        _log(f"gateway bench in parallel: ratio {ratio}; measured for {end - start:.0f} s, "
             f"{overlap:.0f} s of it beside the pipeline")
        return {"ratio": ratio, "measured": end - start, "beside": overlap}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(60)


def main(args: argparse.Namespace, config: Config) -> int:
    if args.quick:
        args.projects, args.workers, args.punches, args.rounds = 5, 10, 2000, 1
    return run_and_report(args, config, _run, _report, prefix="realname-bench-upload-")


async def _run(args, config: Config, uri: str, data_dir: Path) -> dict:
    db_name = f"benchup_{int(time.time())}"
    client, db = await open_database(uri, db_name, app_name="bench-upload")
    standin = Standin()
    gateway = None
    try:
        set_up = time.monotonic()
        sites = await _prepare(db, standin, args)
        _log(f"set up {len(sites)} projects, {len(sites) * args.workers} workers in {time.monotonic() - set_up:.0f} s")
        platform = standin.platform(config)
        structure = await upload_structure(db, platform, config)

        # Each round a day's worth of new punches (later moments of the same day) through the pipeline, then
        # the same batches straight to the stand-in: a ratio per round, as the machine's load moves. With
        # --gateway, rounds not timed run first for as long as the gateway's bench measures.
        day = _chunks(_day_punches(sites, args.punches * (args.rounds + (GATEWAY_LOAD_ROUNDS if args.gateway else 0))),
                      args.punches)
        bench_config = config.replace(province_punch_margin_seconds=BENCH_MARGIN_SECONDS)
        state = {"previous_end": dt.datetime.now(dt.timezone.utc)}   # the structure's passes read up to here

        async def through_the_pipeline(punches: list[dict], label: str) -> dict:
            # Stamped as the gateway would as they came in: over the last ARRIVAL_SECONDS, in order, but after
            # the previous round's passes (a punch stamped before a pass's watermark is not read: the margin
            # is for writes landing late, not for stamps from the past).
            inserted = dt.datetime.now(dt.timezone.utc)
            received = max(inserted - dt.timedelta(seconds=ARRIVAL_SECONDS), state["previous_end"])
            span = (inserted - received).total_seconds()
            for n, p in enumerate(punches):
                p["received_at"] = received + dt.timedelta(seconds=span * n / len(punches))
            for start in range(0, len(punches), config.punch_batch_max):
                await punch_store.store(db, punches[start:start + config.punch_batch_max])
            _log(f"{label}: {len(punches)} punches of today stored")
            before = await _succeeded_punches(db)

            async def round_done():
                return await _succeeded_punches(db) >= before + len(punches)
            meter = CpuMeter().start()
            passes, seconds = await _passes_until(db, platform, bench_config, round_done, deadline=3600)
            cpu = meter.read()
            state["previous_end"] = dt.datetime.now(dt.timezone.utc)
            _log(f"{label} pipeline: {len(punches)} punches in {seconds:.1f} s ({passes} passes): "
                 f"{len(punches) / seconds:.0f}/s; CPU {cpu_line(cpu)}")
            return {"punches": len(punches), "seconds": seconds, "passes": passes, "pipeline_cpu": cpu,
                    "pipeline": len(punches) / seconds, "received": received}

        rounds = []
        for r in range(args.rounds):
            x = await through_the_pipeline(next(day), f"round {r + 1}")
            since = x.pop("received")
            meter = CpuMeter().start()
            sent, ceiling_seconds = await _ceiling(db, standin, platform.http, pipeline.SEND_CONCURRENCY, since=since)
            ceiling_cpu = meter.read()
            _log(f"round {r + 1} ceiling: {sent} punches straight to the stand-in in {ceiling_seconds:.1f} s: "
                 f"{sent / ceiling_seconds:.0f}/s; CPU {cpu_line(ceiling_cpu)}")
            read = await _read_alone(db, since)
            _log(f"round {r + 1} the window's read alone: {read['punches']} punches in {read['seconds']:.2f} s; "
                 f"database CPU {read['database']:.2f} s (read from the punches themselves: "
                 f"{read['punches_read']['seconds']:.1f} s, database CPU {read['punches_read']['database']:.1f} s)")
            rounds.append({**x, "ceiling": sent / ceiling_seconds, "ceiling_seconds": ceiling_seconds,
                           "ceiling_cpu": ceiling_cpu, "ratio": x["pipeline"] / (sent / ceiling_seconds),
                           "read": read, "bound": _bound(ceiling_seconds, ceiling_cpu, read)})

        gateway_result = None
        if args.gateway:
            # After the timed rounds: from here on this process runs its passes as a worker does, at the
            # worker's niceness (its database and the stand-in, like the platform's database and the
            # province, stay as they are). Started first, the gateway's bench keeps the default niceness.
            gateway = GatewayBench()
            niceness = lower_priority(config.worker_nice)
            await gateway.wait_measuring()
            began, loads = time.monotonic(), 0
            while gateway.proc.poll() is None and loads < GATEWAY_LOAD_ROUNDS:
                await through_the_pipeline(next(day), f"beside the gateway's bench, round {loads + 1} (not timed)")
                loads += 1
            gateway_result = {**await asyncio.to_thread(gateway.result, (began, time.monotonic())),
                              "rounds": loads, "niceness": niceness}
            gateway = None
    finally:
        if gateway is not None:
            gateway.stop()
        standin.stop()
        await drop_and_close(client, db_name)
    return {"structure": structure, "rounds": rounds, "ratio": statistics.median(r["ratio"] for r in rounds),
            "gateway": gateway_result}


async def _succeeded_punches(db) -> int:
    return sum(n - refused for n, refused in (await uploads.punch_counts(db, [uploads.SUCCEEDED])).values())


def _report(args, r: dict) -> list[str]:
    s = r["structure"]
    command = (f"realname bench upload --projects {args.projects} --workers {args.workers} --teams {args.teams} "
               f"--punches {args.punches} --rounds {args.rounds}" + (" --gateway" if args.gateway else ""))
    lines = [
        f"## Upload to the provincial platform (上传省厅) — {dt.datetime.now(SITE_TZ):%Y-%m-%d %H:%M} (UTC+8)",
        "",
        f"Command: `{command}`  ",
        f"Machine: {machine()}; embedded SecantusDB (Python server) and `realname province-sim` on the same machine.",
        "",
        f"Set-up, not timed: units, teams, workers and entries of {args.projects} projects "
        f"({args.projects * args.workers} workers) uploaded by pipeline passes: {s['records']} records in "
        f"{s['seconds']:.0f} s ({s['passes']} passes). Then each round: {args.punches} new punches of today stored as the gateway stores them, "
        f"pipeline passes until all 上传成功, then the same batches posted straight to the stand-in "
        f"({pipeline.SEND_CONCURRENCY} at once), each polled to its outcome.",
        "",
        "| round | pipeline | ceiling | ratio | CPU in the pipeline's window | CPU in the ceiling's window |",
        "|---|---|---|---|---|---|",
    ]
    for n, x in enumerate(r["rounds"], 1):
        lines.append(f"| {n} | {x['seconds']:.1f} s, {x['passes']} passes, **{x['pipeline']:.0f} punches/s** | "
                     f"{x['ceiling_seconds']:.1f} s, **{x['ceiling']:.0f} punches/s** | {x['ratio']:.2f} | "
                     f"{cpu_line(x['pipeline_cpu'])} | {cpu_line(x['ceiling_cpu'])} |")
    lines += ["", "What the machine allows, per round: the window read alone as the pipeline reads it (the punches' "
              "feed), and the highest ratio a pipeline reading its punches from the database could reach on these "
              f"{os.cpu_count()} cores — the ceiling's CPU (stand-in and client) plus the read's, over the cores, "
              "against the ceiling's time; beside it the same window read from the punches themselves (by "
              "received time, the read before the feed):", "",
              "| round | read alone (feed) | database CPU of the read | bound on the ratio "
              "| read from the punches: time, database CPU |", "|---|---|---|---|---|"]
    for n, x in enumerate(r["rounds"], 1):
        old = x['read']['punches_read']
        lines.append(f"| {n} | {x['read']['punches']} punches in {x['read']['seconds']:.2f} s | "
                     f"{x['read']['database']:.2f} s | {x['bound']:.2f} | "
                     f"{old['punches']} punches in {old['seconds']:.1f} s, {old['database']:.1f} s |")
    lines += ["", f"**Ratio pipeline / ceiling, median of the rounds (target ≥ 0.8): {r['ratio']:.2f}**"]
    g = r["gateway"]
    if g is not None and g["ratio"] is not None:
        lines.append(f"`realname bench gateway` ratio while the pipeline ran rounds of new punches one after the other "
                     f"at the worker's niceness {g['niceness']} (target ≥ 0.8): {g['ratio']:.2f} (it measured for "
                     f"{g['measured']:.0f} s, {g['beside']:.0f} s of them beside the pipeline, which took "
                     f"{g['rounds']} rounds of {args.punches} punches through meanwhile)")
    return lines
