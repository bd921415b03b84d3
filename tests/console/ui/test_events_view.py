"""Events page: active events (live model) on top, the database's history below with filters;
acknowledging asks who, records it through ctx.ack and the event leaves the active list;
greyed with the reason when acknowledging is not possible; the alarm notifier announces each
new alarm once and keeps the tab's badge."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from console.recorder import RecordedEvent
from console.store import Store
from console.ui.alarm_notifier import AlarmNotifier, badge_text
from console.ui.events_view import EventsView
from tests.fakes.views import view_context
from tests.fakes.writes import private_settings


@pytest.fixture(autouse=True)
def _settings(monkeypatch, tmp_path: Path) -> None:
    private_settings(monkeypatch, tmp_path)


EVENTS = [  # (seconds ago, severity, device, kind, message)
    (7200, "info", "srv1", "device_ok", "srv1 answers again"),
    (600, "warning", "srv3", "device_unreachable", "srv3: no answer within 3.0 s"),
    (300, "alarm", "heat1", "pump_fault", "pump stopped: loop flow 0 L/min"),
    (200, "critical", "heat1", "overtemp", "supply 78 °C above the max loop temperature 70 °C"),
]


@pytest.fixture
def site(qtbot, tmp_path: Path):
    """A store with EVENTS, a context whose live model holds the unacknowledged ones, and an
    ack that works as Session.ack does (store first, then the live model forgets it)."""
    db = tmp_path / "site.db"
    store = Store(db, commit_interval=0.05)
    now = time.time()
    recorded = []
    for ago, sev, dev, kind, msg in EVENTS:
        eid = store.add_event(now - ago, sev, dev, kind, msg).result(5)
        recorded.append(RecordedEvent(eid, now - ago, sev, dev, kind, msg))
    store.flush()
    calls: list[tuple[int, str]] = []

    def ack(eid: int, by: str) -> Any:
        calls.append((eid, by))
        fut = store.ack_event(eid, by)
        fut.add_done_callback(lambda f: ctx.live.acknowledged(eid) if f.result() else None)
        return fut

    ctx, _ = view_context(qtbot, db_path=db, ack=ack)
    for e in recorded:
        ctx.live.on_event(e)  # as the recorder tells the live model (info is not kept active)
    yield ctx, store, recorded, calls
    store.close()


def shown_kinds(table) -> list[str]:
    return [table.cell(r, "Kind") for r in range(table.rowCount())]


def test_active_on_top_and_history_below(site, qtbot) -> None:
    ctx, *_ = site
    v = EventsView(ctx)
    qtbot.addWidget(v)
    assert shown_kinds(v.active) == ["overtemp", "pump fault", "device unreachable"]
    assert v.active_label.text() == "Active: 3 unacknowledged · 2 alarms"
    qtbot.waitUntil(lambda: v.history.rowCount() == 4, timeout=3000)
    assert shown_kinds(v.history)[-1] == "device ok"
    assert v.history_label.text() == "4 of 4 events"


def test_history_filters_by_severity_device_and_unacknowledged(site, qtbot) -> None:
    ctx, store, recorded, _ = site
    store.ack_event(recorded[1].id, "Sam").result(5)
    store.flush()
    v = EventsView(ctx)
    qtbot.addWidget(v)
    qtbot.waitUntil(lambda: v.history.rowCount() == 4, timeout=3000)
    v.severity.setCurrentIndex(2)  # alarm and above
    assert shown_kinds(v.history) == ["overtemp", "pump fault"]
    v.severity.setCurrentIndex(0)
    v.unacked.setChecked(True)
    assert "device unreachable" not in shown_kinds(v.history) and len(shown_kinds(v.history)) == 3
    v.unacked.setChecked(False)
    v.device.setCurrentIndex(v.device.findData("srv3"))  # asks the store for that device
    qtbot.waitUntil(lambda: shown_kinds(v.history) == ["device unreachable"], timeout=3000)
    assert v.history.cell(0, "Acknowledged").startswith("Sam at ")


def test_acknowledge_asks_who_and_removes_the_event_from_the_active_list(site, qtbot) -> None:
    ctx, store, recorded, calls = site
    v = EventsView(ctx)
    qtbot.addWidget(v)
    v.active.select_ids([recorded[2].id])
    assert v.ack_button.isEnabled()
    dialog = v.ask_acknowledge(v.active.selected_ids())
    dialog.name.setText("")
    dialog.accept()  # no name: refused in the dialog, nothing recorded
    assert dialog.isVisible() and dialog.error.text().startswith("A name is needed") and calls == []
    dialog.name.setText("Jo")
    dialog.accept()
    assert calls == [(recorded[2].id, "Jo")]
    qtbot.waitUntil(lambda: "pump fault" not in shown_kinds(v.active), timeout=3000)
    assert shown_kinds(v.active) == ["overtemp", "device unreachable"]
    assert v.status.text().startswith("1 event acknowledged by Jo at ")
    qtbot.waitUntil(lambda: any(v.history.cell(r, "Acknowledged").startswith("Jo at ")
                                for r in range(v.history.rowCount())), timeout=3000)
    # the name is offered next time
    v.active.select_ids([recorded[3].id])
    assert v.ask_acknowledge(v.active.selected_ids()).name.text() == "Jo"


def test_acknowledging_an_event_twice_says_so(site, qtbot) -> None:
    ctx, store, recorded, _ = site
    store.ack_event(recorded[3].id, "Sam").result(5)  # acknowledged elsewhere meanwhile
    v = EventsView(ctx)
    qtbot.addWidget(v)
    v.acknowledge([recorded[3].id], "Jo")
    qtbot.waitUntil(lambda: "not" in v.status.text(), timeout=3000)
    assert v.status.text().endswith(f"1 not: event {recorded[3].id}: already acknowledged")


@pytest.mark.parametrize("extra, why", [
    ({"ack": None}, "not possible in this window"),
    ({"read_only": True, "ack": lambda i, w: None}, "another heatrack writes"),
])
def test_acknowledge_is_greyed_with_the_reason(qtbot, extra, why) -> None:
    ctx, _ = view_context(qtbot, **extra)
    ctx.live.on_event(RecordedEvent(1, time.time(), "alarm", "heat1", "pump_fault", "pump stopped"))
    v = EventsView(ctx)
    qtbot.addWidget(v)
    v.active.select_ids([1])
    assert not v.ack_button.isEnabled() and why in v.ack_why.text()
    assert v.ask_acknowledge([1]) is None and why in v.status.text()
    assert v.history_label.text() == "No site database: history unavailable"


def test_notifier_announces_each_new_alarm_once_and_keeps_the_badge(qtbot) -> None:
    ctx, _ = view_context(qtbot)
    ctx.live.on_event(RecordedEvent(1, 1.0, "alarm", "heat1", "pump_fault", "from before the restart"))
    n = AlarmNotifier(ctx)
    badges: list[str] = []
    n.badge_changed.connect(badges.append)
    n.refresh()
    assert n.notified == []  # already active when the window opened: counted, not announced
    with qtbot.waitSignal(n.alarm, timeout=2000) as blocker:
        ctx.live.on_event(RecordedEvent(2, 2.0, "critical", "heat1", "overtemp", "supply 78 °C"))
    assert blocker.args[0].id == 2 and badges[-1] == "Events (2)"
    ctx.live.on_event(RecordedEvent(3, 3.0, "warning", "srv3", "device_unreachable", "no answer"))
    qtbot.waitUntil(lambda: badges[-1] == "Events (3)", timeout=2000)
    for _ in range(3):
        n.refresh()
    assert n.notified == [2]  # the warning is counted, not announced; nothing twice
    ctx.live.acknowledged(2)
    qtbot.waitUntil(lambda: badges[-1] == "Events (2)", timeout=2000)
    ctx.live.on_event(RecordedEvent(4, 4.0, "alarm", "ups1", "on_battery", "mains lost"))
    qtbot.waitUntil(lambda: n.notified == [2, 4], timeout=2000)
    assert n.tray is None  # offscreen: no system tray, and no warning about it
    assert badge_text(0) == "Events"


def test_alarms_the_equipment_reports_are_listed_and_clear_with_it(qtbot) -> None:
    ctx, feeder = view_context(qtbot)
    feeder.step(60)
    v = EventsView(ctx)
    qtbot.addWidget(v)
    assert v.reported.text() == "Equipment reports no alarm now."
    feeder.model.inject("pump-failure")
    feeder.step(60)
    v.refresh()
    assert v.reported.text() == "Equipment reports now: ▲ heat1 low flow · ▲ heat1 pump fault"
    feeder.model.clear("pump-failure")
    for _ in range(5):
        feeder.step(60)
    v.refresh()
    assert v.reported.text() == "Equipment reports no alarm now."


def test_a_stale_reported_alarm_is_not_shown_as_current(qtbot) -> None:
    from console.device_alarms import reported_alarms

    t = [0.0]
    ctx, feeder = view_context(qtbot, clock=lambda: t[0])
    feeder.model.inject("pump-failure")
    feeder.step(60)
    t[0] += 3600  # no poll for an hour
    [low, pump] = reported_alarms(ctx.live)
    assert not pump.current and pump.label().startswith("heat1 pump fault (stale, ")
