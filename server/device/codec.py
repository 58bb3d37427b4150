"""Codec of 江门市实名设备直连对接标准 V1.0: frames and the Content of each command.

Pure: bytes in, objects out, no I/O and no clock. The interpretation of the standard is fixed in
docs/spec ``protocol.md``; the short version:

* a frame is ``Header(0x01) Length PartIndex PartCount Version Command SessionID Content Flag
  Tail(0x01)``, 34 bytes plus Content, integers little-endian;
* each command's Content is a fixed sequence of fields, described once per message in ``_LAYOUTS``
  (name, kind) and driven through the same encoder and decoder;
* anything malformed raises :class:`ProtocolError` — never ``struct.error``, ``IndexError`` or
  ``UnicodeDecodeError`` — so the gateway needs one ``except`` per connection.

Text fields: the standard calls some fields ASCII and some UTF-8. Both are read and written as
UTF-8 here (ASCII is a subset), so a non-ASCII character given for an "ASCII" field is written as
UTF-8 rather than refused; devices in the field do the same with names in ID-number fields, and the
identity rules (``stdnum``) reject such values later with a message a person can act on.
"""
from __future__ import annotations

import codecs
import dataclasses
import datetime
import enum
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ProtocolError", "Frame", "ChecksumStatus",
    "HEADER", "TAIL", "PREFIX_SIZE", "FRAME_OVERHEAD",
    "CMD_LOGIN", "CMD_HEARTBEAT", "CMD_PERSON", "CMD_PUNCH", "CMD_WHITELIST", "CMD_ENROLL",
    "FLAG_OK", "FLAG_FAIL", "MODE_FACE",
    "LoginRequest", "Heartbeat", "EnrollRequest", "EnrollReply", "WhitelistRequest", "WhitelistRecord",
    "WhitelistReply", "PersonRequest", "PersonReply", "PunchRequest",
    "REQUEST_TYPES", "REPLY_TYPES",
    "parse_prefix", "decode_frame", "xor_checksum", "pack_text", "unpack_text", "unpadded_logins",
    "LOGIN_PADDED_SIZE", "encode_frame_pieces", "encode_punch_head", "pack_blob",
    "decode_request", "encode_request", "encode_reply", "decode_reply",
]


class ProtocolError(Exception):
    """Anything a peer sent (or we were asked to send) that does not fit the standard.

    ``code`` is a stable English identifier for counters and logs; ``message`` is Chinese text short
    enough for a device screen, suitable as the Content of a Flag 1 reply.
    """

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


# Shared messages, so that every path reporting the same problem shows the same words on a device.
_MSG_FORMAT = "数据包格式错误"
_MSG_SIZE = "数据长度错误"
_MSG_FIELD = "字段取值错误"


def _size_error(detail: str = "") -> ProtocolError:
    return ProtocolError("content_size", _MSG_SIZE + (f": {detail}" if detail else ""))


HEADER = 0x01
TAIL = 0x01
PREFIX_SIZE = 32
FRAME_OVERHEAD = 34

CMD_LOGIN = 843
CMD_HEARTBEAT = 65535
CMD_PERSON = 845
CMD_PUNCH = 848
CMD_WHITELIST = 849
CMD_ENROLL = 852

FLAG_OK = 0
FLAG_FAIL = 1

MODE_FACE = 6  # 848 punch mode: face recognition

# Header, Length, PartIndex, PartCount, Version, Command, SessionID.
_PREFIX = struct.Struct("<BIIIBH16s")
assert _PREFIX.size == PREFIX_SIZE

_U8 = struct.Struct("<B")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_BCD_TIME_SIZE = 7


# --------------------------------------------------------------------------------------------- frame

