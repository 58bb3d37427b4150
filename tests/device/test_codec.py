"""Examples of the device codec: the exact bytes the standard fixes, and what field devices do."""
import datetime

import pytest

from server.device.codec import (
    CMD_ENROLL, CMD_HEARTBEAT, CMD_LOGIN, CMD_PERSON, CMD_PUNCH, CMD_WHITELIST, FLAG_FAIL, FLAG_OK,
    FRAME_OVERHEAD, REQUEST_TYPES, ChecksumStatus, EnrollReply, EnrollRequest, Frame, Heartbeat,
    LoginRequest, PersonReply, PersonRequest, ProtocolError, PunchRequest, WhitelistRecord,
    WhitelistReply, WhitelistRequest, decode_frame, decode_reply, decode_request, encode_reply,
    encode_request, pack_text, parse_prefix, unpack_text, xor_checksum,
)
from server.domain.nations import NATIONS, is_valid_nation, nation_code, nation_name, normalize_nation

SESSION = bytes(range(16))
PUNCH_TIME = datetime.datetime(2022, 11, 10, 8, 30, 5)


def login_content():
    return encode_request(LoginRequest("JMVENDOR0001", "DEV-0001"))[1]


# ----------------------------------------------------------------------------------------- frames

def test_frame_layout_is_little_endian_and_34_bytes_plus_content():
    frame = Frame(CMD_LOGIN, b"abc", SESSION, version=1, flag=1, part_index=2, part_count=3)
    wire = frame.encode()
    assert len(wire) == FRAME_OVERHEAD + 3
    assert wire[0] == 0x01 and wire[-1] == 0x01
    assert wire[1:5] == (3).to_bytes(4, "little")
    assert wire[5:9] == (2).to_bytes(4, "little")
    assert wire[9:13] == (3).to_bytes(4, "little")
    assert wire[13] == 1
    assert wire[14:16] == bytes((0x4B, 0x03))  # 843 little-endian
    assert wire[16:32] == SESSION
    assert wire[32:35] == b"abc"
    assert wire[35] == 1  # flag kept on requests: devices send 0x01 there
    assert decode_frame(wire) == frame
    assert parse_prefix(wire) == (3, 2, 3, 1, CMD_LOGIN, SESSION)


def test_version_2_frame_decodes_and_reply_echoes_version_and_session():
    request = decode_frame(Frame(CMD_HEARTBEAT, b"", SESSION, version=2, flag=1).encode())
    assert request.version == 2 and request.flag == 1
    reply = request.reply()
    assert (reply.command, reply.session_id, reply.version, reply.flag) == (CMD_HEARTBEAT, SESSION, 2, FLAG_OK)
    assert reply.encode()[13] == 2 and reply.encode()[16:32] == SESSION


def test_failure_reply_carries_flag_1_and_utf8_message():
    reply = Frame(CMD_PUNCH, b"x", SESSION, part_index=1, part_count=2).failure("设备未登录")
    assert reply.flag == FLAG_FAIL and reply.content == "设备未登录".encode()
    assert (reply.part_index, reply.part_count, reply.session_id) == (0, 0, SESSION)


@pytest.mark.parametrize("mutate, code", [
    (lambda w: b"\x02" + w[1:], "bad_header"),
    (lambda w: w[:-1] + b"\x00", "bad_tail"),
    (lambda w: w[:-1], "truncated"),
    (lambda w: w[:20], "truncated"),
    (lambda w: w + b"\x01", "frame_size"),
])
def test_malformed_frames(mutate, code):
    wire = Frame(CMD_LOGIN, login_content(), SESSION).encode()
    with pytest.raises(ProtocolError) as exc:
        decode_frame(mutate(wire))
    assert exc.value.code == code and exc.value.message


def test_frame_rejects_wrong_session_length():
    with pytest.raises(ProtocolError):
        Frame(CMD_LOGIN, session_id=b"short")


# --------------------------------------------------------------------------------------- checksum

def test_xor_checksum():
    assert xor_checksum(b"") == 0
    assert xor_checksum(b"\x01\x02\x04") == 7
    assert xor_checksum(b"\xff\xff") == 0
    assert xor_checksum(bytes(range(256)) * 3) == 0 ^ 0 ^ 0  # 256 values XOR to 0, three times


def test_good_checksum():
    msg, status = decode_request(CMD_LOGIN, login_content(), strict_checksum=True)
    assert msg == LoginRequest("JMVENDOR0001", "DEV-0001") and status is ChecksumStatus.OK


