"""Simulated attendance devices: a fleet of asyncio clients speaking 江门实名设备直连对接标准 V1.0.

Used by ``realname simulate``, the demo and the gateway benchmark. `options` (what a fleet does),
`assets` (photos and people shared by a fleet), `device` (one device's life), `fleet` (many on one
loop), `summary` (what a run did), `cli` (the command line).
"""
from __future__ import annotations

from .assets import FleetAssets, synthetic_person
from .cli import add_arguments, main, options_from, parse_gateway
from .device import DeviceConnectionError, SimulatedDevice, reply_message
from .fleet import run_fleet
from .options import FleetOptions
from .summary import FleetSummary

__all__ = [
    "FleetOptions", "FleetSummary", "FleetAssets", "SimulatedDevice", "DeviceConnectionError",
    "add_arguments", "options_from", "parse_gateway", "run_fleet", "main", "reply_message", "synthetic_person",
]
