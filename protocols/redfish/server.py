"""The demo site's BMC: a small, threaded Redfish service rendering a live ``ServerView``.

Why not sushy-static or the DMTF Mockup-Server: both are single-threaded (one idle keep-alive
client blocks every other), ignore or fake authentication and sessions, and serve static
files, so values never move and PATCH does not reach a model. This service is stdlib only
(``http.server.ThreadingHTTPServer``), enforces Basic or session auth, forwards power-limit
PATCHes to ``DemoControl`` and renders every GET from the current view.

Dead-BMC behaviour: while ``view.reachable`` is False the listening socket still accepts TCP
connections (the kernel does that), but no request gets an answer: the handler holds the
connection open without reading further or replying until the BMC is reachable again (or the
service stops), then closes it without a response. A client therefore sees its *read timeout*
(a connect timeout never fires), like a BMC whose web server has wedged.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import secrets
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from protocols.demo_views import DemoControl, ServerView
from protocols.redfish import server_resources as rs
from protocols.redfish.server_tls import SelfSigned, make_self_signed

log = logging.getLogger(__name__)

SESSIONS = f"{rs.ROOT}/SessionService/Sessions"
ANONYMOUS = {"/redfish", rs.ROOT, f"{rs.ROOT}/odata", f"{rs.ROOT}/$metadata"}
BASE_REGISTRY = "Base.1.19"
MAX_BODY = 64 * 1024
_PATCHABLE = {f"{rs.CHASSIS}/Power", rs.POWER_LIMIT_CONTROL, f"{rs.CHASSIS}/EnvironmentMetrics"}
_CONTROL_MODES = {"Automatic", "Override", "Manual", "Disabled"}


class RedfishError(Exception):
    """An HTTP error answered with a Redfish ``error`` body."""

    def __init__(self, status: int, key: str, message: str, resolution: str = "None.",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.key, self.message, self.resolution = status, key, message, resolution
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        msg_id = f"{BASE_REGISTRY}.{self.key}"
        return {"error": {
            "code": msg_id,
            "message": self.message,
            "@Message.ExtendedInfo": [{
                "@odata.type": "#Message.v1_3_0.Message",
                "MessageId": msg_id,
                "Message": self.message,
                "MessageSeverity": "Critical" if self.status >= 500 else "Warning",
                "Resolution": self.resolution,
            }],
        }}


class _Sessions:
    """Session id -> (token, user, last use). Tokens expire after rs.SESSION_TIMEOUT_S idle."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[str, tuple[str, str, float]] = {}

    def create(self, user: str) -> tuple[str, str]:
        sid, token = secrets.token_hex(8), secrets.token_urlsafe(32)
        with self._lock:
            self._by_id[sid] = (token, user, time.monotonic())
        return sid, token

    def user_for(self, token: str) -> tuple[str, str] | None:
        """(session id, user) for a live token, refreshing its idle timer."""
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            for sid, (tok, user, _) in self._by_id.items():
                if hmac.compare_digest(tok, token):
                    self._by_id[sid] = (tok, user, now)
                    return sid, user
        return None

    def delete(self, sid: str) -> bool:
        with self._lock:
            return self._by_id.pop(sid, None) is not None

    def snapshot(self) -> dict[str, str]:
        with self._lock:
            self._expire(time.monotonic())
            return {sid: user for sid, (_, user, _) in self._by_id.items()}

    def _expire(self, now: float) -> None:
        for sid in [s for s, (_, _, t) in self._by_id.items() if now - t > rs.SESSION_TIMEOUT_S]:
            del self._by_id[sid]


