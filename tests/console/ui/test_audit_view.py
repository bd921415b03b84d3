"""Audit page: the log's rows in words (before, asked, read back), reloaded when this window's
control acts, so a refusal is there right after it; the hash chain verified through the
history service (a tampered entry is named); the whole log exported to CSV, one-line error
when the file cannot be written."""
from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from console.audit_csv import COLUMNS, ExportError, write_csv
from console.ui.audit_view import AuditView
from console.ui.write_dialog import WriteDialog
from protocols.base import SetSetpoint
from tests.fakes.views import view_context
from tests.fakes.writes import Clock, make_control, private_settings


@pytest.fixture(autouse=True)
def _settings(monkeypatch, tmp_path: Path) -> None:
    private_settings(monkeypatch, tmp_path)


@pytest.fixture
def site(qtbot, tmp_path: Path):
    clock = Clock()
    ctx, feeder = view_context(qtbot, db_path=tmp_path / "site.db", wall=clock)
    feeder.step(60)
    control, store, engine = make_control(tmp_path, ctx.site, ctx.live, clock)  # writes tmp_path/site.db
    ctx.control = control
    yield ctx, control, store, engine
    store.close()


def results(v: AuditView) -> list[tuple[str, str, str]]:
    t = v.table
    return [(t.cell(r, "Action"), t.cell(r, "Target"), t.cell(r, "Result")) for r in range(t.rowCount())]


def test_a_refused_write_is_in_the_audit_view_right_after(site, qtbot) -> None:
    ctx, control, store, _ = site
    control.unlock("Jo", 10, "commissioning")
    store.flush()
    v = AuditView(ctx)
    qtbot.addWidget(v)
    qtbot.waitUntil(lambda: v.table.rowCount() == 1, timeout=3000)
    d = WriteDialog(ctx, "heat1", SetSetpoint("supply_setpoint", 85))
    qtbot.addWidget(d)
    with qtbot.waitSignal(d.write_finished, timeout=3000):
        d.confirm()
    qtbot.waitUntil(lambda: v.table.rowCount() == 2, timeout=3000)  # no Reload pressed
    action, target, result = results(v)[0]
    assert (action, target) == ("set setpoint", "heat1/supply_setpoint")
    assert result.startswith("refused: 85 °C is above the site's max loop temperature")
    assert v.table.cell(0, "After") == "asked 85"
    assert v.table.cell(1, "After") == "for 10 min: commissioning"
    font = Qt.ItemDataRole.FontRole
    assert v.table.data(0, 7, font).bold() and v.table.data(1, 7, font) is None


def test_an_accepted_write_shows_what_was_read_back(site, qtbot) -> None:
    ctx, control, *_ = site
    control.unlock("Jo", 10)
    v = AuditView(ctx)
    qtbot.addWidget(v)
    d = WriteDialog(ctx, "heat1", SetSetpoint("supply_setpoint", 60))
    qtbot.addWidget(d)
    with qtbot.waitSignal(d.write_finished, timeout=3000):
        d.confirm()
    qtbot.waitUntil(lambda: v.table.rowCount() == 2, timeout=3000)
    assert results(v)[0] == ("set setpoint", "heat1/supply_setpoint", "ok")
    assert v.table.cell(0, "After") == "asked 60, read back 60" and v.table.cell(0, "Who") == "Jo"
    assert v.table.cell(0, "Before") == "55 °C"  # the setpoint's latest reading when it was asked


def test_verify_chain_intact_then_names_a_tampered_entry(site, qtbot, tmp_path: Path) -> None:
    ctx, control, store, _ = site
    control.unlock("Jo", 10)
    control.lock("Jo")
    store.flush()
    v = AuditView(ctx)
    qtbot.addWidget(v)
    v.verify()
    qtbot.waitUntil(lambda: v.chain.property("intact") is True, timeout=3000)
    assert v.chain.text().startswith("Chain intact: 2 entries, last #2 (")
    c = sqlite3.connect(tmp_path / "site.db")
    c.execute("DROP TRIGGER audit_append_only_u")
    c.execute("UPDATE audit SET actor = 'Mallory' WHERE id = 1")
    c.commit()
    c.close()
    v.verify()
    qtbot.waitUntil(lambda: v.chain.property("intact") is False, timeout=3000)
    assert v.chain.text().startswith("Chain BROKEN: ") and "1" in v.chain.text()
    assert "\n" not in v.chain.text()


def test_export_writes_every_entry_oldest_first(site, qtbot, tmp_path: Path) -> None:
    ctx, control, store, _ = site
    control.unlock("=HYPERLINK(\"x\")", 10, "+reason")  # typed by a person: never a formula
    control.lock("Jo")
    store.flush()
    v = AuditView(ctx)
    qtbot.addWidget(v)
    out = tmp_path / "audit.csv"
    assert v.export_csv(str(out)).result(5) == 2
    qtbot.waitUntil(lambda: v.status.text().startswith("Exported 2 entries to "), timeout=3000)
    with out.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == COLUMNS
    first, second = (dict(zip(COLUMNS, r, strict=True)) for r in rows[1:])
    assert (first["id"], first["action"], first["result"]) == ("1", "control_unlock", "ok")
    assert first["actor"] == "'=HYPERLINK(\"x\")" and first["after"] == "for 10 min: +reason"
    assert first["after_json"] == '{"minutes": 10.0, "reason": "+reason"}'
    assert first["time_utc"].endswith("Z") and second["action"] == "control_lock"


def test_export_failure_is_one_line(site, qtbot, tmp_path: Path) -> None:
    ctx, *_ = site
    v = AuditView(ctx)
    qtbot.addWidget(v)
    fut = v.export_csv(str(tmp_path / "no-such-dir" / "audit.csv"))
    with pytest.raises(ExportError):
        fut.result(5)
    qtbot.waitUntil(lambda: v.status.text().startswith("Not exported: cannot write "), timeout=3000)
    assert "\n" not in v.status.text() and "No such file or directory" in v.status.text()
    assert not list(tmp_path.glob("no-such-dir*"))


def test_the_json_columns_read_as_words() -> None:
    from console.audit_text import after_text, before_text

    assert before_text('{"ts": 1.0, "unit": "W", "value": null}') == "no value"  # BMC without a cap
    assert before_text('{"ts": 1.0, "unit": "\\u00b0C", "value": 55.0}') == "55 °C"
    assert after_text('{"readback": 61.99, "requested": 62}') == "asked 62, read back 61.99"
    assert after_text('{"requested": "on"}') == "asked on"
    assert after_text('[1, 2]') == "[1, 2]" and after_text("not json") == "not json" and before_text(None) == ""


def test_write_csv_leaves_no_partial_file(tmp_path: Path) -> None:
    class Boom:
        id, ts = 1, 0.0

        def __getattr__(self, name):
            raise OSError(28, "No space left on device")

    target = tmp_path / "a.csv"
    with pytest.raises(OSError):
        write_csv(target, [Boom()])
    assert list(tmp_path.iterdir()) == []


def test_without_a_database_the_page_says_so(qtbot) -> None:
    ctx, _ = view_context(qtbot)
    v = AuditView(ctx)
    qtbot.addWidget(v)
    assert "No site database" in v.status.text() and not v.export_button.isEnabled()
