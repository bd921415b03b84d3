"""Control panel: locked by default, unlock asks who (required), how long and why, shows the
time left counting down and locks itself when it runs out; every unlock is audited."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from console.ui.control_panel import ControlPanel
from tests.fakes.views import view_context
from tests.fakes.writes import Clock, make_control, private_settings


@pytest.fixture(autouse=True)
def _settings(monkeypatch, tmp_path: Path) -> None:
    private_settings(monkeypatch, tmp_path)


@pytest.fixture
def panel(qtbot, tmp_path: Path):
    clock = Clock()
    ctx, _ = view_context(qtbot, wall=clock)
    control, store, _ = make_control(tmp_path, ctx.site, ctx.live, clock)
    ctx.control = control
    w = ControlPanel(ctx)
    qtbot.addWidget(w)
    yield w, control, store, clock
    store.close()


def test_locked_at_start_with_only_unlock_offered(panel) -> None:
    w, *_ = panel
    assert w.label.text() == "Control locked"
    assert w.unlock_button.isEnabled() and not w.lock_button.isEnabled()


def test_unlock_without_a_name_is_refused_in_one_line_and_audited(panel) -> None:
    w, control, store, _ = panel
    dialog = w.ask_unlock()
    dialog.name.setText("   ")
    dialog.accept()
    assert dialog.isVisible() and not control.state().unlocked
    assert dialog.error.text().startswith("Not unlocked: ") and "name of the person" in dialog.error.text()
    assert "\n" not in dialog.error.text()
    store.flush()
    [entry] = store.audit_log()
    assert (entry.action, entry.result[:8]) == ("control_unlock", "refused:")


def test_unlock_shows_who_and_the_time_left_counting_down_then_expires(panel, qtbot) -> None:
    w, control, store, clock = panel
    dialog = w.ask_unlock()
    dialog.name.setText("Jo Installer")
    dialog.minutes.setValue(12)
    dialog.reason.setText("commissioning the loop")
    with qtbot.waitSignal(w.changed, timeout=2000):
        dialog.accept()
    assert not dialog.isVisible()
    assert control.state().actor == "Jo Installer"
    assert w.label.text() == "Unlocked by Jo Installer · 12:00 left"
    assert w.lock_button.isEnabled()
    clock.t += 75
    w.refresh()
    assert w.label.text() == "Unlocked by Jo Installer · 10:45 left"
    clock.t += 11 * 60
    with qtbot.waitSignal(w.changed, timeout=2000):
        w.refresh()
    assert w.label.text() == "Control locked" and not w.lock_button.isEnabled()
    store.flush()
    assert [e.result for e in store.audit_log()] == ["expired", "ok"]  # newest first


def test_the_name_is_remembered_for_next_time(panel) -> None:
    w, control, *_ = panel
    d = w.ask_unlock()
    d.name.setText("Sam")
    d.accept()
    w.lock()
    assert not control.state().unlocked and w.label.text() == "Control locked"
    assert w.ask_unlock().name.text() == "Sam"


def test_read_only_window_offers_no_unlock(qtbot, tmp_path: Path) -> None:
    clock = Clock()
    ctx, _ = view_context(qtbot, wall=clock, read_only=True)
    control, store, _ = make_control(tmp_path, ctx.site, ctx.live, clock)
    ctx.control = control
    w = ControlPanel(ctx)
    qtbot.addWidget(w)
    assert "read-only" in w.label.text()
    assert not w.unlock_button.isEnabled() and w.ask_unlock() is None
    store.close()


def test_register_maps_are_read_off_the_gui_thread_when_the_panel_opens(qtbot, monkeypatch,
                                                                       tmp_path: Path) -> None:
    from console import write_preview

    seen: list[str] = []
    real = write_preview.load_profile

    def load(name):
        seen.append(threading.current_thread().name)
        return real(name)

    write_preview._profile.cache_clear()  # noqa: SLF001 - the cache is what is under test
    monkeypatch.setattr(write_preview, "load_profile", load)
    clock = Clock()
    ctx, _ = view_context(qtbot, wall=clock)
    control, store, _ = make_control(tmp_path, ctx.site, ctx.live, clock)
    ctx.control = control
    w = ControlPanel(ctx)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: write_preview._profile.cache_info().currsize == 1, timeout=3000)  # noqa: SLF001
    assert seen == ["heatrack-profiles"]  # heat1's map, read once, not on the GUI thread
    store.close()
