"""Polling engine: a Coordinator per device, run together by the Engine."""
from console.engine.coordinator import Batch, Coordinator, DeviceState, DeviceStatus
from console.engine.engine import Engine

__all__ = ["Batch", "Coordinator", "DeviceState", "DeviceStatus", "Engine"]
