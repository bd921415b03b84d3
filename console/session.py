"""The composition root: site -> store -> recorder -> engine -> live model -> control.

``heatrack log``, every ``heatrack demo`` mode and the window build their wiring here and
nowhere else, so each of them polls, records, tracks staleness and audits writes the same way.
History (read-only, off the caller's thread) hangs off the session too.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from console.control import Control
from console.engine.coordinator import Batch, DeviceStatus
from console.engine.engine import (
    CredentialResolver,
    Engine,
    SourceFactory,
    _default_resolver,
)
from console.live import LiveSite
from console.recorder import Recorder
from console.site import Site
from protocols.registry import open_source

if TYPE_CHECKING:
    from console.history import HistoryService
    from console.recorder import RecordedEvent
    from console.store import Store
    from protocols.base import Reading

log = logging.getLogger("heatrack.session")


class Session:
    """One site being watched. ``store`` is an open (writer) Store; the session closes it.

    ``on_store_failure(exc)`` is told once when the store first refuses readings (``heatrack
    log`` prints one line and stops); by default it is logged once."""

    def __init__(self, site: Site, store: Store, *,
                 source_factory: SourceFactory = open_source,
                 credential_resolver: CredentialResolver = _default_resolver,
                 coordinator_options: dict[str, Any] | None = None,
                 on_store_failure: Callable[[Exception], None] | None = None,
                 seed: bool = True) -> None:
        self.site = site
        self.store = store
        self.recorder = Recorder(store) if on_store_failure is None else Recorder(store, on_failure=on_store_failure)
        self.engine = Engine(site, self.recorder, source_factory=source_factory,
                             credential_resolver=credential_resolver, coordinator_options=coordinator_options)
        self.live = LiveSite(site)
        self._history: HistoryService | None = None
        # After a restart the live model lists the last known values, marked stale. Read on
        # the history thread, never the caller's (the window's GUI thread): it arrives within
        # moments, and a poll that lands first wins (seeding never overwrites a live value).
        self.seeded: Future[None] = Future()
        if seed:
            self._seed()
        else:
            self.seeded.set_result(None)
        self._unsubscribe = [self.engine.subscribe(self.live.on_batch),
                             self.recorder.subscribe_events(self.live.on_event)]
        self.control = Control(site, self.engine, store, live=self.live)
        self._closed = False

    def _seed(self) -> None:
        def done(f: Future[tuple[list[Reading], list[RecordedEvent]]]) -> None:
            try:
                self.live.seed(*f.result())
            except Exception as e:  # noqa: BLE001 - an unreadable store: polling still fills the model
                log.warning("cannot read what the store knew before this run: %s", e)
            self.seeded.set_result(None)

        try:
            self.history.known().add_done_callback(done)
        except RuntimeError as e:  # a store path the history service cannot serve
            log.warning("cannot read what the store knew before this run: %s", e)
            self.seeded.set_result(None)

    @classmethod
    def open(cls, site: Site, db_path: str | Path, **options: Any) -> Session:
        """Open the site database for writing (StoreError: one line naming why not) and wire."""
        from console.store import Store

        store = Store(db_path)
        try:
            return cls(site, store, **options)
        except BaseException:
            store.close()
            raise

    # ------------------------------------------------------------ parts
    @property
    def history(self) -> HistoryService:
        """Range queries on a read-only connection of their own, off the caller's thread."""
        if self._history is None:
            from console.history import HistoryService

            self._history = HistoryService(self.store.path)
        return self._history

    def subscribe(self, callback: Callable[[Batch], None]) -> Callable[[], None]:
        """Every poll's batch, on the engine thread (progress printers)."""
        return self.engine.subscribe(callback)

    def ack(self, event_id: int, by: str) -> Any:
        """Acknowledge an event in the store; the live model drops it once stored."""
        fut = self.recorder.ack_event(event_id, by)
        fut.add_done_callback(lambda f: None if f.cancelled() or f.exception() is not None or not f.result()
                              else self.live.acknowledged(event_id))
        return fut

    # ------------------------------------------------------------ running
    async def run(self, duration: float | None, *, install_signals: bool = True) -> dict[str, DeviceStatus]:
        """Poll in the current loop until ``duration`` (None: until SIGINT/SIGTERM or
        ``engine.request_stop()``); returns the final statuses. Headless use."""
        engine = self.engine
        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        if install_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.add_signal_handler(sig, engine.request_stop)
                    installed.append(sig)
        timer = loop.call_later(duration, engine.request_stop) if duration is not None else None
        try:
            await engine.run()
        finally:
            if timer is not None:
                timer.cancel()
            for sig in installed:
                loop.remove_signal_handler(sig)
        return engine.status()

    def start(self) -> None:
        """Poll in a background thread (the window)."""
        self.engine.start()

    def flush(self) -> None:
        """Everything recorded so far reaches the disk (StoreError if it cannot)."""
        self.store.flush()

    def close(self) -> None:
        """Stop polling, then history, then the store (which commits what is queued). Idempotent."""
        if self._closed:
            return
        self._closed = True
        self.control.close()
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self.engine.stop()
        if self._history is not None:
            self._history.close()
        self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
