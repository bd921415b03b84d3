"""``heatrack demo``: the embedded demo site, no hardware needed.

    heatrack demo                       the console on the demo site (needs a display)
    heatrack demo --serve               only the simulated equipment; prints its site file
    heatrack demo --headless --duration 10m [--speed N] [--fault NAME@T]... [--db FILE]
    heatrack demo --list-faults

Headless runs in one of two modes, and says which: **live** (speed <= LIVE_MAX_SPEED) polls
the protocol servers through the real clients with the engine, so wall time is D / speed;
**fast-forward** (faster) writes the model's readings straight into the store every simulated
minute, as fast as the machine allows (or paced to speed), while the servers keep serving.
Fast-forward histories end "now": the run starts D before the current time.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt_
import logging
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from console.demo.faults import FAULTS
from console.display import has_display, no_display_message
from console.durations import format_duration, parse_duration
from console.engine.events import record_event
from console.session import Session

# Above this speed a 10 s poll interval spans more than ~3 simulated minutes and polls
# would skip most of the dynamics: log the model directly instead.
LIVE_MAX_SPEED = 20.0
FF_INTERVAL_S = 60.0
DEFAULT_DB = "heatrack-demo.db"

if TYPE_CHECKING:
    from console.demo.runner import DemoRunner
    from console.store import Store

log = logging.getLogger("heatrack.demo")


class UsageError(Exception):
    pass


def parse_fault(text: str) -> tuple[str, float]:
    """``NAME@T`` (T a duration of simulated time: 90s, 10m, 2h, 1d; plain seconds) or
    ``NAME`` (at the start) -> (name, seconds)."""
    name, sep, when = text.partition("@")
    name = name.strip()
    if name not in FAULTS:
        raise UsageError(f"--fault {text!r}: unknown fault {name!r}; valid faults: {', '.join(FAULTS)}")
    if not sep:
        return name, 0.0
    try:
        return name, parse_duration(when)
    except ValueError as e:
        raise UsageError(f"--fault {text!r}: bad time {when!r}: {e} (simulated time after the start)") from None


def list_faults() -> str:
    width = max(len(n) for n in FAULTS)
    return "\n".join(f"{n:<{width}}  {d}" for n, d in FAULTS.items())


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (it may be replaced, e.g. in tests)."""

    stream = property(lambda self: sys.stderr, lambda self, value: None)


@contextlib.contextmanager
def _logging_to_stderr() -> Iterator[None]:
    """Log lines go to stderr (stdout carries the site file / results) while a mode runs."""
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root, demo = logging.getLogger(), logging.getLogger("heatrack.demo")
    old_level = demo.level
    root.addHandler(handler)
    demo.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        demo.setLevel(old_level)


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT/SIGTERM set ``stop`` (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in old:
        signal.signal(s, lambda *_: stop.set())
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _fault_message(name: str, sim_epoch: float) -> str:
    when = dt_.datetime.fromtimestamp(sim_epoch, dt_.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"demo fault {name} injected (simulated {when}): {FAULTS[name]}"


def _db_size(path: str) -> int:
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))


# ---------------------------------------------------------------- modes
def serve(args: argparse.Namespace, faults: list[tuple[str, float]], duration: float | None) -> int:
    from console.demo.credentials import describe
    from console.demo.runner import DemoRunner

    stop = threading.Event()
    with _stop_on_signals(stop), DemoRunner(seed=args.seed, speed=args.speed, faults=faults) as runner:
        sys.stdout.write(runner.site_toml())
        sys.stdout.flush()
        for line in describe():
            log.info("credentials %s", line)
        log.info("serving the demo site at %gx; Ctrl-C or SIGTERM stops it", args.speed)
        stop.wait(None if duration is None else duration / args.speed)
    log.info("demo site stopped")
    return 0


def headless(args: argparse.Namespace, faults: list[tuple[str, float]], duration: float | None) -> int:
    from console.store import Store, StoreError

    db = args.db or DEFAULT_DB
    try:
        store = Store(db)
    except StoreError as e:
        print(f"heatrack demo: {e}", file=sys.stderr)
        return 1
    try:
        if args.speed > LIVE_MAX_SPEED:
            return _fast_forward(args, faults, duration, store, db)
        return _live(args, faults, duration, store, db)
    except StoreError as e:  # the writer stopped (disk full, database locked too long)
        print(f"heatrack demo: not everything was stored: {e}", file=sys.stderr, flush=True)
        return 1
    finally:
        store.close()


