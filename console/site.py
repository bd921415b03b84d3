"""Site files: one TOML file describes a site's devices, power path, heat path, limits,
tariffs and comfort band. Loading validates everything and reports every problem at once,
each with file, line and key. Secrets are never in the file: devices name a credentials
reference (``keyring:NAME``, ``env:VAR`` or ``demo:NAME``) resolved by console.secrets.
"""
from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from console.durations import parse_duration
from console.toml_lines import format_path, key_lines, line_of, scan_brackets
from protocols.base import Credentials, DeviceSpec

DeviceKind = Literal["server", "gpu_host", "ups", "pdu", "heat_controller", "heat_meter"]
ProtocolName = Literal["redfish", "snmp", "modbus", "nvml"]

# Words that mark a key as carrying a secret, matched in the key lower-cased with everything but
# letters and digits removed (auth_password, privPassword, "snmp-community" ...). Refused anywhere
# in the file unless the value is a credentials reference (credentials = "keyring:NAME").
SECRET_WORDS = ("password", "passwd", "passphrase", "secret", "community", "token", "credential",
                "apikey", "authkey", "privkey", "privatekey", "accesskey")
SECRET_EXACT = {"pass", "pwd", "key", "psk", "pin"}
MAX_SITE_BYTES = 1 << 20  # a site file is a few kB; anything this big is something else
MAX_NESTING = 32  # arrays/inline tables inside each other; tomllib recurses per level
MAX_ECHO = 60  # characters of a bad value quoted back in a message
MAX_KEY_SHOWN = 120  # a key path longer than this is cut in messages
CREDENTIAL_REF = re.compile(r"^(keyring|env|demo):[A-Za-z0-9_.@/-]+$")
HOST_PORT = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")
DEFAULT_PORTS = {"redfish": 443, "snmp": 161, "modbus": 502}
KIND_PROTOCOLS: dict[str, set[str]] = {
    "server": {"redfish"}, "gpu_host": {"nvml", "redfish"}, "ups": {"snmp"}, "pdu": {"snmp"},
    "heat_controller": {"modbus"}, "heat_meter": {"modbus"},
}


class _Strict(BaseModel):
    # NaN and infinities pass every bound check (nan > 0 is False, so is nan <= 100): refuse them.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _duration(v: Any) -> float:
    try:
        seconds = parse_duration(v)
    except OverflowError:  # float() of a 400-digit integer
        raise ValueError("expected a duration such as 10s, got a number too large") from None
    if not math.isfinite(seconds):
        raise ValueError(f"expected a finite duration such as 10s, got {_echo(v)}")
    return seconds


def _as_dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _echo(v: Any) -> str:
    """A bad value quoted back, short enough for a one-line message."""
    text = repr(v)
    return text if len(text) <= MAX_ECHO else text[:MAX_ECHO] + "..."


def is_secret_key(key: str, value: Any = None) -> bool:
    """Whether ``key`` names a secret. A credentials reference as the value is not one."""
    if isinstance(value, str) and CREDENTIAL_REF.match(value):
        return False
    norm = re.sub(r"[^a-z0-9]", "", key.lower())
    return norm in SECRET_EXACT or any(word in norm for word in SECRET_WORDS)


