"""What may be sent where: every URI a BMC hands us is confined to that BMC.

python-redfish-library builds each request URL as ``base_url + path`` by string concatenation,
so a link such as ``@127.0.0.1:9/x`` or ``//elsewhere/x`` taken from a response would send the
request (with the session token, or the login POST with the password) to another service.
Links are therefore checked before use (``same_service_path``), and ``SameServiceSession``
refuses, as a last line, any request whose final URL is not on the configured origin.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import requests

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


class SameServiceSession(requests.Session):
    """A requests Session that sends nothing off ``scheme://host:port``: the last check behind
    ``same_service_path``, which also covers the library's own login/logout requests."""

    def __init__(self, scheme: str, host: str, port: int) -> None:
        super().__init__()
        self.origin = _origin(scheme, host, port)

    def send(self, request: requests.PreparedRequest, **kwargs):  # type: ignore[no-untyped-def, override]
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
        return super().send(request, **kwargs)
