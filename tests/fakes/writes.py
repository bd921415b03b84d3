"""A real Control over a fake engine and a real Store (the audit log) for the window's tests.

The fake engine carries each action out on a thread of its own against ``FakeDevice`` (the
read-back is what was asked, or what ``readback`` says; ``refuse`` makes the device refuse
the way a client does), so the GUI thread sees the Future resolve later, as in the window."""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from console.control import Control
from console.store import Store
from protocols.base import Action, ActionRefused, ActionResult


class Clock:
    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class FakeDevice:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Action]] = []
        self.refuse: str | None = None  # the client's refusal, e.g. the BMC's own range
        self.readback: Callable[[Action], Any] = lambda a: a.requested
        self.release = threading.Event()  # cleared: hold the write (a slow device)
        self.release.set()

    async def perform(self, device_id: str, action: Action) -> ActionResult:
        self.calls.append((device_id, action))
        if self.refuse:
            raise ActionRefused(device_id, "127.0.0.1:1", f"{action.describe()}: {self.refuse}")
        got = self.readback(action)
        return ActionResult(device_id, action.name, action.target, action.requested, got, got == action.requested)


class FakeEngine:
    def __init__(self) -> None:
        self.device = FakeDevice()

    def subscribe(self, cb: Any) -> Callable[[], None]:
        return lambda: None

    def run_action(self, device_id: str, fn: Callable[[Any], Any]) -> Future[Any]:
        out: Future[Any] = Future()
        dev = self.device

        class _Source:
            async def perform(self, action: Action) -> ActionResult:
                return await dev.perform(device_id, action)

        def run() -> None:
            dev.release.wait(10)
            try:
                out.set_result(asyncio.run(fn(_Source())))
            except Exception as e:  # noqa: BLE001
                out.set_exception(e)

        threading.Thread(target=run, daemon=True).start()
        return out


def make_control(tmp_path: Path, site: Any, live: Any, clock: Clock) -> tuple[Control, Store, FakeEngine]:
    store = Store(tmp_path / "site.db", commit_interval=0.05)
    engine = FakeEngine()
    return Control(site, engine, store, clock=clock, live=live), store, engine


def private_settings(monkeypatch: Any, tmp_path: Path) -> None:
    """The remembered name goes to a file in tmp_path, never the user's settings."""
    from PySide6.QtCore import QSettings

    from console.ui import who

    path = str(tmp_path / "settings.ini")
    monkeypatch.setattr(who, "settings_factory", lambda: QSettings(path, QSettings.Format.IniFormat))
