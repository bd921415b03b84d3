"""Identity rows for device pages: labels a person reads, in Identity's order."""
from __future__ import annotations

from console.identity_rows import identity_rows, label
from protocols.base import Identity


def test_rows_in_order_with_labels() -> None:
    ident = Identity("Contoso", "3500", "437XR1238R2", "1.45.455b66-rev4",
                     (("bios_version", "P79 v1.95"), ("chassis_model", "3500TX"), ("odd_key", "x")))
    assert identity_rows(ident, "redfish") == [
        ("Manufacturer", "Contoso"), ("Model", "3500"), ("Serial number", "437XR1238R2"),
        ("BMC firmware", "1.45.455b66-rev4"), ("BIOS", "P79 v1.95"), ("Chassis model", "3500TX"),
        ("Odd key", "x")]
    assert identity_rows(None) == [] and identity_rows(Identity()) == []


def test_gpu_and_protocol_labels() -> None:
    assert [label(k) for k in ("gpu0", "gpu0_name", "gpu12_serial", "gpu1_uuid", "gpu1_vbios")] == \
        ["Gpu0", "GPU 0", "GPU 12 serial", "GPU 1 UUID", "GPU 1 VBIOS"]
    assert label("firmware", "nvml") == "NVIDIA driver" and label("firmware", "snmp") == "Firmware"
    assert label("agent_firmware") == "Network card firmware" and label("sys_descr") == "sysDescr"