@dataclass(frozen=True, slots=True)
class Frame:
    command: int
    content: bytes = b""
    session_id: bytes = bytes(16)
    version: int = 1
    flag: int = 0
    part_index: int = 0
    part_count: int = 0

    def __post_init__(self) -> None:
        # Normalise bytes-likes so frames compare and hash by value; check ranges here rather than in
        # encode() so a bad reply is caught where it is built, not when it is about to be written.
        content = bytes(self.content)
        session_id = bytes(self.session_id)
        if len(session_id) != 16:
            raise ProtocolError("bad_field", f"{_MSG_FIELD}: SessionID 必须为 16 字节")
        for name, limit in (("command", 0xFFFF), ("version", 0xFF), ("flag", 0xFF),
                            ("part_index", 0xFFFFFFFF), ("part_count", 0xFFFFFFFF)):
            value = getattr(self, name)
            if not isinstance(value, int) or not 0 <= value <= limit:
                raise ProtocolError("bad_field", f"{_MSG_FIELD}: {name}")
        if len(content) > 0xFFFFFFFF:
            raise _size_error("Content 超过 4 GB")
        object.__setattr__(self, "content", content)
        object.__setattr__(self, "session_id", session_id)

    def __repr__(self) -> str:
        # Content may be a 1 MB photo; logs want its size, not its bytes.
        return (f"Frame(command={self.command}, content=<{len(self.content)} bytes>, "
                f"session_id={self.session_id.hex()}, version={self.version}, flag={self.flag}, "
                f"part_index={self.part_index}, part_count={self.part_count})")

    def encode(self) -> bytes:
        return encode_frame_pieces(self.command, (self.content,), self.session_id, version=self.version,
                                   flag=self.flag, part_index=self.part_index, part_count=self.part_count)

    def reply(self, content: bytes = b"", flag: int = FLAG_OK) -> Frame:
        # Devices match replies by command and session; the version is echoed so a device speaking
        # a later revision sees that we answered its frame rather than silently downgrading.
        return Frame(self.command, content, self.session_id, self.version, flag)

    def failure(self, message: str) -> Frame:
        return self.reply(message.encode("utf-8", errors="replace"), FLAG_FAIL)


def encode_frame_pieces(command: int, pieces, session_id: bytes, *, version: int = 1, flag: int = 0,
                        part_index: int = 0, part_count: int = 0) -> bytes:
    """The bytes of a frame whose Content is ``b"".join(pieces)``, without building a Frame.

    For senders on a hot path (the simulator's 848, hundreds of devices in one process): no range
    checks, so the values must be valid; ``Frame.encode`` is this with them checked.
    """
    length = sum(len(p) for p in pieces)
    prefix = _PREFIX.pack(HEADER, length, part_index, part_count, version, command, session_id)
    return b"".join((prefix, *pieces, bytes((flag, TAIL))))


def parse_prefix(buf, offset: int = 0) -> tuple[int, int, int, int, int, bytes]:
    """(length, part_index, part_count, version, command, session_id) of the 32 bytes at ``offset``.

    Lets a framer see Length, and refuse an absurd one, before the body has arrived.
    """
    if len(buf) - offset < PREFIX_SIZE:
        raise ProtocolError("truncated", "数据包不完整")
    header, length, part_index, part_count, version, command, session_id = _PREFIX.unpack_from(buf, offset)
    if header != HEADER:
        raise ProtocolError("bad_header", _MSG_FORMAT)
    return length, part_index, part_count, version, command, session_id


def decode_frame(data: bytes) -> Frame:
    """Exactly one whole frame; a short, long or badly terminated one raises ProtocolError."""
    data = bytes(data)
    length, part_index, part_count, version, command, session_id = parse_prefix(data)
    end = PREFIX_SIZE + length
    if len(data) < end + 2:
        raise ProtocolError("truncated", "数据包不完整")
    if len(data) > end + 2:
        raise ProtocolError("frame_size", _MSG_SIZE)
    flag, tail = data[end], data[end + 1]
    if tail != TAIL:
        raise ProtocolError("bad_tail", _MSG_FORMAT)
    return Frame(command, data[PREFIX_SIZE:end], session_id, version, flag, part_index, part_count)


# ------------------------------------------------------------------------------------------ checksum

class ChecksumStatus(enum.Enum):
    OK = "ok"
    BAD = "bad"
    MISSING = "missing"


def xor_checksum(data: bytes) -> int:
    """XOR of all bytes.

    Folds the whole buffer as one integer (halving it each round) instead of looping per byte in
    Python: a 1 MB enrollment is checked in a few milliseconds instead of some fifty during which
    the gateway could not serve any other device.
    """
    n = len(data)
    if n == 0:
        return 0
    value = int.from_bytes(data, "little")
    while n > 1:
        half = (n + 1) // 2
        bits = 8 * half
        value = (value >> bits) ^ (value & ((1 << bits) - 1))
        n = half
    return value


