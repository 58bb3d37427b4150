"""Simulated attendance devices: a fleet of asyncio clients speaking 江门实名设备直连对接标准 V1.0.

Each device lives the data flow of the standard (843 → 65535 → 852 → 849 → 845 → 848) the way a
real one does: one connection, one request at a time, heartbeats while idle, and an offline buffer
of punches that are deleted only on Flag 0 (or Flag 1, refused) and re-sent after every reconnect.
Used by ``realname simulate``, the demo and the gateway benchmark, which runs 500 devices in one
process — so the per-punch path does no JPEG work, no logging and no codec layout walk: photos are
generated once per fleet and the 848 frame is assembled from pre-packed pieces (checked against the
codec in the unit tests).
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import datetime as dt
import math
import random
import signal
import struct
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .codec import (
    CMD_ENROLL, CMD_PERSON, CMD_PUNCH, CMD_WHITELIST, FLAG_OK, HEADER, TAIL, EnrollReply, EnrollRequest, Frame,
    Heartbeat, LoginRequest, PersonReply, PersonRequest, ProtocolError, WhitelistRecord, WhitelistReply,
    WhitelistRequest, decode_reply, encode_request, xor_checksum,
)
from .framer import FrameBuffer

__all__ = [
    "FleetOptions", "FleetSummary", "FleetAssets", "SimulatedDevice", "DeviceConnectionError",
    "add_arguments", "options_from", "parse_gateway", "run_fleet", "main",
]

MODE_FACE = 6
READ_CHUNK = 64 * 1024
# Replies carry at most a 845 with three photos; anything near this is a broken stream, not a reply.
MAX_REPLY_CONTENT = 4 << 20
SITE_UTC_OFFSET = 8 * 3600  # Asia/Shanghai has had no DST since 1991
LOGIN_ATTEMPTS = 4           # a refused login is a registration problem; retrying for ever helps nobody
CONNECT_ATTEMPTS = 8         # consecutive failures before a (non --forever) device gives up
PHOTO_POOL_SIZE = 32
# Exact latencies up to this many acks, then a uniform reservoir sample: a --forever run must not
# grow memory by 32 bytes per punch for hours.
LATENCY_SAMPLE_CAP = 1_000_000

_PREFIX = struct.Struct("<BIIIBH16s")
_U32 = struct.Struct("<I")
_BCD = bytes((n // 10) << 4 | n % 10 for n in range(100))
_TAIL_OK = bytes((FLAG_OK, TAIL))


class DeviceConnectionError(Exception):
    """The connection is gone (closed, reset, timed out, or sent bytes we cannot frame).

    ``deliberate`` marks the drops the simulator makes on purpose (--drop-rate); they are reconnects,
    not errors.
    """

    def __init__(self, kind: str, *, deliberate: bool = False):
        super().__init__(kind)
        self.kind = kind
        self.deliberate = deliberate


class _GiveUp(Exception):
    """The device cannot get in (refused login, gateway unreachable): it stops trying."""


class _Stopped(Exception):
    """The run was stopped and there is nothing (more) this device can deliver in time."""


# ------------------------------------------------------------------------------------------ options

@dataclass
class FleetOptions:
    gateway_host: str
    gateway_port: int
    devices: int = 10
    punches_per_device: int = 10
    vendor_code: str = "SIMVENDOR"
    device_prefix: str = "SIM-"
    first_device: int = 1
    interval: float = 0.0
    heartbeat_interval: float = 30.0
    photo_bytes: int = 10_000
    enroll_per_device: int = 1
    fetch_faces: int = 2
    drop_rate: float = 0.0
    duration: float | None = None
    forever: bool = False
    seed: int = 1
    connect_spread: float = 1.0
    timeout: float = 30.0
    progress: bool = True
    record_acks: bool = False  # keep (device id, worker number, time) of every acknowledged punch

    @property
    def endless(self) -> bool:
        """0 punches means "until stopped" when something stops the run; otherwise it means none."""
        return self.punches_per_device <= 0 and (self.forever or self.duration is not None)

    def device_id(self, index: int) -> str:
        return f"{self.device_prefix}{index:04d}"


# ------------------------------------------------------------------------------------------ summary

@dataclass
class FleetSummary:
    """Counters of a fleet run; devices update it live (one event loop, so no locking).

    ``sent`` counts distinct punches the devices made, once each however often they were written;
    ``resent`` counts the extra writes. ``errors`` counts connection failures, timeouts and refused
    or failed non-punch commands; ``problems`` says what they were.
    """

    devices: int = 0
    sent: int = 0
    acknowledged: int = 0
    refused: int = 0
    resent: int = 0
    reconnects: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    refusals: collections.Counter = field(default_factory=collections.Counter)
    elapsed: float = 0.0
    problems: collections.Counter = field(default_factory=collections.Counter)
    gave_up: int = 0
    # Filled only with FleetOptions.record_acks: lets a test check every acknowledged punch is stored.
    acked_punches: list | None = None
    _sorted: list[float] | None = field(default=None, init=False, repr=False, compare=False)

    def record_ack(self, latency: float) -> None:
        self.acknowledged += 1
        latencies = self.latencies
        if len(latencies) < LATENCY_SAMPLE_CAP:
            latencies.append(latency)
        else:
            j = random.randrange(self.acknowledged)
            if j < LATENCY_SAMPLE_CAP:
                latencies[j] = latency
        self._sorted = None

    def problem(self, kind: str) -> None:
        self.errors += 1
        self.problems[kind] += 1

    def lost(self) -> int:
        return self.sent - self.acknowledged - self.refused

    def rate(self) -> float:
        return self.acknowledged / self.elapsed if self.elapsed > 0 else 0.0

    def p(self, q: float) -> float:
        """The q-th percentile (0–100) of acknowledgement latency in seconds; NaN with no acks."""
        if not self.latencies:
            return math.nan
        if self._sorted is None or len(self._sorted) != len(self.latencies):
            self._sorted = sorted(self.latencies)
        data = self._sorted
        pos = min(max(q, 0.0), 100.0) / 100.0 * (len(data) - 1)
        lo = math.floor(pos)
        hi = min(lo + 1, len(data) - 1)
        return data[lo] + (data[hi] - data[lo]) * (pos - lo)

    def as_text(self) -> str:
        def ms(q: float) -> str:
            v = self.p(q)
            return "-" if math.isnan(v) else f"{v * 1000:.1f} ms"

        rows = [
            ("devices 设备", f"{self.devices}" + (f" ({self.gave_up} gave up 放弃)" if self.gave_up else "")),
            ("sent 已发送", f"{self.sent}"),
            ("acknowledged 已确认", f"{self.acknowledged}"),
            ("refused 被拒绝", f"{self.refused}"),
            ("re-sent 重传", f"{self.resent}"),
            ("reconnects 重连", f"{self.reconnects}"),
            ("errors 错误", f"{self.errors}"),
            ("elapsed 用时", f"{self.elapsed:.1f} s"),
            ("rate 速率", f"{self.rate():.1f} ack/s"),
            ("latency p50 延迟", ms(50)),
            ("latency p99 延迟", ms(99)),
            ("lost 丢失", f"{self.lost()}"),
        ]
        width = max(_display_width(label) for label, _ in rows) + 2
        lines = [label + " " * (width - _display_width(label)) + value for label, value in rows]
        for title, counter in (("refusals 拒绝原因", self.refusals), ("problems 问题", self.problems)):
            if counter:
                lines.append(f"{title}:")
                lines.extend(f"  {n:>8}  {message}" for message, n in counter.most_common(8))
                if len(counter) > 8:
                    lines.append(f"  {'…':>8}  {len(counter) - 8} more 其他")
        return "\n".join(lines)


def _display_width(s: str) -> int:
    # CJK characters take two terminal columns; aligning on len() would skew the value column.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)


# ------------------------------------------------------------------------------------------ assets

@dataclass(frozen=True, slots=True)
class _Photo:
    blob: bytes      # uint32 length + JPEG, exactly as it sits in a 848 Content
    xor: int         # checksum contribution of blob
    size: int


def _prepare_photo(jpeg: bytes) -> _Photo:
    blob = _U32.pack(len(jpeg)) + jpeg
    return _Photo(blob, xor_checksum(blob), len(jpeg))


@dataclass
class FleetAssets:
    """What is expensive to make and shared by every device of a fleet: photos, a person factory."""

    punch_photos: Sequence[bytes]
    capture_photos: Sequence[bytes] = ()
    id_photos: Sequence[bytes] = ()
    # (rng, capture_photo, id_photo) -> EnrollRequest
    person_factory: Callable[[random.Random, bytes, bytes], EnrollRequest] | None = None
    _prepared: list[_Photo] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.punch_photos:
            raise ValueError("a fleet needs at least one punch photo")
        self._prepared = [_prepare_photo(p) for p in self.punch_photos]

    @classmethod
    def generate(cls, options: FleetOptions) -> FleetAssets:
        """Real JPEGs from server.demo.synthetic; slow (seconds), so call it once per fleet."""
        from ..demo import synthetic  # lazily: Pillow work only when a fleet really starts

        rng = random.Random(f"simulator-photos:{options.seed}")
        punch = synthetic.photo_pool(rng, PHOTO_POOL_SIZE, options.photo_bytes)
        capture: list[bytes] = []
        id_photos: list[bytes] = []
        if options.enroll_per_device > 0:
            # Enrollment photos keep their realistic sizes even when --photo-kb tests oversized punches.
            capture = punch[:8] if abs(options.photo_bytes - 10_000) < 1_000 else synthetic.photo_pool(rng, 8, 10_000)
            id_photos = synthetic.photo_pool(rng, 8, 8_000, size=(180, 220))
        return cls(punch, capture, id_photos, synthetic_person)

    def photo(self, i: int) -> _Photo:
        return self._prepared[i % len(self._prepared)]

    def make_person(self, rng: random.Random) -> EnrollRequest:
        capture = rng.choice(self.capture_photos) if self.capture_photos else self.punch_photos[0]
        id_photo = rng.choice(self.id_photos) if self.id_photos else b""
        factory = self.person_factory or synthetic_person
        return factory(rng, capture, id_photo)


_OTHER_NATIONS = ("03", "08", "12", "13", "15", "04")  # 苗 壮 瑶 土家 侗 回 — common among migrants


def synthetic_person(rng: random.Random, capture_photo: bytes, id_photo: bytes) -> EnrollRequest:
    """A plausible ID-card reading: valid number, consistent sex and birth date, a 江门 address."""
    from ..demo import synthetic
    from ..domain.vocabulary import COUNTIES

    number = synthetic.id_number(rng, area=None)
    county = rng.choice(COUNTIES[1:])  # 市辖区 has no police bureau of its own
    issued = rng.randint(2012, 2024)
    authority = f"{county}公安局" if county.endswith("市") else f"江门市公安局{county.removesuffix('区')}分局"
    return EnrollRequest(
        id_number=number,
        name=synthetic.chinese_name(rng),
        sex="1" if int(number[16]) % 2 else "0",
        nation="01" if rng.random() < 0.9 else rng.choice(_OTHER_NATIONS),
        birth_date=number[6:14],
        address=synthetic.address(rng, county),
        authority=authority,
        validity=f"{issued}.03.01-{issued + 20}.03.01",
        id_photo=id_photo,
        capture_photo=capture_photo,
    )


# ------------------------------------------------------------------------------------------ device

class _Connection:
    __slots__ = ("reader", "writer", "framer", "pending", "closed", "heartbeat_task")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer
        self.framer = FrameBuffer(MAX_REPLY_CONTENT)
        self.pending: collections.deque[Frame] = collections.deque()
        self.closed = asyncio.Event()
        self.heartbeat_task: asyncio.Task | None = None


@dataclass(slots=True)
class _Punch:
    worker_no: int
    time: dt.datetime
    head: bytes          # worker number, BCD time, mode: the 12 bytes before the photo
    photo: _Photo
    writes: int = 0


def _site_now() -> dt.datetime:
    return dt.datetime.fromtimestamp(int(time.time()) + SITE_UTC_OFFSET, dt.timezone.utc).replace(tzinfo=None)


def reply_message(frame: Frame) -> str:
    """The Chinese message of a Flag 1 reply (852's lives in its 42-byte reply layout)."""
    if frame.command == CMD_ENROLL and len(frame.content) in (41, 42):
        with contextlib.suppress(ProtocolError):
            reason = decode_reply(CMD_ENROLL, frame.content).reason
            if reason:
                return reason
    return frame.content.decode("utf-8", errors="replace").strip("\x00 ") or "(no message 无说明)"


class SimulatedDevice:
    """One device: its connection, its offline buffer and its life (``run``).

    The single-command methods (login, heartbeat, enroll, whitelist, person, punch) send one request
    on the current connection and return the reply Frame; they raise DeviceConnectionError when the
    connection fails, after closing it. ``run`` adds reconnecting, re-login and the offline buffer.
    """

    backoff_base = 0.2
    backoff_cap = 5.0

    def __init__(self, options: FleetOptions, index: int | None = None, *,
                 assets: FleetAssets | None = None, summary: FleetSummary | None = None):
        self.options = options
        self.index = options.first_device if index is None else index
        self.device_id = options.device_id(self.index)
        self.vendor_code = options.vendor_code
        self.assets = assets
        self.summary = summary if summary is not None else FleetSummary(devices=1)
        self.rng = random.Random(f"{options.seed}:{options.vendor_code}:{self.device_id}")
        # Constant per device: the gateway must echo it, and a re-sent frame is byte-identical.
        self.session_id = self.rng.randbytes(16)
        self.buffer: collections.deque[_Punch] = collections.deque()
        self.whitelist_records: tuple[WhitelistRecord, ...] = ()
        self._conn: _Connection | None = None
        self._lock = asyncio.Lock()
        self._last_io = 0.0
        self._ever_connected = False
        self._dropped_on_purpose = False
        self._failures = 0
        self._login_refusals = 0
        self._stop: asyncio.Event = asyncio.Event()
        self._grace_deadline: float | None = None
        self._last_time: dict[int, dt.datetime] = {}
        self._next_worker = 0
        self._next_photo = self.index

    # ---- connection

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.closed.is_set()

    async def connect(self) -> None:
        """Open the TCP connection (no login) and start the idle heartbeat."""
        await self.close()
        try:
            async with asyncio.timeout(self.options.timeout):
                reader, writer = await asyncio.open_connection(self.options.gateway_host, self.options.gateway_port)
        except TimeoutError:
            raise DeviceConnectionError("connect timeout 连接超时") from None
        except OSError as exc:
            raise DeviceConnectionError(f"connect failed 连接失败: {type(exc).__name__}") from None
        conn = self._conn = _Connection(reader, writer)
        self._last_io = time.monotonic()
        if self.options.heartbeat_interval > 0:
            conn.heartbeat_task = asyncio.create_task(self._heartbeat_loop(conn), name=f"heartbeat {self.device_id}")

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._drop(conn)
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await conn.writer.wait_closed()

    def _drop(self, conn: _Connection) -> None:
        if conn.closed.is_set():
            return
        conn.closed.set()
        task = conn.heartbeat_task
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        conn.writer.close()

    async def _heartbeat_loop(self, conn: _Connection) -> None:
        interval = self.options.heartbeat_interval
        while not conn.closed.is_set():
            idle = time.monotonic() - self._last_io
            if idle < interval:
                await asyncio.sleep(interval - idle)
                continue
            try:
                reply = await self.heartbeat()
            except DeviceConnectionError as exc:
                if not exc.deliberate and not self._stopping:
                    self.summary.problem(f"heartbeat: {exc.kind}")
                return
            if reply.flag != FLAG_OK:
                # Typically 设备未登录 after the gateway replaced or forgot us: log in afresh.
                self.summary.problem(f"65535 {reply_message(reply)}")
                self._drop(conn)
                return

    async def request(self, command: int, content: bytes = b"") -> Frame:
        """Send one request and wait for its reply, never overlapping another on this connection."""
        data = Frame(command, content, self.session_id).encode()
        async with self._lock:
            return await self._exchange(data, command)

    async def _exchange(self, data: bytes, command: int, *, drop_after_write: bool = False) -> Frame:
        # Caller holds self._lock.
        conn = self._conn
        if conn is None or conn.closed.is_set():
            raise DeviceConnectionError("not connected 未连接")
        try:
            async with asyncio.timeout(self.options.timeout):
                conn.writer.write(data)
                await conn.writer.drain()
                if drop_after_write:
                    # A real device whose network fails right after sending: the punch may or may
                    # not be stored, the ack is never read, the buffer keeps it.
                    self._dropped_on_purpose = True
                    self._drop(conn)
                    raise DeviceConnectionError("dropped on purpose 主动断开", deliberate=True)
                frame = await self._read_reply(conn)
        except DeviceConnectionError:
            self._drop(conn)
            raise
        except TimeoutError:
            self._drop(conn)
            raise DeviceConnectionError(f"{command} timeout 应答超时") from None
        except (OSError, asyncio.IncompleteReadError) as exc:
            self._drop(conn)
            raise DeviceConnectionError(f"connection lost 连接中断: {type(exc).__name__}") from None
        except ProtocolError as exc:
            self._drop(conn)
            raise DeviceConnectionError(f"bad reply stream 应答格式错误: {exc.code}") from None
        self._last_io = time.monotonic()
        if frame.command != command:
            self._drop(conn)
            raise DeviceConnectionError(f"reply to {frame.command} for request {command} 应答命令不符")
        return frame

    async def _read_reply(self, conn: _Connection) -> Frame:
        frame = await self._next_frame(conn)
        if frame.part_count <= 1:
            return frame
        # The gateway does not split replies today; joining costs little and keeps us standard.
        parts = [frame]
        while len(parts) < frame.part_count:
            part = await self._next_frame(conn)
            if part.command != frame.command or part.part_count != frame.part_count:
                raise ProtocolError("bad_split", "分包错误")
            parts.append(part)
        parts.sort(key=lambda f: f.part_index)
        last = parts[-1]
        return Frame(last.command, b"".join(p.content for p in parts), last.session_id, last.version, last.flag)

    async def _next_frame(self, conn: _Connection) -> Frame:
        pending = conn.pending
        while not pending:
            data = await conn.reader.read(READ_CHUNK)
            if not data:
                raise DeviceConnectionError("closed by gateway 网关关闭连接")
            conn.framer.feed(data)
            pending.extend(conn.framer)
        return pending.popleft()

    # ---- single commands

    async def login(self) -> Frame:
        return await self.request(*encode_request(LoginRequest(self.vendor_code, self.device_id)))

    async def heartbeat(self) -> Frame:
        return await self.request(*encode_request(Heartbeat()))

    async def enroll(self, request: EnrollRequest | None = None) -> Frame:
        if request is None:
            request = self._assets().make_person(self.rng)
        return await self.request(*encode_request(request))

    async def whitelist(self, count: int = 0, photo_length_sum: int = 0) -> Frame:
        return await self.request(*encode_request(WhitelistRequest(count, photo_length_sum)))

    async def person(self, id_number: str) -> Frame:
        return await self.request(*encode_request(PersonRequest(self.device_id, id_number)))

    async def punch(self, worker_no: int, when: dt.datetime | None = None, *, photo: bytes | None = None,
                    mode: int = MODE_FACE) -> Frame:
        """One 848 outside the offline buffer (tests, tools); ``run`` uses the buffer instead."""
        prepared = _prepare_photo(photo) if photo is not None else self._assets().photo(self._take_photo())
        p = self._make_punch(worker_no, when or _site_now(), prepared, mode)
        async with self._lock:
            return await self._exchange(self._punch_frame(p), CMD_PUNCH)

    # ---- punches

    def _assets(self) -> FleetAssets:
        if self.assets is None:
            self.assets = FleetAssets.generate(self.options)
        return self.assets

    def _take_photo(self) -> int:
        self._next_photo += 1
        return self._next_photo

    @staticmethod
    def _make_punch(worker_no: int, when: dt.datetime, photo: _Photo, mode: int = MODE_FACE) -> _Punch:
        y = when.year
        head = b"".join((_U32.pack(worker_no), bytes((_BCD[y // 100], _BCD[y % 100], _BCD[when.month], _BCD[when.day],
                                                       _BCD[when.hour], _BCD[when.minute], _BCD[when.second], mode))))
        return _Punch(worker_no, when, head, photo)

    def _punch_frame(self, p: _Punch) -> bytes:
        # Equal to Frame(848, encode_request(PunchRequest(...))[1], session_id).encode(), without
        # walking the layout or XOR-ing the photo again (see test_fast_punch_frame_matches_codec).
        checksum = xor_checksum(p.head) ^ p.photo.xor
        length = len(p.head) + len(p.photo.blob) + 1
        prefix = _PREFIX.pack(HEADER, length, 0, 0, 1, CMD_PUNCH, self.session_id)
        return b"".join((prefix, p.head, p.photo.blob, bytes((checksum,)), _TAIL_OK))

    def _new_punch(self, when: dt.datetime) -> _Punch:
        records = self.whitelist_records
        worker = records[self._next_worker % len(records)].worker_no
        self._next_worker += 1
        # The platform identifies a punch by device, worker, time (seconds) and mode: two punches of
        # one worker in the same second would be one punch, so times are strictly increasing per worker.
        last = self._last_time.get(worker)
        if last is not None and when <= last:
            when = last + dt.timedelta(seconds=1)
        self._last_time[worker] = when
        p = self._make_punch(worker, when, self._assets().photo(self._take_photo()))
        self.buffer.append(p)
        self.summary.sent += 1
        return p

    async def _send_punch(self, p: _Punch) -> Frame:
        data = self._punch_frame(p)
        drop = self.options.drop_rate > 0 and self.rng.random() < self.options.drop_rate
        async with self._lock:
            if p.writes:
                self.summary.resent += 1
            p.writes += 1
            started = time.perf_counter()
            frame = await self._exchange(data, CMD_PUNCH, drop_after_write=drop)
            latency = time.perf_counter() - started
        if frame.flag == FLAG_OK:
            self.summary.record_ack(latency)
            if self.summary.acked_punches is not None:
                self.summary.acked_punches.append((self.device_id, p.worker_no, p.time))
        else:
            self.summary.refused += 1
            self.summary.refusals[reply_message(frame)] += 1
        return frame

    # ---- life

    @property
    def _stopping(self) -> bool:
        return self._stop.is_set()

    def _past_grace(self) -> bool:
        if not self._stop.is_set():
            return False
        if self._grace_deadline is None:
            # Buffered punches get one timeout's worth of time to reach the gateway after a stop.
            self._grace_deadline = time.monotonic() + self.options.timeout
        return time.monotonic() > self._grace_deadline

    async def _sleep_or_stop(self, delay: float) -> None:
        if delay <= 0 or self._stop.is_set():
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._stop.wait()

    async def _backoff(self, attempt: int) -> None:
        delay = min(self.backoff_cap, self.backoff_base * 2 ** max(attempt - 1, 0))
        delay *= 0.5 + self.rng.random()
        if self._stop.is_set():
            # Still draining the buffer: wait, but not past the grace period.
            delay = min(delay, max(0.0, (self._grace_deadline or 0) - time.monotonic()))
            await asyncio.sleep(delay)
        else:
            await self._sleep_or_stop(delay)

    async def ensure_logged_in(self) -> None:
        """Connect and log in, retrying with backoff.

        _GiveUp when it is hopeless; _Stopped when the run is stopping and nothing buffered needs
        delivering, or the grace period for delivering it is over.
        """
        # Straight back after a drop made on purpose (that is the scenario being simulated); after a
        # real failure, back off even the first time so a gateway that closes on us is not hammered.
        delay_next = self._ever_connected and not self._dropped_on_purpose
        while not self.connected:
            if self._past_grace() or (self._stop.is_set() and not self.buffer):
                raise _Stopped()
            if delay_next:
                await self._backoff(self._failures)
            delay_next = True
            try:
                await self.connect()
                reply = await self.login()
            except DeviceConnectionError as exc:
                self._failures += 1
                if not exc.deliberate:
                    self.summary.problem(exc.kind)
                if self._failures >= CONNECT_ATTEMPTS and not (self.options.forever or self._stop.is_set()):
                    raise _GiveUp() from None
                continue
            if reply.flag != FLAG_OK:
                message = reply_message(reply)
                self._login_refusals += 1
                self.summary.problem(f"843 login refused 登录被拒: {message}")
                await self.close()
                if self._login_refusals >= LOGIN_ATTEMPTS:
                    raise _GiveUp()
                self._failures += 1
                continue
            if self._ever_connected:
                self.summary.reconnects += 1
            self._ever_connected = True
            self._dropped_on_purpose = False
            self._failures = 0
            self._login_refusals = 0

    async def _call(self, op: Callable[[], object]) -> Frame:
        while True:
            await self.ensure_logged_in()
            try:
                return await op()
            except DeviceConnectionError as exc:
                if not exc.deliberate:
                    self.summary.problem(exc.kind)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """The whole life: login, enroll, whitelist, faces, punches, and a clean close."""
        self._stop = stop if stop is not None else asyncio.Event()
        try:
            await self.ensure_logged_in()
            if await self._setup():
                await self._punch_phase()
                if self.options.forever and self.options.punches_per_device > 0:
                    await self._idle_until_stop()
        except _GiveUp:
            self.summary.gave_up += 1
            self.summary.problem("gave up 放弃")
        except _Stopped:
            pass
        finally:
            await self.close()

    async def _setup(self) -> bool:
        """852, 849, 845; False when there is nobody to punch for."""
        summary = self.summary
        for _ in range(self.options.enroll_per_device):
            request = self._assets().make_person(self.rng)
            reply = await self._call(lambda: self.enroll(request))
            if reply.flag != FLAG_OK:
                summary.problem(f"852 {reply_message(reply)}")
                continue
            with contextlib.suppress(ProtocolError):
                result = decode_reply(CMD_ENROLL, reply.content)
                if isinstance(result, EnrollReply) and result.result != 0:
                    summary.problem(f"852 {result.reason or 'result 1'}")

        reply = await self._call(self.whitelist)
        if reply.flag != FLAG_OK:
            summary.problem(f"849 {reply_message(reply)}")
            return False
        try:
            whitelist = decode_reply(CMD_WHITELIST, reply.content)
        except ProtocolError as exc:
            summary.problem(f"849 bad reply 应答格式错误: {exc.code}")
            return False
        assert isinstance(whitelist, WhitelistReply)
        # Devices of one project start at different workers so the fleet spreads over the roster.
        records = list(whitelist.records)
        if records:
            shift = self.index % len(records)
            records = records[shift:] + records[:shift]
        self.whitelist_records = tuple(records)
        if not records:
            summary.problem("849 whitelist empty 白名单为空")
            return False

        for record in records[:max(self.options.fetch_faces, 0)]:
            reply = await self._call(lambda: self.person(record.id_number))
            if reply.flag != FLAG_OK:
                summary.problem(f"845 {reply_message(reply)}")
                continue
            try:
                person = decode_reply(CMD_PERSON, reply.content)
            except ProtocolError as exc:
                summary.problem(f"845 bad reply 应答格式错误: {exc.code}")
                continue
            if not isinstance(person, PersonReply) or person.worker_no != record.worker_no:
                summary.problem("845 worker number differs from whitelist 工人编号不一致")
        return True

    async def _punch_phase(self) -> None:
        options = self.options
        limit = None if options.endless else max(options.punches_per_device, 0)
        interval = options.interval
        made = 0
        loop_start = time.monotonic()
        wall_start = _site_now()
        while True:
            if interval > 0:
                # Punches happen at the gate on schedule whether or not the network is up; those due
                # while we were reconnecting pile up in the buffer and go out in one burst.
                if not self._stop.is_set():
                    due = int((time.monotonic() - loop_start) / interval) + 1
                    while made < due and (limit is None or made < limit):
                        self._new_punch(wall_start + dt.timedelta(seconds=int(made * interval)))
                        made += 1
            elif not self.buffer and not self._stop.is_set() and (limit is None or made < limit):
                self._new_punch(_site_now())
                made += 1

            if not self.buffer:
                if self._stop.is_set() or (limit is not None and made >= limit):
                    return
                await self._sleep_or_stop(loop_start + made * interval - time.monotonic())
                continue
            if self._past_grace():
                return
            await self.ensure_logged_in()
            try:
                await self._send_punch(self.buffer[0])
            except DeviceConnectionError as exc:
                if not exc.deliberate:
                    self.summary.problem(exc.kind)
                continue
            self.buffer.popleft()

    async def _idle_until_stop(self) -> None:
        # Online with nobody at the gate: heartbeats keep it so; a lost connection is re-opened.
        while not self._stop.is_set():
            await self.ensure_logged_in()
            conn = self._conn
            if conn is None:
                continue
            stop_wait = asyncio.ensure_future(self._stop.wait())
            closed_wait = asyncio.ensure_future(conn.closed.wait())
            try:
                await asyncio.wait((stop_wait, closed_wait), return_when=asyncio.FIRST_COMPLETED)
            finally:
                stop_wait.cancel()
                closed_wait.cancel()


# ------------------------------------------------------------------------------------------ fleet

async def run_fleet(options: FleetOptions, *, stop: asyncio.Event | None = None,
                    assets: FleetAssets | None = None) -> FleetSummary:
    """Run ``options.devices`` devices to the end of their lives (or until ``stop``/duration)."""
    stop = stop if stop is not None else asyncio.Event()
    if assets is None:
        assets = await asyncio.to_thread(FleetAssets.generate, options)
    summary = FleetSummary(devices=options.devices, acked_punches=[] if options.record_acks else None)
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    timer = loop.call_later(options.duration, stop.set) if options.duration is not None else None
    n = max(options.devices, 0)

    async def one(i: int) -> None:
        if n > 1 and options.connect_spread > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(options.connect_spread * i / n):
                    await stop.wait()
            if stop.is_set():
                return
        device = SimulatedDevice(options, options.first_device + i, assets=assets, summary=summary)
        await device.run(stop)

    show = options.progress and (options.forever or sys.stderr.isatty())
    progress = asyncio.create_task(_progress(summary, started)) if show else None
    try:
        results = await asyncio.gather(*(one(i) for i in range(n)), return_exceptions=True)
    finally:
        if timer is not None:
            timer.cancel()
        if progress is not None:
            progress.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await progress
    for result in results:
        # A bug in one device must show up in the summary, not silently shrink the fleet.
        if isinstance(result, BaseException):
            summary.problem(f"device crashed 设备异常: {type(result).__name__}: {result}")
    summary.elapsed = time.monotonic() - started
    return summary


async def _progress(summary: FleetSummary, started: float, every: float = 2.0) -> None:
    last_ack, last_t = 0, started
    while True:
        await asyncio.sleep(every)
        now = time.monotonic()
        ack = summary.acknowledged
        rate = (ack - last_ack) / (now - last_t) if now > last_t else 0.0
        last_ack, last_t = ack, now
        print(f"[{now - started:7.1f}s] acknowledged 已确认 {ack} ({rate:.0f}/s)  refused 被拒绝 {summary.refused}"
              f"  re-sent 重传 {summary.resent}  reconnects 重连 {summary.reconnects}  errors 错误 {summary.errors}"
              f"  buffered 待发 {summary.lost()}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------ CLI

def parse_gateway(text: str) -> tuple[str, int]:
    """'host:port' (or '[v6]:port') → (host, port); argparse-friendly errors."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected host:port, got {text!r}")
    return host.strip("[]"), int(port)


def _non_negative(kind: type) -> Callable[[str], float | int]:
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
        return value
    return parse


def _positive_float(text: str) -> float:
    value = _non_negative(float)(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def _probability(text: str) -> float:
    value = _non_negative(float)(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"a probability is between 0 and 1: {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = FleetOptions("", 0)
    parser.add_argument("--devices", type=_non_negative(int), required=True, help="number of simulated devices")
    parser.add_argument("--gateway", type=parse_gateway, required=True, metavar="HOST:PORT", help="device gateway address")
    parser.add_argument("--punches-per-device", type=_non_negative(int), default=d.punches_per_device, metavar="K",
                        help="848 punches per device (0 with --forever or --duration: no limit)")
    parser.add_argument("--vendor-code", default=d.vendor_code, help="vendor code of every device (registered beforehand)")
    parser.add_argument("--device-prefix", default=d.device_prefix, help="device id = PREFIX + 4-digit number")
    parser.add_argument("--first-device", type=_non_negative(int), default=d.first_device, help="number of the first device")
    parser.add_argument("--interval", type=_non_negative(float), default=d.interval, metavar="SECONDS",
                        help="between punches of one device; 0 = as fast as acknowledgements come")
    parser.add_argument("--heartbeat-interval", type=_non_negative(float), default=d.heartbeat_interval, metavar="SECONDS",
                        help="65535 heartbeat after this much idle time (0 = none)")
    parser.add_argument("--photo-kb", type=_positive_float, default=d.photo_bytes / 1000,
                        help="size of punch photos in KB")
    parser.add_argument("--enroll", type=_non_negative(int), default=d.enroll_per_device, metavar="N",
                        help="852 enrollments per device")
    parser.add_argument("--fetch-faces", type=_non_negative(int), default=d.fetch_faces, metavar="N",
                        help="845 person fetches per device")
    parser.add_argument("--drop-rate", type=_probability, default=d.drop_rate, metavar="P",
                        help="probability of dropping the connection right after sending a punch")
    parser.add_argument("--duration", type=_non_negative(float), default=None, metavar="SECONDS",
                        help="stop making punches after this long")
    parser.add_argument("--forever", action="store_true", help="run until interrupted (Ctrl-C)")
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--connect-spread", type=_non_negative(float), default=d.connect_spread, metavar="SECONDS",
                        help="spread the devices' first connections over this time")
    parser.add_argument("--timeout", type=_non_negative(float), default=d.timeout, metavar="SECONDS",
                        help="reply timeout; also the grace period for buffered punches after a stop")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def options_from(args: argparse.Namespace) -> FleetOptions:
    host, port = args.gateway
    return FleetOptions(
        gateway_host=host, gateway_port=port, devices=args.devices, punches_per_device=args.punches_per_device,
        vendor_code=args.vendor_code, device_prefix=args.device_prefix, first_device=args.first_device,
        interval=args.interval, heartbeat_interval=args.heartbeat_interval, photo_bytes=int(args.photo_kb * 1000),
        enroll_per_device=args.enroll, fetch_faces=args.fetch_faces, drop_rate=args.drop_rate,
        duration=args.duration, forever=args.forever, seed=args.seed, connect_spread=args.connect_spread,
        timeout=args.timeout, progress=not args.quiet,
    )


async def _run_with_signals(options: FleetOptions) -> FleetSummary:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []

    def first_signal(sig: int) -> None:
        # First Ctrl-C: stop making punches and flush the buffers; a second one interrupts outright.
        print("stopping: flushing offline buffers (Ctrl-C again to abort) 正在停止", file=sys.stderr, flush=True)
        stop.set()
        loop.remove_signal_handler(sig)

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, first_signal, sig)
            installed.append(sig)
    try:
        return await run_fleet(options, stop=stop)
    finally:
        for sig in installed:
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)


def main(args: argparse.Namespace) -> int:
    options = options_from(args)
    summary = asyncio.run(_run_with_signals(options))
    print(summary.as_text(), flush=True)
    # A fleet that never got in (unregistered devices, wrong port) lost nothing but proved nothing.
    return 0 if summary.lost() == 0 and summary.gave_up == 0 else 1


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(description="simulated attendance devices 模拟考勤设备")
    add_arguments(_parser)
    sys.exit(main(_parser.parse_args()))