def fault_recorder(session: Session, runner: DemoRunner, wall: bool) -> Callable[[str, float], None]:
    """Injected faults become events through the session's one recorder."""
    from console.demo.runner import fault_device

    def fired(name: str, epoch: float) -> None:
        record_event(session.recorder, time.time() if wall else epoch, "warning",
                     fault_device(runner.config, name), "fault_injected", _fault_message(name, epoch))

    return fired


def _live(args: argparse.Namespace, faults: list[tuple[str, float]], duration: float | None,
          store: Store, db: str) -> int:
    from console.commands.log import poll_printing, stop_on_store_failure, summary_lines
    from console.demo.runner import DemoRunner
    from console.store import StoreError

    wall = None if duration is None else duration / args.speed
    span = "until Ctrl-C" if duration is None else (f"for {format_duration(duration)} simulated "
                                                    f"({wall:.1f} s wall)")
    print(f"mode: live — the engine polls the demo equipment through the real clients at "
          f"{args.speed:g}x, {span}; logging to {db}", flush=True)
    started = time.monotonic()
    with DemoRunner(seed=args.seed, speed=args.speed, faults=faults) as runner:
        ref: list[Session] = []
        session = Session(runner.site_model(), store, source_factory=runner.source_factory,
                          credential_resolver=runner.resolve, seed=False,
                          on_store_failure=stop_on_store_failure(ref, sys.stderr, "heatrack demo"))
        ref.append(session)
        runner.on_fault(fault_recorder(session, runner, wall=True))
        try:
            statuses = asyncio.run(poll_printing(session, wall, out=sys.stdout))
        except KeyboardInterrupt:
            statuses = {}
        stored = session.recorder.failed is None  # else it already said why, in one line, and stopped
        try:
            session.flush()
        except StoreError:
            if stored:
                raise
            stored = False
        session.close()
        fired = list(runner.fired)
    for line in summary_lines(statuses, time.monotonic() - started):
        print(line, flush=True)
    if not stored:
        return 1
    for name, _ in fired:
        print(f"fault {name} injected", flush=True)
    print(f"{db}: {_db_size(db) / 1e6:.1f} MB", flush=True)
    return 0


def _fast_forward(args: argparse.Namespace, faults: list[tuple[str, float]], duration: float | None,
                  store: Store, db: str) -> int:
    from console.demo.runner import DemoRunner, fast_forward

    if duration is None:
        print("heatrack demo: fast-forward (speed > "
              f"{LIVE_MAX_SPEED:g}) needs --duration", file=sys.stderr)
        return 2
    now = dt_.datetime.now(dt_.UTC).replace(second=0, microsecond=0)
    start = now - dt_.timedelta(seconds=duration)
    pace = "as fast as possible" if args.speed >= 1e6 else f"paced at {args.speed:g}x"
    print(f"mode: fast-forward — the model's readings go straight into {db} every "
          f"{format_duration(FF_INTERVAL_S)} of simulated time, {pace}, for "
          f"{format_duration(duration)} from {start:%Y-%m-%d %H:%M} UTC; the protocol servers "
          f"keep serving meanwhile", flush=True)
    stop = threading.Event()
    last = [time.monotonic()]

    def progress(sim_s: float, rows: int) -> None:
        if time.monotonic() - last[0] >= 5.0:
            last[0] = time.monotonic()
            print(f"  {sim_s / 86400:.1f} / {duration / 86400:.1f} days simulated, "
                  f"{rows} readings", file=sys.stderr, flush=True)

    with _stop_on_signals(stop), DemoRunner(seed=args.seed, speed=args.speed, faults=faults,
                                            start=start, clock=False) as runner:
        # the model's readings bypass the engine (it is not run) but not the recorder
        session = Session(runner.site_model(), store, seed=False, on_store_failure=lambda e: stop.set())
        for d in session.site.devices:
            session.recorder.register_device(d.id, d.kind, d.protocol, d.address or "local", d.name)
        runner.on_fault(fault_recorder(session, runner, wall=False))
        result = fast_forward(runner, session.recorder, duration, interval_s=FF_INTERVAL_S, stop=stop,
                              progress=progress)
        fired = list(runner.fired)
    session.flush()
    session.close()
    rate = result.sim_s / 86400 / result.wall_s if result.wall_s > 0 else math.inf
    print(f"fast-forward: simulated {format_duration(result.sim_s)} in {result.wall_s:.1f} s wall "
          f"({rate:.2f} days/s): {result.samples} snapshots, {result.rows} readings"
          f"{' (stopped early)' if result.stopped_early else ''}", flush=True)
    for name, epoch in fired:
        print(f"fault {name} injected at {dt_.datetime.fromtimestamp(epoch, dt_.UTC):%Y-%m-%d %H:%M} UTC",
              flush=True)
    print(f"{db}: {_db_size(db) / 1e6:.1f} MB", flush=True)
    return 130 if result.stopped_early else 0


