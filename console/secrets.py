"""Resolve a site's credentials reference to secrets. Secrets live in the OS keyring (or,
for CI and containers, an environment variable); they never touch the site file, the
database, the logs or a report."""
from __future__ import annotations

import json
import os
from collections.abc import Callable

from protocols.base import Credentials

KEYRING_SERVICE = "heatrack"
BUILTIN_SCHEMES = ("keyring", "env")


class SecretError(Exception):
    pass


# scheme -> lookup(NAME). Filled by the parts that own a scheme (the demo registers "demo:"),
# so this module imports none of them: secrets stay below the demo, not beside it in a cycle.
_SCHEMES: dict[str, Callable[[str], Credentials]] = {}


def register_scheme(scheme: str, lookup: Callable[[str], Credentials]) -> None:
    """Resolve ``scheme:NAME`` references with ``lookup`` (which raises SecretError for an
    unknown NAME). keyring: and env: are built in and cannot be replaced."""
    if scheme in BUILTIN_SCHEMES:
        raise ValueError(f"credentials scheme {scheme!r} is built in")
    _SCHEMES[scheme] = lookup


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
    """Credentials for ``ref`` (``keyring:NAME``, ``env:VAR``, or a registered scheme such as
    ``demo:NAME``; None = none). ``demo`` overrides the registered demo lookup."""
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
    lookup = demo if scheme == "demo" and demo is not None else _SCHEMES.get(scheme)
    if lookup is not None:
        return lookup(name)
    if scheme == "demo":
        raise SecretError("demo: credentials resolve only where the demo is loaded "
                          "(any heatrack command; in code, import console.demo.credentials)")
    known = ", ".join(sorted({*BUILTIN_SCHEMES, *_SCHEMES}))
    raise SecretError(f"unknown credentials scheme {scheme!r} (known: {known})")
