"""Writing site files from the window: a new site from a few answers, and one more device
appended to an existing file.

An installer's file is theirs: appending a device keeps every other byte (comments, order,
spacing, line endings) and adds one ``[[devices]]`` block after the last device. Every result is
validated with ``parse_site`` (and, for an append, checked to mean exactly the old file plus the
new device) before anything is written, and written atomically (a temporary file beside it, then
``os.replace``), so a crash never leaves half a site. Secrets never reach the file: credentials
go to the OS keyring (service ``heatrack``) and the file gets ``credentials = "keyring:NAME"``.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from console.secrets import KEYRING_SERVICE
from console.site import CREDENTIAL_REF, MAX_SITE_BYTES, SiteError, parse_site
from protocols.base import Credentials


class SiteWriteError(Exception):
    """Why a site file was not written: one line naming the file."""


@dataclasses.dataclass(frozen=True)
class NewDevice:
    """One device as the add-device dialog collects it. ``credentials`` are the secrets
    themselves (kept out of the file); ``credentials_ref`` an existing reference instead."""

    id: str
    kind: str
    protocol: str
    address: str = ""
    name: str = ""
    profile: str | None = None
    poll_interval: float = 10.0
    timeout: float = 3.0
    tls: bool = False
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    credentials: Credentials | None = None
    credentials_ref: str | None = None


@dataclasses.dataclass(frozen=True)
class SiteAnswers:
    """What "Create a site…" asks. At least one server (or GPU host) and one heat controller or
    heat meter: a site file needs a heat path."""

    name: str
    devices: tuple[NewDevice, ...]
    location: str = ""
    timezone: str = "UTC"
    currency: str = "GBP"
    electricity_price_per_kwh: float = 0.25
    displaced_fuel: str = "gas"
    fuel_price_per_kwh: float = 0.07
    displaced_efficiency: float = 0.85
    co2_grid_kg_per_kwh: float = 0.2
    co2_fuel_kg_per_kwh: float = 0.183
    tank_volume_l: float = 300.0
    tank_sensors: tuple[str, ...] = ("tank_top", "tank_mid", "tank_bottom")
    consumers: tuple[tuple[str, str], ...] = (("radiators", "space_heating"),)
    max_loop_temp_c: float = 65.0
    max_tank_temp_c: float = 75.0
    min_flow_lpm: float = 4.0
    max_circuit_current_a: float = 16.0
    min_room_temp_c: float = 19.0
    max_room_temp_c: float = 23.0


# ------------------------------------------------------------------ TOML text
def _str(v: str) -> str:
    return json.dumps(v, ensure_ascii=False)  # a TOML basic string is a JSON string


def _num(v: float) -> str:
    return f"{v:g}" if not float(v).is_integer() else str(int(v))


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return _num(v)
    if isinstance(v, str):
        return _str(v)
    raise SiteWriteError(f"cannot write option value {v!r:.40}")


def keyring_name(site_file: str | Path, device_id: str) -> str:
    """The keyring entry of a device: the site file's stem and the id, so two sites that both
    have a "srv1" keep their own secrets."""
    stem = re.sub(r"[^A-Za-z0-9_.-]", "-", Path(site_file).stem) or "site"
    return f"{stem}.{device_id}"


def device_block(dev: NewDevice, credentials_ref: str | None, newline: str = "\n") -> str:
    """A ``[[devices]]`` block for ``dev`` (no secret in it, ever)."""
    lines = ["[[devices]]", f"id = {_str(dev.id)}"]
    if dev.name:
        lines.append(f"name = {_str(dev.name)}")
    lines += [f"kind = {_str(dev.kind)}", f"protocol = {_str(dev.protocol)}"]
    if dev.address:
        lines.append(f"address = {_str(dev.address)}")
    if dev.tls:
        lines.append("tls = true")
    if dev.profile:
        lines.append(f"profile = {_str(dev.profile)}")
    if credentials_ref:
        lines.append(f"credentials = {_str(credentials_ref)}")
    if dev.options:
        inner = ", ".join(f"{k} = {_value(v)}" for k, v in dev.options.items())
        lines.append(f"options = {{ {inner} }}")
    lines += [f"poll_interval = {_str(_num(dev.poll_interval) + 's')}", f"timeout = {_str(_num(dev.timeout) + 's')}"]
    return newline.join(lines) + newline


def render_site(answers: SiteAnswers, refs: dict[str, str] | None = None) -> str:
    """The text of a new site file, commented like resources/sites/example.toml."""
    refs = refs or {}
    servers = [d.id for d in answers.devices if d.kind in ("server", "gpu_host")]
    loops = [d.id for d in answers.devices if d.kind in ("heat_controller", "heat_meter")]
    if not servers or not loops:
        raise SiteWriteError("a site needs at least one server (or GPU host) and one heat controller or heat meter: "
                             "they make its heat path")
    out = ["# heatrack site file, written by \"Create a site…\". Check it with: heatrack site check FILE",
           "# Every key is documented in resources/sites/example.toml. Secrets are in the OS keyring,",
           "# never in this file.", "",
           "[site]", f"name = {_str(answers.name)}"]
    if answers.location:
        out.append(f"location = {_str(answers.location)}")
    out += [f"timezone = {_str(answers.timezone)}", "",
            "# ---------------------------------------------------------------- devices", ""]
    for d in answers.devices:
        out.append(device_block(d, refs.get(d.id, d.credentials_ref)))
    consumers = ", ".join(f"{{ name = {_str(n)}, kind = {_str(k)} }}" for n, k in answers.consumers)
    sensors = ", ".join(_str(s) for s in answers.tank_sensors)
    out += ["# ---------------------------------------------------------------- heat path",
            "[heat_path]", f"servers = [{', '.join(_str(s) for s in servers)}]", f"loop = {_str(loops[0])}",
            f"heat_meter = {_str(loops[-1])}",
            f"tank = {{ name = \"tank\", volume_l = {_num(answers.tank_volume_l)}, sensors = [{sensors}] }}",
            f"consumers = [{consumers}]", "",
            "# ---------------------------------------------------------------- limits", "[limits]",
            f"max_loop_temp_c = {_num(answers.max_loop_temp_c)}", f"max_tank_temp_c = {_num(answers.max_tank_temp_c)}",
            f"min_flow_lpm = {_num(answers.min_flow_lpm)}",
            f"max_circuit_current_a = {_num(answers.max_circuit_current_a)}", "",
            "# ---------------------------------------------------------------- tariffs", "[tariffs]",
            f"currency = {_str(answers.currency.upper())}",
            f"electricity_price_per_kwh = {_num(answers.electricity_price_per_kwh)}",
            f"displaced_fuel = {_str(answers.displaced_fuel)}",
            f"fuel_price_per_kwh = {_num(answers.fuel_price_per_kwh)}",
            f"displaced_efficiency = {_num(answers.displaced_efficiency)}",
            f"co2_grid_kg_per_kwh = {_num(answers.co2_grid_kg_per_kwh)}",
            f"co2_fuel_kg_per_kwh = {_num(answers.co2_fuel_kg_per_kwh)}", "",
            "# ---------------------------------------------------------------- comfort band", "[comfort]",
            f"min_room_temp_c = {_num(answers.min_room_temp_c)}", f"max_room_temp_c = {_num(answers.max_room_temp_c)}",
            ""]
    return "\n".join(out)


# ------------------------------------------------------------------ secrets
def store_secret(name: str, creds: Credentials) -> str:
    """Put ``creds`` in the OS keyring as entry ``name`` (JSON, the form console.secrets reads);
    return the reference for the file."""
    data = {f.name: getattr(creds, f.name) for f in dataclasses.fields(creds)}
    data = {k: v for k, v in data.items() if v is not None}
    if not CREDENTIAL_REF.match(f"keyring:{name}"):
        raise SiteWriteError(f"keyring entry name {name!r:.60} has characters a reference cannot carry")
    try:
        import keyring
        from keyring.errors import KeyringError

        keyring.set_password(KEYRING_SERVICE, name, json.dumps(data))
    except KeyringError as e:
        raise SiteWriteError(f"cannot store the credentials: OS keyring unavailable ({' '.join(str(e).split())}); "
                             f"store them with `keyring set {KEYRING_SERVICE} {name}` and use "
                             f"credentials = \"keyring:{name}\"") from None
    return f"keyring:{name}"


def _has_secret(creds: Credentials | None) -> bool:
    return creds is not None and any((creds.password, creds.community, creds.auth_key, creds.priv_key,
                                      creds.username))


# ------------------------------------------------------------------ writing
def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file beside it and ``os.replace``."""
    mode = None
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        pass
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _first_problem(e: SiteError) -> str:
    return str(e.problems[0]) if e.problems else str(e)


