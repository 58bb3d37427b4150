"""`realname bench upload`: a city day of attendance through the upload pipeline to the stand-in, against
the stand-in's own ceiling.

Measured side by side in one run on one machine, so the figure that matters is a ratio:
  set-up   — projects with a unit, teams and entered workers (with credentials, registered on the
             stand-in); their units, teams, workers and entries are uploaded by pipeline passes before the
             punches exist (not timed: a city's structure is uploaded once, its attendance every day);
  pipeline — the day's punches are inserted (as the gateway would), then passes run (the job kind's
             `run_once`) until every punch is 上传成功: punches per second;
  ceiling  — the same punches, in the same batches the pipeline sent (built from its batch records into
             the same payloads, outside the timed window), posted straight to the stand-in by a plain
             concurrent client that then polls each serial to its outcome (the platform already holds
             them, so it answers "already exists" per item: the same checks, no store);
  gateway  — optionally (`--gateway`), `realname bench gateway` with a short window runs in parallel
             with the pipeline, and its ratio is reported.
The stand-in runs as its own process (`realname province-sim`), as it does for the demo.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from .. import synthetic
from ..config import Config
from ..domain.site_clock import SITE_TZ
from ..province import payloads, pipeline, signing
from ..province.client import HttpPlatform, upload_method
from ..store import people, uploads, workforce
from ..store.db import open_database
from ..store.punches import PunchIn
from .common import add_output_arguments, drop_and_close, log as _log, machine, run_and_report

VENDOR = "BENCHUP"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--projects", type=int, default=100)
    parser.add_argument("--workers", type=int, default=25, help="workers per project")
    parser.add_argument("--teams", type=int, default=2, help="teams per project")
    parser.add_argument("--punches", type=int, default=50_000, help="punches of the day, over all workers")
    parser.add_argument("--gateway", action="store_true",
                        help="run `realname bench gateway` (short window) in parallel with the pipeline")
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

    async def control(self, path: str, body: str) -> None:
        await AsyncHTTPClient().fetch(self.base + path, method="POST", body=body)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


async def _prepare(db, standin: Standin, args) -> list[dict]:
    """Projects with credentials, a unit, teams and entered workers; returns [{project_id, worker_nos}]."""
    import json
    rng = random.Random(1)
    photo = synthetic.jpeg_photo(rng, target_bytes=3000)
    enterprise = await workforce.create_enterprise(db, credit_code=synthetic.credit_code(rng), name="基准测试建设有限公司")
    sites = []
    for p in range(args.projects):
        appid, secret, code = _creds(p)
        project = await workforce.create_project(db, name=f"基准上传项目{p + 1}", county="蓬江区")
        await db.projects.update_one({"_id": project["_id"]}, {"$set": {"province": {
            "appid": appid, "appsecret": secret, "project_code": code}}})
        await standin.control("/_sim/apps", json.dumps({"appid": appid, "appsecret": secret, "projectCode": code}))
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


def _day_punches(sites: list[dict], n: int) -> list[dict]:
    """n punches of today (site time), spread over the workers, one second apart per worker, all in the past."""
    now = dt.datetime.now(SITE_TZ).replace(tzinfo=None, microsecond=0)
    start = now.replace(hour=0, minute=0, second=0)
    workers = [(s["project_id"], w) for s in sites for w in s["worker_nos"]]
    per_worker = -(-n // len(workers))
    span = max(1, int((now - start).total_seconds()) - 60)
    step = max(1, span // per_worker)
    received = dt.datetime.now(dt.timezone.utc)
    docs = []
    for i in range(n):
        project_id, worker_no = workers[i % len(workers)]
        k = i // len(workers)
        when = start + dt.timedelta(seconds=k * step + (i % len(workers)) % step)
        docs.append(PunchIn(vendor_code=VENDOR, device_id=f"U{project_id}", project_id=project_id, worker_no=worker_no,
                            device_time=when, mode=6, photo=b"", received_at=received, flags=[]).document())
    return docs


async def _passes_until(db, platform, config, done, *, deadline: float) -> tuple[int, float]:
    """Pipeline passes until done(); returns (passes, seconds)."""
    started = time.monotonic()
    passes = 0
    while not await done():
        if time.monotonic() - started > deadline:
            raise SystemExit(f"the pipeline did not finish within {deadline:g} s")
        report = await pipeline.run_once(db, platform, config)
        passes += 1
        _log(report.line())
        if report.sent == 0:
            await asyncio.sleep(0.05)  # outcomes not ready yet on the stand-in
    return passes, time.monotonic() - started


async def _ceiling(db, standin: Standin, config: Config, concurrency: int) -> tuple[int, float]:
    """The same batches the pipeline sent (its batch records, built into the same payloads), posted straight
    to the stand-in, each polled to its outcome."""
    sites = await pipeline.sites(db)
    batches = await db.uploads.find({"kind": "attendance"}, {"history": 0}).to_list(None)
    folks = await people.by_worker_nos(db, (i["worker_no"] for b in batches for i in b["items"]), ("id_number",))
    teams = await uploads.states_of(db, {uploads.upload_id("team", b["team_id"]) for b in batches})
    forms = []
    for b in batches:
        site = sites[b["project_id"]]
        team_sys_no = teams[uploads.upload_id("team", b["team_id"])]["platform_ids"]["teamSysNo"]
        cards = payloads.id_cards(folks, {i["worker_no"] for i in b["items"]}, site.creds.appsecret)
        forms.append((site.creds, payloads.attendance_payload(site.code, team_sys_no, b["items"], cards), b["n"]))
    http = AsyncHTTPClient()
    limit = asyncio.Semaphore(concurrency)

    async def post(creds, method, payload) -> dict:
        import json
        form = signing.build_form(creds.appid, creds.appsecret, method, payload)
        async with limit:
            response = await http.fetch(HTTPRequest(standin.api, method="POST", body=urllib.parse.urlencode(form),
                                                    request_timeout=60))
        return json.loads(response.body)

    async def one(creds, payload):
        serial = (await post(creds, upload_method("attendance"), payload))["data"]["requestSerialCode"]
        while (await post(creds, "AsyncHandleResult.Query", {"requestSerialCode": serial}))["data"]["status"] == 0:
            await asyncio.sleep(0.05)

    started = time.monotonic()
    await asyncio.gather(*(one(creds, payload) for creds, payload, _ in forms))
    return sum(n for *_, n in forms), time.monotonic() - started


def _gateway_bench(uri_env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "server.cli", "bench", "gateway", "--devices", "50", "--seconds", "10",
                             "--idle-devices", "200", "--idle-seconds", "5", "--ceiling-punches", "3000"],
                            env=uri_env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def main(args: argparse.Namespace, config: Config) -> int:
    if args.quick:
        args.projects, args.workers, args.punches = 5, 10, 2000
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
        platform = HttpPlatform(standin.api, connect_timeout=config.province_connect_timeout,
                                request_timeout=config.province_request_timeout)

        async def structure_done():
            return (await db.uploads.count_documents({}) > 0
                    and not await db.uploads.count_documents({"state": {"$ne": uploads.SUCCEEDED}}))
        passes, seconds = await _passes_until(db, platform, config, structure_done, deadline=3600)
        structure = {"records": await db.uploads.count_documents({}), "seconds": seconds, "passes": passes}
        _log(f"structure uploaded: {structure['records']} records in {seconds:.1f} s ({passes} passes)")

        day = _day_punches(sites, args.punches)
        for start in range(0, len(day), 1000):
            await db.punches.insert_many(day[start:start + 1000], ordered=False)
        _log(f"{len(day)} punches of today inserted")
        if args.gateway:
            gateway = _gateway_bench(dict(os.environ))

        async def day_done():
            done = await uploads.punch_counts(db, [uploads.SUCCEEDED])
            return sum(n for n, _refused in done.values()) >= len(day)
        passes, seconds = await _passes_until(db, platform, config, day_done, deadline=3600)
        pipeline_rate = len(day) / seconds
        _log(f"pipeline: {len(day)} punches in {seconds:.1f} s ({passes} passes): {pipeline_rate:.0f}/s")

        sent, ceiling_seconds = await _ceiling(db, standin, config, pipeline.SEND_CONCURRENCY)
        ceiling_rate = sent / ceiling_seconds
        _log(f"ceiling: {sent} punches straight to the stand-in in {ceiling_seconds:.1f} s: {ceiling_rate:.0f}/s")
        gateway_ratio = None
        if gateway is not None:
            out, _ = gateway.communicate(timeout=1800)
            gateway = None
            last = out.strip().splitlines()[-1] if out.strip() else ""
            gateway_ratio = float(last.split("=", 1)[1]) if last.startswith("ratio=") else None
            _log(f"gateway bench in parallel: ratio {gateway_ratio}")
    finally:
        if gateway is not None:
            gateway.terminate()
            gateway.wait(60)
        standin.stop()
        await drop_and_close(client, db_name)
    return {"structure": structure, "punches": len(day), "pipeline_seconds": seconds, "pipeline_passes": passes,
            "pipeline": pipeline_rate, "ceiling": ceiling_rate, "ceiling_seconds": ceiling_seconds,
            "ratio": pipeline_rate / ceiling_rate, "gateway_ratio": gateway_ratio}


def _report(args, r: dict) -> list[str]:
    s = r["structure"]
    command = (f"realname bench upload --projects {args.projects} --workers {args.workers} --teams {args.teams} "
               f"--punches {args.punches}" + (" --gateway" if args.gateway else ""))
    lines = [
        f"## Upload to the provincial platform (上传省厅) — {dt.datetime.now(SITE_TZ):%Y-%m-%d %H:%M} (UTC+8)",
        "",
        f"Command: `{command}`  ",
        f"Machine: {machine()}; embedded SecantusDB (Python server) and `realname province-sim` on the same machine.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| set-up, not timed: units, teams, workers, entries of {args.projects} projects uploaded by pipeline passes | "
        f"{s['records']} records in {s['seconds']:.0f} s ({s['passes']} passes) |",
        f"| pipeline: a day's punches ({r['punches']}, {args.projects * args.workers} workers) inserted, then passes until "
        f"all 上传成功 | {r['pipeline_seconds']:.1f} s, {r['pipeline_passes']} passes, **{r['pipeline']:.0f} punches/s** |",
        f"| ceiling: the same batches posted straight to the stand-in ({pipeline.SEND_CONCURRENCY} at once), "
        f"each polled to its outcome | {r['ceiling_seconds']:.1f} s, **{r['ceiling']:.0f} punches/s** |",
        f"| **ratio pipeline / ceiling** (target ≥ 0.8) | **{r['ratio']:.2f}** |",
    ]
    if r["gateway_ratio"] is not None:
        lines.append(f"| `realname bench gateway` ratio, run in parallel with the pipeline (target ≥ 0.8) | "
                     f"{r['gateway_ratio']:.2f} |")
    return lines
