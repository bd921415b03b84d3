"""A tiny local Redfish service that misbehaves on demand (sessions, refused credentials,
garbage, vanished resources, stored PATCHes), a self-signed certificate maker, and the
one-line ways to poll it: used by the Redfish fault, hostile-input, link and client tests."""
from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import ipaddress
import json
import ssl
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from protocols.base import Credentials, DeviceSpec, Reading
from protocols.redfish.client import RedfishSource

SESSIONS = "/redfish/v1/SessionService/Sessions"
POWER = "/redfish/v1/Chassis/1/Power"
CONTROL = "/redfish/v1/Chassis/1/Controls/Cap"


def tree() -> dict[str, Any]:
    return {
        "/redfish/v1": {"@odata.id": "/redfish/v1", "Chassis": {"@odata.id": "/redfish/v1/Chassis"},
                        "Links": {"Sessions": {"@odata.id": SESSIONS}}},
        "/redfish/v1/Chassis": {"Members": [{"@odata.id": "/redfish/v1/Chassis/1"}]},
        "/redfish/v1/Chassis/1": {"Id": "1", "Power": {"@odata.id": POWER},
                                  "Controls": {"@odata.id": "/redfish/v1/Chassis/1/Controls"}},
        POWER: {"PowerControl": [{"PowerConsumedWatts": 250, "PowerLimit": {"LimitInWatts": 400}}],
                "PowerSupplies": [{"PowerInputWatts": 130, "LastPowerOutputWatts": 120}]},
        "/redfish/v1/Chassis/1/Controls": {"Members": [{"@odata.id": CONTROL}]},
        CONTROL: {"ControlType": "Power", "SetPoint": 400, "SetPointUnits": "W",
                  "AllowableMin": 100, "AllowableMax": 600},
    }


class FakeBmc:
    """Serves ``resources`` (dict -> JSON, str -> raw body). With ``password`` set, everything
    but the service root needs a session token or Basic credentials."""

    def __init__(self, resources: dict[str, Any], password: str | None = None, sessions: bool = True,
                 store_patches: bool = True, etag: str | None = None,
                 tls: tuple[Path, Path] | None = None) -> None:
        self.resources, self.password, self.sessions = resources, password, sessions
        self.store_patches, self.etag = store_patches, etag
        # path -> (status, headers) answered instead of the resource (redirects, busy).
        self.overrides: dict[str, tuple[int, dict[str, str]]] = {}
        self.tokens: dict[str, str] = {}
        self.log: list[tuple[str, str, dict[str, str], bytes]] = []
        bmc = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                bmc.handle(self, "GET")

            def do_POST(self) -> None:
                bmc.handle(self, "POST")

            def do_PATCH(self) -> None:
                bmc.handle(self, "PATCH")

            def do_DELETE(self) -> None:
                bmc.handle(self, "DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:  # (certificate, key): serve HTTPS
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def calls(self, method: str, path: str | None = None) -> list[tuple[str, str, dict[str, str], bytes]]:
        return [c for c in self.log if c[0] == method and (path is None or c[1] == path)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _authorized(self, headers: dict[str, str]) -> bool:
        if self.password is None:
            return True
        basic = "Basic " + base64.b64encode(f"admin:{self.password}".encode()).decode()
        return headers.get("X-Auth-Token") in self.tokens or headers.get("Authorization") == basic

    def handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        path = h.path.rstrip("/") or "/"
        headers = dict(h.headers)
        self.log.append((method, path, headers, body))
        extra: dict[str, str] = {}
        if path in self.overrides:
            status, hdrs = self.overrides[path]
            return self._send(h, status, {}, hdrs)
        if method == "POST" and path == SESSIONS:
            if not self.sessions:
                return self._send(h, 405, {})
            if self.password is not None and json.loads(body).get("Password") != self.password:
                return self._send(h, 401, {"error": "bad credentials"})
            token, loc = uuid.uuid4().hex, f"{SESSIONS}/{len(self.tokens) + 1}"
            self.tokens[token] = loc
            return self._send(h, 201, {"@odata.id": loc}, {"X-Auth-Token": token, "Location": loc})
        if path != "/redfish/v1" and not self._authorized(headers):
            return self._send(h, 401, {"error": "unauthorized"})
        if method == "DELETE":
            self.tokens = {t: loc for t, loc in self.tokens.items() if loc != path}
            return self._send(h, 204, None)
        if path not in self.resources:
            return self._send(h, 404, "<html>not found</html>")
        if method == "PATCH":
            if self.etag and headers.get("If-Match") != self.etag:
                return self._send(h, 412, {})
            if self.store_patches:
                _merge(self.resources[path], json.loads(body))
            return self._send(h, 204, None)
        if self.etag:
            extra["ETag"] = self.etag
        return self._send(h, 200, self.resources[path], extra)

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        raw = b"" if body is None else (body if isinstance(body, str) else json.dumps(body)).encode()
        h.send_response(status)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(raw)))
        h.end_headers()
        h.wfile.write(raw)


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(target.get(k), dict):
            _merge(target[k], v)
        elif isinstance(v, list) and isinstance(target.get(k), list):
            for t, p in zip(target[k], v, strict=False):  # a patch may cover fewer members
                _merge(t, p)
        else:
            target[k] = v


def spec(address: str, password: str = "secret", timeout_s: float = 2.0, **options: Any) -> DeviceSpec:
    return DeviceSpec(id="srv9", kind="server", protocol="redfish", address=address,
                      credentials=Credentials("admin", password), timeout_s=timeout_s,
                      tls=bool(options.pop("tls", False)), options=options)


def poll(s: DeviceSpec, times: int = 1) -> tuple[RedfishSource, list[Reading]]:
    async def go() -> tuple[RedfishSource, list[Reading]]:
        src = RedfishSource(s)
        try:
            out: list[Reading] = []
            for _ in range(times):
                out = await src.poll()
            return src, out
        finally:
            await src.close()

    return asyncio.run(go())


def values(readings: list[Reading]) -> dict[tuple[str, str], Any]:
    return {(r.channel, r.quantity): r.value for r in readings}


def self_signed(directory: Path, name: str) -> tuple[Path, Path, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return cert_path, key_path, ":".join(digest[i:i + 2] for i in range(0, 64, 2))