def create_site(path: str | Path, answers: SiteAnswers) -> Path:
    """Write a new site file (refusing to overwrite one); secrets go to the keyring."""
    path = Path(path)
    if path.exists():
        raise SiteWriteError(f"{path}: already exists; choose another name (heatrack never overwrites a site file)")
    if not path.parent.is_dir():
        raise SiteWriteError(f"{path}: the folder {path.parent} does not exist")
    ids = [d.id for d in answers.devices]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise SiteWriteError(f"{path}: two devices are called {dup!r}; each id must be unique")
    refs = {d.id: f"keyring:{keyring_name(path, d.id)}" for d in answers.devices if _has_secret(d.credentials)}
    text = render_site(answers, refs)
    try:
        parse_site(text, str(path))
    except SiteError as e:
        raise SiteWriteError(f"not written: {_first_problem(e)}") from None
    for d in answers.devices:
        if d.credentials is not None and d.id in refs:
            store_secret(keyring_name(path, d.id), d.credentials)
    try:
        write_atomic(path, text)
    except OSError as e:
        raise SiteWriteError(f"{path}: cannot write ({e.strerror or e})") from None
    return path


_HEADER = re.compile(r"^\s*\[")
_DEVICES = re.compile(r"^\s*\[\[\s*devices\s*\]\]")


