"""The ``heatrack`` subcommands, one module each. Each parses nothing (console/cli.py does) and
wires nothing by hand: the ones that poll or record build a ``console.session.Session``."""
from __future__ import annotations

from console.secrets import register_scheme
from protocols.base import Credentials


def _demo_credentials(name: str) -> Credentials:
    """The demo's documented credentials, loaded on first use: a site file printed by
    ``heatrack demo --serve`` works with ``heatrack log`` in another process too."""
    from console.demo.credentials import credentials

    return credentials(name)


register_scheme("demo", _demo_credentials)
