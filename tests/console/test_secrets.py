"""console.secrets resolves keyring:, env: and the schemes other parts register (the demo's
demo:), and imports nothing of the demo itself (the cycle issue 8 named)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from console import secrets
from console.secrets import SecretError, register_scheme, resolve
from protocols.base import Credentials
from tests.support import REPO


def _fresh(code: str) -> str:
    """Run ``code`` in a new interpreter (nothing imported yet) and return its stdout."""
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_secrets_alone_loads_nothing_of_the_demo() -> None:
    out = _fresh("import sys\n"
                 "from console.secrets import SecretError, resolve\n"
                 "try:\n"
                 "    resolve('demo:bmc')\n"
                 "except SecretError as e:\n"
                 "    print('refused:', e)\n"
                 "print(sorted(m for m in sys.modules if m.startswith('console.demo')))\n")
    refused, loaded = out.splitlines()
    assert loaded == "[]"
    assert refused.startswith("refused: ") and "demo:" in refused


def test_every_command_resolves_demo_references_loading_the_demo_only_then() -> None:
    # a site file printed by `heatrack demo --serve` works with `heatrack log` in another process
    out = _fresh("import sys\n"
                 "import console.commands.log\n"
                 "from console.secrets import resolve\n"
                 "print(any(m.startswith('console.demo') for m in sys.modules))\n"
                 "print(resolve('demo:bmc').username)\n")
    assert out.splitlines() == ["False", "admin"]


def test_a_registered_scheme_resolves_and_builtin_ones_stay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "_SCHEMES", dict(secrets._SCHEMES))  # this test's registrations only
    register_scheme("test-vault", lambda name: Credentials(username=name.upper()))
    assert resolve("test-vault:jo").username == "JO"
    with pytest.raises(ValueError, match="built in"):
        register_scheme("env", lambda name: Credentials())
    with pytest.raises(SecretError, match="unknown credentials scheme 'nope'.*test-vault"):
        resolve("nope:x")
