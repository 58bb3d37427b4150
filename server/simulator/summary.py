"""What a fleet run did: counts, acknowledgement latencies and the problems met, as text for people."""
from __future__ import annotations

import collections
import math
import random
from dataclasses import dataclass, field

# Exact latencies up to this many acks, then a uniform reservoir sample: a --forever run must not
# grow memory by 32 bytes per punch for hours.
LATENCY_SAMPLE_CAP = 1_000_000


@dataclass
class FleetSummary:
    """Counters of a fleet run; devices update it live (one event loop, so no locking).

    ``sent`` counts distinct punches the devices made, once each however often they were written;
    ``resent`` counts the extra writes. ``errors`` counts connection failures, timeouts and refused
    or failed non-punch commands; ``problems`` says what they were.
    """

    devices: int = 0
    sent: int = 0
    acknowledged: int = 0
    refused: int = 0
    resent: int = 0
    reconnects: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    refusals: collections.Counter = field(default_factory=collections.Counter)
    elapsed: float = 0.0
    problems: collections.Counter = field(default_factory=collections.Counter)
    gave_up: int = 0
    # Filled only with FleetOptions.record_acks: lets a test check every acknowledged punch is stored.
    acked_punches: list | None = None
    _sorted: list[float] | None = field(default=None, init=False, repr=False, compare=False)

    def record_ack(self, latency: float) -> None:
        self.acknowledged += 1
        latencies = self.latencies
        if len(latencies) < LATENCY_SAMPLE_CAP:
            latencies.append(latency)
        else:
            j = random.randrange(self.acknowledged)
            if j < LATENCY_SAMPLE_CAP:
                latencies[j] = latency
        self._sorted = None

    def problem(self, kind: str) -> None:
        self.errors += 1
        self.problems[kind] += 1

    def lost(self) -> int:
        return self.sent - self.acknowledged - self.refused

    def rate(self) -> float:
        return self.acknowledged / self.elapsed if self.elapsed > 0 else 0.0

    def p(self, q: float) -> float:
        """The q-th percentile (0–100) of acknowledgement latency in seconds; NaN with no acks."""
        if not self.latencies:
            return math.nan
        if self._sorted is None or len(self._sorted) != len(self.latencies):
            self._sorted = sorted(self.latencies)
        data = self._sorted
        pos = min(max(q, 0.0), 100.0) / 100.0 * (len(data) - 1)
        lo = math.floor(pos)
        hi = min(lo + 1, len(data) - 1)
        return data[lo] + (data[hi] - data[lo]) * (pos - lo)

    def as_text(self) -> str:
        def ms(q: float) -> str:
            v = self.p(q)
            return "-" if math.isnan(v) else f"{v * 1000:.1f} ms"

        rows = [
            ("devices 设备", f"{self.devices}" + (f" ({self.gave_up} gave up 放弃)" if self.gave_up else "")),
            ("sent 已发送", f"{self.sent}"),
            ("acknowledged 已确认", f"{self.acknowledged}"),
            ("refused 被拒绝", f"{self.refused}"),
            ("re-sent 重传", f"{self.resent}"),
            ("reconnects 重连", f"{self.reconnects}"),
            ("errors 错误", f"{self.errors}"),
            ("elapsed 用时", f"{self.elapsed:.1f} s"),
            ("rate 速率", f"{self.rate():.1f} ack/s"),
            ("latency p50 延迟", ms(50)),
            ("latency p99 延迟", ms(99)),
            ("lost 丢失", f"{self.lost()}"),
        ]
        width = max(_display_width(label) for label, _ in rows) + 2
        lines = [label + " " * (width - _display_width(label)) + value for label, value in rows]
        for title, counter in (("refusals 拒绝原因", self.refusals), ("problems 问题", self.problems)):
            if counter:
                lines.append(f"{title}:")
                lines.extend(f"  {n:>8}  {message}" for message, n in counter.most_common(8))
                if len(counter) > 8:
                    lines.append(f"  {'…':>8}  {len(counter) - 8} more 其他")
        return "\n".join(lines)


def _display_width(s: str) -> int:
    # CJK characters take two terminal columns; aligning on len() would skew the value column.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)
