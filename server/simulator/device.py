"""One simulated attendance device: its connection, its offline buffer and its life.

Each device lives the data flow of the standard (843 → 65535 → 852 → 849 → 845 → 848) the way a
real one does: one connection, one request at a time, heartbeats while idle, and an offline buffer
of punches that are deleted only on Flag 0 (or Flag 1, refused) and re-sent after every reconnect.
Frames are the codec's and the framer's; the per-punch path only joins pieces packed beforehand
(`codec.encode_punch_head`, `codec.encode_frame_pieces`), because a benchmark runs 500 devices in
one process.
"""
from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..device.codec import (
    CMD_ENROLL, CMD_PERSON, CMD_PUNCH, CMD_WHITELIST, FLAG_OK, MODE_FACE, EnrollReply, EnrollRequest, Frame,
    Heartbeat, LoginRequest, PersonReply, PersonRequest, ProtocolError, WhitelistRecord, WhitelistReply,
    WhitelistRequest, decode_reply, encode_frame_pieces, encode_punch_head, encode_request, xor_checksum,
)
from .assets import FleetAssets, PackedPhoto, pack_photo
from .connection import Connection, DeviceConnectionError, reply_message
from .options import FleetOptions
from .summary import FleetSummary

SITE_UTC_OFFSET = 8 * 3600  # Asia/Shanghai has had no DST since 1991
LOGIN_ATTEMPTS = 4           # a refused login is a registration problem; retrying for ever helps nobody
CONNECT_ATTEMPTS = 8         # consecutive failures before a (non --forever) device gives up


class _GiveUp(Exception):
    """The device cannot get in (refused login, gateway unreachable): it stops trying."""


class _Stopped(Exception):
    """The run was stopped and there is nothing (more) this device can deliver in time."""

@dataclass(slots=True)
class _Punch:
    worker_no: int
    time: dt.datetime
    head: bytes          # worker number, BCD time, mode: the 12 bytes before the photo
    photo: PackedPhoto
    writes: int = 0


def _site_now() -> dt.datetime:
    return dt.datetime.fromtimestamp(int(time.time()) + SITE_UTC_OFFSET, dt.timezone.utc).replace(tzinfo=None)


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
        self._conn: Connection | None = None
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
        conn = self._conn = Connection(reader, writer)
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

    def _drop(self, conn: Connection) -> None:
        if conn.closed.is_set():
            return
        conn.closed.set()
        task = conn.heartbeat_task
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        conn.writer.close()

    async def _heartbeat_loop(self, conn: Connection) -> None:
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
                frame = await conn.read_reply()
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
        prepared = pack_photo(photo) if photo is not None else self._assets().photo(self._take_photo())
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
    def _make_punch(worker_no: int, when: dt.datetime, photo: PackedPhoto, mode: int = MODE_FACE) -> _Punch:
        return _Punch(worker_no, when, encode_punch_head(worker_no, when, mode), photo)

    def _punch_frame(self, p: _Punch) -> bytes:
        # Equal to Frame(848, encode_request(PunchRequest(...))[1], session_id).encode(), without
        # walking the photo again: its bytes and checksum share are packed once per fleet (see
        # test_fast_punch_frame_matches_codec).
        checksum = xor_checksum(p.head) ^ p.photo.xor
        return encode_frame_pieces(CMD_PUNCH, (p.head, p.photo.blob, bytes((checksum,))), self.session_id)

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
