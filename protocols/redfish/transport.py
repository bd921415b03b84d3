"""The HTTP transport under python-redfish-library, with hard bounds a hostile BMC cannot lift.

What may be sent where: every URI a BMC hands us is confined to that BMC.

python-redfish-library builds each request URL as ``base_url + path`` by string concatenation,
so a link such as ``@127.0.0.1:9/x`` or ``//elsewhere/x`` taken from a response would send the
request (with the session token, or the login POST with the password) to another service.
Links are therefore checked before use (``same_service_path``), and ``SameServiceSession``
refuses, as a last line, any request whose final URL is not on the configured origin.

How much and how long: requests bounds each socket read, not a request, so a BMC that drips
a byte every half second, or streams a body without end, would hold a worker (and grow its
memory) for ever. The session therefore reads every body itself, in chunks, up to
``max_bytes``, and gives each request a wall-clock deadline: a timer shuts the request's
socket down when it passes, which ends any blocking read at once — headers, TLS handshake and
body alike. The same shutdown serves ``CallGuard.abort()``, when the caller stops waiting.
"""
from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

MAX_RESPONSE_BYTES = 4 * 1024 * 1024  # default cap on one response body (after decoding)
_CHUNK = 64 * 1024

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Control characters (CR/LF header injection, NUL) and backslashes (some parsers read them as
# "/"): neither belongs in a Redfish URI.
_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f\\]")


class NotSameService(ValueError):
    """A URI that would leave the service (or is not a URI at all)."""


def _origin(scheme: str, host: str, port: int | None) -> tuple[str, str, int]:
    scheme = scheme.lower()
    return scheme, host.lower().strip("[]"), port if port is not None else _DEFAULT_PORTS.get(scheme, -1)


def same_service_path(uri: object, scheme: str, host: str, port: int) -> str:
    """The path (with query, without fragment) ``uri`` names on the service at
    scheme://host:port. Accepts an absolute path (``/redfish/v1/...``) or an absolute URL on
    exactly that origin; raises NotSameService for anything else."""
    if not isinstance(uri, str) or not uri:
        raise NotSameService("empty or not a string")
    if _BAD_CHARS.search(uri):
        raise NotSameService("contains control characters or backslashes")
    if uri.startswith("//"):
        raise NotSameService("names another host (//host/...)")
    if uri.startswith("/"):
        path = uri.split("#", 1)[0]
        return path or "/"
    # Only an absolute http(s) URL may remain; "a@b:1/x", "x/y" and "mailto:" are not paths.
    if not re.match(r"(?i)https?://", uri):
        raise NotSameService("does not start with /")
    try:
        u = urlsplit(uri)
        port_ = u.port
    except ValueError as e:
        raise NotSameService(f"unparsable URL: {e}") from None
    if u.username is not None or u.password is not None or "@" in u.netloc:
        raise NotSameService("carries user information (user@host)")
    if not u.hostname or _origin(u.scheme, u.hostname, port_) != _origin(scheme, host, port):
        raise NotSameService("names another scheme, host or port")
    path = u.path or "/"
    return path + (f"?{u.query}" if u.query else "")


class ResponseTooLarge(Exception):
    """A response body over the cap: the rest is not read."""


class DeadlineExceeded(Exception):
    """A request did not complete (connect to last byte) within its deadline."""


class Aborted(Exception):
    """The caller stopped waiting (a poll timed out or the program is stopping)."""


# ---------------------------------------------------------------- aborting blocked reads
class CallGuard:
    """The sockets one worker call is using, so that another thread can end the call's
    blocking reads: ``abort()`` (the caller gave up) or a request's deadline passing.

    Sockets are registered as duplicates of their descriptor: shutdown() acts on the shared TCP connection, so it
    also ends a read on the TLS socket that later wraps the same descriptor."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self.aborted = False
        self.expired = False

    def watch(self, sock: socket.socket) -> None:
        try:  # fromfd, not dup(): SSLSocket refuses dup(), but its descriptor is the TCP socket's
            dup = socket.fromfd(sock.fileno(), sock.family, sock.type)
        except (OSError, ValueError):
            return
        with self._lock:
            self._socks.append(dup)
            if self.aborted or self.expired:
                _shutdown(dup)

    def _shut_all(self) -> None:
        for s in self._socks:
            _shutdown(s)

    def abort(self) -> None:
        """End the call: the current read fails now, and no further request is sent."""
        with self._lock:
            self.aborted = True
            self._shut_all()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            self._shut_all()

    def _release(self) -> None:
        with self._lock:
            socks, self._socks = self._socks, []
        for s in socks:
            s.close()

    def check(self) -> None:
        if self.aborted:
            raise Aborted("the caller stopped waiting")

    @contextlib.contextmanager
    def active(self) -> Iterator[CallGuard]:
        """Make this the guard of the current (worker) thread."""
        previous = getattr(_current, "guard", None)
        _current.guard = self
        try:
            yield self
        finally:
            _current.guard = previous
            self._release()

    @contextlib.contextmanager
    def deadline(self, seconds: float) -> Iterator[None]:
        """Bound one request in wall-clock time."""
        self.check()
        self.expired = False
        timer = threading.Timer(seconds, self._expire)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()
            self._release()


_current = threading.local()


def current_guard() -> CallGuard | None:
    return getattr(_current, "guard", None)


def _shutdown(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def watch_socket(sock: Any) -> None:
    """Let the current thread's CallGuard (if any) shut ``sock`` down on deadline or abort."""
    guard = current_guard()
    if guard is not None and isinstance(sock, socket.socket):
        guard.watch(sock)


