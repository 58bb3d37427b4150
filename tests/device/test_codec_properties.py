"""Properties of the device codec and framer: round trips, any split of a stream, and that no
input whatsoever escapes as anything but ProtocolError."""
import datetime
import functools
import operator
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.device.codec import (
    FRAME_OVERHEAD, REPLY_TYPES, REQUEST_TYPES, ChecksumStatus, EnrollReply, EnrollRequest, Frame,
    Heartbeat, LoginRequest, PersonReply, PersonRequest, ProtocolError, PunchRequest, WhitelistRecord,
    WhitelistReply, WhitelistRequest, decode_frame, decode_reply, decode_request, encode_reply,
    encode_request, pack_text, unpack_text, xor_checksum,
)
from server.device.framer import FrameBuffer, Reassembler

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ = settings(max_examples=500, deadline=None)

# ------------------------------------------------------------------------------------ strategies

# Chinese names and places dominate real data; the general alphabet covers everything else UTF-8 can
# hold (hypothesis leaves out lone surrogates, which UTF-8 cannot).
_chars = st.one_of(st.sampled_from("张三丰李王五赵钱孙江门蓬江区广东省公安局汉族·"), st.characters(codec="utf-8"))


def text(width):
    """Texts a field of ``width`` bytes gives back unchanged: fits, and no trailing space or NUL."""
    return st.text(_chars, max_size=width).map(
        lambda s: s.encode()[:width].decode("utf-8", "ignore").rstrip(" \x00"))


@st.composite
def _large_bytes(draw, max_size):
    # Drawing tens of kilobytes byte by byte is slow; a seeded generator gives the same coverage
    # of "arbitrary photo bytes" at a fraction of the cost.
    size = draw(st.integers(0, max_size))
    return random.Random(draw(st.integers(0, 2**32))).randbytes(size)


def blob(max_size=60_000):
    return st.one_of(st.binary(max_size=64), _large_bytes(max_size))


u8, u16, u32 = st.integers(0, 0xFF), st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF)
times = st.datetimes(min_value=datetime.datetime(1, 1, 1),
                     max_value=datetime.datetime(9999, 12, 31, 23, 59, 59)).map(lambda d: d.replace(microsecond=0))

requests = st.one_of(
    st.builds(LoginRequest, text(32), text(32)),
    st.just(Heartbeat()),
    st.builds(EnrollRequest, text(18), text(30), text(2), text(4), text(16), text(140),
              blob(512), u8, u8, text(60), text(64), u8, st.binary(min_size=99, max_size=99),
              blob(30_720), blob()),
    st.builds(WhitelistRequest, u16, u32),
    st.builds(PersonRequest, text(32), text(18)),
    st.builds(PunchRequest, u32, times, u8, blob(51_200)),
)
records = st.builds(WhitelistRecord, u32, text(10), text(18), u32)
replies = st.one_of(
    st.builds(EnrollReply, u8, text(30)),
    st.builds(WhitelistReply, u32, text(100), st.lists(records, max_size=30).map(tuple)),
    st.builds(PersonReply, u32, text(30), text(18), u8, text(2), text(140), text(16), text(60),
              text(64), blob(), blob(30_720), blob(4096)),
)
frames = st.builds(Frame, u16, st.binary(max_size=300), st.binary(min_size=16, max_size=16),
                   u8, u8, u32, u32)
_REPLY_COMMANDS = {cls: command for command, cls in REPLY_TYPES.items()}


# ------------------------------------------------------------------------------------- round trips

@PROPERTY
@given(requests)
def test_request_round_trip(msg):
    command, content = encode_request(msg)
    assert REQUEST_TYPES[command] is type(msg)
    assert decode_request(command, content, strict_checksum=True) == (msg, ChecksumStatus.OK)


@PROPERTY
@given(replies)
def test_reply_round_trip(msg):
    assert decode_reply(_REPLY_COMMANDS[type(msg)], encode_reply(msg)) == msg


@PROPERTY
@given(frames)
def test_frame_round_trip(frame):
    wire = frame.encode()
    assert len(wire) == FRAME_OVERHEAD + len(frame.content)
    assert decode_frame(wire) == frame


@PROPERTY
@given(st.text(_chars, max_size=60), st.integers(0, 40))
def test_pack_text_fits_and_gives_back_a_prefix(s, width):
    packed = pack_text(s, width)
    assert len(packed) == width
    packed.rstrip(b"\x00").decode("utf-8")  # never a broken character
    assert s.startswith(unpack_text(packed))


