from __future__ import annotations

from widgets.device_table import DeviceRow, DeviceTable, age_text
from widgets.value_table import ValueRow, ValueTable, format_value

NOW = 1_767_225_600.0


def test_device_table_updates_rows_in_place_and_emits_selection(qtbot) -> None:
    t = DeviceTable()
    qtbot.addWidget(t)
    rows = [DeviceRow("srv1", "GPU server", "server", "127.0.0.1:1", "ok", "", NOW - 5, 40),
            DeviceRow("ups1", "", "ups", "127.0.0.1:2", "unreachable", "no SNMP response within 2 s", None, 0)]
    t.set_devices(rows, NOW)
    assert t.rowCount() == 2
    assert t.state_of("ups1") == "unreachable"
    assert t.item(1, 4).text() == "never"
    assert "no SNMP response" in t.item(1, 6).text()
    t.set_devices([DeviceRow("ups1", "", "ups", "127.0.0.1:2", "ok", "", NOW, 12)], NOW)
    assert t.rowCount() == 2 and t.state_of("ups1") == "ok"
    with qtbot.waitSignal(t.device_selected) as sig:
        t.selectRow(1)
    assert sig.args == ["ups1"]


def test_age_and_value_formatting() -> None:
    assert age_text(NOW - 12, NOW) == "12 s ago"
    assert age_text(NOW - 600, NOW) == "10 min ago"
    assert age_text(None, NOW) == "never"
    assert format_value(None, "°C") == "—"
    assert format_value(21.456, "°C") == "21.5 °C"
    assert format_value(1534.2, "W") == "1,534 W"
    assert format_value("on_battery", "") == "on battery"


def test_stale_values_are_marked_not_shown_as_live(qtbot) -> None:
    t = ValueTable()
    qtbot.addWidget(t)
    t.set_values([ValueRow("inlet", "temperature", 24.0, "°C", NOW - 40, stale=True),
                  ValueRow("chassis", "power", 812.0, "W", NOW - 2)], NOW)
    texts = {t.item(r, 0).text(): t.item(r, 3).text() for r in range(t.rowCount())}
    assert texts["inlet"].startswith("stale")
    assert texts["chassis"] == "2 s ago"
