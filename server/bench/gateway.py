"""`realname bench gateway`: the gateway's sustained punch rate against the database's own ceiling.

Measured side by side in one run on one machine, so the figure that matters is a ratio:
  ceiling  — the same punch and photo documents written straight through the driver as the gateway
             writes them (the photos, then the punches with their feed document in one transaction:
             `punches.store`), in batches of the gateway's batch size;
  gateway  — N devices over real TCP, each sending its next punch as soon as the previous one is
             acknowledged (Flag 0 = in the database);
  latency  — p50/p99 acknowledgement latency with the fleet paced at half the sustained rate;
  idle     — M connected devices that only heartbeat: gateway RSS and CPU.
The gateway runs as its own process (as in production); the load generator here is deliberately
lean (pre-encoded photos, no per-punch logging) so it does not starve the gateway of CPU.
With --with-worker a `realname worker` process runs beside it on the same database for the whole
run, folding the punches into the attendance rollups every second: the gateway must not wait for it.
With --with-upload a second worker joins it, and both also upload to the provincial platform (上传省厅,
a pass due every second, other settings as deployed) at a `realname province-sim` of the bench's own:
the projects' units, teams, workers and entries are uploaded before the timed turns (as a city's
structure is long before its day), and the gateway's punches go up as they come in, beside every
turn; the report says for how much of the turns an upload pass ran. Punch times are then of today
(site time), which the platform takes, instead of days of their own per device.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Awaitable, Callable

from ..config import Config
from .. import synthetic
from ..device import codec
from ..device.codec import Frame
from ..device.framer import FrameBuffer
from ..domain.site_clock import SITE_TZ
from ..store import jobs, people, upload_results, uploads, workforce
from ..store import punches as punches_store
from ..store.db import open_database
from ..store.embedded import free_port
from .common import add_output_arguments, drop_and_close, heading, log, run_and_report
from .upload import Standin, take_part, upload_structure
from ..store.punches import PunchIn

VENDOR = "BENCH"
# With --with-upload: a device sends far fewer punches than this in one run (one a second of punch time),
# and the runs' times start this far apart; four runs from TODAY_BACK ago stay in the past.
RUN_SECONDS = 1000
TODAY_BACK = dt.timedelta(hours=2)
# The workers beside the gateway run their upload pass this often (as they fold every second): the
# harder case than the deployed minute, passes one after the other while punches come in.
UPLOAD_SECONDS = 1.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--devices", type=int, default=500,
                        help="devices punching at once in the sustained-rate windows (default 500)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each sustained-rate window")
    parser.add_argument("--idle-devices", type=int, default=10_000,
                        help="connections held open, heartbeating only, for the idle figures (default 10000)")
    parser.add_argument("--idle-seconds", type=float, default=60.0,
                        help="how long the idle connections are held and measured (default 60)")
    parser.add_argument("--heartbeat-interval", type=float, default=30.0,
                        help="seconds between heartbeats of each idle device (default 30)")
    parser.add_argument("--photo-kb", type=float, default=10.0, help="size of each punch photo in KB (default 10)")
    parser.add_argument("--ceiling-punches", type=int, default=20_000,
                        help="punches sent as fast as possible to find the ceiling rate (default 20000)")
    parser.add_argument("--with-worker", action="store_true",
                        help="run a `realname worker` beside the gateway, folding the rollups every second")
    parser.add_argument("--with-upload", action="store_true",
                        help="with a second worker, both also uploading the punches as they come in to a stand-in "
                             "of the provincial platform (implies --with-worker)")
    add_output_arguments(parser)


_log = log


# Set-up ------------------------------------------------------------------------------------

async def _prepare(db, n_devices: int, n_idle: int, workers_per_project: int = 20,
                   devices_per_project: int = 10, uploadable: bool = False) -> list[tuple[str, int, list[int]]]:
    """Projects with entered workers and registered devices; returns (device_id, project_id, worker_nos).
    `uploadable`: the workers have what the platform requires of a worker record (a head photo, a nation)."""
    rng = random.Random(1)
    photo = synthetic.jpeg_photo(rng, target_bytes=3000) if uploadable else b""
    projects = max(1, n_devices // devices_per_project)
    enterprise = await workforce.create_enterprise(db, credit_code=synthetic.credit_code(rng), name="基准测试建设有限公司")
    fleet = []
    for p in range(projects):
        project = await workforce.create_project(db, name=f"基准测试项目{p + 1}", county="蓬江区")
        unit = await workforce.add_unit(db, project_id=project["_id"], enterprise_id=enterprise["_id"],
                                        unit_type="施工总承包单位")
        team = await workforce.add_team(db, project_id=project["_id"], unit_id=unit["_id"], name="土建")
        worker_nos = []
        for _ in range(workers_per_project):
            card = people.check_person_card({"id_number": synthetic.id_number(rng), "name": synthetic.chinese_name(rng),
                                             **({"nation": "01"} if uploadable else {})})
            person, _ = await people.enroll(db, card, id_photo=photo, capture_photo=photo, source={"bench": True})
            await workforce.enter_person(db, project_id=project["_id"], worker_no=person["worker_no"],
                                         team_id=team["_id"], job="普通工人")
            worker_nos.append(person["worker_no"])
        fleet.append((project["_id"], worker_nos))
    devices = []
    now = dt.datetime.now(dt.timezone.utc)
    docs = [{"vendor_code": VENDOR, "device_id": f"B{i:06d}", "project_id": fleet[i % projects][0], "status": "active",
             "online": False, "last_seen": None, "counters": {}, "registered_by": "bench", "created_at": now}
            for i in range(max(n_devices, n_idle))]
    for start in range(0, len(docs), 1000):
        await db.devices.insert_many(docs[start:start + 1000])
    for i in range(n_devices):
        project_id, worker_nos = fleet[i % projects]
        devices.append((f"B{i:06d}", project_id, worker_nos))
    _log(f"set up {projects} projects, {projects * workers_per_project} workers, {len(docs)} devices")
    return devices


# Database ceiling --------------------------------------------------------------------------

async def _ceiling(db, photos: list[bytes], n: int, batch: int, run: int) -> float:
    base = dt.datetime.now() - dt.timedelta(days=1)
    punches = [PunchIn(vendor_code="CEIL", device_id=f"C{run}{i % 500:04d}", project_id=1, worker_no=1 + i,
                       device_time=base + dt.timedelta(seconds=i), mode=6, photo=photos[i % len(photos)],
                       received_at=dt.datetime.now(dt.timezone.utc), flags=[]) for i in range(n)]
    from ..store.photos import photo_doc
    started = time.perf_counter()
    for s in range(0, n, batch):
        chunk = punches[s:s + batch]
        await db.photos.insert_many([photo_doc("punch", p.photo, _id=p.key) for p in chunk], ordered=False)
        await punches_store.store(db, [p.document() for p in chunk])
    return n / (time.perf_counter() - started)


# Load generator ----------------------------------------------------------------------------

class LeanDevice:
    # A device's punch times start at its epoch (2020-01-01 unless given) + its offset seconds and go up
    # a second a punch; offsets are DAY_SPACING apart (by default), so each device's punches of a run
    # fall on a day or two of their own. A punch's identity holds its device: devices never repeat
    # each other's.
    DAY_SPACING = 1_000_000
    EPOCH = dt.datetime(2020, 1, 1)

    def __init__(self, device_id: str, worker_nos: list[int], photo: bytes, offset: int, epoch: dt.datetime = EPOCH):
        self.device_id, self.worker_nos, self.photo, self.epoch = device_id, worker_nos, photo, epoch
        self.session = os.urandom(16)
        self.framer = FrameBuffer(1 << 20)
        self.seq = offset
        self.latencies: list[float] = []
        self.acked = 0
        self.refused = 0

    async def _request(self, reader, writer, command: int, content: bytes) -> Frame:
        writer.write(Frame(command, content, self.session).encode())
        while True:
            for frame in self.framer:
                return frame
            data = await reader.read(65536)
            if not data:
                raise ConnectionError("gateway closed the connection")
            self.framer.feed(data)

    def _punch_content(self) -> bytes:
        self.seq += 1
        when = self.epoch + dt.timedelta(seconds=self.seq)
        worker = self.worker_nos[self.seq % len(self.worker_nos)]
        return codec.encode_request(codec.PunchRequest(worker, when, 6, self.photo))[1]

    async def login(self, host: str, port: int) -> None:
        self.reader, self.writer = await asyncio.open_connection(host, port)
        reply = await self._request(self.reader, self.writer, codec.CMD_LOGIN,
                                    codec.encode_request(codec.LoginRequest(VENDOR, self.device_id))[1])
        if reply.flag:
            raise RuntimeError(f"login refused for {self.device_id}: {reply.content.decode(errors='replace')}")

    async def punch_until(self, start_at: float, stop_at: float, pace: float) -> None:
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        next_at = time.monotonic()
        while time.monotonic() < stop_at:
            content = self._punch_content()
            sent = time.perf_counter()
            reply = await self._request(self.reader, self.writer, codec.CMD_PUNCH, content)
            if reply.flag == 0:
                self.acked += 1
                self.latencies.append(time.perf_counter() - sent)
            else:
                self.refused += 1
            if pace:
                next_at += pace
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        self.writer.close()


async def _quiet(db) -> None:
    """Wait until the fleet's disconnects (one offline write each) are over, so they do not load the next measurement."""
    while await db.devices.count_documents({"vendor_code": VENDOR, "online": True}):
        await asyncio.sleep(0.5)
    await asyncio.sleep(1.0)


