"""The ``heatrack`` subcommands, one module each. Each parses nothing (console/cli.py does) and
wires nothing by hand: the ones that poll or record build a ``console.session.Session``."""
