"""TLS trust for BMCs: trust on first use with a pinned SHA-256 fingerprint.

BMCs ship self-signed certificates that no CA vouches for, and python-redfish-library does
not verify anything unless given a CA file. So heatrack pins: the first contact stores the
certificate's fingerprint per host:port, later contacts must present the same one, and every
HTTPS connection asserts it (urllib3 ``assert_fingerprint``), not only the first handshake.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import ssl
import tempfile
import threading
from pathlib import Path

from protocols.redfish.transport import BoundedAdapter, watch_socket

_store_lock = threading.Lock()
# Pins for sources opened without a pin_store file: kept for this process only.
_memory_pins: dict[str, str] = {}


def format_fingerprint(der: bytes) -> str:
    """SHA-256 of a DER certificate as colon-separated upper-case hex (AA:BB:...)."""
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def fetch_fingerprint(host: str, port: int, timeout: float) -> str:
    """Handshake without verification and return the presented certificate's fingerprint.

    Raises OSError (incl. ssl.SSLError, TimeoutError) when the handshake fails. The socket is
    registered with the calling worker's CallGuard, so a deadline or an abort ends a handshake
    that a BMC drips out byte by byte."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((host, port), timeout=timeout) as raw:
        watch_socket(raw)
        with ctx.wrap_socket(raw, server_hostname=host) as tls:
            der = tls.getpeercert(binary_form=True)
    if not der:
        raise ssl.SSLError("the server presented no certificate")
    return format_fingerprint(der)


class PinStore:
    """host:port -> fingerprint, in a JSON file (or in memory when ``path`` is None)."""

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = Path(path) if path else None

    def _load(self) -> dict[str, str]:
        if self.path is None:
            return dict(_memory_pins)
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ValueError(f"pin store {self.path} is unreadable: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError(f"pin store {self.path} is not a JSON object")
        return {str(k): str(v) for k, v in data.items()}

    def get(self, key: str) -> str | None:
        with _store_lock:
            return self._load().get(key)

    def set(self, key: str, fingerprint: str) -> None:
        """Store (or replace, after the user re-trusts) the pin for ``key``, atomically."""
        with _store_lock:
            if self.path is None:
                _memory_pins[key] = fingerprint
                return
            data = self._load()
            data[key] = fingerprint
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".pins-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=2, sort_keys=True)
            os.replace(tmp, self.path)

    def forget(self, key: str) -> None:
        """Drop a pin, so the next contact trusts whatever certificate it sees."""
        with _store_lock:
            if self.path is None:
                _memory_pins.pop(key, None)
                return
            data = self._load()
            if data.pop(key, None) is not None:
                self.path.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")


class PinnedAdapter(BoundedAdapter):
    """Requests adapter whose every HTTPS connection must present the pinned certificate.

    Chain and hostname are not checked (self-signed BMC certificates): the fingerprint is the
    trust anchor. A mismatch raises requests.exceptions.SSLError ("Fingerprints did not match")."""

    def __init__(self, fingerprint: str) -> None:
        self.fingerprint = fingerprint.replace(":", "").lower()
        super().__init__()

    def init_poolmanager(self, *args, **kwargs) -> None:
        kwargs["assert_fingerprint"] = self.fingerprint
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        # $HTTPS_PROXY connections come from a second pool that init_poolmanager never sees:
        # without this, an intercepting proxy's certificate would be accepted unchecked.
        proxy_kwargs["assert_fingerprint"] = self.fingerprint
        return super().proxy_manager_for(proxy, **proxy_kwargs)
