"""What a simulated fleet does: how many devices, how many punches, how fast, against which gateway."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FleetOptions:
    gateway_host: str
    gateway_port: int
    devices: int = 10
    punches_per_device: int = 10
    vendor_code: str = "SIMVENDOR"
    device_prefix: str = "SIM-"
    first_device: int = 1
    interval: float = 0.0
    heartbeat_interval: float = 30.0
    photo_bytes: int = 10_000
    enroll_per_device: int = 1
    fetch_faces: int = 2
    drop_rate: float = 0.0
    duration: float | None = None
    forever: bool = False
    seed: int = 1
    connect_spread: float = 1.0
    timeout: float = 30.0
    progress: bool = True
    record_acks: bool = False  # keep (device id, worker number, time) of every acknowledged punch

    @property
    def endless(self) -> bool:
        """0 punches means "until stopped" when something stops the run; otherwise it means none."""
        return self.punches_per_device <= 0 and (self.forever or self.duration is not None)

    def device_id(self, index: int) -> str:
        return f"{self.device_prefix}{index:04d}"
