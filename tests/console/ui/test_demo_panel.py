"""Demo panel: every named fault with its description; a toggle injects or clears it through
ctx.demo off the GUI thread; the faults in force are shown, including one that fired by itself."""
from __future__ import annotations

import threading

from console.demo.faults import FAULTS
from console.ui.demo_panel import DemoPanel
from tests.fakes.views import view_context


class FakeDemo:
    """DemoHooks that records calls; ``hold`` keeps a call waiting (the runner's lock is busy)."""

    def __init__(self) -> None:
        self.faults: set[str] = set()
        self.calls: list[tuple[str, str, str]] = []  # (what, fault, thread name)
        self.hold = threading.Event()
        self.hold.set()

    def inject(self, fault: str) -> None:
        self.hold.wait(5)
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}")
        self.calls.append(("inject", fault, threading.current_thread().name))
        self.faults.add(fault)

    def clear(self, fault: str) -> None:
        self.hold.wait(5)
        self.calls.append(("clear", fault, threading.current_thread().name))
        self.faults.discard(fault)

    @property
    def active_faults(self) -> frozenset[str]:
        return frozenset(self.faults)


def test_every_fault_is_offered_with_its_description(qtbot) -> None:
    demo = FakeDemo()
    ctx, _ = view_context(qtbot, demo=demo)
    p = DemoPanel(ctx)
    qtbot.addWidget(p)
    assert list(p.toggles) == list(FAULTS)
    assert all(FAULTS[n] in box.toolTip() for n, box in p.toggles.items())
    qtbot.waitUntil(lambda: p.active == frozenset(), timeout=2000)
    assert p.status.text() == "No fault injected: the demo site runs normally."


def test_toggle_injects_then_clears_off_the_gui_thread(qtbot) -> None:
    demo = FakeDemo()
    ctx, _ = view_context(qtbot, demo=demo)
    p = DemoPanel(ctx)
    qtbot.addWidget(p)
    qtbot.waitUntil(lambda: p.active is not None, timeout=2000)
    demo.hold.clear()  # the runner is busy: the GUI must not wait for it
    p.toggles["pump-failure"].click()
    assert demo.calls == [] and not p.toggles["pump-failure"].isEnabled()
    assert p.status.text() == "Injecting pump-failure…"
    demo.hold.set()
    qtbot.waitUntil(lambda: p.active == {"pump-failure"}, timeout=2000)
    assert p.toggles["pump-failure"].isChecked() and p.toggles["pump-failure"].isEnabled()
    assert p.toggles["pump-failure"].font().bold()
    assert p.status.text() == "Injected now: pump-failure"
    p.toggles["pump-failure"].click()
    qtbot.waitUntil(lambda: p.active == frozenset(), timeout=2000)
    assert [(c[0], c[1]) for c in demo.calls] == [("inject", "pump-failure"), ("clear", "pump-failure")]
    assert all(c[2].startswith("heatrack-demo") for c in demo.calls)


def test_a_fault_that_fired_by_itself_is_shown(qtbot) -> None:
    demo = FakeDemo()
    ctx, _ = view_context(qtbot, demo=demo)
    p = DemoPanel(ctx)
    qtbot.addWidget(p)
    demo.faults.add("ups-on-battery")  # scheduled with --fault ups-on-battery@2h
    p.refresh()
    qtbot.waitUntil(lambda: p.toggles["ups-on-battery"].isChecked(), timeout=3000)
    assert p.status.text() == "Injected now: ups-on-battery"


def test_a_refused_toggle_is_undone_and_said_in_one_line(qtbot) -> None:
    demo = FakeDemo()
    ctx, _ = view_context(qtbot, demo=demo)
    p = DemoPanel(ctx)
    qtbot.addWidget(p)
    qtbot.waitUntil(lambda: p.active is not None, timeout=2000)
    p.toggles["bogus"] = p.toggles["pump-failure"]  # a name the runner does not know
    p.toggle("bogus", True).exception(5)
    qtbot.waitUntil(lambda: "not injected" in p.status.text(), timeout=2000)
    assert p.status.text() == "bogus not injected: unknown fault 'bogus'"
    assert not p.toggles["pump-failure"].isChecked()


def test_without_a_demo_nothing_can_be_toggled(qtbot) -> None:
    ctx, _ = view_context(qtbot)
    p = DemoPanel(ctx)
    qtbot.addWidget(p)
    assert not any(b.isEnabled() for b in p.toggles.values())
    assert p.toggle("pump-failure", True) is None and "Not a demo site" in p.status.text()
