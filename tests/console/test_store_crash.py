"""Nothing is lost: SIGKILL a writer mid-ingest; the file opens cleanly and holds every
batch committed before the kill, and no half batch."""
from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from console.store import Store
from tests.support import REPO

CHILD = r"""
import sys, itertools, time
from console.store import Store
from protocols.base import Reading

def report(rows):
    print(f"committed {rows}", flush=True)

s = Store(sys.argv[1], commit_interval=0.1, on_commit=report)
for batch in itertools.count():
    # 100 readings per batch, one series per batch number so batches can be checked whole
    s.add_readings(Reading(1_767_225_600 + i, "dev", f"b{batch}", "power", float(i), "W") for i in range(100))
    time.sleep(0.002)  # pacing only: a steady load generator, ~50k readings/s
"""


def test_sigkill_mid_ingest_loses_nothing_committed(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(db)], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    committed = 0
    commits = 0
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # blocks on the child's output, no sleeps
            assert line.startswith("committed "), line
            committed = int(line.split()[1])
            commits += 1
            if commits >= 5 and committed > 0:
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.kill()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert committed >= 100

    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    per_batch = conn.execute("SELECT s.channel, count(*) FROM samples JOIN series s ON s.id = series_id "
                             "GROUP BY s.channel").fetchall()
    conn.close()
    total = sum(n for _, n in per_batch)
    assert total >= committed  # everything reported committed is there (maybe one more commit)
    assert all(n == 100 for _, n in per_batch)  # no half batch

    with Store(db) as s:  # and heatrack itself opens it and keeps going
        assert len(s.series()) == len(per_batch)
        rollup_n = sum(p.n for p in s.range("dev/b0/power", 1_767_225_600, 1_767_225_700, resolution="1m"))
        assert rollup_n == 100
