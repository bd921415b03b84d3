"""A hostile HTTP server for tests, on 127.0.0.1: per path it can answer normally, stream an
endless body (chunked, or close-delimited without Content-Length), drip one byte at a time, or
say nothing. It records every request it receives, so a test can also use it as a listener that
must receive nothing."""
from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from typing import Any

# behaviour(method, path) -> one of:
#   ("json", obj, extra_headers)         a normal 200 JSON answer
#   ("raw", status, headers, body)       exactly this
#   ("endless", chunked: bool[, status, headers])
#                                        a body that never ends (as fast as the socket takes),
#                                        status "200 OK" unless given
#   ("drip", interval_s, headers_too)    200, one byte every interval_s; with headers_too the
#                                        status line and headers drip as well
#   ("silent",)                          read the request, never answer
Behaviour = Callable[[str, str], tuple[Any, ...]]


class HostileServer:
    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.connections = 0
        self.bytes_sent = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True, name="hostile-accept")
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()
        with self._lock:
            for c in self._conns:
                try:
                    c.close()
                except OSError:
                    pass

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with self._lock:
                self.connections += 1
                self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True, name="hostile-conn").start()

    def _read_request(self, f: Any) -> tuple[str, str, dict[str, str], bytes] | None:
        line = f.readline(65536)
        if not line:
            return None
        parts = line.decode("latin-1").split()
        if len(parts) < 2:
            return None
        headers: dict[str, str] = {}
        while True:
            h = f.readline(65536)
            if h in (b"\r\n", b"\n", b""):
                break
            k, _, v = h.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
        body = f.read(int(headers.get("content-length") or 0))
        return parts[0], parts[1], headers, body

    def _send(self, conn: socket.socket, data: bytes) -> None:
        conn.sendall(data)
        with self._lock:
            self.bytes_sent += len(data)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(1.0)
        f = conn.makefile("rb")
        try:
            while not self._stop.is_set():
                try:
                    req = self._read_request(f)
                except OSError:
                    req = None
                if req is None:
                    return
                with self._lock:
                    self.requests.append(req)
                if not self._answer(conn, *self.behaviour(req[0], req[1])):
                    return
        except OSError:
            return
        finally:
            f.close()
            conn.close()

    def _answer(self, conn: socket.socket, kind: str, *args: Any) -> bool:
        """Send one answer; False when the connection is done."""
        if kind == "json":
            obj, extra = args[0], (args[1] if len(args) > 1 else {})
            body = json.dumps(obj).encode()
            head = "".join(f"{k}: {v}\r\n" for k, v in extra.items())
            self._send(conn, f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{head}"
                             f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            return True
        if kind == "raw":
            status, headers, body = args
            head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            self._send(conn, f"HTTP/1.1 {status}\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
            return True
        if kind == "endless":
            chunked = args[0]
            status = args[1] if len(args) > 1 else "200 OK"
            extra = "".join(f"{k}: {v}\r\n" for k, v in (args[2] if len(args) > 2 else {}).items())
            conn.settimeout(None)
            piece = b'{"pad": "' + b"x" * 65536
            head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{extra}"
            if chunked:
                self._send(conn, f"{head}Transfer-Encoding: chunked\r\n\r\n".encode())
                piece = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
            else:
                self._send(conn, f"{head}Connection: close\r\n\r\n".encode())
            while not self._stop.is_set():
                self._send(conn, piece)
            return False
        if kind == "drip":
            interval, headers_too = args
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
            if not headers_too:
                self._send(conn, head)
                head = b""
            data = head + b'{"pad": "' + b"x" * 100000
            for i in range(len(data)):
                if self._stop.wait(interval):
                    return False
                self._send(conn, data[i:i + 1])
            return False
        if kind == "silent":
            self._stop.wait()
            return False
        raise ValueError(kind)


def redfish_root(sessions: str = "/redfish/v1/SessionService/Sessions",
                 chassis: str = "/redfish/v1/Chassis") -> dict[str, Any]:
    return {"@odata.id": "/redfish/v1", "Chassis": {"@odata.id": chassis},
            "Links": {"Sessions": {"@odata.id": sessions}}}