class _Server(ThreadingHTTPServer):
    """One thread per connection; TLS handshakes run in that thread, never in the accept loop."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], service: DemoRedfishService,
                 ssl_context: ssl.SSLContext | None) -> None:
        self.service = service
        self.ssl_context = ssl_context
        self.open_connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        conn = request
        if self.ssl_context is not None:
            request.settimeout(10.0)
            try:
                conn = self.ssl_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as e:
                log.debug("TLS handshake from %s failed: %s", client_address, e)
                return
        with self.conn_lock:
            self.open_connections.add(conn)
        try:
            self.RequestHandlerClass(conn, client_address, self)  # type: ignore[arg-type]  # typeshed's Self
        finally:
            with self.conn_lock:
                self.open_connections.discard(conn)
            if conn is not request:
                conn.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s ended with an error", client_address, exc_info=True)

    def drop_connections(self) -> None:
        with self.conn_lock:
            conns = list(self.open_connections)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "heatrack-demo-bmc/1.0"
    timeout = 60.0  # idle keep-alive connections are closed after this
    disable_nagle_algorithm = True  # headers and body go out as two writes: avoid 40 ms delayed-ACK stalls
    server: _Server

    # --- plumbing -------------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s %s", self.address_string(), format % args)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol-level errors (bad request line, unknown method) as Redfish JSON too."""
        self.close_connection = True
        phrase = message or HTTPStatus(code).phrase
        self._send_error(RedfishError(code, "GeneralError", f"{phrase}.", headers={"Connection": "close"}))

    @property
    def svc(self) -> DemoRedfishService:
        return self.server.service

    def _path(self) -> str:
        path = unquote(urlsplit(self.path).path)
        return path.rstrip("/") or "/"

    def _send(self, status: int, payload: bytes, content_type: str,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("OData-Version", "4.0")
        self.send_header("Cache-Control", "no-cache")
        if payload or status not in (204, 304):
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

    def _send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body, separators=(",", ":")).encode()
        self._send(status, payload, "application/json;charset=utf-8", headers)

    def _send_error(self, err: RedfishError) -> None:
        self._send_json(err.status, err.body(), err.headers)

    def _read_json(self) -> dict[str, Any]:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError as e:
            raise RedfishError(400, "MalformedJSON", "Invalid Content-Length.") from e
        if length > MAX_BODY:
            self.close_connection = True
            raise RedfishError(413, "GeneralError", "Request body too large.")
        raw = self.rfile.read(length) if length > 0 else b""
        try:
            body = json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError) as e:
            raise RedfishError(400, "MalformedJSON", "The request body is not valid JSON.") from e
        if not isinstance(body, dict):
            raise RedfishError(400, "MalformedJSON", "The request body must be a JSON object.")
        return body

    def _wait_while_unreachable(self) -> ServerView | None:
        """The current view, or None after hanging like a dead BMC (see module docstring).

        While hanging, whatever the client sends is read and dropped (this connection will
        never be answered), so a client that gives up and closes frees the thread at once."""
        view = self.svc.get_view()
        if view.reachable:
            return view
        self.close_connection = True
        conn = self.connection
        conn.settimeout(0.1)
        while not self.svc.stopping.is_set():
            try:
                if conn.recv(4096) == b"":
                    break  # the client timed out and closed
            except TimeoutError:
                pass
            except ssl.SSLWantReadError:
                pass
            except OSError:
                break
            if self.svc.get_view().reachable:
                break
        return None

    def _authenticate(self) -> tuple[str | None, str]:
        """(session id or None, user) or raise 401."""
        token = self.headers.get("X-Auth-Token")
        if token:
            found = self.svc.sessions.user_for(token)
            if found:
                return found
        else:
            scheme, _, cred = (self.headers.get("Authorization") or "").partition(" ")
            if scheme.lower() == "basic":
                try:
                    user, _, password = base64.b64decode(cred.strip(), validate=True).decode().partition(":")
                except (binascii.Error, UnicodeDecodeError):
                    user, password = "", ""
                if self.svc.check_password(user, password):
                    return None, user
        raise RedfishError(401, "NoValidSession", "Authentication is required: use a session token or Basic auth.",
                           "Log in via the SessionService or send valid Basic credentials.",
                           {"WWW-Authenticate": 'Basic realm="heatrack demo BMC"'})

    def _dispatch(self, method: Callable[[ServerView, str], None]) -> None:
        view = self._wait_while_unreachable()
        if view is None:
            return
        try:
            method(view, self._path())
        except RedfishError as err:
            self._send_error(err)
        except Exception:  # a bug must become a 500, not a dropped connection
            log.exception("demo Redfish service failed on %s %s", self.command, self.path)
            self._send_error(RedfishError(500, "InternalError", "Internal error in the demo BMC."))

    def _allow(self, path: str) -> str:
        if path == SESSIONS:
            return "GET, HEAD, POST"
        if path.startswith(SESSIONS + "/"):
            return "GET, HEAD, DELETE"
        if path in _PATCHABLE:
            return "GET, HEAD, PATCH"
        return "GET, HEAD"

    def _resource(self, view: ServerView, path: str) -> dict[str, Any]:
        body = rs.build_tree(view, self.svc.sessions.snapshot()).get(path)
        if body is None:
            raise RedfishError(404, "ResourceMissingAtURI", f"The resource at the URI {path} was not found.")
        return body

    @staticmethod
    def _etag(body: dict[str, Any]) -> str:
        return '"' + hashlib.sha1(json.dumps(body, sort_keys=True).encode()).hexdigest()[:20] + '"'

    # --- methods --------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch(self._get)

    def do_HEAD(self) -> None:
        self._dispatch(self._get)

    def do_POST(self) -> None:
        self._dispatch(self._post)

    def do_PATCH(self) -> None:
        self._dispatch(self._patch)

    def do_DELETE(self) -> None:
        self._dispatch(self._delete)

    def do_PUT(self) -> None:
        self._dispatch(self._not_allowed)

    def _get(self, view: ServerView, path: str) -> None:
        if path == "/redfish":
            self._send_json(200, {"v1": f"{rs.ROOT}/"})
            return
        if path == f"{rs.ROOT}/$metadata":
            self._send(200, rs.metadata_document().encode(), "application/xml;charset=utf-8")
            return
        if path == f"{rs.ROOT}/odata":
            self._send_json(200, rs.odata_service_document())
            return
        if path not in ANONYMOUS:
            self._authenticate()
        body = self._resource(view, path)
        self._send_json(200, body, {"ETag": self._etag(body), "Allow": self._allow(path)})

    def _post(self, view: ServerView, path: str) -> None:
        if path == SESSIONS:
            self._login()
            return
        self._authenticate()
        self._not_allowed(view, path)

    def _login(self) -> None:
        body = self._read_json()
        user, password = body.get("UserName"), body.get("Password")
        if not isinstance(user, str) or not isinstance(password, str):
            raise RedfishError(400, "PropertyMissing", "UserName and Password (strings) are required.")
        if not self.svc.check_password(user, password):
            raise RedfishError(401, "ResourceAtUriUnauthorized", "Invalid user name or password.")
        sid, token = self.svc.sessions.create(user)
        location = f"{SESSIONS}/{sid}"
        self._send_json(201, rs.session_body(sid, user), {"X-Auth-Token": token, "Location": location})

    def _delete(self, view: ServerView, path: str) -> None:
        self._authenticate()
        if path.startswith(SESSIONS + "/"):
            if self.svc.sessions.delete(path.rsplit("/", 1)[1]):
                self._send(204, b"", "application/json")
                return
            raise RedfishError(404, "ResourceMissingAtURI", f"No session at {path}.")
        self._not_allowed(view, path)

    def _not_allowed(self, view: ServerView, path: str) -> None:
        if path not in ANONYMOUS:
            self._authenticate()
        self._resource(view, path)  # 404 if it does not exist
        raise RedfishError(405, "OperationNotAllowed", f"{self.command} is not allowed on {path}.",
                           headers={"Allow": self._allow(path)})

    def _patch(self, view: ServerView, path: str) -> None:
        self._authenticate()
        current = self._resource(view, path)
        if path not in _PATCHABLE:
            raise RedfishError(405, "OperationNotAllowed", f"PATCH is not allowed on {path}.",
                               headers={"Allow": self._allow(path)})
        if_match = self.headers.get("If-Match")
        if if_match and if_match != "*" and self._etag(current) not in {t.strip() for t in if_match.split(",")}:
            raise RedfishError(412, "PreconditionFailed", "The ETag in If-Match does not match the resource.")
        body = self._read_json()
        watts = _requested_limit(path, body, view)
        try:
            self.svc.control.set_power_limit(view.id, watts)
        except ValueError as e:
            raise RedfishError(400, "PropertyValueOutOfRange",
                               f"The power limit {watts!r} W was refused: {e}",
                               f"Use a value between {view.power_limit_min_w} and {view.power_limit_max_w} W.") from e
        fresh = self._resource(self.svc.get_view(), path)
        self._send_json(200, fresh, {"ETag": self._etag(fresh), "Allow": self._allow(path)})


