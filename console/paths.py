"""Where heatrack keeps its own files: site databases, pinned certificates.

``HEATRACK_DATA_DIR`` overrides the platform's user data folder (tests, portable installs)."""
from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    override = os.environ.get("HEATRACK_DATA_DIR")
    if override:
        folder = Path(override)
    else:
        import platformdirs

        folder = Path(platformdirs.user_data_dir("heatrack"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def pin_store_path() -> Path:
    """JSON of Redfish certificate fingerprints pinned on first use (host:port -> SHA-256)."""
    return data_dir() / "pinned-certificates.json"
