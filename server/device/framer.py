"""Turning a TCP byte stream into frames, and split (PartCount > 1) frames into whole messages.

In the style of h2's ``FrameBuffer``: ``feed()`` whatever the socket delivered, then iterate the
frames that are complete. Both classes are pure (time is passed in), so the gateway owns the clock
and the tests need none.
"""
from __future__ import annotations

from .codec import FRAME_OVERHEAD, HEADER, PREFIX_SIZE, TAIL, Frame, ProtocolError, parse_prefix

__all__ = ["FrameBuffer", "Reassembler"]

# Compacting costs a copy of what is still buffered; doing it only once the consumed part is large
# keeps the cost amortised linear without holding much dead data.
_COMPACT_AT = 64 * 1024


class FrameBuffer:
    """Accumulates bytes and yields complete frames.

    A malformed stream (bad Header, Length above ``max_content_length``, bad Tail) raises
    ProtocolError from iteration. The stream cannot be resynchronised — the standard has no escape
    or resync marker and Content may contain 0x01 anywhere — so after an error the buffer is dead:
    every later ``next()`` raises the same error, ``feed()`` is ignored, and the gateway is expected
    to reply with the message where it can and close the connection.
    """

    def __init__(self, max_content_length: int = 1 << 20):
        self.max_content_length = max_content_length
        self._buf = bytearray()
        self._pos = 0
        self._error: ProtocolError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received and not yet returned as frames."""
        return len(self._buf) - self._pos

    def feed(self, data: bytes) -> None:
        if self._error is not None:
            return
        if self._pos and (self._pos >= _COMPACT_AT or self._pos == len(self._buf)):
            del self._buf[:self._pos]
            self._pos = 0
        self._buf += data

    def __iter__(self) -> FrameBuffer:
        return self

    def __next__(self) -> Frame:
        if self._error is not None:
            raise self._error
        try:
            return self._next_frame()
        except ProtocolError as exc:
            self._error = exc
            raise

    def _next_frame(self) -> Frame:
        buf, pos = self._buf, self._pos
        available = len(buf) - pos
        if available == 0:
            raise StopIteration
        # Refuse garbage at its first byte rather than after waiting for 32 of them.
        if buf[pos] != HEADER:
            raise ProtocolError("bad_header", "数据包格式错误")
        if available < PREFIX_SIZE:
            raise StopIteration
        length, part_index, part_count, version, command, session_id = parse_prefix(buf, pos)
        if length > self.max_content_length:
            raise ProtocolError("length_too_large", "数据包过大")
        if available < FRAME_OVERHEAD + length:
            raise StopIteration
        end = pos + PREFIX_SIZE + length
        flag, tail = buf[end], buf[end + 1]
        if tail != TAIL:
            raise ProtocolError("bad_tail", "数据包格式错误")
        self._pos = end + 2
        return Frame(command, bytes(buf[pos + PREFIX_SIZE:end]), session_id, version, flag,
                     part_index, part_count)


class Reassembler:
    """Joins the slices of a split message (PartCount > 1) into one frame.

    Unsplit frames pass through. Slices must arrive consecutively, for one command, with
    consecutive PartIndex starting at 0 or 1 (devices differ; the first slice decides). A frame of
    another command in between abandons the partial message, as the standard's one-request-at-a-time
    rule implies the device gave up on it; ``abandoned`` counts those for operators.

    ProtocolError("bad_split") for an out-of-sequence index, a changed PartCount or a joined size
    above ``max_message_size``; the partial message is discarded first.
    """

    def __init__(self, max_message_size: int = 1 << 20):
        self.max_message_size = max_message_size
        self.abandoned = 0
        self._reset()

    def _reset(self) -> None:
        self._command: int | None = None
        self._count = 0
        self._base = 0
        self._next_index = 0
        self._started = 0.0
        # One growing buffer rather than a list of slices: a device sending millions of empty slices
        # must not grow memory beyond what max_message_size allows.
        self._data = bytearray()

    @property
    def pending(self) -> bool:
        return self._command is not None

    def expired(self, now: float, max_wait: float) -> bool:
        """True when a partial message has waited for its remaining slices longer than ``max_wait``."""
        return self.pending and now - self._started > max_wait

    def push(self, frame: Frame, now: float) -> Frame | None:
        """The whole message once ``frame`` completes one (or is not split); None while collecting."""
        if self.pending and (frame.part_count <= 1 or frame.command != self._command):
            self.abandoned += 1
            self._reset()
        if frame.part_count <= 1:
            return frame
        if not self.pending:
            if frame.part_index not in (0, 1):
                self._fail()
            self._command, self._count, self._base = frame.command, frame.part_count, frame.part_index
            self._next_index, self._started = frame.part_index, now
        elif frame.part_count != self._count or frame.part_index != self._next_index:
            self._fail()
        if len(self._data) + len(frame.content) > self.max_message_size:
            self._fail()
        self._data += frame.content
        self._next_index += 1
        if self._next_index - self._base < self._count:
            return None
        content = bytes(self._data)
        self._reset()
        # The last slice's session and flag: it is the frame the device waits on for an answer.
        return Frame(frame.command, content, frame.session_id, frame.version, frame.flag)

    def _fail(self) -> None:
        self._reset()
        raise ProtocolError("bad_split", "分包错误")
