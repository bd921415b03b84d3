"""``heatrack audit``: list the audit log of a site database, or check its hash chain."""
from __future__ import annotations

import argparse
import sqlite3
import sys

from console.store.audit import _when


def audit_command(args: argparse.Namespace) -> int:
    """``heatrack audit --db FILE [--verify] [--limit N]``: read-only, so it works beside a
    running writer."""
    from console.store import Store, StoreError

    if args.limit < 0:
        print("heatrack audit: --limit must be >= 0", file=sys.stderr)
        return 2
    try:
        store = Store(args.db, readonly=True)
    except StoreError as e:
        print(f"heatrack audit: {e}", file=sys.stderr)
        return 1
    try:
        if args.verify:
            report = store.verify_audit()
            if report.intact:
                head = (f"; head: entry {report.head_id} sha256 {report.head}" if report.head_id else "")
                print(f"{report.entries} entr{'y' if report.entries == 1 else 'ies'}, chain intact{head}")
                return 0
            n = report.entries
            print(f"{args.db}: audit log NOT intact ({n} entr{'y' if n == 1 else 'ies'}):")
            for p in report.problems:
                print(f"  {p}")
            return 1
        entries = store.audit_log(limit=args.limit or 2**62)[::-1]
        if not entries:
            print("no audit entries")
            return 0
        print(f"{'#':>5}  {'time (UTC)':<19}  {'actor':<12} {'action':<18} {'target':<16} change -> result")
        for entry in entries:
            change = f"{entry.before or '-'} -> {entry.after or '-'}"
            print(f"{entry.id:>5}  {_when(entry.ts):<19}  {entry.actor:<12} {entry.action:<18} "
                  f"{entry.target:<16} {change}  [{entry.result}]")
        return 0
    except (StoreError, sqlite3.DatabaseError) as e:
        print(f"heatrack audit: {args.db}: {e}", file=sys.stderr)
        return 1
    finally:
        store.close()
