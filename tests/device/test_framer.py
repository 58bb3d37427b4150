"""Examples of FrameBuffer (stream -> frames) and Reassembler (split frames -> messages)."""
import pytest

from server.device.codec import CMD_ENROLL, CMD_HEARTBEAT, CMD_LOGIN, Frame, ProtocolError
from server.device.framer import FrameBuffer, Reassembler

SESSION = b"S" * 16


def frames_of(buffer):
    return list(buffer)


# ------------------------------------------------------------------------------------ FrameBuffer

def test_frames_come_out_once_complete():
    a, b = Frame(CMD_LOGIN, b"hello", SESSION), Frame(CMD_HEARTBEAT, b"", SESSION, flag=1)
    wire = a.encode() + b.encode()
    buffer = FrameBuffer()
    buffer.feed(wire[:10])
    assert frames_of(buffer) == [] and buffer.buffered == 10
    buffer.feed(wire[10:len(a.encode()) + 5])
    assert frames_of(buffer) == [a]
    buffer.feed(wire[len(a.encode()) + 5:])
    assert frames_of(buffer) == [b]
    assert buffer.buffered == 0


def test_absurd_length_is_refused_before_the_body_arrives():
    buffer = FrameBuffer(max_content_length=1000)
    header = Frame(CMD_ENROLL, bytes(1001), SESSION).encode()[:32]
    buffer.feed(header)
    with pytest.raises(ProtocolError) as exc:
        next(buffer)
    assert (exc.value.code, exc.value.message) == ("length_too_large", "数据包过大")
    assert buffer.buffered == 32  # nothing waited for, nothing allocated for the body


def test_length_at_the_limit_is_accepted():
    buffer = FrameBuffer(max_content_length=1000)
    frame = Frame(CMD_ENROLL, bytes(1000), SESSION)
    buffer.feed(frame.encode())
    assert frames_of(buffer) == [frame]


def test_garbage_is_refused_at_its_first_byte():
    buffer = FrameBuffer()
    buffer.feed(b"GET / HTTP/1.1\r\n")
    with pytest.raises(ProtocolError) as exc:
        next(buffer)
    assert exc.value.code == "bad_header"


def test_garbage_between_frames():
    frame = Frame(CMD_HEARTBEAT, session_id=SESSION)
    buffer = FrameBuffer()
    buffer.feed(frame.encode() + b"\x00junk" + frame.encode())
    assert next(buffer) == frame
    with pytest.raises(ProtocolError):
        next(buffer)


def test_bad_tail_and_the_buffer_stays_dead():
    wire = bytearray(Frame(CMD_LOGIN, b"abc", SESSION).encode())
    wire[-1] = 0x03
    buffer = FrameBuffer()
    buffer.feed(bytes(wire))
    with pytest.raises(ProtocolError) as first:
        next(buffer)
    assert first.value.code == "bad_tail"
    buffer.feed(Frame(CMD_HEARTBEAT).encode())
    with pytest.raises(ProtocolError) as again:
        next(buffer)
    assert again.value is first.value


def test_many_small_feeds_of_one_large_frame():
    frame = Frame(CMD_ENROLL, bytes(range(256)) * 400, SESSION)
    wire = frame.encode()
    buffer = FrameBuffer()
    for i in range(0, len(wire), 7):
        buffer.feed(wire[i:i + 7])
        got = frames_of(buffer)
        if got:
            assert got == [frame] and i + 7 >= len(wire)
    assert buffer.buffered == 0


def test_consumed_bytes_are_released():
    frame = Frame(CMD_ENROLL, bytes(10_000), SESSION)
    buffer = FrameBuffer()
    for _ in range(50):
        buffer.feed(frame.encode())
        assert next(buffer) == frame
    buffer.feed(b"\x01")
    assert buffer.buffered == 1
    assert len(buffer._buf) < 100_000  # white-box: memory bounded by what is still pending


# ------------------------------------------------------------------------------------ Reassembler

def split(content, count, base, command=CMD_ENROLL):
    size = -(-len(content) // count)
    return [Frame(command, content[i * size:(i + 1) * size], bytes([i]) * 16, part_index=base + i,
                  part_count=count) for i in range(count)]


def test_unsplit_frames_pass_through():
    r = Reassembler()
    for count in (0, 1):
        frame = Frame(CMD_LOGIN, b"x", SESSION, part_count=count)
        assert r.push(frame, 0.0) is frame
    assert not r.pending


@pytest.mark.parametrize("base", [0, 1])
def test_join_slices(base):
    r = Reassembler()
    parts = split(b"0123456789", 3, base)
    assert r.push(parts[0], 1.0) is None and r.pending
    assert r.push(parts[1], 2.0) is None
    whole = r.push(parts[2], 3.0)
    assert whole == Frame(CMD_ENROLL, b"0123456789", parts[2].session_id)
    assert not r.pending and r.abandoned == 0


def test_last_slice_decides_session_version_and_flag():
    r = Reassembler()
    first = Frame(CMD_ENROLL, b"a", SESSION, version=1, flag=0, part_index=0, part_count=2)
    last = Frame(CMD_ENROLL, b"b", b"L" * 16, version=2, flag=1, part_index=1, part_count=2)
    r.push(first, 0)
    assert r.push(last, 0) == Frame(CMD_ENROLL, b"ab", b"L" * 16, version=2, flag=1)


def test_unrelated_command_abandons_the_partial_message():
    r = Reassembler()
    parts = split(b"abcdef", 3, 0)
    r.push(parts[0], 0)
    heartbeat = Frame(CMD_HEARTBEAT)
    assert r.push(heartbeat, 0) is heartbeat
    assert r.abandoned == 1 and not r.pending
    # A new split message of another command also abandons, then starts afresh.
    r.push(parts[0], 0)
    other = split(b"xy", 2, 1, command=CMD_LOGIN)
    assert r.push(other[0], 0) is None and r.abandoned == 2
    assert r.push(other[1], 0).content == b"xy"


@pytest.mark.parametrize("bad", [
    lambda p: Frame(CMD_ENROLL, b"", part_index=2, part_count=3),                         # skipped index
    lambda p: Frame(CMD_ENROLL, b"", part_index=1, part_count=4),                         # count changed
    lambda p: Frame(CMD_ENROLL, b"", part_index=0, part_count=3),                         # restarted
])
def test_bad_split(bad):
    r = Reassembler()
    r.push(split(b"abcdef", 3, 0)[0], 0)
    with pytest.raises(ProtocolError) as exc:
        r.push(bad(None), 0)
    assert (exc.value.code, exc.value.message) == ("bad_split", "分包错误")
    assert not r.pending


def test_first_slice_must_start_at_0_or_1():
    with pytest.raises(ProtocolError):
        Reassembler().push(Frame(CMD_ENROLL, b"", part_index=2, part_count=3), 0)


def test_total_size_is_bounded():
    r = Reassembler(max_message_size=10)
    r.push(Frame(CMD_ENROLL, b"x" * 6, part_index=0, part_count=2), 0)
    with pytest.raises(ProtocolError) as exc:
        r.push(Frame(CMD_ENROLL, b"x" * 5, part_index=1, part_count=2), 0)
    assert exc.value.code == "bad_split"


def test_expired():
    r = Reassembler()
    assert not r.expired(1000.0, 30)
    r.push(split(b"abcdef", 3, 0)[0], 100.0)
    assert not r.expired(130.0, 30)
    assert r.expired(130.5, 30)
