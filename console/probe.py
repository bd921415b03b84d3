"""``heatrack probe URL``: read one device once and print one JSON object per reading.

For commissioning and bug reports: no site file, no database. Secrets never come from the URL
(they would end up in shell history and process lists): passwords and keys come from an
environment variable (``--password-env``, ``--priv-env``) or the OS keyring (``--keyring``).
The one exception is the SNMP v2c community in ``snmp://community@host``: it is the documented
form and, for read-only ``public``-style communities, a name rather than a secret; a community
that is a secret should come from ``--password-env`` instead, which takes precedence.

Exit status: 0 read ok, 1 the device failed (one line on stderr), 2 usage error.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import os
import time
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from protocols.base import (
    AuthFailed,
    BadData,
    CertificateChanged,
    Credentials,
    DeviceError,
    DeviceSpec,
    Identity,
    Reading,
    Source,
    Unreachable,
)

PROBE_ID = "probe"
CLOSE_TIMEOUT_S = 1.0
SCHEMES = {
    # scheme: (protocol, tls, default port, default kind, allowed kinds, allowed query keys)
    "redfish": ("redfish", True, 443, "server", {"server", "gpu_host"}, {"kind"}),
    "redfish+https": ("redfish", True, 443, "server", {"server", "gpu_host"}, {"kind"}),
    "redfish+http": ("redfish", False, 80, "server", {"server", "gpu_host"}, {"kind"}),
    "snmp": ("snmp", False, 161, "ups", {"ups", "pdu"}, {"kind", "profile"}),
    "snmpv3": ("snmp", False, 161, "ups", {"ups", "pdu"}, {"kind", "profile", "auth", "priv"}),
    "modbus": ("modbus", False, 502, "heat_controller", {"heat_controller", "heat_meter"},
               {"kind", "profile", "unit"}),
    "nvml": ("nvml", False, 0, "gpu_host", {"gpu_host"}, set()),
}
AUTH_PROTOCOLS = {"MD5", "SHA", "SHA1", "SHA224", "SHA256", "SHA384", "SHA512"}
PRIV_PROTOCOLS = {"DES", "3DES", "AES", "AES128", "AES192", "AES256", "NONE"}


class UsageError(ValueError):
    """The command line is wrong: exit 2 with this message."""


def url_to_spec(url: str, *, user: str | None = None, password: str | None = None,
                priv_key: str | None = None, stored: Credentials | None = None,
                profile: str | None = None, timeout: float = 5.0,
                ca_file: str | None = None) -> DeviceSpec:
    """Parse a probe URL into a DeviceSpec. ``password``/``priv_key`` are already-resolved
    secrets (from the environment), ``stored`` credentials from the keyring. Pure; raises
    UsageError naming what is wrong."""
    scheme, sep, _ = url.partition(":")
    scheme = scheme.lower()
    if not sep or scheme not in SCHEMES:
        raise UsageError(f"unknown URL {url!r}: expected one of redfish://h:p, redfish+http://h:p, "
                         "snmp://community@h:p, snmpv3://user@h:p?auth=SHA&priv=AES, "
                         "modbus://h:p?profile=NAME&unit=1, nvml:")
    protocol, tls, default_port, kind, kinds, allowed = SCHEMES[scheme]
    if timeout <= 0:
        raise UsageError(f"--timeout must be > 0, got {timeout:g}")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise UsageError(f"{url!r}: {e}") from None
    query: dict[str, str] = {}
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        if k not in allowed:
            ok = ", ".join(sorted(allowed)) or "none"
            raise UsageError(f"{url!r}: unknown parameter {k!r} for {scheme}: (allowed: {ok})")
        query[k] = v
    if parts.path not in ("", "/") or parts.fragment:
        raise UsageError(f"{url!r}: unexpected path {parts.path!r}: give only host:port")
    kind = query.get("kind", kind)
    if kind not in kinds:
        raise UsageError(f"{url!r}: kind must be one of {', '.join(sorted(kinds))}, got {kind!r}")
    if parts.password is not None:
        raise UsageError(f"{url!r}: never put a password in the URL; use --password-env VAR or --keyring NAME")
    url_user = unquote(parts.username) if parts.username else None
    stored = stored or Credentials()
    options: dict[str, Any] = {}
    creds = Credentials()

    if protocol == "nvml":
        if parts.netloc not in ("", "local") or url_user:
            raise UsageError(f"{url!r}: nvml reads the local GPUs only: use nvml:")
        return DeviceSpec(id=PROBE_ID, kind=kind, protocol="nvml", address="", timeout_s=timeout)

    host = parts.hostname
    if not host:
        raise UsageError(f"{url!r}: no host (expected {scheme}://host:port)")
    port = default_port if port is None else port
    if not 0 < port < 65536:
        raise UsageError(f"{url!r}: port out of range")
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    if protocol == "redfish":
        if ca_file:
            if not tls:
                raise UsageError("--ca-file applies to HTTPS (redfish://), not redfish+http://")
            options["ca_file"] = ca_file
        elif tls:
            from console.paths import pin_store_path

            options["pin_store"] = str(pin_store_path())  # pins outlive the probe
        creds = Credentials(username=user or url_user or stored.username,
                            password=password if password is not None else stored.password)
    elif scheme == "snmp":
        community = password if password is not None else (url_user or stored.community or stored.password)
        if not community:
            raise UsageError(f"{url!r}: SNMP v2c needs a community: snmp://public@{address} "
                             "or --password-env VAR")
        options["version"] = "2c"
        creds = Credentials(community=community)
    elif scheme == "snmpv3":
        name = user or url_user or stored.username
        if not name:
            raise UsageError(f"{url!r}: SNMPv3 needs a user: snmpv3://user@{address}")
        auth = query.get("auth", stored.auth_protocol).upper()
        priv = query.get("priv", stored.priv_protocol).upper()
        if auth not in AUTH_PROTOCOLS:
            raise UsageError(f"auth={auth}: expected one of {', '.join(sorted(AUTH_PROTOCOLS))}")
        if priv not in PRIV_PROTOCOLS:
            raise UsageError(f"priv={priv}: expected one of {', '.join(sorted(PRIV_PROTOCOLS))}")
        auth_key = password if password is not None else (stored.auth_key or stored.password)
        if not auth_key:
            raise UsageError("SNMPv3 needs an authentication key: --password-env VAR or --keyring NAME")
        pkey = priv_key if priv_key is not None else stored.priv_key
        if priv != "NONE" and not pkey:
            raise UsageError(f"SNMPv3 priv={priv} needs a privacy key: --priv-env VAR or --keyring NAME "
                             "(or priv=none)")
        options["version"] = "3"
        creds = Credentials(username=name, auth_key=auth_key, priv_key=pkey if priv != "NONE" else None,
                            auth_protocol=auth, priv_protocol=priv)
    elif protocol == "modbus":
        if url_user:
            raise UsageError(f"{url!r}: Modbus has no credentials")
        if "unit" in query:
            try:
                unit = int(query["unit"])
            except ValueError:
                raise UsageError(f"unit={query['unit']}: expected a number 0-247") from None
            if not 0 <= unit <= 247:
                raise UsageError(f"unit={unit}: expected 0-247")
            options["unit"] = unit
    prof = profile or query.get("profile") or None
    if protocol == "modbus" and not prof:
        raise UsageError(f"{url!r}: a Modbus device needs a register map: ?profile=NAME or --profile NAME")
    return DeviceSpec(id=PROBE_ID, kind=kind, protocol=protocol, address=address, profile=prof,
                      options=options, credentials=creds, timeout_s=timeout, tls=tls)


def _env(var: str | None, flag: str) -> str | None:
    if var is None:
        return None
    value = os.environ.get(var)
    if value is None:
        raise UsageError(f"{flag} {var}: environment variable {var} is not set")
    return value


def spec_from_args(args: argparse.Namespace) -> DeviceSpec:
    """Resolve the secrets the flags name, then parse the URL."""
    if args.password_env and args.keyring:
        raise UsageError("give either --password-env or --keyring, not both")
    stored = None
    if args.keyring:
        from console.secrets import SecretError, resolve

        try:
            stored = resolve(f"keyring:{args.keyring}")
        except SecretError as e:
            raise UsageError(f"--keyring {args.keyring}: {e}") from None
    return url_to_spec(args.url, user=args.user, password=_env(args.password_env, "--password-env"),
                       priv_key=_env(args.priv_env, "--priv-env"), stored=stored, profile=args.profile,
                       timeout=args.timeout, ca_file=args.ca_file)


def _label(e: DeviceError) -> str:
    if isinstance(e, CertificateChanged):
        return "certificate changed"
    if isinstance(e, AuthFailed):
        return "authentication failed"
    if isinstance(e, Unreachable):
        return "unreachable"
    if isinstance(e, BadData):
        return "bad data"
    return "failed"


def _json(r: Reading) -> str:
    d = r.as_json_dict()
    if isinstance(d["value"], float) and not math.isfinite(d["value"]):
        d["value"] = None
    return json.dumps(d)


@dataclasses.dataclass(frozen=True, slots=True)
class ProbeResult:
    """One probe: the readings, and what the device said it is (None when it was not asked,
    or could not say: then ``identity_error`` says why; the readings still count)."""

    readings: list[Reading]
    identity: Identity | None = None
    identity_error: str | None = None


async def probe_once(spec: DeviceSpec, source_factory: Any = None) -> list[Reading]:
    """Open, poll and close within ``spec.timeout_s`` (plus at most CLOSE_TIMEOUT_S to close).
    Raises a DeviceError; a timeout becomes Unreachable."""
    return (await probe_device(spec, source_factory, identify=False)).readings


async def probe_device(spec: DeviceSpec, source_factory: Any = None, *, identify: bool = True) -> ProbeResult:
    """probe_once, then (``identify``) the device's identity within what is left of
    ``spec.timeout_s``: a device that answers its readings but not its identity is still read."""
    if source_factory is None:
        from protocols.registry import open_source as source_factory
    where = spec.address or "local"
    deadline = time.monotonic() + spec.timeout_s
    source: Source | None = None
    try:
        try:
            source = source_factory(spec)
        except ImportError as e:
            raise BadData(spec.id, where, f"the {spec.protocol} client is not available: {e}") from None
        readings = list(await asyncio.wait_for(source.poll(), spec.timeout_s))
        ident = await _identity(source, deadline) if identify else (None, None)
    except TimeoutError:
        raise Unreachable(spec.id, where, f"no complete answer within {spec.timeout_s:g} s") from None
    finally:
        if source is not None:
            left = max(0.1, min(CLOSE_TIMEOUT_S, deadline + CLOSE_TIMEOUT_S - time.monotonic()))
            try:
                await asyncio.wait_for(source.close(), left)
            except Exception:  # noqa: BLE001 - closing is best effort; the answer is already known
                pass
    return ProbeResult(readings, *ident)


async def _identity(source: Source, deadline: float) -> tuple[Identity | None, str | None]:
    """(identity, None) or (None, why not), never raising: the readings are already in."""
    ask = getattr(source, "identify", None)
    left = deadline - time.monotonic()
    if ask is None:
        return None, "this client cannot say what the device is"
    if left < 0.05:
        return None, "no time left within --timeout after the readings"
    try:
        return await asyncio.wait_for(ask(), left), None
    except TimeoutError:
        return None, "no complete answer within --timeout after the readings"
    except DeviceError as e:
        return None, e.what
    except Exception as e:  # noqa: BLE001 - a client bug must not cost the readings
        return None, f"{type(e).__name__}: {e}"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _pinned(spec: DeviceSpec) -> str | None:
    """The fingerprint pinned for this HTTPS Redfish device, if any."""
    if not (spec.protocol == "redfish" and spec.tls and "pin_store" in spec.options):
        return None
    from protocols.redfish.client import RedfishSource

    src = RedfishSource(spec)
    return src.pins.get(src.pin_key)