def test_bad_checksum_is_counted_when_lenient_and_refused_when_strict():
    content = login_content()
    bad = content[:-1] + bytes((content[-1] ^ 0x5A,))
    msg, status = decode_request(CMD_LOGIN, bad)
    assert msg.device_id == "DEV-0001" and status is ChecksumStatus.BAD
    with pytest.raises(ProtocolError) as exc:
        decode_request(CMD_LOGIN, bad, strict_checksum=True)
    assert (exc.value.code, exc.value.message) == ("bad_checksum", "校验和错误")


def test_missing_checksum_is_counted_when_lenient_and_refused_when_strict():
    missing = login_content()[:-1]
    assert len(missing) == 64
    msg, status = decode_request(CMD_LOGIN, missing)
    assert msg.vendor_code == "JMVENDOR0001" and status is ChecksumStatus.MISSING
    with pytest.raises(ProtocolError) as exc:
        decode_request(CMD_LOGIN, missing, strict_checksum=True)
    assert exc.value.code == "bad_checksum"


def test_missing_checksum_after_a_photo():
    content = encode_request(PunchRequest(7, PUNCH_TIME, 6, b"jpeg" * 100))[1]
    msg, status = decode_request(CMD_PUNCH, content[:-1])
    assert status is ChecksumStatus.MISSING and msg.photo == b"jpeg" * 100


@pytest.mark.parametrize("size", [0, 10, 63, 66, 200])
def test_other_size_mismatches_are_content_size(size):
    with pytest.raises(ProtocolError) as exc:
        decode_request(CMD_LOGIN, bytes(size))
    assert (exc.value.code, exc.value.message) == ("content_size", "数据长度错误")


def test_heartbeat_is_empty_without_checksum():
    assert encode_request(Heartbeat()) == (CMD_HEARTBEAT, b"")
    assert decode_request(CMD_HEARTBEAT, b"", strict_checksum=True) == (Heartbeat(), ChecksumStatus.OK)
    with pytest.raises(ProtocolError):
        decode_request(CMD_HEARTBEAT, b"\x00\x00")


def test_unknown_command():
    with pytest.raises(ProtocolError) as exc:
        decode_request(999, b"")
    assert (exc.value.code, exc.value.message) == ("unknown_command", "不支持的命令")
    with pytest.raises(ProtocolError):
        decode_reply(CMD_LOGIN, b"")


def test_request_table():
    assert REQUEST_TYPES == {843: LoginRequest, 65535: Heartbeat, 845: PersonRequest, 848: PunchRequest,
                             849: WhitelistRequest, 852: EnrollRequest}


# ------------------------------------------------------------------------------------------- text

def test_text_is_cut_at_a_character_boundary():
    packed = pack_text("张三丰李", 10)
    assert packed == "张三丰".encode() + b"\x00"
    assert unpack_text(packed) == "张三丰"


def test_text_padding_and_stripping():
    assert pack_text("AB", 4) == b"AB\x00\x00"
    assert unpack_text(b"AB  \x00\x00") == "AB"
    assert unpack_text(b"") == ""
    assert pack_text("ABCDEF", 4) == b"ABCD"


def test_invalid_utf8_never_raises():
    assert unpack_text(b"\xffA\xfe") == "\ufffdA\ufffd"
    # A device that cut "张三丰" by bytes leaves half a character: dropped, not shown as garbage.
    assert unpack_text("张三丰".encode()[:8]) == "张三"


def test_non_ascii_in_an_ascii_field_is_written_as_utf8():
    content = encode_request(PersonRequest("设备一", "44070119900101001X"))[1]
    assert decode_request(CMD_PERSON, content)[0].device_id == "设备一"


# -------------------------------------------------------------------------------------- BCD time

def test_bcd_time_bytes():
    content = encode_request(PunchRequest(0x01020304, PUNCH_TIME, 6, b"\xaa\xbb"))[1]
    assert content[:4] == bytes((4, 3, 2, 1))
    assert content[4:11] == bytes((0x20, 0x22, 0x11, 0x10, 0x08, 0x30, 0x05))
    assert content[11] == 6
    assert content[12:16] == (2).to_bytes(4, "little") and content[16:18] == b"\xaa\xbb"
    assert len(content) == 19 and content[-1] == xor_checksum(content[:-1])


@pytest.mark.parametrize("bcd", [
    bytes((0x20, 0x22, 0x1A, 0x10, 0x08, 0x30, 0x05)),  # nibble > 9
    bytes((0x20, 0x22, 0x13, 0x10, 0x08, 0x30, 0x05)),  # month 13
    bytes((0x20, 0x23, 0x02, 0x29, 0x08, 0x30, 0x05)),  # 2023-02-29
    bytes((0x20, 0x22, 0x11, 0x10, 0x24, 0x30, 0x05)),  # hour 24
    bytes((0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00)),  # year 0
    bytes((0xFF,) * 7),
])
def test_invalid_bcd_time(bcd):
    content = bytes(4) + bcd + b"\x06" + bytes(4)
    content += bytes((xor_checksum(content),))
    with pytest.raises(ProtocolError) as exc:
        decode_request(CMD_PUNCH, content)
    assert (exc.value.code, exc.value.message) == ("bad_bcd_time", "考勤时间格式错误")