def channel_slug(name: str) -> str:
    """A name from the site file as a channel name ("hot water" -> "hot_water"): how a meter of
    that consumer or bypass is expected to name its channel."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


class SiteInfo(_Strict):
    name: str = Field(min_length=1)
    location: str = ""
    timezone: str = "UTC"
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    notes: str = ""


class Device(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    kind: DeviceKind
    protocol: ProtocolName
    address: str = ""
    name: str = ""
    profile: str | None = None
    credentials: str | None = None
    tls: bool = False
    # At most 20 polls a second (nan once meant ~800); sub-second values serve tests and the demo.
    poll_interval: float = Field(default=10.0, ge=0.05, le=86400)  # 50 ms .. 1 day
    timeout: float = Field(default=3.0, ge=0.01, le=120)
    options: dict[str, Any] = Field(default_factory=dict)

    _v_durations = field_validator("poll_interval", "timeout", mode="before")(_duration)

    @field_validator("credentials")
    @classmethod
    def _cred_ref(cls, v: str | None) -> str | None:
        if v is not None and not CREDENTIAL_REF.match(v):
            # The value is not echoed: it may be the secret itself.
            raise ValueError("expected a reference such as 'keyring:NAME' or 'env:VAR'; a secret goes in "
                             "the OS keyring, never in this file (the value is not shown)")
        return v

    @model_validator(mode="after")
    def _check(self) -> Device:
        if self.protocol not in KIND_PROTOCOLS[self.kind]:
            allowed = " or ".join(sorted(KIND_PROTOCOLS[self.kind]))
            raise ValueError(f"protocol: a {self.kind} speaks {allowed}, not {self.protocol}")
        if self.protocol == "nvml":
            if self.address not in ("", "local"):
                raise ValueError("address: nvml reads the local GPUs only: leave address empty or 'local'")
        elif not (hp := HOST_PORT.match(self.address)):
            raise ValueError(f"address: expected host:port, got {_echo(self.address)}")
        elif not 0 < int(hp.group(2)) < 65536:
            raise ValueError(f"address: port out of range in {_echo(self.address)}")
        option_problem = _option_problem(self.protocol, self.options)
        if option_problem:
            raise ValueError(option_problem)
        if self.timeout >= self.poll_interval:
            raise ValueError(f"timeout: {self.timeout:g} s must be shorter than poll_interval "
                             f"({self.poll_interval:g} s)")
        return self


def _option_problem(protocol: str, options: dict[str, Any]) -> str | None:
    """Bounds for the options the clients read (the clients trust them)."""
    def integer(key: str, low: int, high: int) -> str | None:
        v = options.get(key)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int):
            return f"options.{key}: expected an integer from {low} to {high}, got {_echo(v)}"
        if not low <= v <= high:
            return f"options.{key}: expected an integer from {low} to {high}, got {v}"
        return None

    if protocol == "snmp":
        version = options.get("version")
        if version is not None and str(version).lower().lstrip("v") not in ("2c", "3"):
            return f"options.version: expected \"2c\" or \"3\", got {_echo(version)}"
        return integer("retries", 0, 5)
    if protocol == "modbus":
        return integer("unit", 0, 255)
    return None


class FeedLink(_Strict):
    ups: str
    pdu: str


class OutletLink(_Strict):
    pdu: str
    outlet: int = Field(ge=1, le=256)
    device: str
    psu: str = "psu1"


class PowerPath(_Strict):
    feeds: list[FeedLink] = Field(default_factory=list)
    outlets: list[OutletLink] = Field(default_factory=list)


class Tank(_Strict):
    name: str = "tank"
    volume_l: float = Field(gt=0, le=1_000_000)  # up to 1,000 m³
    sensors: list[str] = Field(default_factory=list)


class Consumer(_Strict):
    name: str
    kind: Literal["space_heating", "hot_water", "pool", "process", "other"]
    design_w: float | None = Field(default=None, gt=0, le=10_000_000)  # up to 10 MW


class Bypass(_Strict):
    name: str = "dump"
    kind: Literal["dry_cooler", "bypass", "dump"] = "dry_cooler"


class HeatPath(_Strict):
    servers: list[str] = Field(min_length=1)
    loop: str  # the heat controller that measures the loop
    heat_meter: str | None = None
    exchanger: str = "exchanger"
    tank: Tank
    consumers: list[Consumer] = Field(min_length=1)
    bypass: Bypass = Bypass()
    liquid_fraction: float = Field(default=0.75, ge=0, le=1)

    def tank_sensor_key(self, sensor: str) -> str:
        """The series of a tank sensor named in the site: ``tank_top`` (a channel of the loop
        controller), ``dev/channel`` or a whole key ``dev/channel/quantity``."""
        parts = sensor.split("/")
        if len(parts) >= 3:
            return sensor
        if len(parts) == 2:
            return f"{sensor}/temperature"
        return f"{self.loop}/{sensor}/temperature"


class Limits(_Strict):
    max_loop_temp_c: float = Field(gt=0, le=100)  # liquid water at ambient pressure
    max_tank_temp_c: float = Field(gt=0, le=100)
    min_flow_lpm: float = Field(ge=0, le=10_000)
    max_circuit_current_a: float = Field(gt=0, le=1000)
    max_inlet_temp_c: float = Field(default=35.0, gt=0, le=60)


class Tariffs(_Strict):
    currency: str = Field(default="GBP", min_length=3, max_length=3)
    # Prices are per kWh in any currency (some count thousands of units per kWh).
    electricity_price_per_kwh: float = Field(ge=0, le=1_000_000)
    displaced_fuel: Literal["gas", "oil", "lpg", "electric", "heat_pump", "district"]
    fuel_price_per_kwh: float = Field(ge=0, le=1_000_000)
    displaced_efficiency: float = Field(gt=0, le=6, description="boiler efficiency or heat-pump SPF")
    co2_grid_kg_per_kwh: float = Field(ge=0, le=2)  # lignite is about 1.2
    co2_fuel_kg_per_kwh: float = Field(ge=0, le=2)


class Comfort(_Strict):
    min_room_temp_c: float = Field(ge=0, le=40)
    max_room_temp_c: float = Field(ge=0, le=40)

    @model_validator(mode="after")
    def _band(self) -> Comfort:
        if self.min_room_temp_c >= self.max_room_temp_c:
            raise ValueError("min_room_temp_c: must be below max_room_temp_c")
        return self


class Site(_Strict):
    site: SiteInfo
    devices: list[Device] = Field(min_length=1)
    power_path: PowerPath = PowerPath()
    heat_path: HeatPath
    limits: Limits
    tariffs: Tariffs
    comfort: Comfort

    def device(self, device_id: str) -> Device:
        for d in self.devices:
            if d.id == device_id:
                return d
        raise KeyError(device_id)


@dataclasses.dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = self.key if len(self.key) <= MAX_KEY_SHOWN else self.key[:MAX_KEY_SHOWN] + "..."
        text = f"{where}: {key}: {self.message}" if key else f"{where}: {self.message}"
        return " ".join(text.splitlines())  # one problem, one line


class SiteError(Exception):
    """Every problem in a site file, one per line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


