"""A simulated device's side of the wire: its TCP connection, reading whole replies through the
framer (frames) and its reassembler (split messages), and the message a refusal carries."""
from __future__ import annotations

import asyncio
import collections
import contextlib
import time

from ..device.codec import CMD_ENROLL, Frame, ProtocolError, decode_reply
from ..device.framer import FrameBuffer, Reassembler

READ_CHUNK = 64 * 1024
# Replies carry at most a 845 with three photos; anything near this is a broken stream, not a reply.
MAX_REPLY_CONTENT = 4 << 20


class DeviceConnectionError(Exception):
    """The connection is gone (closed, reset, timed out, or sent bytes we cannot frame).

    ``deliberate`` marks the drops the simulator makes on purpose (--drop-rate); they are reconnects,
    not errors.
    """

    def __init__(self, kind: str, *, deliberate: bool = False):
        super().__init__(kind)
        self.kind = kind
        self.deliberate = deliberate


class Connection:
    """One TCP connection to the gateway and what has been read from it but not yet answered."""

    __slots__ = ("reader", "writer", "framer", "reassembler", "pending", "closed", "heartbeat_task")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer
        self.framer = FrameBuffer(MAX_REPLY_CONTENT)
        self.reassembler = Reassembler(MAX_REPLY_CONTENT)
        self.pending: collections.deque[Frame] = collections.deque()
        self.closed = asyncio.Event()
        self.heartbeat_task: asyncio.Task | None = None

    async def read_reply(self) -> Frame:
        # The gateway does not split replies today; the framer's reassembler keeps us standard anyway.
        while True:
            whole = self.reassembler.push(await self._next_frame(), time.monotonic())
            if whole is not None:
                return whole

    async def _next_frame(self) -> Frame:
        pending = self.pending
        while not pending:
            data = await self.reader.read(READ_CHUNK)
            if not data:
                raise DeviceConnectionError("closed by gateway 网关关闭连接")
            self.framer.feed(data)
            pending.extend(self.framer)
        return pending.popleft()


def reply_message(frame: Frame) -> str:
    """The Chinese message of a Flag 1 reply (852's lives in its 42-byte reply layout)."""
    if frame.command == CMD_ENROLL and len(frame.content) in (41, 42):
        with contextlib.suppress(ProtocolError):
            reason = decode_reply(CMD_ENROLL, frame.content).reason
            if reason:
                return reason
    return frame.content.decode("utf-8", errors="replace").strip("\x00 ") or "(no message 无说明)"