class _WatchedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        watch_socket(sock)  # before any TLS handshake or proxy tunnel on it
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        if self.sock is not None:  # a kept-alive connection: watch it for this request
            watch_socket(self.sock)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        watch_socket(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        if self.sock is not None:
            watch_socket(self.sock)
        super().request(*args, **kwargs)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class BoundedAdapter(HTTPAdapter):
    """An adapter whose connections register their sockets with the current CallGuard."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_retries=0, **kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: Any, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not type(manager).__name__.startswith("SOCKS"):  # SOCKS pools have classes of their own
            manager.pool_classes_by_scheme = dict(_POOLS)
        return manager


# ---------------------------------------------------------------- the session
class SameServiceSession(requests.Session):
    """A requests Session for one BMC: sends nothing off ``scheme://host:port`` (the last check
    behind ``same_service_path``, which also covers the library's own login and logout),
    follows no redirect, reads at most ``max_bytes`` of any body and gives every request at
    most ``deadline_s`` from connect to last byte."""

    def __init__(self, scheme: str, host: str, port: int, *, deadline_s: float,
                 max_bytes: int = MAX_RESPONSE_BYTES) -> None:
        super().__init__()
        self.origin = _origin(scheme, host, port)
        self.deadline_s = deadline_s
        self.max_bytes = max_bytes
        self.mount("http://", BoundedAdapter())
        self.mount("https://", BoundedAdapter())
        # Only ask for what the cap measures; urllib3 decodes (bounded) whatever comes anyway.
        self.headers["Accept-Encoding"] = "identity"

    def get_redirect_target(self, resp: requests.Response) -> None:
        # requests reads a redirect's whole body (unbounded) before deciding whether to
        # follow it, even with allow_redirects=False; there is nothing to follow here.
        return None

    def _check_origin(self, request: requests.PreparedRequest) -> None:
        url = request.url or ""
        try:
            u = urlsplit(url)
            ok = (u.hostname is not None and "@" not in u.netloc
                  and _origin(u.scheme, u.hostname, u.port) == self.origin)
        except ValueError:
            ok = False
        if not ok or _BAD_CHARS.search(url):
            raise NotSameService(f"refused to send {request.method} {url[:200]!r}: not on "
                                 f"{self.origin[0]}://{self.origin[1]}:{self.origin[2]}")

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self._check_origin(request)
        guard = current_guard()
        if guard is None:  # used outside a worker call: a guard for this request alone
            with CallGuard().active():
                return self.send(request, **kwargs)
        kwargs["stream"] = True
        kwargs["allow_redirects"] = False
        what = f"{request.method} {urlsplit(request.url or '').path or '/'}"
        with guard.deadline(self.deadline_s):
            try:
                resp = super().send(request, **kwargs)
                try:
                    if resp.is_redirect:
                        raise requests.exceptions.TooManyRedirects("redirect refused", response=resp)
                    resp._content = self._read_body(resp, what)
                finally:
                    resp.close()
            except (ResponseTooLarge, requests.exceptions.TooManyRedirects):
                raise
            except Exception as exc:
                if guard.aborted:
                    raise Aborted(f"{what}: the caller stopped waiting") from exc
                if guard.expired:
                    raise DeadlineExceeded(f"{what}: no complete answer within {self.deadline_s:g} s "
                                           "(the BMC sends too slowly)") from exc
                raise
        return resp

    def _read_body(self, resp: requests.Response, what: str) -> bytes:
        length = resp.headers.get("Content-Length", "")
        if length.strip().isdigit() and int(length) > self.max_bytes:
            raise ResponseTooLarge(f"{what}: response of {int(length)} bytes is over the "
                                   f"{self.max_bytes}-byte limit")
        body = bytearray()
        for chunk in resp.iter_content(_CHUNK):
            body += chunk
            if len(body) > self.max_bytes:
                raise ResponseTooLarge(f"{what}: response is over the {self.max_bytes}-byte limit; "
                                       "the rest was not read")
        return bytes(body)