async def _fleet(host: str, port: int, fleet, photos, seconds: float, rate: float | None, run: int,
                 later: int = 0, spacing: int = LeanDevice.DAY_SPACING, today: dt.datetime | None = None) -> dict:
    """All devices log in first; then the window opens for all at once (paced ones spread over one period).

    `later`: seconds after the run's first punch times to start from — a second window of the same
    run number then punches on the same days as the first (its punches are later ones of those days).
    `spacing` 0: every device's punch times start at the same moment, so all fall on one day.
    `today`: punch times from there (a moment of today, site time), each run's RUN_SECONDS after the
    one before (a device's own times never repeat; devices' punches are told apart by the device)."""
    if today is not None:
        devs = [LeanDevice(d, w, photos[i % len(photos)], run * RUN_SECONDS + later, epoch=today)
                for i, (d, _, w) in enumerate(fleet)]
    else:   # distinct punch times per device and per run, so no punch repeats an earlier one's identity
        devs = [LeanDevice(d, w, photos[i % len(photos)], (run * len(fleet) + i) * spacing + later)
                for i, (d, _, w) in enumerate(fleet)]
    connect_gate = asyncio.Semaphore(100)

    async def login(dev):
        async with connect_gate:
            await dev.login(host, port)

    await asyncio.gather(*(login(d) for d in devs))
    await asyncio.sleep(1.0)  # let the login writes settle before measuring
    pace = len(fleet) / rate if rate else 0.0
    rng = random.Random(3)
    start_at = time.monotonic() + 0.5
    began = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=0.5)
    stop_at = start_at + seconds
    await asyncio.gather(*(d.punch_until(start_at + rng.random() * pace, stop_at, pace) for d in devs))
    elapsed = time.monotonic() - start_at
    latencies = sorted(x for d in devs for x in d.latencies)
    acked = sum(d.acked for d in devs)
    return {"acked": acked, "refused": sum(d.refused for d in devs), "rate": acked / elapsed,
            "most_sent": max(d.acked + d.refused for d in devs), "window": (began, began + dt.timedelta(seconds=elapsed)),
            "p50_ms": 1000 * _pct(latencies, 0.50), "p99_ms": 1000 * _pct(latencies, 0.99)}


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(q * len(values)))]