_FIELD_NAMES = {name for model in (Device, Comfort) for name in model.model_fields}


def _secret_problems(data: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """Secrets anywhere in the file, under any spelling of their key."""
    out: list[tuple[tuple[str | int, ...], str]] = []

    def walk(node: Any, path: tuple[str | int, ...]) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "credentials" and path[:1] == ("devices",) and len(path) == 2:
                    continue  # the reference itself: validated (never echoed) by Device
                if is_secret_key(k, v):
                    out.append(((*path, k), "secrets are not allowed in site files: store it in the OS "
                                "keyring and set credentials = \"keyring:NAME\" (or env:VAR)"))
                else:
                    walk(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, (*path, i))

    walk(data, ())
    devices = data.get("devices")
    for i, dev in enumerate(devices if isinstance(devices, list) else []):
        if isinstance(dev, dict) and isinstance(dev.get("address"), str) and "@" in dev["address"]:
            out.append((("devices", i, "address"), "credentials in the address are not allowed; "
                        "use credentials = \"keyring:NAME\""))
    return out


def _cross_problems(data: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """References between sections. Works on the raw data, so it reports even when other
    sections failed validation (every problem at once)."""
    out: list[tuple[tuple[str | int, ...], str]] = []
    if not isinstance(data.get("devices"), list):
        return out  # reported by validation; every reference would only repeat it

    def items(node: Any, key: str) -> list[tuple[int, dict[str, Any]]]:
        seq = node.get(key) if isinstance(node, dict) else None
        return [(i, x) for i, x in enumerate(seq) if isinstance(x, dict)] if isinstance(seq, list) else []

    ids: dict[str, int] = {}
    kinds: dict[str, str] = {}
    addrs: dict[tuple[Any, Any], int] = {}
    for i, d in items(data, "devices"):
        dev_id = d.get("id")
        if not isinstance(dev_id, str):
            continue
        if dev_id in ids:
            out.append((("devices", i, "id"), f"duplicate id {dev_id!r} (also devices[{ids[dev_id]}])"))
        ids.setdefault(dev_id, i)
        kinds.setdefault(dev_id, str(d.get("kind")))
        key = (d.get("protocol"), d.get("address"))
        if not all(isinstance(k, str) for k in key):
            continue  # a wrong type: reported by validation
        if key[1] and key in addrs and key[0] != "snmp":
            out.append((("devices", i, "address"), f"{key[1]} is also devices[{addrs[key]}]"))
        addrs.setdefault(key, i)

    def ref(path: tuple[str | int, ...], dev_id: Any, want: set[str]) -> None:
        if not isinstance(dev_id, str):
            return
        if dev_id not in kinds:
            out.append((path, f"no device with id {dev_id!r}"))
        elif kinds[dev_id] not in want:
            out.append((path, f"{dev_id!r} is a {kinds[dev_id]}, expected {' or '.join(sorted(want))}"))

    power = _as_dict(data.get("power_path"))
    for i, f in items(power, "feeds"):
        ref(("power_path", "feeds", i, "ups"), f.get("ups"), {"ups"})
        ref(("power_path", "feeds", i, "pdu"), f.get("pdu"), {"pdu"})
    seen: dict[tuple[Any, Any], int] = {}
    for i, o in items(power, "outlets"):
        ref(("power_path", "outlets", i, "pdu"), o.get("pdu"), {"pdu"})
        ref(("power_path", "outlets", i, "device"), o.get("device"), {"server", "gpu_host"})
        key = (o.get("pdu"), o.get("outlet"))
        if not (isinstance(key[0], str) and isinstance(key[1], int)):
            continue
        if key in seen:
            out.append((("power_path", "outlets", i, "outlet"),
                        f"outlet {key[1]} of {key[0]} already feeds outlets[{seen[key]}]"))
        seen.setdefault(key, i)
    heat = _as_dict(data.get("heat_path"))
    servers = heat.get("servers")
    for i, srv in enumerate(servers if isinstance(servers, list) else []):
        ref(("heat_path", "servers", i), srv, {"server", "gpu_host"})
    ref(("heat_path", "loop"), heat.get("loop"), {"heat_controller", "heat_meter"})
    ref(("heat_path", "heat_meter"), heat.get("heat_meter"), {"heat_controller", "heat_meter"})
    return out


def _pydantic_message(err: Mapping[str, Any]) -> str:
    msg = str(err["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    if err["type"] == "extra_forbidden":
        return "unknown key (check the spelling; see resources/sites/example.toml)"
    if err["type"] == "missing":
        return "required key is missing"
    if err["type"] == "literal_error":
        return msg.replace("Input should be", "expected") + f", got {err.get('input')!r}"
    msg = msg.replace("Input should be ", "expected ").replace("greater than or equal to", ">=")
    msg = msg.replace("less than or equal to", "<=").replace("greater than", ">").replace("less than", "<")
    if "input" in err and err["type"] not in ("model_type",):
        last = err["loc"][-1] if err["loc"] else ""
        secret = isinstance(last, str) and (last == "credentials" or is_secret_key(last))
        if "got" not in msg and not secret:
            msg += ", got a table" if isinstance(err["input"], dict) else f", got {_echo(err['input'])}"
    return msg


def load_site(path: str | Path) -> Site:
    """Parse and validate a site file. Raises SiteError listing every problem."""
    path = Path(path)
    name = str(path)
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_SITE_BYTES + 1)
    except OSError as e:
        raise SiteError([Problem(name, None, "", f"cannot read: {e.strerror or e}")]) from None
    except ValueError as e:  # a NUL byte in the path
        raise SiteError([Problem(name, None, "", f"cannot read: {e}")]) from None
    if len(raw) > MAX_SITE_BYTES:
        raise SiteError([Problem(name, None, "", f"too large for a site file (over {MAX_SITE_BYTES >> 20} MiB)")])
    raw = raw.removeprefix(b"\xef\xbb\xbf")  # a BOM, as some Windows editors write
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise SiteError([Problem(name, line, "", f"not UTF-8 text (byte 0x{raw[e.start]:02x}): "
                                 "a site file is TOML text, see resources/sites/example.toml")]) from None
    return parse_site(text, name)


def parse_site(text: str, name: str = "<site>") -> Site:
    """Parse and validate site-file text; ``name`` is what problems call the file."""
    text = text.removeprefix("\ufeff")
    try:
        return _parse_site(text, name)
    except RecursionError:  # a guard only: MAX_NESTING stops deep files before the parser
        raise SiteError([Problem(name, None, "", "nested too deeply")]) from None


def _parse_site(text: str, name: str) -> Site:
    lines = key_lines(text)

    def key_on(line: int | None) -> str:
        paths = [p for p, n in lines.items() if n == line]
        return format_path(min(paths, key=len)) if paths else ""

    scan = scan_brackets(text, MAX_NESTING)
    if scan.too_deep is not None:
        raise SiteError([Problem(name, scan.too_deep, key_on(scan.too_deep),
                                 f"arrays and tables nested deeper than {MAX_NESTING} levels")])
    deep = [(n, p) for p, n in lines.items() if len(p) > MAX_NESTING]  # a.a.a...b = 1, [a.a.a...]
    if deep:
        n, p = min(deep, key=lambda d: d[0])
        raise SiteError([Problem(name, n, format_path(p[:3]) + "...",
                                 f"keys nested deeper than {MAX_NESTING} levels")])
    try:
        data = tomllib.loads(text)
    except ValueError as e:  # TOMLDecodeError, or a value the parser could not convert
        m = re.search(r"line (\d+)", str(e))
        line = int(m.group(1)) if m else None
        msg = f"not valid TOML: {e}"
        if line is None and scan.unclosed is not None:
            what, line = scan.unclosed
            msg += f"; the {what} opened on line {line} is never closed"
        raise SiteError([Problem(name, line, key_on(line) if line else "", msg)]) from None

    def problem(loc: tuple[str | int, ...], msg: str) -> Problem:
        return Problem(name, line_of(lines, loc), format_path(loc), msg)

    problems = [problem(loc, msg) for loc, msg in _secret_problems(data)]
    site: Site | None = None
    try:
        site = Site.model_validate(data)
    except ValidationError as e:
        for err in e.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            # Literal/union tags pydantic appends are not keys of the file.
            loc = tuple(p for p in loc if p in _keys_at(data, loc) or isinstance(p, int))
            if err["type"] == "extra_forbidden" and loc and is_secret_key(str(loc[-1]), err.get("input")):
                continue  # already reported as a secret
            msg = _pydantic_message(err)
            # Model-level checks name their key as "key: message"; move it into the location.
            m = re.match(r"^([a-z_]+(?:\.[A-Za-z0-9_-]+)*): (.*)$", msg)
            if m and m.group(1).split(".")[0] in _FIELD_NAMES:
                loc, msg = (*loc, *m.group(1).split(".")), m.group(2)
            problems.append(problem(loc, msg))
    problems += [problem(loc, msg) for loc, msg in _cross_problems(data)]
    if problems:
        problems.sort(key=lambda p: (p.line or 0, p.key))
        raise SiteError(problems)
    assert site is not None
    return site


def _keys_at(data: Any, loc: tuple[str | int, ...]) -> set[str | int]:
    """All keys on the path's way, so pydantic's internal loc parts can be dropped."""
    keys: set[str | int] = set()
    node = data
    for part in loc:
        if isinstance(node, dict):
            keys.update(node.keys())
            # a missing key is still a key of the file's schema
            keys.add(part)
            node = node.get(part) if isinstance(part, str) else None
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            break
    return keys


def device_spec(dev: Device, credentials: Credentials | None = None) -> DeviceSpec:
    """What a protocol client needs for ``dev``."""
    options = dict(dev.options)
    if dev.protocol == "redfish" and dev.tls and "ca_file" not in options:
        from console.paths import pin_store_path

        # Pins must outlive the process, or every start would trust a new certificate.
        options.setdefault("pin_store", str(pin_store_path()))
    return DeviceSpec(
        id=dev.id, kind=dev.kind, protocol=dev.protocol,
        address="" if dev.protocol == "nvml" else dev.address,
        profile=dev.profile, options=options,
        credentials=credentials or Credentials(), timeout_s=dev.timeout, tls=dev.tls,
        poll_interval_s=dev.poll_interval,
    )
