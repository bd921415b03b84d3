"""The ``heatrack`` command. Each subcommand lives in console/commands/, a thin layer over
console/session.py; this file only parses arguments, so ``heatrack --help`` stays fast (no Qt import)."""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="heatrack", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    site = sub.add_parser("site", help="work with site files")
    site_sub = site.add_subparsers(dest="site_command", metavar="ACTION", required=True)
    check = site_sub.add_parser("check", help="validate a site file and report every problem")
    check.add_argument("file")

    probe = sub.add_parser("probe", help="read one device once and print JSON lines")
    probe.add_argument("url", help="redfish+http://h:p, redfish://h:p, snmp://community@h:p, "
                       "snmpv3://user@h:p?auth=SHA&priv=AES, modbus://h:p?profile=NAME&unit=1, nvml:")
    probe.add_argument("--user", help="user name (Redfish, SNMPv3)")
    probe.add_argument("--password-env", metavar="VAR",
                       help="environment variable holding the password / key / community")
    probe.add_argument("--priv-env", metavar="VAR", help="SNMPv3: variable holding the privacy key")
    probe.add_argument("--keyring", metavar="NAME", help="read credentials from the OS keyring entry NAME")
    probe.add_argument("--profile", help="force a device profile")
    probe.add_argument("--timeout", type=float, default=5.0, help="seconds (default 5)")
    probe.add_argument("--ca-file", help="Redfish over HTTPS: trust this CA instead of pinning")
    probe.add_argument("--retrust", action="store_true",
                       help="Redfish over HTTPS: forget the pinned certificate and pin the one the BMC shows now")

    log = sub.add_parser("log", help="poll a site headless and log to SQLite")
    log.add_argument("--site", required=True)
    log.add_argument("--db", required=True)
    log.add_argument("--duration", help="stop after this long (90s, 10m, 6h); default: until Ctrl-C")

    demo = sub.add_parser("demo", help="the embedded demo site (no hardware needed)")
    demo.add_argument("--headless", action="store_true", help="no GUI: run the site and the logger")
    demo.add_argument("--serve", action="store_true",
                      help="only run the simulated equipment and print its site file")
    demo.add_argument("--duration", help="simulated time to run (90s, 10m, 6h, 30d)")
    demo.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")
    demo.add_argument("--fault", action="append", default=[], metavar="NAME@T",
                      help="inject fault NAME at simulated time T (repeatable)")
    demo.add_argument("--db", help="SQLite file to log into")
    demo.add_argument("--list-faults", action="store_true", help="list fault names and exit")
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--screenshot", metavar="DIR",
                      help="fast-forward --duration (default 30h) of history, open the window offscreen or on the "
                           "display, save every page to DIR/<page>.png and exit")
    demo.add_argument("--theme", choices=("light", "dark", "both"), default="light",
                      help="--screenshot: the theme(s) to render (dark ones are saved as <page>-dark.png)")

    audit = sub.add_parser("audit", help="list the audit log of a site database, or --verify its hash chain")
    audit.add_argument("--db", required=True)
    audit.add_argument("--verify", action="store_true",
                       help="check every entry against the hash chain; exit 1 at the first broken link")
    audit.add_argument("--limit", type=int, default=50, help="list the last N entries (default 50; 0: all)")

    gui = sub.add_parser("open", help="open the console on a site file (none: the start screen)")
    gui.add_argument("site", nargs="?")
    gui.add_argument("--db")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command is None:
        from console.display import has_display

        if has_display() and os.environ.get("QT_QPA_PLATFORM") != "offscreen":  # a person at a screen
            from console.commands.open import open_command

            return open_command(argparse.Namespace(site=None, db=None))
        _parser().print_help()
        return 0
    if args.command == "site":
        from console.commands.site import check_command

        return check_command(args.file)
    if args.command == "probe":
        from console.commands.probe import probe_command

        return probe_command(args)
    if args.command == "log":
        from console.commands.log import log_command

        return log_command(args)
    if args.command == "demo":
        from console.commands.demo import demo_command

        return demo_command(args)
    if args.command == "audit":
        from console.commands.audit import audit_command

        return audit_command(args)
    if args.command == "open":
        from console.commands.open import open_command

        return open_command(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