# ------------------------------------------------------------------------------------------ text

_utf8_decoder = codecs.getincrementaldecoder("utf-8")


def pack_text(s: str, width: int) -> bytes:
    """``s`` as UTF-8 in exactly ``width`` bytes: left-aligned, 0x00-padded, cut between characters."""
    if not isinstance(s, str):
        raise ProtocolError("bad_field", f"{_MSG_FIELD}: 文本字段需为字符串")
    raw = s.encode("utf-8", errors="replace")
    if len(raw) > width:
        cut = width
        # A continuation byte (10xxxxxx) at the cut means a character straddles it: back off to its start.
        while cut > 0 and raw[cut] & 0xC0 == 0x80:
            cut -= 1
        raw = raw[:cut]
    return raw.ljust(width, b"\x00")


def unpack_text(b: bytes) -> str:
    """Inverse of pack_text; never raises, because devices fill text fields with whatever they hold.

    Invalid bytes become U+FFFD, except an incomplete character at the very end, which is dropped: it
    is what a device that cuts a long name by bytes leaves behind, and showing "张三�" for it helps
    nobody.
    """
    return _utf8_decoder(errors="replace").decode(bytes(b).rstrip(b"\x00 "), final=False)


# ------------------------------------------------------------------------------------- field kinds
# Each kind knows how to write one value and how to read one back from ``data[pos:end]``; a message
# layout is a sequence of (attribute name, kind). ``size`` is the kind's width on the wire, None when
# it varies. Reading never allocates more than it slices out of the Content it was given, so a forged
# length cannot make the codec reserve memory.

class _Int:
    def __init__(self, st: struct.Struct):
        self.st = st
        self.size = st.size

    def pack(self, value: int) -> bytes:
        if not isinstance(value, int):
            raise ProtocolError("bad_field", f"{_MSG_FIELD}: 需为整数")
        try:
            return self.st.pack(value)
        except struct.error:
            raise ProtocolError("bad_field", f"{_MSG_FIELD}: 数值超出范围") from None

    def unpack(self, data: bytes, pos: int, end: int) -> tuple[int, int]:
        new = pos + self.st.size
        if new > end:
            raise _size_error()
        return self.st.unpack_from(data, pos)[0], new


class _Text:
    def __init__(self, width: int):
        self.width = self.size = width

    def pack(self, value: str) -> bytes:
        return pack_text(value, self.width)

    def unpack(self, data: bytes, pos: int, end: int) -> tuple[str, int]:
        new = pos + self.width
        if new > end:
            raise _size_error()
        return unpack_text(data[pos:new]), new


class _Raw:
    """Fixed-width bytes kept as they are (852's reserved block); shorter values are 0x00-padded."""

    def __init__(self, width: int):
        self.width = self.size = width

    def pack(self, value: bytes) -> bytes:
        value = bytes(value)
        if len(value) > self.width:
            raise ProtocolError("bad_field", f"{_MSG_FIELD}: 超过 {self.width} 字节")
        return value.ljust(self.width, b"\x00")

    def unpack(self, data: bytes, pos: int, end: int) -> tuple[bytes, int]:
        new = pos + self.width
        if new > end:
            raise _size_error()
        return data[pos:new], new


class _Blob:
    """uint32 length followed by that many bytes (photos, face features)."""

    size = None

    def pack(self, value: bytes) -> bytes:
        value = bytes(value)
        return _U32.pack(len(value)) + value

    def unpack(self, data: bytes, pos: int, end: int) -> tuple[bytes, int]:
        if pos + 4 > end:
            raise _size_error()
        (length,) = _U32.unpack_from(data, pos)
        start = pos + 4
        if length > end - start:
            raise _size_error("照片/特征长度超出数据包")
        return data[start:start + length], start + length