@PROPERTY
@given(st.binary(max_size=3000))
def test_xor_checksum_is_the_xor_of_all_bytes(data):
    assert xor_checksum(data) == functools.reduce(operator.xor, data, 0)


# ------------------------------------------------------------------------ nothing but ProtocolError

def _only_protocol_errors(call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except ProtocolError as exc:
        assert isinstance(exc.code, str) and isinstance(exc.message, str) and exc.message


@FUZZ
@given(st.sampled_from(sorted(REQUEST_TYPES)), st.binary(max_size=700), st.booleans())
def test_arbitrary_request_content(command, content, strict):
    _only_protocol_errors(decode_request, command, content, strict_checksum=strict)


@st.composite
def damaged_requests(draw):
    """Valid requests cut, extended or with bytes overwritten: closer to real faults than noise."""
    command, content = encode_request(draw(requests))
    data = bytearray(content)
    for _ in range(draw(st.integers(0, 4))):
        if data:
            data[draw(st.integers(0, len(data) - 1))] = draw(u8)
    cut = draw(st.integers(0, len(data) + 8))
    data = data[:cut] + draw(st.binary(max_size=8)) if cut > len(data) else data[:cut]
    return command, bytes(data)


@FUZZ
@given(damaged_requests(), st.booleans())
def test_damaged_request_content(request, strict):
    _only_protocol_errors(decode_request, *request, strict_checksum=strict)


@FUZZ
@given(st.sampled_from(sorted(REPLY_TYPES)), st.binary(max_size=700))
def test_arbitrary_reply_content(command, content):
    _only_protocol_errors(decode_reply, command, content)


@FUZZ
@given(st.one_of(st.binary(max_size=200), st.binary(max_size=200).map(lambda b: b"\x01" + b)))
def test_arbitrary_frame_bytes(data):
    _only_protocol_errors(decode_frame, data)


@FUZZ
@given(st.lists(st.one_of(st.binary(max_size=80), frames.map(Frame.encode)), max_size=6),
       st.integers(0, 400))
def test_arbitrary_stream(pieces, max_content):
    buffer = FrameBuffer(max_content_length=max_content)
    try:
        for piece in pieces:
            buffer.feed(piece)
            for frame in buffer:
                assert len(frame.content) <= max_content
    except ProtocolError:
        pass
    # Never more held than was fed.
    assert buffer.buffered <= sum(map(len, pieces))


# --------------------------------------------------------------------------------------- framing

@PROPERTY
@given(st.lists(frames, min_size=1, max_size=8), st.data())
def test_any_split_of_a_stream_gives_the_same_frames(sent, data):
    stream = b"".join(frame.encode() for frame in sent)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=20)))
    buffer, received = FrameBuffer(max_content_length=300), []
    for start, end in zip([0, *cuts], [*cuts, len(stream)]):
        buffer.feed(stream[start:end])
        received.extend(buffer)
    assert received == sent and buffer.buffered == 0


@PROPERTY
@given(st.binary(max_size=2000), st.integers(2, 40), st.sampled_from([0, 1]), st.data())
def test_split_content_is_joined_back(content, count, base, data):
    cuts = sorted(data.draw(st.lists(st.integers(0, len(content)), min_size=count - 1, max_size=count - 1)))
    slices = [content[a:b] for a, b in zip([0, *cuts], [*cuts, len(content)])]
    r, result = Reassembler(max_message_size=len(content)), None
    for i, piece in enumerate(slices):
        assert result is None
        result = r.push(Frame(852, piece, bytes([i % 256]) * 16, part_index=base + i, part_count=count), float(i))
    assert result == Frame(852, content, bytes([(count - 1) % 256]) * 16)
    assert not r.pending and r.abandoned == 0


@FUZZ
@given(st.lists(st.builds(Frame, st.sampled_from([845, 852]), st.binary(max_size=20),
                          part_index=st.integers(0, 4), part_count=st.integers(0, 4)), max_size=12))
def test_reassembler_raises_only_protocol_error(frames_in):
    r = Reassembler(max_message_size=40)
    for i, frame in enumerate(frames_in):
        try:
            out = r.push(frame, float(i))
        except ProtocolError as exc:
            assert exc.code == "bad_split" and not r.pending
            continue
        assert out is None or out.part_count == 0 or out is frame
        assert out is None or len(out.content) <= max(40, len(frame.content))
