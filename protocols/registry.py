"""Open a Source for a DeviceSpec. Imports each client lazily: a missing optional stack
(say, no NVML) must not stop the others."""
from __future__ import annotations

from protocols.base import DeviceSpec, Source


def open_source(spec: DeviceSpec) -> Source:
    if spec.protocol == "redfish":
        from protocols.redfish.client import RedfishSource

        return RedfishSource(spec)
    if spec.protocol == "snmp":
        from protocols.snmp.client import SnmpSource

        return SnmpSource(spec)
    if spec.protocol == "modbus":
        from protocols.modbus.client import ModbusSource

        return ModbusSource(spec)
    if spec.protocol == "nvml":
        from protocols.nvml.client import NvmlSource

        return NvmlSource(spec)
    raise ValueError(f"{spec.id}: unknown protocol {spec.protocol!r}")
