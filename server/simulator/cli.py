"""`realname simulate`: its options, and a run that Ctrl-C stops after flushing the offline buffers."""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable

from ..config import Config
from .fleet import run_fleet
from .options import FleetOptions
from .summary import FleetSummary


def parse_gateway(text: str) -> tuple[str, int]:
    """'host:port' (or '[v6]:port') → (host, port); argparse-friendly errors."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected host:port, got {text!r}")
    return host.strip("[]"), int(port)


def _non_negative(kind: type) -> Callable[[str], float | int]:
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
        return value
    return parse


def _positive_float(text: str) -> float:
    value = _non_negative(float)(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def _probability(text: str) -> float:
    value = _non_negative(float)(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"a probability is between 0 and 1: {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = FleetOptions("", 0)
    parser.add_argument("--devices", type=_non_negative(int), default=d.devices,
                        help=f"number of simulated devices (default {d.devices})")
    parser.add_argument("--gateway", type=parse_gateway, default=None, metavar="HOST:PORT",
                        help="device gateway address (default 127.0.0.1 and REALNAME_GATEWAY_PORT)")
    parser.add_argument("--punches-per-device", type=_non_negative(int), default=d.punches_per_device, metavar="K",
                        help="848 punches per device (0 with --forever or --duration: no limit)")
    parser.add_argument("--vendor-code", default=d.vendor_code,
                        help=f"vendor code of every device, registered beforehand (default {d.vendor_code}: "
                             f"seed-demo registers {d.device_id(d.first_device)}…{d.device_id(d.devices)} for it on "
                             "demo project 1, apart from the demo's own JMDEMO devices)")
    parser.add_argument("--device-prefix", default=d.device_prefix,
                        help=f"device id = PREFIX + 4-digit number (default {d.device_prefix})")
    parser.add_argument("--first-device", type=_non_negative(int), default=d.first_device, help="number of the first device")
    parser.add_argument("--interval", type=_non_negative(float), default=d.interval, metavar="SECONDS",
                        help="between punches of one device; 0 = as fast as acknowledgements come")
    parser.add_argument("--heartbeat-interval", type=_non_negative(float), default=d.heartbeat_interval, metavar="SECONDS",
                        help="65535 heartbeat after this much idle time (0 = none)")
    parser.add_argument("--photo-kb", type=_positive_float, default=d.photo_bytes / 1000,
                        help="size of punch photos in KB")
    parser.add_argument("--enroll", type=_non_negative(int), default=d.enroll_per_device, metavar="N",
                        help="852 enrollments per device")
    parser.add_argument("--fetch-faces", type=_non_negative(int), default=d.fetch_faces, metavar="N",
                        help="845 person fetches per device")
    parser.add_argument("--drop-rate", type=_probability, default=d.drop_rate, metavar="P",
                        help="probability of dropping the connection right after sending a punch")
    parser.add_argument("--duration", type=_non_negative(float), default=None, metavar="SECONDS",
                        help="stop making punches after this long")
    parser.add_argument("--forever", action="store_true", help="run until interrupted (Ctrl-C)")
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--connect-spread", type=_non_negative(float), default=d.connect_spread, metavar="SECONDS",
                        help="spread the devices' first connections over this time")
    parser.add_argument("--timeout", type=_non_negative(float), default=d.timeout, metavar="SECONDS",
                        help="reply timeout; also the grace period for buffered punches after a stop")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def options_from(args: argparse.Namespace) -> FleetOptions:
    host, port = args.gateway or ("127.0.0.1", Config.from_env().gateway_port)
    return FleetOptions(
        gateway_host=host, gateway_port=port, devices=args.devices, punches_per_device=args.punches_per_device,
        vendor_code=args.vendor_code, device_prefix=args.device_prefix, first_device=args.first_device,
        interval=args.interval, heartbeat_interval=args.heartbeat_interval, photo_bytes=int(args.photo_kb * 1000),
        enroll_per_device=args.enroll, fetch_faces=args.fetch_faces, drop_rate=args.drop_rate,
        duration=args.duration, forever=args.forever, seed=args.seed, connect_spread=args.connect_spread,
        timeout=args.timeout, progress=not args.quiet,
    )


async def _run_with_signals(options: FleetOptions) -> FleetSummary:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []

    def first_signal(sig: int) -> None:
        # First Ctrl-C: stop making punches and flush the buffers; a second one interrupts outright.
        print("stopping: flushing offline buffers (Ctrl-C again to abort) 正在停止", file=sys.stderr, flush=True)
        stop.set()
        loop.remove_signal_handler(sig)

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, first_signal, sig)
            installed.append(sig)
    try:
        return await run_fleet(options, stop=stop)
    finally:
        for sig in installed:
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)


def main(args: argparse.Namespace) -> int:
    options = options_from(args)
    summary = asyncio.run(_run_with_signals(options))
    print(summary.as_text(), flush=True)
    # A fleet that never got in (unregistered devices, wrong port) lost nothing but proved nothing.
    return 0 if summary.lost() == 0 and summary.gave_up == 0 else 1
