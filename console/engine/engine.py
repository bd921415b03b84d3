"""The engine: one asyncio loop (its own thread, or the caller's for headless use) running one
Coordinator per site device, all concurrently, handing every batch to the Store and to
subscribers. Nothing here blocks the caller: the GUI reads ``status()`` snapshots and gets
batches through ``subscribe`` (called on the engine thread; the Qt bridge re-posts them).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol, TypeVar

from console.engine.coordinator import (
    CLOSE_TIMEOUT_S,
    Batch,
    Coordinator,
    DeviceStatus,
    Listener,
)
from console.secrets import resolve
from console.site import Device, Site, device_spec
from protocols.base import AuthFailed, BadData, Credentials, DeviceError, Reading, Source
from protocols.registry import open_source

log = logging.getLogger("heatrack.engine")

T = TypeVar("T")
# On stop, polls in flight get this long to finish (their readings are kept), then are
# cancelled: a device dripping its answer must not hold the stop for its whole poll timeout.
STOP_GRACE_S = 1.0
CredentialResolver = Callable[[str | None], Credentials]
SourceFactory = Callable[..., Source]


class StoreLike(Protocol):
    """The part of console.store.Store the engine uses."""

    def add_readings(self, readings: Iterable[Reading]) -> None: ...

    def register_device(self, device_id: str, kind: str, protocol: str, address: str,
                        name: str = "") -> Any: ...

    def add_event(self, ts: float, severity: str, device_id: str, kind: str, message: str) -> Any: ...


def _default_resolver(ref: str | None) -> Credentials:
    return resolve(ref)


class DaemonThreadExecutor(concurrent.futures.ThreadPoolExecutor):
    """The engine loop's default executor (asyncio.to_thread): one daemon thread per call.

    A ThreadPoolExecutor's workers are joined by asyncio.run() when the loop ends and again by
    concurrent.futures at interpreter exit, so one blocking client call stuck for ever would
    keep the program from exiting. These threads are never joined; shutdown() returns at once."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[T]:
        fut: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            if not fut.set_running_or_notify_cancel():
                return
            try:
                fut.set_result(fn(*args, **kwargs))
            except BaseException as e:  # noqa: BLE001 - handed to whoever awaits the future
                fut.set_exception(e)

        threading.Thread(target=run, name="heatrack-worker", daemon=True).start()
        return fut

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        return None


