"""The window's background worker: jobs in order on one daemon thread, results and errors in
Futures, and nothing that would hold the interpreter's exit (a ThreadPoolExecutor left open by
a page did: tests/console/test_engine_shutdown.py saw its thread after the demo window ran)."""
from __future__ import annotations

import threading

import pytest

from console.ui.worker import Worker
from tests.support import wait_until


def test_jobs_run_in_order_off_the_caller_thread_with_errors_in_the_future() -> None:
    w = Worker("heatrack-test")
    seen: list[tuple[int, str]] = []
    futs = [w.submit(lambda i=i: seen.append((i, threading.current_thread().name)) or i) for i in range(5)]
    assert [f.result(5) for f in futs] == list(range(5))
    assert [i for i, _ in seen] == list(range(5)) and {n for _, n in seen} == {"heatrack-test"}
    bad = w.submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        bad.result(5)
    w.close()
    with pytest.raises(RuntimeError, match="closed"):
        w.submit(lambda: None)


def test_a_worker_never_holds_the_interpreter_and_ends_when_closed() -> None:
    release = threading.Event()
    w = Worker("heatrack-stuck")
    w.submit(lambda: release.wait(10))
    (t,) = [t for t in threading.enumerate() if t.name == "heatrack-stuck"]
    assert t.daemon  # a stuck job (a dead device) cannot keep the program alive at exit
    w.close()
    release.set()
    wait_until(lambda: not t.is_alive(), timeout=5, what="the worker thread to end")


def test_a_dropped_worker_ends_its_thread() -> None:
    w = Worker("heatrack-dropped")
    w.submit(lambda: None).result(5)
    (t,) = [t for t in threading.enumerate() if t.name == "heatrack-dropped"]
    del w
    wait_until(lambda: not t.is_alive(), timeout=5, what="the dropped worker's thread to end")


def test_the_window_loop_collects_garbage_only_on_the_gui_thread(qtbot) -> None:  # noqa: ANN001
    """While the window runs, automatic collection is off (it would run on whichever thread
    allocates) and a GUI timer collects; afterwards it is on again."""
    import gc

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from console.ui.app import exec_collecting

    seen: list[bool] = []
    QTimer.singleShot(50, lambda: (seen.append(gc.isenabled()), QApplication.quit()))
    assert exec_collecting(QApplication.instance()) == 0
    assert seen == [False] and gc.isenabled()
