"""pymodbus' own simulator (the `pymodbus.simulator` console script, code nobody here wrote)
configured from a register-map profile. Values are encoded here with struct / the simulator's
own float32/uint32 types, not with the profile codec, so a word-order mistake in the client
shows up."""
from __future__ import annotations

import json
import struct
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from protocols.modbus.profile import Profile
from tests.support import free_port, stop_process, tcp_open, wait_until

SIM = Path(sys.executable).parent / "pymodbus.simulator"


def _words(fmt: str, value: Any, little: bool) -> list[int]:
    data = struct.pack(">" + fmt, value)
    words = [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)]
    return words[::-1] if little else words


def sim_config(profile: Profile, values: dict[str, Any], port: int, http_port: int,
               define_gaps: bool = True) -> dict[str, Any]:
    """values: point name -> engineering value (profile unit). Writable points get write access."""
    ends = {t: max([p.end for p in profile.in_table(t)] + [1]) for t in ("coil", "discrete", "input", "holding")}
    co = ends["coil"] // 16 + 1
    di = ends["discrete"] // 16 + 1
    ir, hr = ends["input"] + 1, ends["holding"] + 1
    base = {"coil": 0, "discrete": co, "input": co + di, "holding": co + di + ir}
    cfg: dict[str, list[Any]] = {"bits": [], "uint16": [], "uint32": [], "float32": [], "string": []}
    write: list[list[int]] = []
    used: set[int] = set()
    bit_regs: dict[int, int] = {}
    for p in profile.points.values():
        v = values.get(p.name, 0)
        if p.table in ("coil", "discrete"):
            reg = base[p.table] + p.address // 16
            bit_regs[reg] = bit_regs.get(reg, 0) | (int(bool(v)) << (p.address % 16))
            if p.writable:
                write.append([reg, reg])
            continue
        a = base[p.table] + p.address
        used.update(range(a, a + p.count))
        little = p.word_order == "little"
        if p.type == "string":
            cfg["string"].append({"addr": [a, a + p.count - 1], "value": str(v)})
        elif p.type == "float32" and not little:
            cfg["float32"].append({"addr": [a, a + 1], "value": float(v)})  # simulator's own encoding
        elif p.type == "uint32" and not little:
            cfg["uint32"].append({"addr": [a, a + 1], "value": round((v - p.offset) / p.scale)})
        else:
            raw: Any = float(v) if p.type == "float32" else round((v - p.offset) / p.scale)
            fmt = {"int16": "h", "uint16": "H", "int32": "i", "uint32": "I", "float32": "f"}[p.type]
            for i, w in enumerate(_words(fmt, raw, little)):
                cfg["uint16"].append({"addr": a + i, "value": w})
        if p.writable:
            write.append([a, a + p.count - 1])
    cfg["bits"] = [{"addr": r, "value": v} for r, v in sorted(bit_regs.items())]
    if define_gaps:
        for t in ("input", "holding"):
            for a in range(base[t], base[t] + ends[t]):
                if a not in used:
                    cfg["uint16"].append({"addr": a, "value": 0})
    for t, size in (("coil", co), ("discrete", di)):
        cfg["bits"] += [{"addr": r, "value": 0} for r in range(base[t], base[t] + size) if r not in bit_regs]
    return {
        "server_list": {"hc": {"comm": "tcp", "host": "127.0.0.1", "port": port, "framer": "socket"}},
        "device_list": {"hc": {
            "setup": {"co size": co, "di size": di, "hr size": hr, "ir size": ir,
                      "shared blocks": False, "type exception": False,
                      "defaults": {"value": {"bits": 0, "uint16": 0, "uint32": 0, "float32": 0.0, "string": " "},
                                   "action": {"bits": None, "uint16": None, "uint32": None,
                                              "float32": None, "string": None}}},
            "invalid": [], "write": write, "repeat": [], **cfg,
        }},
    }


@contextmanager
def simulator(tmp: Path, profile: Profile, values: dict[str, Any], define_gaps: bool = True,
              identity: dict[str, str] | None = None) -> Iterator[int]:
    """The simulator serving ``values`` through ``profile``; ``identity``: its Read Device
    Identification objects by name (VendorName, ProductCode, ...). Yields the Modbus port."""
    if not SIM.exists():
        pytest.skip("pymodbus.simulator not installed")
    port, http_port = free_port(), free_port()
    cfg = tmp / "sim.json"
    config = sim_config(profile, values, port, http_port, define_gaps)
    if identity:
        config["server_list"]["hc"]["identity"] = identity
    cfg.write_text(json.dumps(config), encoding="utf-8")
    proc = subprocess.Popen(
        [str(SIM), "--json_file", str(cfg), "--modbus_server", "hc", "--modbus_device", "hc",
         "--http_host", "127.0.0.1", "--http_port", str(http_port), "--log", "warning",
         "--log_file", str(tmp / "sim.log")],
        cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until(lambda: tcp_open(port), timeout=15, what="pymodbus.simulator listening", proc=proc)
        yield port
    finally:
        stop_process(proc)