def test_photo_length_beyond_content():
    content = bytes(4) + bytes((0x20, 0x22, 0x11, 0x10, 0x08, 0x30, 0x05)) + b"\x06"
    content += (0xFFFFFFFF).to_bytes(4, "little") + b"tiny" + b"\x00"
    with pytest.raises(ProtocolError) as exc:
        decode_request(CMD_PUNCH, content)
    assert exc.value.code == "content_size"


# --------------------------------------------------------------------------------------- messages

@pytest.mark.parametrize("n", [0, 3])
def test_whitelist_reply_size(n):
    records = [WhitelistRecord(1000 + i, "张三丰李", f"44070119900101{i:03d}X", 10_000 + i) for i in range(n)]
    content = encode_reply(WhitelistReply(42, "江门某某项目", records))
    assert len(content) == 104 + 41 * n + 1
    assert content[:4] == (42).to_bytes(4, "little")
    decoded = decode_reply(CMD_WHITELIST, content)
    assert decoded.project_name == "江门某某项目"
    assert [r.name for r in decoded.records] == ["张三丰"] * n


def test_whitelist_request_layout():
    content = encode_request(WhitelistRequest(0xFFFF, 0xFFFFFFFF))[1]
    assert content == b"\xff\xff" + b"\xff" * 4 + bytes((0,))
    assert decode_request(CMD_WHITELIST, content)[0] == WhitelistRequest(0xFFFF, 0xFFFFFFFF)


def test_enroll_reply_is_42_bytes():
    content = encode_reply(EnrollReply(1, "身份证号码错误，请重新采集"))
    assert len(content) == 42
    assert content[0] == 1 and content[31:41] == bytes(10) and content[41] == xor_checksum(content[:41])
    assert decode_reply(CMD_ENROLL, content) == EnrollReply(1, "身份证号码错误，请重")  # 30 bytes = 10 characters


def test_enroll_request_layout():
    msg = EnrollRequest("44070119900101001X", "张三", "1", "01", "19900101", "广东省江门市蓬江区",
                        authority="江门市公安局蓬江分局", validity="2010.01.01-2030.01.01",
                        id_photo=b"I" * 5, capture_photo=b"C" * 7)
    command, content = encode_request(msg)
    assert command == CMD_ENROLL
    assert len(content) == 18 + 30 + 2 + 4 + 16 + 140 + 4 + 1 + 1 + 60 + 64 + 1 + 99 + 4 + 5 + 4 + 7 + 1
    assert decode_request(command, content) == (msg, ChecksumStatus.OK)


def test_person_reply_nation_is_one_byte():
    reply = PersonReply(7, "张三", "44070119900101001X", 1, "1", "地址", "19900101", "机关", "有效期",
                        capture_photo=b"c", id_photo=b"", infrared_photo=b"")
    content = encode_reply(reply)
    assert content[4 + 30 + 18] == 1
    assert len(content) == 4 + 30 + 18 + 1 + 2 + 140 + 16 + 60 + 64 + 4 + 1 + 4 + 4 + 1
    assert decode_reply(CMD_PERSON, content) == reply


def test_encode_refuses_values_the_wire_cannot_hold():
    with pytest.raises(ProtocolError):
        encode_request(WhitelistRequest(70000, 0))
    with pytest.raises(ProtocolError):
        encode_request(EnrollRequest("x", "y", "1", "01", "", "", reserved=bytes(100)))
    with pytest.raises(TypeError):
        encode_request(EnrollReply(0))


def test_decode_accepts_bytes_likes():
    content = login_content()
    assert decode_request(CMD_LOGIN, bytearray(content)) == decode_request(CMD_LOGIN, memoryview(content))


# ---------------------------------------------------------------------------------------- nations

def test_nation_dictionary_matches_the_standard():
    assert len(NATIONS) == 58 and list(NATIONS) == [f"{i:02d}" for i in range(1, 59)]
    assert NATIONS["01"] == "汉族" and NATIONS["36"] == "毛难族" and NATIONS["46"] == "崩龙族"
    assert NATIONS["57"] == "其他" and NATIONS["58"] == "外国血统"
    assert nation_name("05") == "维吾尔族" and nation_name(1) == "汉族" and nation_name(" 1") == "汉族"
    assert nation_name("59") is None and nation_name("") is None and nation_name("汉") is None
    assert is_valid_nation("58") and not is_valid_nation("00") and not is_valid_nation("١")
    assert normalize_nation("0001") == "01" and nation_code("汉") == "01" and nation_code("火星") is None
