"""The demo site's documented credentials. Public on purpose: the demo equipment listens on
127.0.0.1 only and these let any client (ours, snmpwalk, the Redfish validator) log in.

Site files name them as ``credentials = "demo:NAME"``; this module registers ``credentials``
as the "demo" scheme of ``console.secrets`` (which imports nothing of the demo), and every
heatrack command registers a loader of it (console/commands/__init__.py).
"""
from __future__ import annotations

from console.secrets import SecretError, register_scheme
from protocols.base import Credentials

BMC_USER = "admin"
BMC_PASSWORD = "heatrack-demo"
COMMUNITY_RO = "demo-ro"
COMMUNITY_RW = "demo-rw"
V3_USER = "heatrack"
V3_AUTH_KEY = "heatrack-auth"  # HMAC-SHA-96
V3_PRIV_KEY = "heatrack-priv"  # AES-128

DEMO_CREDENTIALS: dict[str, Credentials] = {
    "bmc": Credentials(username=BMC_USER, password=BMC_PASSWORD),
    "snmp-ro": Credentials(community=COMMUNITY_RO),
    "snmp-rw": Credentials(community=COMMUNITY_RW),
    "snmp-v3": Credentials(username=V3_USER, auth_key=V3_AUTH_KEY, priv_key=V3_PRIV_KEY,
                           auth_protocol="SHA", priv_protocol="AES"),
}


def credentials(name: str) -> Credentials:
    """The demo credentials called ``name``; unknown names raise SecretError."""
    try:
        return DEMO_CREDENTIALS[name]
    except KeyError:
        raise SecretError(f"no demo credentials {name!r} (known: {', '.join(sorted(DEMO_CREDENTIALS))})") from None


def describe() -> list[str]:
    """One line per credential set, for ``heatrack demo --serve`` users (snmpwalk, curl)."""
    return [
        f"demo:bmc      Redfish user {BMC_USER!r}, password {BMC_PASSWORD!r}",
        f"demo:snmp-ro  SNMPv2c community {COMMUNITY_RO!r} (read)",
        f"demo:snmp-rw  SNMPv2c community {COMMUNITY_RW!r} (read/write)",
        f"demo:snmp-v3  SNMPv3 user {V3_USER!r} authPriv SHA {V3_AUTH_KEY!r} / AES {V3_PRIV_KEY!r}",
    ]


register_scheme("demo", credentials)  # demo:NAME resolves wherever the demo is loaded