# Idle devices ------------------------------------------------------------------------------

async def _idle(host: str, port: int, n: int, seconds: float, interval: float, gateway_pid: int) -> dict:
    import psutil
    proc = psutil.Process(gateway_pid)
    login_frames = [Frame(codec.CMD_LOGIN, codec.encode_request(codec.LoginRequest(VENDOR, f"B{i:06d}"))[1]).encode()
                    for i in range(n)]
    heartbeat = Frame(codec.CMD_HEARTBEAT, b"").encode()
    connected = 0
    beats = 0
    failures = 0
    stop_at = None
    sem = asyncio.Semaphore(200)  # connect in waves, as devices coming online after a power cut would

    async def one(i: int):
        nonlocal connected, beats, failures
        async with sem:
            try:
                reader, writer = await asyncio.open_connection(host, port)
                writer.write(login_frames[i])
                await reader.readexactly(34)
            except (OSError, asyncio.IncompleteReadError):
                failures += 1
                return
        connected += 1
        while stop_at is None:
            await asyncio.sleep(0.5)
        rng = random.Random(i)
        await asyncio.sleep(rng.random() * interval)
        try:
            while time.monotonic() < stop_at:
                writer.write(heartbeat)
                await reader.readexactly(34)
                beats += 1
                await asyncio.sleep(interval)
        except (OSError, asyncio.IncompleteReadError):
            failures += 1
        writer.close()

    tasks = [asyncio.ensure_future(one(i)) for i in range(n)]
    while connected + failures < n:
        await asyncio.sleep(0.5)
    proc.cpu_percent(None)
    stop_at = time.monotonic() + seconds
    peak_rss = 0
    while time.monotonic() < stop_at:
        peak_rss = max(peak_rss, proc.memory_info().rss)
        await asyncio.sleep(1.0)
    cpu = proc.cpu_percent(None)
    await asyncio.gather(*tasks)
    return {"connected": connected, "failures": failures, "heartbeats": beats, "rss_mib": peak_rss / 2**20,
            "cpu_percent": cpu}


