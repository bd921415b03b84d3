"""``heatrack probe URL``: read one device once and print one JSON object per reading (the
reading, URL parsing and output live in console/probe.py; this is the command around them:
exit status 0 read ok, 1 the device failed (one line on stderr), 2 usage error)."""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import threading

from console.probe import (
    CLOSE_TIMEOUT_S,
    UsageError,
    _json,
    _label,
    _one_line,
    _pinned,
    probe_device,
    spec_from_args,
)
from protocols.base import CertificateChanged, DeviceError


def probe_command(args: argparse.Namespace) -> int:
    """Entry point of ``heatrack probe``."""
    # Client libraries log their own copy of a failure (pymodbus: "Failed to connect ...");
    # the one line below says it all, so keep stderr to that line.
    logging.basicConfig(handlers=[logging.NullHandler()])
    try:
        spec = spec_from_args(args)
    except UsageError as e:
        print(f"heatrack probe: {_one_line(str(e))}", file=sys.stderr)
        return 2
    pins_before = _pinned(spec)
    if getattr(args, "retrust", False):
        if not (spec.protocol == "redfish" and spec.tls and "pin_store" in spec.options):
            print("heatrack probe: --retrust applies to redfish:// (HTTPS) without --ca-file", file=sys.stderr)
            return 2
        from protocols.redfish.client import RedfishSource

        RedfishSource(spec).retrust()
        if pins_before:
            print(f"heatrack probe: forgot the pinned certificate {pins_before} for {spec.address}", file=sys.stderr)
    done = threading.Lock()

    def watchdog() -> None:
        # A client that blocks the event loop itself would defeat wait_for: keep the promise.
        if done.acquire(blocking=False):
            print(f"heatrack probe: unreachable: {spec.id} ({spec.address or 'local'}): no complete "
                  f"answer within {spec.timeout_s:g} s (the client did not return)", file=sys.stderr, flush=True)
            os._exit(1)

    timer = threading.Timer(spec.timeout_s + CLOSE_TIMEOUT_S + 0.5, watchdog)
    timer.daemon = True
    timer.start()
    loop = asyncio.new_event_loop()
    code = 0
    try:
        result = loop.run_until_complete(probe_device(spec))
        if not done.acquire(blocking=False):
            return 1  # the watchdog is already reporting
        timer.cancel()
    except DeviceError as e:
        if not done.acquire(blocking=False):
            return 1
        timer.cancel()
        hint = ""
        if isinstance(e, CertificateChanged):
            hint = f" — if the change is expected: heatrack probe --retrust redfish://{spec.address}"
        print(f"heatrack probe: {_label(e)}: {_one_line(str(e))}{hint}", file=sys.stderr)
        code = 1
    except Exception as e:  # noqa: BLE001 - an unknown profile name (ValueError): the user's to fix; else a bug
        if not done.acquire(blocking=False):
            return 1
        timer.cancel()
        print(f"heatrack probe: {spec.id} ({spec.address or 'local'}): {_one_line(str(e))}", file=sys.stderr)
        code = 2 if isinstance(e, ValueError) else 1
    else:
        pinned = _pinned(spec)
        if pinned and pinned != pins_before:
            print(f"heatrack probe: pinned certificate SHA-256 {pinned} for {spec.address} (first use); "
                  "a different certificate will be refused", file=sys.stderr)
        if result.identity is not None and not result.identity.empty:
            # one line before the readings: {"device": ..., "identity": {manufacturer, model, serial, firmware, extra}}
            print(json.dumps({"device": spec.id, "identity": result.identity.as_json_dict()}))
        elif result.identity_error:
            print(f"heatrack probe: identity not read: {_one_line(result.identity_error)}", file=sys.stderr)
        readings = result.readings
        for r in readings:
            print(_json(r))
        if not readings:
            print(f"heatrack probe: {spec.id} ({spec.address or 'local'}): answered but gave no readings",
                  file=sys.stderr)
    finally:
        loop.close()
    sys.stdout.flush()
    sys.stderr.flush()
    stuck = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    for t in stuck:
        t.join(0.2)
    if any(t.is_alive() for t in stuck):
        # A blocking client call is still stuck in a worker thread after the timeout:
        # do not let it hold the process past the promised deadline.
        os._exit(code)
    return code