class Engine:
    """Poll every device of ``site`` and log to ``store``.

    ``credential_resolver(ref)`` turns a site credentials reference into Credentials (a failure
    marks only that device auth_failed); ``source_factory(spec)`` opens a Source.
    ``coordinator_options`` go to every Coordinator (clock, sleep, max_backoff, ...: for tests).
    """

    def __init__(self, site: Site, store: StoreLike | None, *,
                 credential_resolver: CredentialResolver = _default_resolver,
                 source_factory: SourceFactory = open_source,
                 coordinator_options: dict[str, Any] | None = None) -> None:
        self.site = site
        self.store = store
        self._resolve = credential_resolver
        self._factory = source_factory
        self._subscribers: list[Listener] = []
        self._sub_lock = threading.Lock()
        self._coords: dict[str, Coordinator] = {}
        for dev in site.devices:
            # dev.timeout bounds each request inside the client; a whole poll (a Redfish
            # discovery is dozens of GETs) may take up to one interval before it counts
            # as unreachable.
            c = Coordinator(dev.id, dev.address or "local", self._opener(dev),
                            interval=dev.poll_interval, timeout=max(dev.timeout, dev.poll_interval),
                            events=store, **(coordinator_options or {}))
            c.add_listener(self._on_batch)
            self._coords[dev.id] = c
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._running = threading.Event()

    # ------------------------------------------------------------ wiring
    def _opener(self, dev: Device) -> Callable[[], Source]:
        address = dev.address or "local"

        def open_() -> Source:
            try:
                creds = self._resolve(dev.credentials)
            except Exception as e:  # SecretError, keyring backends, a bad demo name ...
                raise AuthFailed(dev.id, address, f"credentials {dev.credentials}: {e}") from None
            try:
                return self._factory(device_spec(dev, creds))
            except DeviceError:
                raise
            except Exception as e:  # unknown profile, client stack missing: a config fault
                raise BadData(dev.id, address, f"cannot open {dev.protocol} client: "
                              f"{type(e).__name__}: {e}") from None

        return open_

    def _on_batch(self, batch: Batch) -> None:
        if batch.readings and self.store is not None:
            try:
                self.store.add_readings(batch.readings)
            except Exception:
                log.exception("%s: store refused %d readings", batch.device_id, len(batch.readings))
        with self._sub_lock:
            subs = list(self._subscribers)
        for cb in subs:
            try:
                cb(batch)
            except Exception:
                log.exception("subscriber %r failed", cb)

    def subscribe(self, callback: Listener) -> Callable[[], None]:
        """Call ``callback(batch)`` for every poll of every device, on the engine thread.
        Returns the unsubscribe function."""
        with self._sub_lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._sub_lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    # ------------------------------------------------------------ queries
    def status(self) -> dict[str, DeviceStatus]:
        """A snapshot per device; safe from any thread."""
        return {dev_id: c.status() for dev_id, c in self._coords.items()}

    def coordinator(self, device_id: str) -> Coordinator:
        return self._coords[device_id]

    @property
    def running(self) -> bool:
        return self._running.is_set()

    # ------------------------------------------------------------ running
    async def run(self) -> None:
        """Poll until ``stop()``/``request_stop()`` in the current loop (headless use)."""
        self._loop = asyncio.get_running_loop()
        self._loop.set_default_executor(DaemonThreadExecutor())
        self._stop_event = asyncio.Event()
        if self.store is not None:
            for dev in self.site.devices:
                self.store.register_device(dev.id, dev.kind, dev.protocol, dev.address, name=dev.name)
        for c in self._coords.values():
            c.rearm()  # a stopped engine can be started again
        tasks = [asyncio.create_task(self._guard(c), name=f"poll:{dev_id}")
                 for dev_id, c in self._coords.items()]
        self._running.set()
        try:
            await self._stop_event.wait()
        finally:
            for c in self._coords.values():
                c.stop()
            _, pending = await asyncio.wait(tasks, timeout=STOP_GRACE_S) if tasks else (set(), set())
            for t in pending:
                t.cancel()  # the poll is cancelled; the coordinator still closes its source (bounded)
            _, stuck = await asyncio.wait(pending, timeout=CLOSE_TIMEOUT_S + 1) if pending else (set(), set())
            for t in stuck:
                log.error("%s: did not stop in time; abandoned", t.get_name())
            self._running.clear()

    async def _guard(self, c: Coordinator) -> None:
        try:
            await c.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s: coordinator crashed; the other devices go on", c.device_id)

    def request_stop(self) -> None:
        """Ask ``run`` to finish; safe from any thread and from signal handlers."""
        loop, ev = self._loop, self._stop_event
        if loop is None or ev is None or loop.is_closed():
            return
        try:
            running_here = asyncio.get_running_loop() is loop
        except RuntimeError:
            running_here = False
        if running_here:
            ev.set()
        else:
            loop.call_soon_threadsafe(ev.set)

    def start(self, timeout: float = 5.0) -> None:
        """Run the engine in a background thread; returns once it is polling."""
        if self._thread is not None:
            raise RuntimeError("engine already started")
        error: list[BaseException] = []

        def main() -> None:
            try:
                asyncio.run(self.run())
            except BaseException as e:
                error.append(e)
                log.exception("engine stopped with an error")

        self._thread = threading.Thread(target=main, name="heatrack-engine", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._running.wait(0.02):
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._thread = None
                raise RuntimeError(f"engine did not start: {error[0] if error else 'timed out'}")

    def stop(self, timeout: float = 15.0) -> None:
        """Stop polling, close every source, join the thread."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.error("engine thread did not stop within %g s", timeout)
            self._thread = None

    # ------------------------------------------------------------ commands
    def _submit(self, coro_fn: Callable[[], Awaitable[T]]) -> concurrent.futures.Future[T]:
        loop = self._loop
        if loop is None or not self._running.is_set():
            raise RuntimeError("engine is not running")

        async def call() -> T:
            return await coro_fn()

        return asyncio.run_coroutine_threadsafe(call(), loop)

    def refresh(self, device_id: str) -> None:
        """Poll ``device_id`` soon (debounced; restarts an auth-failed device)."""
        c = self._coords[device_id]
        loop = self._loop
        if loop is None or not self._running.is_set():
            raise RuntimeError("engine is not running")
        loop.call_soon_threadsafe(c.request_refresh)

    def run_action(self, device_id: str,
                   fn: Callable[[Source], Awaitable[T]]) -> concurrent.futures.Future[T]:
        """Run ``fn(source)`` on the engine loop between that device's polls; a refresh
        follows so the read-back shows up. Returns a concurrent Future (never blocks)."""
        c = self._coords[device_id]
        return self._submit(lambda: c.run_action(fn))