def _number_or_none(value: Any, prop: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RedfishError(400, "PropertyValueTypeError", f"{prop} must be a number (watts) or null.")
    return float(value)


def _only(obj: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise RedfishError(400, "PropertyValueTypeError", f"{where} must be a JSON object.")
    extra = sorted(set(obj) - allowed)
    if extra:
        raise RedfishError(400, "PropertyNotWritable",
                           f"Only {sorted(allowed)} can be written in {where}; not {extra}.")
    return obj


def _from_control(obj: dict[str, Any], view: ServerView, where: str) -> float | None:
    """SetPoint / ControlMode of a Control (or its excerpt) -> requested limit (None: disable)."""
    _only(obj, {"SetPoint", "ControlMode"}, where)
    if not obj:
        raise RedfishError(400, "PropertyMissing", f"{where} needs SetPoint or ControlMode.")
    mode = obj.get("ControlMode")
    if mode is not None and mode not in _CONTROL_MODES:
        raise RedfishError(400, "PropertyValueNotInList",
                           f"ControlMode {mode!r} is not one of {sorted(_CONTROL_MODES)}.")
    if mode == "Disabled":
        if obj.get("SetPoint") is not None:
            raise RedfishError(400, "PropertyValueConflict", "ControlMode Disabled conflicts with a SetPoint.")
        return None
    if "SetPoint" in obj:
        return _number_or_none(obj["SetPoint"], "SetPoint")
    return view.power_limit_w  # mode change only: keep the current limit


def _requested_limit(path: str, body: dict[str, Any], view: ServerView) -> float | None:
    if path == rs.POWER_LIMIT_CONTROL:
        return _from_control(body, view, "the Control")
    if path == f"{rs.CHASSIS}/EnvironmentMetrics":
        _only(body, {"PowerLimitWatts"}, "EnvironmentMetrics")
        if "PowerLimitWatts" not in body:
            raise RedfishError(400, "PropertyMissing", "PowerLimitWatts is required.")
        return _from_control(body["PowerLimitWatts"], view, "PowerLimitWatts")
    # legacy Power: PowerControl[0].PowerLimit.LimitInWatts; other members must be {} (unchanged)
    _only(body, {"PowerControl"}, "Power")
    members = body.get("PowerControl")
    if not isinstance(members, list) or not members:
        raise RedfishError(400, "PropertyMissing", "PowerControl[0].PowerLimit.LimitInWatts is required.")
    if any(m != {} for m in members[1:]):
        raise RedfishError(400, "PropertyNotWritable", "Only PowerControl[0] exists.")
    limit = _only(_only(members[0], {"PowerLimit"}, "PowerControl[0]").get("PowerLimit"),
                  {"LimitInWatts"}, "PowerControl[0].PowerLimit")
    if "LimitInWatts" not in limit:
        raise RedfishError(400, "PropertyMissing", "PowerControl[0].PowerLimit.LimitInWatts is required.")
    return _number_or_none(limit["LimitInWatts"], "LimitInWatts")


class DemoRedfishService:
    """A live Redfish BMC for one simulated server, on 127.0.0.1 and an ephemeral port.

    ``get_view`` and ``control.set_power_limit`` are called from the per-connection handler
    threads, concurrently: they must be thread-safe (return a snapshot; lock the model)."""

    def __init__(self, get_view: Callable[[], ServerView], control: DemoControl, *, username: str,
                 password: str, host: str = "127.0.0.1", port: int = 0, tls: bool = False) -> None:
        self.get_view = get_view
        self.control = control
        self._username, self._password = username, password
        self._host, self._port, self._tls = host, port, tls
        self.sessions = _Sessions()
        self.stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._cert: SelfSigned | None = None

    def check_password(self, user: str, password: str) -> bool:
        ok_user = hmac.compare_digest(user.encode(), self._username.encode())
        ok_pw = hmac.compare_digest(password.encode(), self._password.encode())
        return ok_user and ok_pw

    def start(self) -> int:
        """Bind, serve in a background thread and return the bound port."""
        if self._server is not None:
            return self.port
        ctx = None
        if self._tls:
            self._tmp = tempfile.TemporaryDirectory(prefix="heatrack-demo-bmc-")
            self._cert = make_self_signed(Path(self._tmp.name), self._host)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(self._cert.cert_file, self._cert.key_file)
        self.stopping.clear()
        self._server = _Server((self._host, self._port), self, ctx)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"demo-redfish-{self.port}", daemon=True)
        self._thread.start()
        return self.port

    def stop(self) -> None:
        """Stop accepting, release hung (unreachable-mode) handlers and drop open connections."""
        server, self._server = self._server, None
        if server is None:
            return
        self.stopping.set()
        server.shutdown()
        server.server_close()
        server.drop_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> DemoRedfishService:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the demo Redfish service is not running")
        return self._server.server_address[1]

    @property
    def connection_count(self) -> int:
        """Open client connections (keep-alive ones and those hung in unreachable mode)."""
        server = self._server
        if server is None:
            return 0
        with server.conn_lock:
            return len(server.open_connections)

    @property
    def url(self) -> str:
        return f"{'https' if self._tls else 'http'}://{self._host}:{self.port}"

    @property
    def certificate_pem(self) -> str | None:
        """The self-signed certificate (HTTPS mode), to pin or to pass as a CA file."""
        return self._cert.cert_pem if self._cert else None

    @property
    def certificate_fingerprint(self) -> str | None:
        """SHA-256 of the certificate, colon-separated upper-case hex."""
        return self._cert.fingerprint if self._cert else None

    @property
    def cert_file(self) -> Path | None:
        """Path of the PEM certificate while the service runs (HTTPS mode)."""
        return self._cert.cert_file if self._cert else None