def _insert_at(lines: list[str]) -> int | None:
    """Index of the line to insert a device block before: after the last ``[[devices]]`` block's
    own lines, before the comments that introduce the next section. None: append at the end."""
    last = max((i for i, line in enumerate(lines) if _DEVICES.match(line)), default=None)
    if last is None:
        return None
    nxt = next((i for i in range(last + 1, len(lines)) if _HEADER.match(lines[i])), None)
    if nxt is None:
        return None
    i = nxt
    while i - 1 > last and (not lines[i - 1].strip() or lines[i - 1].lstrip().startswith("#")):
        i -= 1
    return i


def append_device(path: str | Path, dev: NewDevice) -> str:
    """Add ``dev`` to the site file at ``path``; returns the credentials reference written (or "").
    Refuses a duplicate id, a file that is not valid now, and any result that would not load."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise SiteWriteError(f"{path}: cannot read ({e.strerror or e})") from None
    if len(raw) > MAX_SITE_BYTES:
        raise SiteWriteError(f"{path}: too large for a site file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SiteWriteError(f"{path}: not UTF-8 text; fix it with heatrack site check first") from None
    try:
        site = parse_site(text, str(path))
    except SiteError as e:
        raise SiteWriteError(f"{path} has problems; fix them first: {_first_problem(e)}") from None
    if any(d.id == dev.id for d in site.devices):
        raise SiteWriteError(f"{path}: a device with id {dev.id!r} already exists; choose another id")
    ref = dev.credentials_ref
    if _has_secret(dev.credentials):
        ref = f"keyring:{keyring_name(path, dev.id)}"
    newline = "\r\n" if "\r\n" in text else "\n"
    block = device_block(dev, ref, newline)
    new = _spliced(text, block, newline)
    if new is None:
        raise SiteWriteError(f"{path}: cannot add a [[devices]] block to this file (are its devices written as "
                             "an inline array?); add the device by hand")
    try:
        parse_site(new, str(path))
    except SiteError as e:
        raise SiteWriteError(f"{path}: not written, the device would not load: {_first_problem(e)}") from None
    if dev.credentials is not None and ref and ref.startswith("keyring:") and _has_secret(dev.credentials):
        store_secret(ref.partition(":")[2], dev.credentials)
    try:
        write_atomic(path, new)
    except OSError as e:
        raise SiteWriteError(f"{path}: cannot write ({e.strerror or e})") from None
    return ref or ""


def _spliced(text: str, block: str, newline: str) -> str | None:
    """``text`` with ``block`` inserted, checked to mean the old file plus one device."""
    before = tomllib.loads(text)
    added = tomllib.loads(block)["devices"][0]

    def means_old_plus_one(candidate: str) -> bool:
        try:
            after = tomllib.loads(candidate)
        except tomllib.TOMLDecodeError:
            return False
        want = dict(before, devices=[*before.get("devices", []), added])
        return after == want

    lines = text.splitlines(keepends=True)
    at = _insert_at(lines)
    if at is not None:
        head, tail = "".join(lines[:at]), "".join(lines[at:])
        sep = "" if head.endswith(newline * 2) else newline
        candidate = head + sep + block + ("" if tail.startswith(newline) else newline) + tail
        if means_old_plus_one(candidate):
            return candidate
    end = text if text.endswith(("\n", "\r\n")) or not text else text + newline
    candidate = end + newline + block
    return candidate if means_old_plus_one(candidate) else None


__all__ = ["NewDevice", "SiteAnswers", "SiteWriteError", "append_device", "create_site", "device_block",
           "keyring_name", "render_site", "store_secret", "write_atomic"]
