"""``heatrack demo --screenshot DIR``: every page of the real window on the running demo site,
rendered to PNG. The caller has already fast-forwarded hours of the demo into the database, so
graphs have history; here the live session starts on it, and each page is grabbed once every
device has reported and the page's history answers are drawn. Waiting is event-driven: a
marker query is queued behind the page's own on the (single, FIFO) history thread, and its
answer is handed back through the bridge after theirs, so when it arrives theirs are drawn.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop, QTimer

from console.ui.app import ConsoleSession, start_app
from console.ui.context import ViewContext

SIZE = (1280, 800)
TICK_S = 0.2


class ScreenshotError(Exception):
    """One line: what did not happen in time."""


class _ModelClock(threading.Thread):
    """Advances the demo model in real time (the fast-forward runner has no clock of its own)."""

    def __init__(self, runner: Any, speed: float = 1.0) -> None:
        super().__init__(name="heatrack-screenshot-clock", daemon=True)
        self.runner, self.speed = runner, speed
        self._halt = threading.Event()

    def run(self) -> None:
        last = time.monotonic()
        while not self._halt.wait(TICK_S):
            now = time.monotonic()
            self.runner.advance((now - last) * self.speed)
            last = now

    def stop(self) -> None:
        self._halt.set()
        self.join(5)


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str, signal: Any = None) -> None:
    """Run the event loop until ``condition()`` holds (checked on ``signal`` and every 50 ms)."""
    if condition():
        return
    loop = QEventLoop()
    check = QTimer()
    check.setInterval(50)
    expired = [False]

    def poke() -> None:
        if condition():
            loop.quit()

    def give_up() -> None:
        expired[0] = True
        loop.quit()

    check.timeout.connect(poke)
    if signal is not None:
        signal.connect(poke)
    QTimer.singleShot(int(timeout_s * 1000), give_up)
    check.start()
    loop.exec()
    check.stop()
    if signal is not None:
        signal.disconnect(poke)
    if expired[0] and not condition():
        raise ScreenshotError(f"gave up after {timeout_s:g} s waiting for {what}")


def settle(ctx: ViewContext, timeout_s: float = 20.0, rounds: int = 2) -> None:
    """Until the history answers queued so far are drawn (``rounds`` times, for pages that ask
    again once the first answers are in)."""
    for _ in range(rounds):
        _one_round(ctx, timeout_s)


def _one_round(ctx: ViewContext, timeout_s: float) -> None:
    done = [False]
    if ctx.history is not None:
        marker = ctx.history.events(limit=1)
        marker.add_done_callback(lambda _f: ctx.bridge.post(lambda: done.__setitem__(0, True)))
    else:
        ctx.bridge.post(lambda: done.__setitem__(0, True))

    def drawn() -> bool:
        ctx.bridge.drain()  # hand posted answers over now rather than at the next 250 ms tick
        return done[0]

    wait_until(drawn, timeout_s, "the history answers to be drawn")


def take(runner: Any, db_path: str | Path, out_dir: str | Path, themes: Sequence[str] = ("light",),
         timeout_s: float = 60.0) -> list[Path]:
    """Open the window on the demo ``runner`` (its servers running, its model at "now") over
    ``db_path``; save each page as OUT/<name>.png (OUT/<name>-dark.png for the dark theme)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    start_app(themes[0])
    clock = _ModelClock(runner)
    clock.start()
    cs: ConsoleSession | None = None
    saved: list[Path] = []
    try:
        cs = ConsoleSession(runner.site_model(), db_path, demo=True, demo_hooks=runner,
                            source_factory=runner.source_factory, credential_resolver=runner.resolve,
                            window=False)
        ctx = cs.ctx
        # the window opens once every device has reported, so each page's first look (and the
        # history it asks for) is of a site with data, as a person opening the window sees it
        wait_until(lambda: all(v.status is not None for v in ctx.live.devices()), timeout_s,
                   "every demo device to report once", ctx.bridge.changed)
        w = cs.open_window()
        w.resize(*SIZE)
        for name in themes:
            w.set_theme(name, save=False)
            for page_name, page in w.pages.items():
                w.tabs.setCurrentWidget(page)
                settle(ctx)
                w.refresh()
                path = out / (f"{page_name}.png" if name == "light" else f"{page_name}-{name}.png")
                if not w.grab().save(str(path), "PNG"):
                    raise ScreenshotError(f"cannot write {path}")
                saved.append(path)
    finally:
        if cs is not None:
            cs.close()
        clock.stop()
    return saved


__all__ = ["ScreenshotError", "settle", "take", "wait_until"]
