"""Malformed input against a live gateway process: no crash, no stall of good devices, bounded memory."""
from __future__ import annotations

import asyncio
import random
import struct
import threading
import time

from server.device import codec
from server.device.codec import Frame

from support import Device, run_async, build_site

COMMANDS = [codec.CMD_LOGIN, codec.CMD_HEARTBEAT, codec.CMD_PERSON, codec.CMD_PUNCH, codec.CMD_WHITELIST,
            codec.CMD_ENROLL, 0, 1, 844, 850, 9999]


class Heartbeater(threading.Thread):
    """A well-behaved device heartbeating all along; records its worst round trip."""

    def __init__(self, port: int, device_id: str):
        super().__init__(daemon=True)
        self.device = Device(port, device_id)
        assert self.device.login().flag == 0
        self.worst = 0.0
        self.beats = 0
        self.failure: BaseException | None = None
        self.running = True

    def run(self):
        try:
            while self.running:
                started = time.perf_counter()
                assert self.device.heartbeat().flag == 0
                self.worst = max(self.worst, time.perf_counter() - started)
                self.beats += 1
                time.sleep(0.05)
        except BaseException as exc:
            self.failure = exc


def random_frame(rng: random.Random, session: bytes) -> bytes:
    command = rng.choice(COMMANDS)
    content = rng.randbytes(rng.choice([0, 1, 7, 65, 66, 200, 400, 2000, rng.randrange(0, 60_000)]))
    split = rng.random() < 0.05
    return Frame(command, content, session if rng.random() < 0.5 else rng.randbytes(16),
                 version=rng.choice([1, 1, 1, 0, 2, 255]), flag=rng.choice([0, 1, 255]),
                 part_index=rng.randrange(0, 4) if split else 0, part_count=rng.randrange(2, 5) if split else 0).encode()


async def _conversation(port: int, rng: random.Random, frames: int, login: bytes | None) -> int:
    """Send random frames, reading whatever comes back; reconnect whenever the gateway hangs up."""
    sent = 0
    while sent < frames:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            if login:
                writer.write(login)
            while sent < frames:
                writer.write(random_frame(rng, b"S" * 16))
                sent += 1
                await writer.drain()
                try:
                    await asyncio.wait_for(reader.read(65536), 2)
                except asyncio.TimeoutError:
                    pass  # a partial split message gets no reply yet
                if reader.at_eof():
                    break
            writer.close()
        except (ConnectionError, OSError):
            await asyncio.sleep(0.01)
    return sent


async def _absurd_truncated_garbage(port: int, rng: random.Random, count: int) -> None:
    for i in range(count):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        kind = i % 3
        if kind == 0:
            writer.write(struct.pack("<BIIIBH16s", 1, rng.randrange(1 << 24, 1 << 32), 0, 0, 1, 848, bytes(16)))
        elif kind == 1:
            writer.write(Frame(codec.CMD_PUNCH, rng.randbytes(500)).encode()[: rng.randrange(1, 300)])
        else:
            writer.write(rng.randbytes(rng.randrange(1, 5000)))
        await writer.drain()
        writer.close()


async def _slow_drip(port: int, seconds: float) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = Frame(codec.CMD_HEARTBEAT, b"").encode() * 3
    deadline = time.monotonic() + seconds
    i = 0
    try:
        while time.monotonic() < deadline:
            writer.write(data[i % len(data):i % len(data) + 1])
            i += 1
            await writer.drain()
            await asyncio.sleep(0.05)
    except (ConnectionError, OSError):
        pass
    writer.close()


def test_hostile_input_does_not_crash_stall_or_bloat(gateway_process, mongo_uri, db_name):
    site = run_async(mongo_uri, db_name, lambda db: build_site(db, devices=5))
    gw = gateway_process(REALNAME_SPLIT_TIMEOUT="2", REALNAME_LOGIN_TIMEOUT="5")
    beater = Heartbeater(gw.port, site["device_ids"][0])
    beater.start()
    time.sleep(0.5)
    rss_before = gw.rss
    rng = random.Random(2024)
    logins = [Frame(codec.CMD_LOGIN, codec.encode_request(codec.LoginRequest("TESTVENDOR", d))[1], b"S" * 16).encode()
              for d in site["device_ids"][1:]]

    async def attack():
        conversations = [_conversation(gw.port, random.Random(i), 500, logins[i % len(logins)] if i % 2 else None)
                         for i in range(20)]
        others = [_absurd_truncated_garbage(gw.port, rng, 90)] + [_slow_drip(gw.port, 6) for _ in range(10)]
        results = await asyncio.gather(*conversations, *others)
        return sum(results[:20])

    sent = asyncio.run(attack())
    assert sent == 10_000
    time.sleep(0.5)
    beater.running = False
    beater.join(5)
    assert beater.failure is None, beater.failure
    assert gw.proc.poll() is None, "the gateway crashed"
    print(f"hostile run: {beater.beats} heartbeats, worst round trip {beater.worst * 1000:.0f} ms, "
          f"RSS {rss_before / 2**20:.0f} -> {gw.rss / 2**20:.0f} MiB")
    assert beater.beats > 20 and beater.worst < 1.0, (beater.beats, beater.worst)
    # Bounded: no more than a few tens of MB over the idle footprint after 10,000 hostile frames.
    assert gw.rss - rss_before < 120 * 1024 * 1024, (rss_before, gw.rss)
    good = Device(gw.port, site["device_ids"][0])
    assert good.login().flag == 0 and good.heartbeat().flag == 0