def gui(args: argparse.Namespace, faults: list[tuple[str, float]]) -> int:
    if not has_display():
        print(no_display_message("heatrack demo"), file=sys.stderr)
        return 2
    from console.commands.open import run_window
    from console.demo.runner import DemoRunner

    store_path = Path(args.db or DEFAULT_DB)
    with DemoRunner(seed=args.seed, speed=args.speed, faults=faults) as runner:
        return run_window(runner.site_model(), store_path, demo=True, demo_hooks=runner,
                          source_factory=runner.source_factory, credential_resolver=runner.resolve)


SCREENSHOT_HISTORY_S = 30 * 3600.0  # enough that every graph has a day and more behind it


def screenshot(args: argparse.Namespace, faults: list[tuple[str, float]], duration: float | None) -> int:
    """Fast-forward ``duration`` of the demo into a database, then render every page of the
    window on the live demo to PNG and exit (``--screenshot DIR``)."""
    import tempfile

    from console.commands.open import run_screenshots
    from console.demo.runner import DemoRunner, fast_forward
    from console.store import Store, StoreError

    if not has_display():
        print(no_display_message("heatrack demo --screenshot"), file=sys.stderr)
        return 2
    duration = duration or SCREENSHOT_HISTORY_S
    try:  # before minutes of fast-forward, not after
        Path(args.screenshot).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        print(f"heatrack demo --screenshot: cannot write to {args.screenshot}: {e.strerror or e}", file=sys.stderr)
        return 1
    with contextlib.ExitStack() as stack:
        db = args.db or str(Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="heatrack-shots-")))
                            / "demo.db")
        now = dt_.datetime.now(dt_.UTC).replace(second=0, microsecond=0)
        runner = stack.enter_context(DemoRunner(seed=args.seed, speed=1e9, faults=faults,
                                                start=now - dt_.timedelta(seconds=duration), clock=False))
        try:
            session = Session(runner.site_model(), Store(db), seed=False)
        except StoreError as e:
            print(f"heatrack demo: {e}", file=sys.stderr)
            return 1
        for d in session.site.devices:
            session.recorder.register_device(d.id, d.kind, d.protocol, d.address or "local", d.name)
        runner.on_fault(fault_recorder(session, runner, wall=False))
        started = time.monotonic()
        result = fast_forward(runner, session.recorder, duration, interval_s=FF_INTERVAL_S)
        session.flush()
        session.close()
        print(f"history: {format_duration(result.sim_s)} of the demo in {time.monotonic() - started:.1f} s "
              f"({result.rows} readings) in {db}", flush=True)
        themes = ["light", "dark"] if args.theme == "both" else [args.theme]
        try:
            paths = run_screenshots(runner, db, args.screenshot, themes)
        except Exception as e:  # noqa: BLE001 - a window that did not come up: one line, not a traceback
            print(f"heatrack demo --screenshot: {' '.join(str(e).split())}", file=sys.stderr)
            return 1
    for p in paths:
        print(p, flush=True)
    return 0


def demo_command(args: argparse.Namespace) -> int:
    """Entry point of ``heatrack demo`` (arguments defined in console/cli.py)."""
    if args.list_faults:
        print(list_faults())
        return 0
    try:
        faults = [parse_fault(f) for f in args.fault]
        if not (args.speed > 0 and math.isfinite(args.speed)):
            raise UsageError(f"--speed must be a positive number, got {args.speed:g}")
        duration = None
        if args.duration:
            try:
                duration = parse_duration(args.duration)
            except ValueError as e:
                raise UsageError(f"--duration: {e}") from None
            if duration <= 0:
                raise UsageError("--duration must be > 0")
            for (name, at), text in zip(faults, args.fault, strict=True):
                if at >= duration:
                    raise UsageError(f"--fault {text}: {format_duration(at)} is after the end of the run "
                                     f"({format_duration(duration)}); {name} would never be injected")
        if args.serve and args.headless:
            raise UsageError("--serve and --headless exclude each other")
        if getattr(args, "screenshot", None) and (args.serve or args.headless):
            raise UsageError("--screenshot renders the window: it excludes --serve and --headless")
    except UsageError as e:
        print(f"heatrack demo: {e}", file=sys.stderr)
        return 2
    with _logging_to_stderr():
        if args.serve:
            return serve(args, faults, duration)
        if args.headless:
            return headless(args, faults, duration)
        if getattr(args, "screenshot", None):
            return screenshot(args, faults, duration)
        return gui(args, faults)
