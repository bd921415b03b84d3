"""The Audit page: every write, unlock and refusal from the site database's append-only log.

Rows come from ``ctx.history.audit_log()`` (off the GUI thread), when the page opens, on
"Reload", and when this window's control acts (an unlock, a lock, a write: the audit row is
committed within the store's commit interval, so the page reads again shortly after). "Verify
chain" walks the hash chain (``HistoryService.verify_audit``) and names the first broken link.
"Export CSV…" writes the whole log (``export_csv(path)``, off the GUI thread too)."""
from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from console.audit_csv import ExportError, write_csv
from console.audit_text import after_text, before_text, is_ok
from console.ui.context import ViewContext
from console.ui.control_events import control_events
from console.ui.worker import Worker
from widgets.audit_table import AuditRow, AuditTable

SHOWN = 2000  # newest entries in the table
EXPORT_ALL = 10_000_000  # the export reads the whole log
RELOAD_AFTER_ACT_MS = (200, 1500)  # the store commits at least once a second


def to_row(e: Any) -> AuditRow:
    raw = "\n".join(x for x in (f"before: {e.before}" if e.before else "", f"after: {e.after}" if e.after else "")
                    if x)
    return AuditRow(e.id, e.ts, e.actor, e.action, e.target, before_text(e.before), after_text(e.after),
                    e.result, is_ok(e.result), raw)


def chain_text(report: Any) -> tuple[bool, str]:
    if report.intact:
        head = f", last #{report.head_id} ({report.head[:12]}…)" if report.entries else ""
        return True, f"Chain intact: {report.entries:,} entries{head}"
    more = f" (and {len(report.problems) - 1} more)" if len(report.problems) > 1 else ""
    return False, f"Chain BROKEN: {report.problems[0]}{more}"


class AuditView(QWidget):
    title = "Audit"

    def __init__(self, ctx: ViewContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._loading = False
        self._again = False
        self._pool = Worker("heatrack-export")
        self.table = AuditTable()
        self.table.setToolTip("The append-only audit log of this site: every write, unlock and refusal")
        self.reload_button = QPushButton("Reload")
        self.reload_button.setToolTip("Read the audit log again from the site database")
        self.verify_button = QPushButton("Verify chain")
        self.verify_button.setToolTip("Check the hash chain: a changed, missing or inserted entry is named")
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("Write the whole audit log to a CSV file")
        self.status = QLabel()
        self.chain = QLabel()
        self.chain.setWordWrap(True)
        self.reload_button.clicked.connect(self.reload)
        self.verify_button.clicked.connect(self.verify)
        self.export_button.clicked.connect(self.ask_export)
        bar = QHBoxLayout()
        bar.addWidget(self.status)
        bar.addStretch(1)
        for b in (self.reload_button, self.verify_button, self.export_button):
            bar.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.chain)
        layout.addWidget(self.table)
        self.chain.hide()
        if ctx.history is None:
            for b in (self.reload_button, self.verify_button, self.export_button):
                b.setEnabled(False)
            self.status.setText("No site database: the audit log is unavailable in this window")
        if ctx.control is not None:
            control_events(ctx.control).acted.connect(self._control_acted)
        self.destroyed.connect(lambda *_: self._pool.close())
        self.reload()

    def refresh(self) -> None:
        """Nothing live here: the log is read on demand and when control acts."""

    # ------------------------------------------------------------ reading
    def reload(self) -> None:
        history = self.ctx.history
        if history is None:
            return
        if self._loading:
            self._again = True
            return
        try:
            fut = history.audit_log(limit=SHOWN)
        except RuntimeError as e:  # closing
            self.status.setText(f"Audit log unavailable: {e}")
            return
        self._loading, self._again = True, False
        fut.add_done_callback(lambda f: self.ctx.bridge.post(lambda: self._loaded(f)))

    def _loaded(self, fut: Future[Any]) -> None:
        self._loading = False
        try:
            entries = fut.result()
        except Exception as e:  # noqa: BLE001 - StoreError: one line
            self.status.setText(f"Audit log unavailable: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
        else:
            self.table.set_audit([to_row(e) for e in entries], self.ctx.wall())
            n = len(entries)
            newest = " (the newest)" if n >= SHOWN else ""
            self.status.setText(f"{n:,} entr{'ies' if n != 1 else 'y'}{newest}")
        if self._again:
            self.reload()

    def _control_acted(self, what: str) -> None:
        for ms in RELOAD_AFTER_ACT_MS:
            QTimer.singleShot(ms, self, self.reload)

    # ------------------------------------------------------------ verifying
    def verify(self) -> Future[Any] | None:
        history = self.ctx.history
        if history is None:
            return None
        self.chain.setText("Verifying the chain…")
        self.chain.show()
        fut = history.verify_audit()
        fut.add_done_callback(lambda f: self.ctx.bridge.post(lambda: self._verified(f)))
        return fut

    def _verified(self, fut: Future[Any]) -> None:
        try:
            ok, text = chain_text(fut.result())
        except Exception as e:  # noqa: BLE001
            ok, text = False, f"Cannot verify the chain: {str(e).splitlines()[0] if str(e) else type(e).__name__}"
        self.chain.setText(text)
        font = self.chain.font()
        font.setBold(not ok)
        self.chain.setFont(font)
        self.chain.setStyleSheet("" if ok else "color: #c62828;")  # a broken chain is an alarm
        self.chain.setProperty("intact", ok)

    # ------------------------------------------------------------ export
    def ask_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the audit log", "heatrack-audit.csv",
                                              "CSV files (*.csv)")
        if path:
            self.export_csv(path)

    def export(self) -> None:
        """The window's File ▸ Export page… on this page: the CSV of the whole log."""
        self.ask_export()

    def export_csv(self, path: str) -> Future[int] | None:
        """Write the whole audit log to ``path`` off the GUI thread; the status line says how
        many rows, or in one line why not. Returns the Future (the row count)."""
        history = self.ctx.history
        if history is None:
            return None
        self.status.setText(f"Exporting to {path}…")

        def work() -> int:
            return write_csv(path, history.audit_log(limit=EXPORT_ALL).result())

        fut = self._pool.submit(work)
        fut.add_done_callback(lambda f: self.ctx.bridge.post(lambda: self._exported(f, path)))
        return fut

    def _exported(self, fut: Future[int], path: str) -> None:
        try:
            n = fut.result()
        except ExportError as e:
            self.status.setText(f"Not exported: {e}")
        except Exception as e:  # noqa: BLE001 - the store's one line
            self.status.setText(f"Not exported: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
        else:
            self.status.setText(f"Exported {n:,} entr{'ies' if n != 1 else 'y'} to {path}")


__all__ = ["AuditView", "chain_text", "to_row"]