def _bcd_byte(n: int) -> int:
    return (n // 10) << 4 | n % 10


class _BcdTime:
    """848 punch time: century, year, month, day, hour, minute, second — one BCD byte each.

    Naive datetimes in the site's local time (the device's clock); sub-second parts and any tzinfo
    are not representable and are dropped on encode.
    """

    size = _BCD_TIME_SIZE

    def pack(self, value: datetime.datetime) -> bytes:
        if not isinstance(value, datetime.datetime):
            raise ProtocolError("bad_field", f"{_MSG_FIELD}: 考勤时间需为 datetime")
        parts = (value.year // 100, value.year % 100, value.month, value.day,
                 value.hour, value.minute, value.second)
        return bytes(_bcd_byte(p) for p in parts)

    def unpack(self, data: bytes, pos: int, end: int) -> tuple[datetime.datetime, int]:
        new = pos + _BCD_TIME_SIZE
        if new > end:
            raise _size_error()
        digits = []
        for byte in data[pos:new]:
            hi, lo = byte >> 4, byte & 0x0F
            if hi > 9 or lo > 9:
                raise ProtocolError("bad_bcd_time", "考勤时间格式错误")
            digits.append(hi * 10 + lo)
        century, year, month, day, hour, minute, second = digits
        try:
            return datetime.datetime(century * 100 + year, month, day, hour, minute, second), new
        except ValueError:
            raise ProtocolError("bad_bcd_time", "考勤时间格式错误") from None


class _Pad:
    """Reserved bytes that carry nothing: written as 0x00, skipped on read."""

    def __init__(self, width: int):
        self.width = self.size = width

    def pack(self, value: None) -> bytes:
        return bytes(self.width)

    def unpack(self, data: bytes, pos: int, end: int) -> tuple[None, int]:
        new = pos + self.width
        if new > end:
            raise _size_error()
        return None, new


class _Records:
    """As many fixed-size records as fit: 849's worker list, whose count the frame does not state.

    Must be the last field of a layout; the checksum byte (or its absence) is what remains.
    """

    size = None

    def __init__(self, layout: _Layout):
        assert layout.size, "records need a fixed size"
        self.layout = layout

    def pack(self, value: Iterable[Any]) -> bytes:
        return b"".join(self.layout.pack_fields(record) for record in value)

    def unpack(self, data: bytes, pos: int, end: int) -> tuple[tuple, int]:
        layout = self.layout
        count = (end - pos) // layout.size
        records = []
        for _ in range(count):
            record, pos = layout.unpack_fields(data, pos, end)
            records.append(record)
        return tuple(records), pos


_u8, _u16, _u32 = _Int(_U8), _Int(_U16), _Int(_U32)
_blob = _Blob()
_bcd_time = _BcdTime()


class _Layout:
    def __init__(self, cls: type, *fields: tuple[str | None, Any], checksum: bool = True):
        names = [name for name, _ in fields if name is not None]
        declared = [f.name for f in dataclasses.fields(cls)]
        # The message is built positionally from the decoded values, so the table must list the
        # dataclass's attributes in declaration order; caught at import, not on the first device.
        assert names == declared, (cls.__name__, names, declared)
        assert all(not isinstance(kind, _Records) for _, kind in fields[:-1]), "records must be last"
        self.cls = cls
        self.fields = fields
        self.checksum = checksum
        sizes = [kind.size for _, kind in fields]
        self.size = None if None in sizes else sum(sizes)

    def pack_fields(self, msg: Any) -> bytes:
        return b"".join(kind.pack(None if name is None else getattr(msg, name))
                        for name, kind in self.fields)

    def unpack_fields(self, data: bytes, pos: int, end: int) -> tuple[Any, int]:
        values = []
        for name, kind in self.fields:
            value, pos = kind.unpack(data, pos, end)
            if name is not None:
                values.append(value)
        return self.cls(*values), pos

    def encode(self, msg: Any) -> bytes:
        body = self.pack_fields(msg)
        return body + bytes((xor_checksum(body),)) if self.checksum else body

    def decode(self, content: bytes) -> tuple[Any, ChecksumStatus]:
        data = bytes(content)
        msg, pos = self.unpack_fields(data, 0, len(data))
        left = len(data) - pos
        if not self.checksum:
            if left:
                raise _size_error()
            return msg, ChecksumStatus.OK
        if left == 0:
            return msg, ChecksumStatus.MISSING
        if left != 1:
            raise _size_error()
        ok = data[pos] == xor_checksum(memoryview(data)[:pos])
        return msg, ChecksumStatus.OK if ok else ChecksumStatus.BAD


# ------------------------------------------------------------------------------------------ messages

@dataclass(frozen=True, slots=True)
class LoginRequest:
    vendor_code: str
    device_id: str


@dataclass(frozen=True, slots=True)
class Heartbeat:
    pass


@dataclass(frozen=True, slots=True)
class EnrollRequest:
    id_number: str
    name: str
    sex: str
    nation: str
    birth_date: str
    address: str
    feature: bytes = b""
    recognition_level: int = 0
    recollect: int = 0
    authority: str = ""
    validity: str = ""
    manual: int = 0
    reserved: bytes = bytes(99)
    id_photo: bytes = b""
    capture_photo: bytes = b""


@dataclass(frozen=True, slots=True)
class EnrollReply:
    result: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class WhitelistRequest:
    count: int
    photo_length_sum: int


@dataclass(frozen=True, slots=True)
class WhitelistRecord:
    worker_no: int
    name: str
    id_number: str
    photo_length: int


@dataclass(frozen=True, slots=True)
class WhitelistReply:
    project_no: int
    project_name: str
    records: tuple[WhitelistRecord, ...] = ()

    def __post_init__(self) -> None:
        # Accept any iterable (a list from a query) but keep the message hashable and comparable.
        object.__setattr__(self, "records", tuple(self.records))


@dataclass(frozen=True, slots=True)
class PersonRequest:
    device_id: str
    id_number: str


@dataclass(frozen=True, slots=True)
class PersonReply:
    worker_no: int
    name: str
    id_number: str
    nation: int
    sex: str
    address: str
    birth_date: str
    authority: str
    validity: str
    capture_photo: bytes = b""
    id_photo: bytes = b""
    infrared_photo: bytes = b""


@dataclass(frozen=True, slots=True)
class PunchRequest:
    worker_no: int
    time: datetime.datetime
    mode: int
    photo: bytes


_LAYOUTS: dict[type, _Layout] = {}


def _register(layout: _Layout) -> None:
    _LAYOUTS[layout.cls] = layout


_register(_Layout(LoginRequest, ("vendor_code", _Text(32)), ("device_id", _Text(32))))
_register(_Layout(Heartbeat, checksum=False))
_register(_Layout(
    EnrollRequest,
    ("id_number", _Text(18)), ("name", _Text(30)), ("sex", _Text(2)), ("nation", _Text(4)),
    ("birth_date", _Text(16)), ("address", _Text(140)), ("feature", _blob),
    ("recognition_level", _u8), ("recollect", _u8), ("authority", _Text(60)), ("validity", _Text(64)),
    ("manual", _u8), ("reserved", _Raw(99)), ("id_photo", _blob), ("capture_photo", _blob),
))
_register(_Layout(EnrollReply, ("result", _u8), ("reason", _Text(30)), (None, _Pad(10))))
_register(_Layout(WhitelistRequest, ("count", _u16), ("photo_length_sum", _u32)))
_register(_Layout(
    WhitelistRecord,
    ("worker_no", _u32), ("name", _Text(10)), ("id_number", _Text(18)), ("photo_length", _u32),
    (None, _Pad(5)),
    checksum=False,
))
_register(_Layout(WhitelistReply, ("project_no", _u32), ("project_name", _Text(100)),
                  ("records", _Records(_LAYOUTS[WhitelistRecord]))))
_register(_Layout(PersonRequest, ("device_id", _Text(32)), ("id_number", _Text(18))))
_register(_Layout(
    PersonReply,
    ("worker_no", _u32), ("name", _Text(30)), ("id_number", _Text(18)), ("nation", _u8),
    ("sex", _Text(2)), ("address", _Text(140)), ("birth_date", _Text(16)), ("authority", _Text(60)),
    ("validity", _Text(64)), ("capture_photo", _blob), ("id_photo", _blob), ("infrared_photo", _blob),
))
_register(_Layout(PunchRequest, ("worker_no", _u32), ("time", _bcd_time), ("mode", _u8), ("photo", _blob)))

REQUEST_TYPES: dict[int, type] = {
    CMD_LOGIN: LoginRequest,
    CMD_HEARTBEAT: Heartbeat,
    CMD_PERSON: PersonRequest,
    CMD_PUNCH: PunchRequest,
    CMD_WHITELIST: WhitelistRequest,
    CMD_ENROLL: EnrollRequest,
}
# Only commands whose success reply carries Content; 843, 65535 and 848 answer with an empty one.
REPLY_TYPES: dict[int, type] = {
    CMD_PERSON: PersonReply,
    CMD_WHITELIST: WhitelistReply,
    CMD_ENROLL: EnrollReply,
}
_REQUEST_COMMANDS = {cls: command for command, cls in REQUEST_TYPES.items()}
_REPLY_CLASSES = frozenset(REPLY_TYPES.values())


def decode_request(command: int, content: bytes, *, strict_checksum: bool = False) -> tuple[object, ChecksumStatus]:
    """The request message carried by ``content`` and whether its checksum held.

    Lenient (default): a wrong or left-out checksum is reported, not refused, because devices in the
    field get it wrong and the operators need a count rather than a site without attendance.
    """
    cls = REQUEST_TYPES.get(command)
    if cls is None:
        raise ProtocolError("unknown_command", "不支持的命令")
    msg, status = _LAYOUTS[cls].decode(content)
    if strict_checksum and status is not ChecksumStatus.OK:
        raise ProtocolError("bad_checksum", "校验和错误")
    return msg, status


def encode_punch_head(worker_no: int, time: datetime.datetime, mode: int) -> bytes:
    """An 848 Content up to its photo, by PunchRequest's own layout; with ``pack_blob(photo)`` and the
    checksum byte it is ``encode_request(PunchRequest(...))``. Lets a sender keep its photos packed."""
    kinds = [kind for _, kind in _LAYOUTS[PunchRequest].fields]
    assert isinstance(kinds[-1], _Blob) and len(kinds) == 4, "the photo must stay the last field"
    return b"".join(kind.pack(value) for kind, value in zip(kinds, (worker_no, time, mode)))


def pack_blob(data: bytes) -> bytes:
    """A length-prefixed field (photos, features) as it sits in a Content."""
    return _blob.pack(data)


LOGIN_PADDED_SIZE = 64  # 843: vendor code 32 + device id 32, before the checksum byte


def unpadded_logins(content: bytes, *, strict_checksum: bool = False) -> tuple[LoginRequest, ...]:
    """Every reading of an 843 Content shorter than the padded layout, as vendor code + device id.

    Some device implementations in the field send the two codes back to back without padding
    ("ACMEGATE-01"), with or without a checksum byte; where one code ends is not on the wire, so
    every split is a candidate and the registered devices decide (`devices.find_active_unpadded`).
    With ``strict_checksum`` only readings that end in a correct checksum byte count.
    """
    data = bytes(content)
    bodies = []
    if len(data) >= 3 and data[-1] == xor_checksum(data[:-1]):
        bodies.append(data[:-1])
    if not strict_checksum:
        bodies.append(data)
    found = []
    for body in bodies:
        for cut in range(1, len(body)):
            # A device that pads only the vendor code leaves 0x00 (or spaces) at its end.
            vendor, device = body[:cut].rstrip(b"\x00 "), body[cut:].rstrip(b"\x00 ")
            if vendor and device and (vendor + device).isascii() and b"\x00" not in vendor + device:
                found.append(LoginRequest(vendor.decode("ascii"), device.decode("ascii")))
    return tuple(dict.fromkeys(found))


def encode_request(msg: object) -> tuple[int, bytes]:
    """(command, Content with a correct checksum) — what a device (or the simulator) sends."""
    command = _REQUEST_COMMANDS.get(type(msg))
    if command is None:
        raise TypeError(f"not a request message: {type(msg).__name__}")
    return command, _LAYOUTS[type(msg)].encode(msg)


def encode_reply(msg: object) -> bytes:
    """Content of a success reply to 852, 849 or 845, checksum included."""
    if type(msg) not in _REPLY_CLASSES:
        raise TypeError(f"not a reply message: {type(msg).__name__}")
    return _LAYOUTS[type(msg)].encode(msg)


def decode_reply(command: int, content: bytes) -> object:
    """Reply message of a success (Flag 0) reply; the checksum is not enforced (the simulator's side)."""
    cls = REPLY_TYPES.get(command)
    if cls is None:
        raise ProtocolError("unknown_command", "不支持的命令")
    return _LAYOUTS[cls].decode(content)[0]
