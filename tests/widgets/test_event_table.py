"""The events table: plain rows in, sorted by meaning, severity by shape and word (colour only
for alarm and critical), acknowledge signal with the selected unacknowledged ids."""
from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt

from widgets.event_table import EventRow, EventTable, when_text

NOW = dt.datetime(2026, 3, 10, 14, 0).timestamp()  # local time


def rows() -> list[EventRow]:
    return [
        EventRow(1, NOW - 3 * 86400, "info", "srv1", "device_ok", "srv1 answers again"),
        EventRow(2, NOW - 600, "warning", "srv3", "device_unreachable", "no answer", "Sam", NOW - 300),
        EventRow(3, NOW - 300, "critical", "heat1", "overtemp", "supply 78 °C"),
        EventRow(4, NOW - 60, "alarm", "heat1", "pump_fault", "pump stopped"),
        EventRow(None, NOW - 30, "alarm", "heat1", "low_flow", "flow 0 L/min"),
    ]


def test_time_has_the_date_only_when_not_today() -> None:
    assert when_text(NOW - 60, NOW) == "13:59:00"
    assert when_text(NOW - 3 * 86400, NOW) == "2026-03-07 14:00"


def test_rows_show_newest_first_with_words_and_who_acknowledged(qtbot) -> None:
    t = EventTable()
    qtbot.addWidget(t)
    t.set_events(rows(), NOW)
    assert t.row_ids() == [None, 4, 3, 2, 1]
    assert [t.cell(r, "Severity") for r in range(5)] == ["ALARM", "ALARM", "CRITICAL", "warning", "info"]
    assert t.cell(3, "Acknowledged") == "Sam at 13:55:00"
    assert t.cell(4, "Time") == "2026-03-07 14:00" and t.cell(2, "Kind") == "overtemp"
    assert t.cell(1, "Kind") == "pump fault"


def test_only_alarm_and_critical_are_coloured(qtbot) -> None:
    t = EventTable()
    qtbot.addWidget(t)
    t.set_events(rows(), NOW)
    fg = Qt.ItemDataRole.ForegroundRole
    colours = {t.cell(r, "Severity"): t.data(r, 1, fg) for r in range(5)}
    assert colours["warning"] is None and colours["info"] is None  # the palette's own text colour
    assert colours["ALARM"].color() != colours["CRITICAL"].color()
    assert t.data(3, 4, fg) is None and t.data(1, 4, fg).color() == colours["ALARM"].color()  # messages
    assert t.data(1, 1, Qt.ItemDataRole.FontRole).bold()
    icons = [t.data(r, 1, Qt.ItemDataRole.DecorationRole) for r in range(5)]
    assert all(not i.isNull() for i in icons)  # a shape for each
    assert len({i.pixmap(16).toImage().bits().tobytes() for i in icons}) == 4  # one per severity


def test_sorting_by_severity_uses_its_rank_not_its_text(qtbot) -> None:
    t = EventTable()
    qtbot.addWidget(t)
    t.set_events(rows(), NOW)
    t.sortByColumn(1, Qt.SortOrder.DescendingOrder)
    assert [t.cell(r, "Severity") for r in range(5)] == ["CRITICAL", "ALARM", "ALARM", "warning", "info"]


def test_acknowledge_emits_selected_unacknowledged_ids_only(qtbot) -> None:
    t = EventTable()
    qtbot.addWidget(t)
    t.set_events(rows(), NOW)
    t.select_ids([2, 3, 4])  # 2 is acknowledged already; the id-less row cannot be selected by id
    with qtbot.waitSignal(t.acknowledge_requested, timeout=1000) as blocker:
        t.request_acknowledge()
    assert sorted(blocker.args[0]) == [3, 4]


def test_selection_survives_new_rows(qtbot) -> None:
    t = EventTable()
    qtbot.addWidget(t)
    t.set_events(rows(), NOW)
    t.select_ids([3])
    t.set_events([EventRow(9, NOW - 1, "alarm", "ups1", "on_battery", "mains lost"), *rows()], NOW)
    assert t.selected_ids() == [3]