# Driver --------------------------------------------------------------------------------------

def _raise_open_files(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(max(soft, needed), hard)
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < needed:
        _log(f"warning: open-file limit {want} is below the {needed} the idle benchmark needs")


def main(args: argparse.Namespace, config: Config) -> int:
    if args.quick:
        args.devices, args.seconds, args.idle_devices, args.idle_seconds, args.ceiling_punches = 50, 5, 300, 5, 2000
        args.heartbeat_interval = 2.0
    _raise_open_files(args.idle_devices + 2000)
    return run_and_report(args, config, _run, _report, prefix="realname-bench-")


async def _run(args, config: Config, uri: str, data_dir: Path) -> dict:
    db_name = f"bench_{int(time.time())}"
    client, db = await open_database(uri, db_name, app_name="bench")
    rng = random.Random(7)
    photos = synthetic.photo_pool(rng, 16, int(args.photo_kb * 1000))
    args.with_worker = args.with_worker or args.with_upload
    fleet = await _prepare(db, args.devices, args.idle_devices, uploadable=args.with_upload)
    folded = upload = structure = today = None
    try:
        with contextlib.ExitStack() as children:
            province_url = ""
            if args.with_upload:
                standin, structure = await _upload_set_up(db, fleet, config)
                children.callback(standin.stop)
                province_url = standin.api
                today = (dt.datetime.now(SITE_TZ) - TODAY_BACK).replace(tzinfo=None, microsecond=0)
            if args.with_worker:   # beside every measurement, the ceiling's too
                children.enter_context(worker_process(uri, db_name, data_dir, province_url=province_url))
            if args.with_upload:
                # A worker runs one job at a time, and under the fleet's flood the fold's passes take it for
                # their whole PASS_SECONDS: a second worker, so the upload runs all along, not between them.
                children.enter_context(worker_process(uri, db_name, data_dir, province_url=province_url,
                                                      name="second worker"))
                passes = UploadPasses(db)
                children.callback(passes.stop)
            # Ceiling and gateway are measured in turns (ceiling, gateway, ceiling, gateway, ceiling): the
            # embedded server's speed drifts as its collections grow and from run to run, so the ratio is
            # taken between the means of measurements made around the same time.
            ceilings = [await _ceiling(db, photos, args.ceiling_punches, config.punch_batch_max, run=0)]
            _log(f"database ceiling: {ceilings[-1]:.0f} punches/s (written as the gateway writes them, batches of {config.punch_batch_max})")
            gateway, port = children.enter_context(
                gateway_process(uri, db_name, data_dir, idle_timeout=max(180, 3 * args.heartbeat_interval)))
            runs = []
            for turn in (1, 2):
                runs.append(await _fleet("127.0.0.1", port, fleet, photos, args.seconds, None, run=turn, today=today))
                _log(f"sustained: {runs[-1]['rate']:.0f} acknowledged punches/s, p50 {runs[-1]['p50_ms']:.1f} ms, "
                     f"p99 {runs[-1]['p99_ms']:.1f} ms")
                await _quiet(db)
                ceilings.append(await _ceiling(db, photos, args.ceiling_punches, config.punch_batch_max, run=turn))
                _log(f"database ceiling: {ceilings[-1]:.0f} punches/s")
            sustained = {"rate": statistics.mean(r["rate"] for r in runs), "acked": sum(r["acked"] for r in runs),
                         "refused": sum(r["refused"] for r in runs), "p50_ms": runs[-1]["p50_ms"],
                         "p99_ms": runs[-1]["p99_ms"], "rates": [r["rate"] for r in runs]}
            half = await _fleet("127.0.0.1", port, fleet, photos, args.seconds, sustained["rate"] / 2, run=3, today=today)
            _log(f"at half rate ({half['rate']:.0f}/s): p50 {half['p50_ms']:.1f} ms, p99 {half['p99_ms']:.1f} ms")
            stored = await db.punches.count_documents({"vendor_code": VENDOR})
            if args.with_worker:
                folded = await _worker_catch_up(db)
                _log(f"worker: {folded['behind']} punches not yet folded when the timed runs ended; all folded "
                     f"{folded['caught_up_s']:.0f} s later")
            if args.with_upload:
                beside = _upload_beside(passes.stop(), [x["window"] for x in runs])
                _log(f"worker: {beside['passes']} upload passes ran beside the sustained turns, for "
                     f"{beside['seconds']:.0f} s of their {beside['of']:.0f} s, sending {beside['sent']} records")
                upload = {**await _catch_up(stored, lambda: _uploaded(db), 600), "beside": beside}
                _log(f"worker: {upload['behind']} of {stored} punches not yet 上传成功 when the timed runs ended; "
                     f"{'all' if upload['all'] else 'NOT all'} {upload['caught_up_s']:.0f} s later")
            idle = await _idle("127.0.0.1", port, args.idle_devices, args.idle_seconds, args.heartbeat_interval,
                               gateway.pid)
            _log(f"idle: {idle['connected']} connected, RSS {idle['rss_mib']:.0f} MiB, CPU {idle['cpu_percent']:.1f} %")
    finally:
        await drop_and_close(client, db_name)
    ceiling = statistics.mean(ceilings)
    return {"ceiling": ceiling, "ceilings": ceilings, "sustained": sustained, "half": half, "idle": idle,
            "stored": stored, "ratio": sustained["rate"] / ceiling, "folded": folded, "upload": upload,
            "structure": structure}


@contextlib.contextmanager
def _child(name: str, argv: list[str], env: dict, data_dir: Path):
    """A `realname` child process logging to data_dir/<name>.log; terminated (then killed) on leaving."""
    log_file = open(data_dir / f"{name}.log", "wb")
    _log(f"{name} log: {data_dir / f'{name}.log'}")
    proc = subprocess.Popen([sys.executable, "-m", "server.cli", *argv], env=env, stdout=log_file,
                            stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            _log(f"{name} did not stop within 60 s; killing it")
            proc.kill()
            proc.wait()
        log_file.close()


@contextlib.contextmanager
def gateway_process(uri: str, db_name: str, data_dir: Path, *, idle_timeout: float = 180):
    """`realname gateway` on a free loopback port of this database; yields (process, port)."""
    from ..processes import wait_for_port
    port = free_port()
    env = dict(os.environ, MONGODB_URI=uri, REALNAME_DB_NAME=db_name, REALNAME_GATEWAY_HOST="127.0.0.1",
               REALNAME_GATEWAY_PORT=str(port), REALNAME_IDLE_TIMEOUT=str(idle_timeout))
    with _child("gateway", ["gateway"], env, data_dir) as proc:
        if not wait_for_port("127.0.0.1", port, 30):
            raise SystemExit("gateway did not start")
        yield proc, port


@contextlib.contextmanager
def worker_process(uri: str, db_name: str, data_dir: Path, *, fold_seconds: float = 1.0, province_url: str = "",
                   name: str = "worker"):
    """`realname worker` on this database, its rollup_fold pass due every fold_seconds; uploading to the
    provincial platform at province_url if given, a pass due every UPLOAD_SECONDS."""
    env = dict(os.environ, MONGODB_URI=uri, REALNAME_DB_NAME=db_name, REALNAME_ROLLUP_FOLD_SECONDS=str(fold_seconds),
               REALNAME_PROVINCE_URL=province_url, REALNAME_PROVINCE_UPLOAD_SECONDS=str(UPLOAD_SECONDS))
    with _child(name, ["worker"], env, data_dir) as proc:
        yield proc


async def _counted(db) -> int:
    """Punches in the rollups: the sizes of the project-days' punch id sets (a punch is in one day's)."""
    from ..store import rollup_queries
    pipeline = [{"$group": {"_id": None, "n": {"$sum": {"$size": {"$ifNull": ["$punch_ids", []]}}}}}]
    found = [d async for d in await db[rollup_queries.PROJECT_DAYS].aggregate(pipeline)]
    return found[0]["n"] if found else 0


async def _worker_catch_up(db, deadline_s: float = 600) -> dict:
    """How far the worker beside the gateway was behind with the rollups when the timed runs ended, and
    how long it then took to have every punch in them."""
    return await _catch_up(await db.punches.count_documents({"test": False}), lambda: _counted(db), deadline_s)


async def _catch_up(punches: int, done: Callable[[], Awaitable[int]], deadline_s: float) -> dict:
    """How many of `punches` were not yet done when the timed runs ended, and how long it then took to have
    them all done (polled each second, up to deadline_s)."""
    behind = punches - await done()
    started = time.monotonic()
    while await done() < punches and time.monotonic() - started < deadline_s:
        await asyncio.sleep(1.0)
    caught_up = time.monotonic() - started
    return {"punches": punches, "behind": behind, "caught_up_s": caught_up, "all": await done() >= punches}


async def _upload_set_up(db, fleet, config: Config):
    """A stand-in of the provincial platform; the fleet's projects take part, and their units, teams, workers
    and entries are uploaded to it (by passes of this process, before the worker starts)."""
    standin = Standin()
    for p, project_id in enumerate(sorted({project_id for _, project_id, _ in fleet})):
        await take_part(db, standin, project_id, p)
    return standin, await upload_structure(db, standin.platform(config), config)


class UploadPasses:
    """The workers' upload passes, as the job's result lists its recent ones (the last few only: so it is
    read every half second while the turns run)."""

    def __init__(self, db):
        self.db, self.seen = db, {}
        self._task = asyncio.ensure_future(self._watch())

    async def _watch(self) -> None:
        while True:
            job = await jobs.get(self.db, jobs.periodic_id(upload_results.UPLOAD_JOB_NAME)) or {}
            for r in (job.get("result") or {}).get("recent", []):
                end = r["at"] if r["at"].tzinfo else r["at"].replace(tzinfo=dt.timezone.utc)
                self.seen[end] = (end - dt.timedelta(seconds=r["seconds"]), end, r["sent"])
            await asyncio.sleep(0.5)

    def stop(self) -> list[tuple]:
        self._task.cancel()
        return sorted(self.seen.values())


def _upload_beside(passes: list[tuple], windows: list[tuple[dt.datetime, dt.datetime]]) -> dict:
    """The upload passes (start, end, records sent) that overlapped these windows: how many, what they sent,
    and for how many seconds of the windows one ran."""
    overlaps = [(min(end, w_end) - max(start, w_start)).total_seconds()
                for start, end, _ in passes for w_start, w_end in windows]
    beside = [p for p in passes if any(min(p[1], w[1]) > max(p[0], w[0]) for w in windows)]
    return {"passes": len(beside), "sent": sum(p[2] for p in beside), "seconds": sum(o for o in overlaps if o > 0),
            "of": sum((w_end - w_start).total_seconds() for w_start, w_end in windows)}


async def _uploaded(db) -> int:
    """The gateway's punches (this bench's devices') that the platform took: items of attendance batches
    上传成功, less those it refused."""
    prefix, n = f"{VENDOR}|", 0
    async for batch in db.uploads.find({"kind": "attendance", "state": uploads.SUCCEEDED},
                                       {"packed_items": 1, "items": 1, "refused": 1}):
        refused = {r["punch_id"] for r in batch.get("refused", [])}
        n += sum(1 for i in uploads.items_of(batch) if i["punch_id"].startswith(prefix) and i["punch_id"] not in refused)
    return n


def _report(args, r: dict) -> list[str]:
    s, h, i = r["sustained"], r["half"], r["idle"]
    return [
        *heading("Gateway", f"realname bench gateway --devices {args.devices} --seconds {args.seconds:g} "
                            f"--idle-devices {args.idle_devices} --idle-seconds {args.idle_seconds:g}"
                            f"{' --with-upload' if args.with_upload else ' --with-worker' if args.with_worker else ''}"),
        "",
        "| measure | value |",
        "|---|---|",
        f"| database ceiling: the same punch + photo documents written as the gateway writes them (punches.store), three turns | "
        f"{' / '.join(f'{c:.0f}' for c in r['ceilings'])} punches/s (mean {r['ceiling']:.0f}) |",
        f"| gateway, {args.devices} devices, {args.photo_kb:g} KB photos, each sending on acknowledgement, two turns | "
        f"{' / '.join(f'{x:.0f}' for x in s['rates'])} acknowledged punches/s (mean {s['rate']:.0f}) |",
        f"| **ratio gateway / mean ceiling** (target ≥ 0.8) | **{r['ratio']:.2f}** |",
        f"| latency at full load p50 / p99 | {s['p50_ms']:.1f} / {s['p99_ms']:.1f} ms |",
        f"| latency at half the sustained rate ({h['rate']:.0f}/s) p50 / p99 (target p99 ≤ 100 ms) | "
        f"{h['p50_ms']:.1f} / {h['p99_ms']:.1f} ms |",
        f"| refused during the runs | {s['refused'] + h['refused']} |",
        f"| punches in the database after the runs (= acknowledged) | {r['stored']} (acknowledged {s['acked'] + h['acked']}) |",
        f"| idle devices connected, heartbeat every {args.heartbeat_interval:g} s | {i['connected']} (failures {i['failures']}) |",
        f"| gateway RSS with them (target ≤ 1 GiB) | {i['rss_mib']:.0f} MiB |",
        f"| gateway CPU with them | {i['cpu_percent']:.1f} % of one core |",
        *([f"| beside it all along: {'two `realname worker` processes' if r.get('upload') else '`realname worker`'} "
           f"folding the rollups (REALNAME_ROLLUP_FOLD_SECONDS=1) | "
           f"{r['folded']['behind']} of {r['folded']['punches']} punches not yet folded when the timed runs ended; "
           f"{'all' if r['folded']['all'] else 'NOT all'} folded {r['folded']['caught_up_s']:.0f} s later |"]
          if r.get("folded") else []),
        *([f"| beside it all along, the same workers uploading to `realname province-sim` (上传省厅, "
           f"a pass due every {UPLOAD_SECONDS:g} s (REALNAME_PROVINCE_UPLOAD_SECONDS), other settings as deployed; the "
           f"{r['structure']['records']} records of the projects' structure uploaded before) | "
           f"{r['upload']['beside']['passes']} passes ran during the sustained turns, for "
           f"{r['upload']['beside']['seconds']:.0f} s of their {r['upload']['beside']['of']:.0f} s, sending "
           f"{r['upload']['beside']['sent']} records; {r['upload']['behind']} of {r['upload']['punches']} punches not "
           f"yet 上传成功 when the timed runs ended, {'all' if r['upload']['all'] else 'NOT all'} "
           f"{r['upload']['caught_up_s']:.0f} s later |"] if r.get("upload") else []),
    ]
