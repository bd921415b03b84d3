"""Resolve a site's credentials reference to secrets. Secrets live in the OS keyring (or,
for CI and containers, an environment variable); they never touch the site file, the
database, the logs or a report."""
from __future__ import annotations

import json
import os
from collections.abc import Callable

from protocols.base import Credentials

KEYRING_SERVICE = "heatrack"


class SecretError(Exception):
    pass


def _parse(raw: str) -> Credentials:
    raw = raw.strip()
    if raw.startswith("{"):
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as e:
            raise SecretError(f"stored secret is not valid JSON: {e.msg}") from None
        allowed = {f for f in Credentials.__dataclass_fields__}
        unknown = set(data) - allowed
        if unknown:
            raise SecretError(f"stored secret has unknown fields: {', '.join(sorted(unknown))}")
        return Credentials(**data)
    return Credentials(password=raw, community=raw)


def resolve(ref: str | None, *, demo: Callable[[str], Credentials] | None = None) -> Credentials:
    """Credentials for ``ref`` (``keyring:NAME``, ``env:VAR``, ``demo:NAME``; None = none)."""
    if not ref:
        return Credentials()
    scheme, _, name = ref.partition(":")
    if scheme == "env":
        value = os.environ.get(name)
        if value is None:
            raise SecretError(f"environment variable {name} is not set")
        return _parse(value)
    if scheme == "keyring":
        try:
            import keyring
            from keyring.errors import KeyringError

            value = keyring.get_password(KEYRING_SERVICE, name)
        except KeyringError as e:
            raise SecretError(f"OS keyring unavailable ({e}); use env:VAR instead") from None
        if value is None:
            raise SecretError(f"no keyring entry {KEYRING_SERVICE!r}/{name!r}: store it with "
                              f"`keyring set {KEYRING_SERVICE} {name}`")
        return _parse(value)
    if scheme == "demo":
        if demo is None:
            # The demo's credentials are public and documented, so a site file printed by
            # `heatrack demo --serve` works with `heatrack log` in another process too.
            from console.demo.credentials import credentials as demo
        return demo(name)
    raise SecretError(f"unknown credentials scheme {scheme!r}")
