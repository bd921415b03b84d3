"""New alarms reach a person who is not looking at the Events page.

``AlarmNotifier(ctx, parent)`` watches the live model's active events on each bridge tick (on
the GUI thread: the live model's own callbacks arrive on the store writer's thread). Each
alarm or critical event it has not seen before is announced once: a desktop notification
through a tray icon where the desktop has a system tray (none offscreen, none on some
Wayland desktops: then only the badge), and ``badge_changed`` with the Events tab's title
("Events (2)": the number of active, unacknowledged events) whenever that number changes.
Events already active when the notifier starts (seeded from the store after a restart) are
counted in the badge but not announced again."""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QSystemTrayIcon

from console.recorder import RecordedEvent
from console.ui.context import ViewContext
from widgets import severity as sev

NOTIFY = frozenset({"alarm", "critical"})
MAX_SEEN = 5000  # ids remembered (the live model holds at most 1000 active)


def badge_text(count: int, title: str = "Events") -> str:
    return f"{title} ({count})" if count else title


class AlarmNotifier(QObject):
    badge_changed = Signal(str)  # "Events (2)", or "Events" when nothing is active
    count_changed = Signal(int)
    alarm = Signal(object)  # the RecordedEvent just announced (also shown in the tray)

    def __init__(self, ctx: ViewContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._seen: set[object] = set()
        self._count = -1
        self.notified: list[object] = []  # ids announced, oldest first (kept short)
        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(sev.icon("info", 32), self)
            self.tray.setToolTip("heatrack")
            self.tray.show()
        for e in ctx.live.active_events():
            self._seen.add(self._key(e))
        ctx.bridge.changed.connect(self.refresh)
        self.refresh()

    @staticmethod
    def _key(e: RecordedEvent) -> object:
        eid = getattr(e, "id", None)
        # an event the store gave no id is known by what it says and when
        return eid if eid is not None else (e.ts, e.device_id, e.kind)

    def refresh(self) -> None:
        events = self.ctx.live.active_events()
        if len(events) != self._count:
            self._count = len(events)
            self.count_changed.emit(self._count)
            self.badge_changed.emit(badge_text(self._count))
            self._update_tray(events)
        for e in reversed(events):  # oldest first, so notifications come in order
            key = self._key(e)
            if key in self._seen:
                continue
            self._seen.add(key)
            if e.severity in NOTIFY:
                self._announce(e)
        if len(self._seen) > MAX_SEEN:  # forget what is no longer active
            active = {self._key(e) for e in events}
            self._seen &= active

    def _announce(self, e: RecordedEvent) -> None:
        self.notified.append(self._key(e))
        del self.notified[:-100]
        self.alarm.emit(e)
        if self.tray is not None:
            icon = (QSystemTrayIcon.MessageIcon.Critical if e.severity == "critical"
                    else QSystemTrayIcon.MessageIcon.Warning)
            title = f"heatrack {sev.word(e.severity)}: {e.device_id}"
            self.tray.showMessage(title, e.message, icon, 15_000)

    def _update_tray(self, events: list[RecordedEvent]) -> None:
        if self.tray is None:
            return
        worst = max((e.severity for e in events), key=lambda s: sev.RANK.get(s, 0),
                    default="info")
        self.tray.setIcon(sev.icon(worst, 32))
        self.tray.setToolTip(f"heatrack — {len(events)} active event{'s' if len(events) != 1 else ''}"
                             if events else "heatrack — nothing needs attention")


__all__ = ["AlarmNotifier", "badge_text"]
