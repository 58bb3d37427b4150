"""The device gateway: Tornado TCPServer speaking 江门实名设备直连对接标准 V1.0.

One coroutine per connection reads, frames and answers one request at a time (the standard:
"同一台设备不能多线程并发"). Everything a connection holds is bounded: the framer refuses a
Length above the configured maximum before the body arrives, a partial frame or split message
must complete in time, and replies are awaited before the next request is read, so a device
that does not read cannot make us buffer without end. Periodic loops, not per-request work,
close idle connections, write counters and check device ownership.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import signal
import socket
import time
import uuid

from pymongo.asynchronous.database import AsyncDatabase
from tornado.iostream import IOStream, StreamClosedError
from tornado.netutil import bind_sockets
from tornado.tcpserver import TCPServer

from ..config import Config
from ..store import devices
from ..store.db import utcnow
from ..store.gateway_stats import fold_dead_gateways
from ..store.punches import PunchWriter
from .codec import Frame, ProtocolError
from .framer import FrameBuffer, Reassembler
from .handlers import CommandHandlers
from .stats import Stats

log = logging.getLogger("realname.gateway")

READ_CHUNK = 64 * 1024
OWNERSHIP_OVERLAP = 5.0  # seconds of device changes re-read on every poll, for clock skew between writers


class DeviceConnection:
    def __init__(self, gateway: "GatewayServer", stream: IOStream, address):
        self.gateway = gateway
        self.stream = stream
        self.address = f"{address[0]}:{address[1]}" if isinstance(address, tuple) else str(address)
        self.label = f"unauthenticated @{self.address}"
        self.framer = FrameBuffer(gateway.config.max_content)
        self.reassembler = Reassembler(gateway.config.max_content)
        self.device: dict | None = None
        self.token: str | None = None
        self.connected_at = self.last_rx = time.monotonic()
        self.partial_since: float | None = None
        self.close_reason = ""
        # Set when a newer login (here or on another gateway) took the device over: this
        # connection's close must then not mark the device offline.
        self.superseded = False

    def close(self, reason: str) -> None:
        if not self.stream.closed():
            self.close_reason = reason
            self.stream.close()

    async def run(self) -> None:
        handlers = self.gateway.handlers
        try:
            while True:
                data = await self.stream.read_bytes(READ_CHUNK, partial=True)
                now = time.monotonic()
                self.last_rx = now
                self.framer.feed(data)
                for frame in self.framer:
                    whole = self.reassembler.push(frame, now)
                    if whole is None:
                        continue
                    reply = await handlers.dispatch(self, whole)
                    await self.stream.write(reply.encode())
                incomplete = self.framer.buffered > 0 or self.reassembler.pending
                self.partial_since = (self.partial_since or now) if incomplete else None
        except StreamClosedError:
            pass
        except ProtocolError as exc:
            # The byte stream itself is broken (bad header or tail, absurd length, bad split):
            # frame boundaries are lost, so the only safe thing is a last word and a close.
            oid = self.device["_id"] if self.device else None
            self.gateway.stats.count(oid, f"framing_{exc.code}")
            self.gateway.stats.count(None, "refused")
            log.warning("closing %s: %s (%s)", self.label, exc.code, exc.message)
            try:
                await self.stream.write(Frame(command=0, content=exc.message.encode(), flag=1).encode())
            except StreamClosedError:
                pass
            self.close(exc.code)
        except Exception:
            log.exception("unexpected error on %s; closing it", self.label)
            self.close("internal_error")
        finally:
            self.close(self.close_reason or "closed")
            await self.gateway.release(self)


class GatewayServer(TCPServer):
    def __init__(self, config: Config, db: AsyncDatabase, *, gateway_id: str | None = None):
        # Bounded read buffer per connection: one maximal frame plus a read chunk.
        super().__init__(max_buffer_size=config.max_content + 2 * READ_CHUNK, read_chunk_size=READ_CHUNK)
        self.config = config
        self.db = db
        self.gateway_id = gateway_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.stats = Stats(self.gateway_id)
        self.writer = PunchWriter(db, batch_max=config.punch_batch_max, writer_id=self.gateway_id)
        self.handlers = CommandHandlers(self)
        self.connections: set[DeviceConnection] = set()
        self.by_device: dict = {}
        self._loops: list[asyncio.Task] = []
        self._synced_at = utcnow()
        self._stopping = False

    async def handle_stream(self, stream: IOStream, address) -> None:
        stream.set_nodelay(True)
        conn = DeviceConnection(self, stream, address)
        self.connections.add(conn)
        self.stats.count(None, "connections_accepted")
        await conn.run()

    def adopt(self, conn: DeviceConnection, device: dict, token: str) -> None:
        """A successful login: this connection now speaks for the device, replacing any older one."""
        previous = self.by_device.get(device["_id"])
        if previous is not None and previous is not conn:
            self.stats.count(device["_id"], "replaced_by_new_login")
            log.info("device %s/%s logged in again from %s; closing %s", device["vendor_code"],
                     device["device_id"], conn.address, previous.address)
            previous.superseded = True
            previous.close("replaced_by_new_login")
        conn.device, conn.token = device, token
        conn.label = f"{device['vendor_code']}/{device['device_id']} @{conn.address}"
        self.by_device[device["_id"]] = conn

    async def release(self, conn: DeviceConnection) -> None:
        self.connections.discard(conn)
        device = conn.device
        if device is None:
            return
        if self.by_device.get(device["_id"]) is conn:
            del self.by_device[device["_id"]]
        if conn.superseded or self._stopping:
            return
        try:
            await devices.mark_offline(self.db, device["_id"], conn_token=conn.token, last_seen=utcnow())
        except Exception:
            log.exception("could not mark %s offline", conn.label)

    # Periodic work -----------------------------------------------------------------------

    def start_loops(self) -> None:
        self._loops = [
            asyncio.ensure_future(self._fold_dead_gateways()),
            asyncio.ensure_future(self._every(1.0, self._reap)),
            asyncio.ensure_future(self._every(self.config.stats_flush_seconds, self.flush_stats)),
            asyncio.ensure_future(self._every(self.config.device_sync_seconds, self._check_ownership)),
        ]

    async def _fold_dead_gateways(self) -> None:
        try:
            folded = await fold_dead_gateways(self.db, dead_after=10 * devices.liveness_window(self.config.stats_flush_seconds))
            if folded:
                log.info("folded the counters of %d stopped gateway(s) into the devices", folded)
        except Exception:
            log.exception("folding stopped gateways' counters failed; will try at the next start")

    async def _every(self, seconds: float, job) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await job()
            except Exception:
                log.exception("periodic %s failed", job.__name__)

    async def _reap(self) -> None:
        now = time.monotonic()
        cfg = self.config
        for conn in list(self.connections):
            if now - conn.last_rx > cfg.idle_timeout:
                reason = "idle_timeout"
            elif conn.device is None and now - conn.connected_at > cfg.login_timeout:
                reason = "login_timeout"
            elif conn.partial_since is not None and now - conn.partial_since > cfg.split_timeout:
                reason = "incomplete_frame_timeout"
            else:
                continue
            self.stats.count(conn.device["_id"] if conn.device else None, reason)
            log.info("closing %s: %s", conn.label, reason)
            conn.close(reason)

    async def flush_stats(self) -> None:
        await self.stats.flush(self.db, connections=len(self.connections), devices_online=len(self.by_device))

    async def _check_ownership(self) -> None:
        """Close connections whose device was removed, moved or logged in on another gateway."""
        # The overlap re-reads recent changes, so a writer whose clock is behind ours is not missed.
        asked_at = utcnow()
        since = self._synced_at - dt.timedelta(seconds=OWNERSHIP_OVERLAP)
        changed = await devices.changed_since(self.db, since)
        self._synced_at = asked_at
        for doc in changed:
            conn = self.by_device.get(doc["_id"])
            if conn is None:
                continue
            if doc.get("status") != "active":
                reason = "device_removed"
            elif doc.get("conn_token") != conn.token and doc.get("gateway_id") != self.gateway_id:
                reason = "replaced_elsewhere"
            else:
                # A different token from this very gateway is a login under way: adopt() settles it.
                conn.device.update(project_id=doc["project_id"], environment=doc.get("environment"))
                continue
            self.stats.count(doc["_id"], reason)
            log.info("closing %s: %s", conn.label, reason)
            conn.superseded = reason == "replaced_elsewhere"
            conn.close(reason)

    async def shutdown(self) -> None:
        self.stop()
        self._stopping = True  # no offline write per connection: see the final flush
        for task in self._loops:
            task.cancel()
        for conn in list(self.connections):
            conn.close("gateway_stopping")
        await asyncio.sleep(0)
        try:
            # Marking the gateway stopped takes all its devices offline (devices.presence) in one write.
            await asyncio.wait_for(self.stats.flush(self.db, connections=0, devices_online=0, stopped=True), 15)
        except Exception:
            log.exception("final counter flush failed")


async def run_gateway(config: Config, db: AsyncDatabase) -> None:
    server = GatewayServer(config, db)
    sockets = bind_sockets(config.gateway_port, address=config.gateway_host, backlog=4096)
    server.add_sockets(sockets)
    server.start_loops()
    log.info("gateway %s listening on %s:%s", server.gateway_id, config.gateway_host, config.gateway_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("gateway stopping")
    await server.shutdown()
