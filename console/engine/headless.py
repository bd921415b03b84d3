"""``heatrack log``: poll a site without a GUI and log every reading to SQLite.

Runs the Engine in the current asyncio loop until ``--duration`` has passed or SIGINT/SIGTERM
arrives, prints one line per device state change, then flushes the store so nothing already
polled is lost, and prints a per-device summary.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from console.durations import format_duration, parse_duration
from console.engine.coordinator import Batch, DeviceState, DeviceStatus
from console.engine.engine import CredentialResolver, Engine, SourceFactory, StoreLike, _default_resolver
from console.site import Site, SiteError, load_site
from protocols.base import Reading
from protocols.registry import open_source


# Exit status of ``heatrack log``: 0 ok, 1 site/store failure, 2 usage, 3 no device answered a
# single poll during the whole run, 130 Ctrl-C before polling started.
EXIT_NOTHING_REACHED = 3


def _stamp(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


class TransitionPrinter:
    """Engine subscriber: one line per device whenever its state changes."""

    def __init__(self, out: TextIO, wall: Callable[[], float] = time.time) -> None:
        self.out = out
        self.wall = wall
        self.last: dict[str, DeviceState] = {}

    def __call__(self, batch: Batch) -> None:
        st = batch.status
        if self.last.get(batch.device_id) is st.state:
            return
        self.last[batch.device_id] = st.state
        detail = f"{len(batch.readings)} readings" if st.state is DeviceState.OK else st.message
        print(f"{_stamp(self.wall())} {batch.device_id} {st.state.value}: {detail}", file=self.out, flush=True)


class _StopOnStoreFailure:
    """The store as the engine sees it: the first refusal of readings (its writer stopped:
    disk full, database locked by another program for too long) ends the run with one line
    on stderr, rather than polling on into the void with a traceback per poll."""

    def __init__(self, store: StoreLike, err: TextIO) -> None:
        self.store, self.err = store, err
        self.stop: Callable[[], None] = lambda: None
        self.failed: Exception | None = None

    def add_readings(self, readings: Iterable[Reading]) -> None:
        if self.failed is not None:
            return
        try:
            self.store.add_readings(readings)
        except Exception as e:  # StoreError, or whatever a store-like raises
            self.failed = e
            print(f"heatrack: cannot store readings ({e}); stopping", file=self.err, flush=True)
            self.stop()

    def register_device(self, device_id: str, kind: str, protocol: str, address: str,
                        name: str = "") -> Any:
        return self.store.register_device(device_id, kind, protocol, address, name=name)

    def add_event(self, ts: float, severity: str, device_id: str, kind: str, message: str) -> Any:
        return self.store.add_event(ts, severity, device_id, kind, message)


def summary_lines(statuses: dict[str, DeviceStatus], elapsed: float) -> list[str]:
    """Per device: state, readings logged, polls, failures, last error; then a total."""
    width = max((len(d) for d in statuses), default=0)
    lines = []
    for dev_id, st in statuses.items():
        line = (f"{dev_id:<{width}}  {st.state.value:<11} {st.readings:>7} readings  {st.polls:>5} polls  "
                f"{st.failures:>4} failures")
        if st.state is not DeviceState.OK and st.message:
            line += f"  — {st.message}"
        lines.append(line)
    total = sum(s.readings for s in statuses.values())
    failed = sum(1 for s in statuses.values() if s.state is not DeviceState.OK)
    lines.append(f"logged {total} readings from {len(statuses)} devices in {elapsed:.1f} s; "
                 f"{failed} device{'s' * (failed != 1)} not ok at the end")
    return lines


async def run_headless(site: Site, store: StoreLike, duration: float | None, *,
                       out: TextIO = sys.stdout,
                       source_factory: SourceFactory = open_source,
                       credential_resolver: CredentialResolver = _default_resolver,
                       install_signals: bool = True) -> dict[str, DeviceStatus]:
    """Poll ``site`` into ``store`` until ``duration`` (None: until a signal). Returns the final
    statuses. The caller flushes and closes the store."""
    guarded = _StopOnStoreFailure(store, sys.stderr)
    engine = Engine(site, guarded, source_factory=source_factory, credential_resolver=credential_resolver)
    guarded.stop = engine.request_stop
    engine.subscribe(TransitionPrinter(out))
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


def log_command(args: argparse.Namespace) -> int:
    """Entry point of ``heatrack log --site FILE --db FILE [--duration S]``."""
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    duration: float | None = None
    if args.duration:
        try:
            duration = parse_duration(args.duration)
        except ValueError as e:
            print(f"heatrack log: --duration: {e}", file=sys.stderr)
            return 2
    try:
        site = load_site(args.site)
    except SiteError as e:
        for p in e.problems:
            print(p, file=sys.stderr)
        return 1
    from console.store import Store, StoreError

    try:
        store = Store(args.db)
    except StoreError as e:
        print(f"heatrack log: {e}", file=sys.stderr)
        return 1
    until = f"for {format_duration(duration)}" if duration is not None else "until Ctrl-C"
    print(f"logging {site.site.name!r} ({len(site.devices)} devices) to {args.db} {until}", flush=True)
    started = time.monotonic()
    statuses: dict[str, DeviceStatus] = {}
    interrupted = store_failed = False
    try:
        statuses = asyncio.run(run_headless(site, store, duration))
    except KeyboardInterrupt:  # Ctrl-C before the signal handlers were in place
        interrupted = True
    finally:
        try:
            store.flush()  # everything polled so far reaches the disk, Ctrl-C or not
        except StoreError as e:
            store_failed = True
            if not store.refused_batches:  # else the engine already said why, and stopped
                print(f"heatrack log: not everything polled was stored: {e}", file=sys.stderr, flush=True)
        store.close()
    for line in summary_lines(statuses, time.monotonic() - started):
        print(line, flush=True)
    if interrupted:
        return 130
    if store_failed:
        return 1
    if statuses and not any(st.last_success is not None for st in statuses.values()):
        # A run that logged nothing at all must not look like a success to a script or cron.
        print(f"heatrack log: no device was reached during the run (not one successful poll of "
              f"{len(statuses)} device{'s' * (len(statuses) != 1)}); exit {EXIT_NOTHING_REACHED}",
              file=sys.stderr, flush=True)
        return EXIT_NOTHING_REACHED
    return 0
