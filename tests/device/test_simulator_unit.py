"""Unit tests of the device simulator, against a toy in-test gateway (no database, no Tornado).

The toy speaks just enough of the protocol to exercise the device side: login, heartbeat, 852,
849, 845 and 848, with switches to refuse logins or punches and to drop a connection after a punch
without answering — the situation an offline buffer exists for.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import math
import random

import pytest

from server.config import Config

from server.device import codec
from server.device.codec import (
    CMD_ENROLL, CMD_HEARTBEAT, CMD_LOGIN, CMD_PERSON, CMD_PUNCH, CMD_WHITELIST, EnrollReply, EnrollRequest, Frame,
    PersonReply, PunchRequest, WhitelistRecord, WhitelistReply,
)
from server.device.framer import FrameBuffer
from server.simulator import (
    FleetAssets, FleetOptions, FleetSummary, SimulatedDevice, add_arguments, options_from, run_fleet,
)

PHOTO = b"\xff\xd8" + bytes(range(256)) * 8 + b"\xff\xd9"
WORKERS = (WhitelistRecord(1001, "张三", "440703199001011234", len(PHOTO)),
           WhitelistRecord(1002, "李四", "440703199202022345", len(PHOTO)),
           WhitelistRecord(1003, "王五", "44070319930303345X", len(PHOTO)))


def _person(rng: random.Random, capture: bytes, id_photo: bytes) -> EnrollRequest:
    return EnrollRequest("440703199001011234", "张三", "1", "01", "19900101", "广东省江门市蓬江区",
                         capture_photo=capture, id_photo=id_photo)


ASSETS = FleetAssets([PHOTO, PHOTO[:-7] + b"\x00" * 5 + b"\xff\xd9"], [PHOTO], [PHOTO[:500]], _person)


class ToyGateway:
    def __init__(self, *, drop_after_punches: int = 0, refuse_login: bool = False,
                 refuse_workers: frozenset[int] = frozenset(), whitelist: tuple = WORKERS, never_ack: bool = False):
        self.drop_after_punches = drop_after_punches  # the first connection dies after this many punches
        self.refuse_login = refuse_login
        self.refuse_workers = refuse_workers
        self.whitelist = whitelist
        self.never_ack = never_ack  # every connection closes on its first punch, unanswered
        self.commands: collections.Counter = collections.Counter()
        self.punches: list[tuple[str, int, dt.datetime]] = []   # every 848 received, re-sends included
        self.stored: set[tuple[str, int, dt.datetime]] = set()
        self.connections = 0
        self.session_ids: set[bytes] = set()
        self.server: asyncio.AbstractServer | None = None
        self.port = 0

    async def __aenter__(self) -> ToyGateway:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        first = self.connections == 1
        framer = FrameBuffer(1 << 20)
        device = None
        punches_here = 0
        try:
            while data := await reader.read(65536):
                framer.feed(data)
                for frame in framer:
                    self.commands[frame.command] += 1
                    self.session_ids.add(frame.session_id)
                    msg, status = codec.decode_request(frame.command, frame.content)
                    assert status is codec.ChecksumStatus.OK
                    if frame.command == CMD_LOGIN:
                        if self.refuse_login:
                            reply = frame.failure("设备未注册或未授权")
                        else:
                            device = msg.device_id
                            reply = frame.reply()
                    elif device is None:
                        reply = frame.failure("设备未登录")
                    elif frame.command == CMD_HEARTBEAT:
                        reply = frame.reply()
                    elif frame.command == CMD_ENROLL:
                        reply = frame.reply(codec.encode_reply(EnrollReply(0, "")))
                    elif frame.command == CMD_WHITELIST:
                        reply = frame.reply(codec.encode_reply(WhitelistReply(7, "江门测试项目", self.whitelist)))
                    elif frame.command == CMD_PERSON:
                        rec = next(r for r in self.whitelist if r.id_number == msg.id_number)
                        reply = frame.reply(codec.encode_reply(PersonReply(
                            rec.worker_no, rec.name, rec.id_number, 1, "1", "江门", "19900101", "江门市公安局",
                            "2020.01.01-2040.01.01", PHOTO, b"", b"")))
                    else:
                        key = (device, msg.worker_no, msg.time)
                        self.punches.append(key)
                        punches_here += 1
                        if msg.worker_no in self.refuse_workers:
                            reply = frame.failure("人员未进场")
                        else:
                            self.stored.add(key)
                            if self.never_ack or (first and punches_here == self.drop_after_punches):
                                return  # stored, but the ack never leaves: the device must re-send
                            reply = frame.reply()
                    writer.write(reply.encode())
                    await writer.drain()
        except (ConnectionError, codec.ProtocolError):
            pass
        finally:
            writer.close()


def _options(port: int, **kw) -> FleetOptions:
    base = dict(devices=1, punches_per_device=5, enroll_per_device=1, fetch_faces=2, connect_spread=0.0,
                timeout=3.0, progress=False, heartbeat_interval=30.0)
    base.update(kw)
    return FleetOptions("127.0.0.1", port, **base)


def _fast_backoff(monkeypatch) -> None:
    monkeypatch.setattr(SimulatedDevice, "backoff_base", 0.01)
    monkeypatch.setattr(SimulatedDevice, "backoff_cap", 0.05)


def test_full_life_acknowledges_every_punch():
    async def scenario():
        async with ToyGateway() as gw:
            summary = await run_fleet(_options(gw.port, devices=3, punches_per_device=7), assets=ASSETS)
        return gw, summary

    gw, summary = asyncio.run(scenario())
    assert summary.errors == 0, summary.problems
    assert (summary.sent, summary.acknowledged, summary.refused, summary.resent, summary.lost()) == (21, 21, 0, 0, 0)
    assert len(summary.latencies) == 21 and all(x > 0 for x in summary.latencies)
    assert gw.commands[CMD_LOGIN] == 3 and gw.commands[CMD_ENROLL] == 3
    assert gw.commands[CMD_WHITELIST] == 3 and gw.commands[CMD_PERSON] == 6 and gw.commands[CMD_PUNCH] == 21
    assert {d for d, _, _ in gw.punches} == {"SIM-0001", "SIM-0002", "SIM-0003"}
    # The platform's identity of a punch is (device, worker, second): no two may share one.
    assert len(set(gw.punches)) == 21
    assert len(gw.session_ids) == 3  # constant per device


def test_offline_buffer_resends_after_drop():
    async def scenario():
        async with ToyGateway(drop_after_punches=1) as gw:
            device = SimulatedDevice(_options(gw.port, punches_per_device=4), assets=ASSETS)
            await device.run()
        return gw, device

    gw, device = asyncio.run(scenario())
    s = device.summary
    assert gw.connections == 2 and s.reconnects == 1
    assert gw.punches[0] == gw.punches[1], "the unacknowledged punch is re-sent first, unchanged"
    assert (s.sent, s.acknowledged, s.resent, s.lost()) == (4, 4, 1, 0)
    assert len(gw.punches) == 5 and len(gw.stored) == 4
    assert not device.buffer
    assert s.problems["closed by gateway 网关关闭连接"] == 1


def test_drop_rate_keeps_punches_until_acknowledged(monkeypatch):
    _fast_backoff(monkeypatch)

    async def scenario():
        async with ToyGateway() as gw:
            summary = await run_fleet(_options(gw.port, devices=2, punches_per_device=10, drop_rate=0.4,
                                               enroll_per_device=0, fetch_faces=0), assets=ASSETS)
        return gw, summary

    gw, summary = asyncio.run(scenario())
    assert summary.sent == summary.acknowledged == 20 and summary.lost() == 0
    assert summary.resent > 0 and summary.reconnects == summary.resent
    assert summary.errors == 0, "drops made on purpose are not errors"
    assert len(gw.stored) == 20 and len(gw.punches) == 20 + summary.resent


def test_refused_punch_leaves_buffer_and_is_counted():
    async def scenario():
        async with ToyGateway(refuse_workers=frozenset({1002})) as gw:
            device = SimulatedDevice(_options(gw.port, punches_per_device=6, first_device=3), assets=ASSETS)
            await device.run()
        return gw, device

    gw, device = asyncio.run(scenario())
    s = device.summary
    assert s.refused == 2 and s.refusals == collections.Counter({"人员未进场": 2})
    assert s.acknowledged == 4 and s.lost() == 0 and s.resent == 0
    assert len(gw.punches) == 6, "a refused punch is not re-sent"


def test_refused_login_gives_up_after_a_few_tries(monkeypatch):
    _fast_backoff(monkeypatch)

    async def scenario():
        async with ToyGateway(refuse_login=True) as gw:
            summary = await run_fleet(_options(gw.port, devices=1), assets=ASSETS)
        return gw, summary

    gw, summary = asyncio.run(scenario())
    assert summary.gave_up == 1 and summary.sent == 0
    assert gw.commands[CMD_LOGIN] == 4 and gw.commands[CMD_PUNCH] == 0
    assert summary.problems["843 login refused 登录被拒: 设备未注册或未授权"] == 4
    assert "gave up" in summary.as_text()


def test_empty_whitelist_is_an_error_and_no_punches():
    async def scenario():
        async with ToyGateway(whitelist=()) as gw:
            device = SimulatedDevice(_options(gw.port), assets=ASSETS)
            await device.run()
        return gw, device

    gw, device = asyncio.run(scenario())
    assert device.summary.problems == collections.Counter({"849 whitelist empty 白名单为空": 1})
    assert device.summary.errors == 1 and device.summary.sent == 0
    assert gw.commands[CMD_PUNCH] == 0 and gw.commands[CMD_PERSON] == 0


def test_heartbeat_while_idle_and_stop_flushes():
    async def scenario():
        async with ToyGateway() as gw:
            stop = asyncio.Event()
            options = _options(gw.port, punches_per_device=0, forever=True, interval=0.25, heartbeat_interval=0.05,
                               enroll_per_device=0, fetch_faces=0)
            asyncio.get_running_loop().call_later(0.9, stop.set)
            summary = await run_fleet(options, stop=stop, assets=ASSETS)
        return gw, summary

    gw, summary = asyncio.run(scenario())
    assert summary.sent >= 3 and summary.lost() == 0 and summary.errors == 0
    assert gw.commands[CMD_HEARTBEAT] >= 3, "0.25 s between punches leaves idle time for 0.05 s heartbeats"


def test_stop_gives_buffered_punches_one_timeout_then_counts_them_lost(monkeypatch):
    _fast_backoff(monkeypatch)

    async def scenario():
        async with ToyGateway(never_ack=True) as gw:
            stop = asyncio.Event()
            asyncio.get_running_loop().call_later(0.3, stop.set)
            started = asyncio.get_running_loop().time()
            summary = await run_fleet(_options(gw.port, punches_per_device=3, timeout=0.5, enroll_per_device=0,
                                               fetch_faces=0), stop=stop, assets=ASSETS)
            return gw, summary, asyncio.get_running_loop().time() - started

    gw, summary, took = asyncio.run(scenario())
    assert took < 2.0
    assert summary.sent == 1 and summary.acknowledged == 0 and summary.lost() == 1
    assert summary.resent >= 2 and summary.gave_up == 0


def test_single_commands_return_reply_frames():
    async def scenario():
        async with ToyGateway() as gw:
            device = SimulatedDevice(_options(gw.port), assets=ASSETS)
            await device.connect()
            before_login = await device.whitelist()
            frames = [await device.login(), await device.heartbeat(), await device.enroll(),
                      await device.whitelist(), await device.person(WORKERS[0].id_number),
                      await device.punch(1001, dt.datetime(2024, 1, 2, 3, 4, 5))]
            await device.close()
        return before_login, frames, gw

    before_login, frames, gw = asyncio.run(scenario())
    assert before_login.flag == 1 and before_login.content.decode() == "设备未登录"
    assert [f.command for f in frames] == [CMD_LOGIN, CMD_HEARTBEAT, CMD_ENROLL, CMD_WHITELIST, CMD_PERSON, CMD_PUNCH]
    assert all(f.flag == 0 for f in frames)
    assert codec.decode_reply(CMD_WHITELIST, frames[3].content).records == WORKERS
    assert gw.punches == [("SIM-0001", 1001, dt.datetime(2024, 1, 2, 3, 4, 5))]


def test_fast_punch_frame_matches_codec():
    device = SimulatedDevice(FleetOptions("127.0.0.1", 1), assets=ASSETS)
    when = dt.datetime(2023, 12, 31, 23, 59, 58)
    for i, photo in enumerate(ASSETS.punch_photos):
        fast = device._punch_frame(device._make_punch(4_000_000_000 + i, when, ASSETS.photo(i)))
        content = codec.encode_request(PunchRequest(4_000_000_000 + i, when, 6, photo))[1]
        assert fast == Frame(CMD_PUNCH, content, device.session_id).encode()


def test_summary_percentiles_and_text():
    s = FleetSummary(devices=2)
    assert math.isnan(s.p(50))
    for ms in range(1, 101):
        s.record_ack(ms / 1000)
    s.sent, s.refused, s.elapsed = 103, 2, 4.0
    s.refusals["人员未进场"] = 2
    assert s.p(0) == pytest.approx(0.001)
    assert s.p(50) == pytest.approx(0.0505)
    assert s.p(99) == pytest.approx(0.09901)
    assert s.p(100) == pytest.approx(0.1)
    assert s.lost() == 1 and s.rate() == 25.0
    text = s.as_text()
    for label in ("acknowledged 已确认", "refused", "re-sent", "reconnects", "errors", "elapsed",
                  "25.0 ack/s", "50.5 ms", "99.0 ms", "人员未进场", "lost 丢失"):
        assert label in text


def test_argument_parsing():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--devices", "500", "--gateway", "gw.example:9000", "--punches-per-device", "0",
                              "--forever", "--photo-kb", "12", "--drop-rate", "0.01", "--quiet", "--seed", "7"])
    o = options_from(args)
    assert (o.gateway_host, o.gateway_port, o.devices, o.punches_per_device) == ("gw.example", 9000, 500, 0)
    assert o.forever and o.endless and o.photo_bytes == 12_000 and o.drop_rate == 0.01 and o.seed == 7
    assert not o.progress and o.enroll_per_device == 1 and o.interval == 0.0 and o.device_id(7) == "SIM-0007"
    v6 = options_from(parser.parse_args(["--devices", "1", "--gateway", "[::1]:8000"]))
    assert (v6.gateway_host, v6.gateway_port, v6.punches_per_device, v6.endless) == ("::1", 8000, 10, False)
    # No options at all aims at the local gateway with the simulator's own registered demo devices (issue 10).
    plain = options_from(parser.parse_args([]))
    assert (plain.gateway_host, plain.devices, plain.vendor_code) == ("127.0.0.1", 10, "SIMVENDOR"), plain
    assert plain.gateway_port == Config.from_env().gateway_port
    for bad in (["--devices", "1", "--gateway", "nohost"], ["--gateway", "h:0x"], ["--devices", "-1"],
                ["--devices", "1", "--gateway", "h:1", "--drop-rate", "1.5"]):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)
