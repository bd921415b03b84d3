"""``heatrack log``: poll a site without a window and log every reading to SQLite.

Runs the session's engine in the current asyncio loop until ``--duration`` has passed or
SIGINT/SIGTERM arrives, prints one line per device state change, then flushes the store so
nothing already polled is lost, and prints a per-device summary.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Callable
from typing import TextIO

from console.durations import format_duration, parse_duration
from console.engine.coordinator import Batch, DeviceState, DeviceStatus
from console.session import Session
from console.site import SiteError, load_site

# Exit status of ``heatrack log``: 0 ok, 1 site/store failure, 2 usage, 3 no device answered a
# single poll during the whole run, 130 Ctrl-C before polling started.
EXIT_NOTHING_REACHED = 3


def _stamp(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


class TransitionPrinter:
    """Session subscriber: one line per device whenever its state changes."""

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


def stop_on_store_failure(session_ref: list[Session], err: TextIO,
                          prog: str = "heatrack") -> Callable[[Exception], None]:
    """The first refusal of readings (the writer stopped: disk full, database locked by another
    program for too long) ends the run with one line on ``err``, rather than polling on into
    the void with a traceback per poll."""

    def failed(e: Exception) -> None:
        print(f"{prog}: cannot store readings ({e}); stopping", file=err, flush=True)
        if session_ref:
            session_ref[0].engine.request_stop()

    return failed


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


async def poll_printing(session: Session, duration: float | None, *, out: TextIO = sys.stdout,
                        install_signals: bool = True) -> dict[str, DeviceStatus]:
    """Run ``session`` for ``duration`` (None: until a signal), a line per device transition."""
    unsubscribe = session.subscribe(TransitionPrinter(out))
    try:
        return await session.run(duration, install_signals=install_signals)
    finally:
        unsubscribe()


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
    from console.store import StoreError

    ref: list[Session] = []
    try:
        session = Session.open(site, args.db, on_store_failure=stop_on_store_failure(ref, sys.stderr), seed=False)
    except StoreError as e:
        print(f"heatrack log: {e}", file=sys.stderr)
        return 1
    ref.append(session)
    until = f"for {format_duration(duration)}" if duration is not None else "until Ctrl-C"
    print(f"logging {site.site.name!r} ({len(site.devices)} devices) to {args.db} {until}", flush=True)
    started = time.monotonic()
    statuses: dict[str, DeviceStatus] = {}
    interrupted = store_failed = False
    try:
        statuses = asyncio.run(poll_printing(session, duration))
    except KeyboardInterrupt:  # Ctrl-C before the signal handlers were in place
        interrupted = True
    finally:
        try:
            session.flush()  # everything polled so far reaches the disk, Ctrl-C or not
        except StoreError as e:
            store_failed = True
            if session.recorder.failed is None:  # else the recorder already said why, and stopped
                print(f"heatrack log: not everything polled was stored: {e}", file=sys.stderr, flush=True)
        session.close()
    for line in summary_lines(statuses, time.monotonic() - started):
        print(line, flush=True)
    if interrupted:
        return 130
    if store_failed or session.recorder.failed is not None:
        return 1
    if statuses and not any(st.last_success is not None for st in statuses.values()):
        # A run that logged nothing at all must not look like a success to a script or cron.
        print(f"heatrack log: no device was reached during the run (not one successful poll of "
              f"{len(statuses)} device{'s' * (len(statuses) != 1)}); exit {EXIT_NOTHING_REACHED}",
              file=sys.stderr, flush=True)
        return EXIT_NOTHING_REACHED
    return 0
