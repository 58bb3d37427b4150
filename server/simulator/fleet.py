"""A fleet: many simulated devices on one event loop, their shared summary and the progress line."""
from __future__ import annotations

import asyncio
import contextlib
import sys
import time

from .assets import FleetAssets
from .device import SimulatedDevice
from .options import FleetOptions
from .summary import FleetSummary


async def run_fleet(options: FleetOptions, *, stop: asyncio.Event | None = None,
                    assets: FleetAssets | None = None) -> FleetSummary:
    """Run ``options.devices`` devices to the end of their lives (or until ``stop``/duration)."""
    stop = stop if stop is not None else asyncio.Event()
    if assets is None:
        assets = await asyncio.to_thread(FleetAssets.generate, options)
    summary = FleetSummary(devices=options.devices, acked_punches=[] if options.record_acks else None)
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    timer = loop.call_later(options.duration, stop.set) if options.duration is not None else None
    n = max(options.devices, 0)

    async def one(i: int) -> None:
        if n > 1 and options.connect_spread > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(options.connect_spread * i / n):
                    await stop.wait()
            if stop.is_set():
                return
        device = SimulatedDevice(options, options.first_device + i, assets=assets, summary=summary)
        await device.run(stop)

    show = options.progress and (options.forever or sys.stderr.isatty())
    progress = asyncio.create_task(_progress(summary, started)) if show else None
    try:
        results = await asyncio.gather(*(one(i) for i in range(n)), return_exceptions=True)
    finally:
        if timer is not None:
            timer.cancel()
        if progress is not None:
            progress.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await progress
    for result in results:
        # A bug in one device must show up in the summary, not silently shrink the fleet.
        if isinstance(result, BaseException):
            summary.problem(f"device crashed 设备异常: {type(result).__name__}: {result}")
    summary.elapsed = time.monotonic() - started
    return summary


async def _progress(summary: FleetSummary, started: float, every: float = 2.0) -> None:
    last_ack, last_t = 0, started
    while True:
        await asyncio.sleep(every)
        now = time.monotonic()
        ack = summary.acknowledged
        rate = (ack - last_ack) / (now - last_t) if now > last_t else 0.0
        last_ack, last_t = ack, now
        print(f"[{now - started:7.1f}s] acknowledged 已确认 {ack} ({rate:.0f}/s)  refused 被拒绝 {summary.refused}"
              f"  re-sent 重传 {summary.resent}  reconnects 重连 {summary.reconnects}  errors 错误 {summary.errors}"
              f"  buffered 待发 {summary.lost()}", file=sys.stderr, flush=True)
