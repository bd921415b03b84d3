"""Background work for the window: one daemon thread per worker, jobs in order, a Future each.

The window hands slow work (reading the demo's faults, writing an export, probing an address)
to a worker so the GUI thread never waits. ``concurrent.futures.ThreadPoolExecutor`` would do,
except that its threads are joined at interpreter exit: a page that was never closed (or a job
stuck on a dead device) would then hold the program open. A worker's thread is a daemon and
ends when the worker is closed or garbage-collected with nothing queued."""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")
_STOP = object()


class Worker:
    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, args=(self._jobs,), name=name, daemon=True)
        self._thread.start()

    @staticmethod
    def _run(jobs: queue.SimpleQueue[Any]) -> None:  # no reference to the worker: it can be collected
        while True:
            job = jobs.get()
            if job is _STOP:
                return
            fut, fn = job
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn())
            except BaseException as e:  # noqa: BLE001 - handed to whoever waits on the Future
                fut.set_exception(e)

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        if self._closed:
            raise RuntimeError("worker is closed")
        fut: Future[T] = Future()
        self._jobs.put((fut, fn))
        return fut

    def close(self) -> None:
        """Let the thread end after the job it runs; queued jobs still run first. Idempotent."""
        if not self._closed:
            self._closed = True
            self._jobs.put(_STOP)

    def __del__(self) -> None:
        self.close()


__all__ = ["Worker"]
