"""A device's identity as rows a person reads: labels instead of protocol keys ("BIOS",
"GPU 0 serial", "BMC firmware"), in the order Identity.items() gives. Qt-free, for any view."""
from __future__ import annotations

import re

from protocols.base import Identity

LABELS = {
    "manufacturer": "Manufacturer", "model": "Model", "serial": "Serial number", "firmware": "Firmware",
    "bios_version": "BIOS", "part_number": "Part number", "sku": "SKU", "chassis_model": "Chassis model",
    "bmc_model": "BMC model", "redfish_version": "Redfish version",
    "agent_firmware": "Network card firmware", "name": "Name", "manufacture_date": "Manufactured",
    "hardware_revision": "Hardware revision", "sys_name": "sysName", "sys_descr": "sysDescr",
    "sys_object_id": "sysObjectID", "profile": "SNMP profile",
    "product_code": "Product code", "product_name": "Product name", "vendor_url": "Vendor URL",
    "application": "Application", "nvml_version": "NVML version",
}
# what ``firmware`` is, per protocol: a BMC's own, a GPU host's driver
FIRMWARE_LABELS = {"redfish": "BMC firmware", "nvml": "NVIDIA driver"}
_GPU = re.compile(r"gpu(\d+)_(name|serial|uuid|vbios)")
_GPU_PART = {"name": "", "serial": " serial", "uuid": " UUID", "vbios": " VBIOS"}


def label(key: str, protocol: str | None = None) -> str:
    """The words for one identity key (an unknown key: its own words, capitalised)."""
    if key == "firmware" and protocol in FIRMWARE_LABELS:
        return FIRMWARE_LABELS[protocol]
    m = _GPU.fullmatch(key)
    if m:
        return f"GPU {m.group(1)}{_GPU_PART[m.group(2)]}"
    return LABELS.get(key) or key.replace("_", " ").capitalize()


def identity_rows(identity: Identity | None, protocol: str | None = None) -> list[tuple[str, str]]:
    """(label, value) for every known field; [] when the device has said nothing (yet)."""
    if identity is None:
        return []
    return [(label(k, protocol), v) for k, v in identity.items()]
