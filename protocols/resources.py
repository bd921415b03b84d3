"""Where resources/ (profiles, sites) is: beside the source in a checkout or an editable
install, or under ``<prefix>/share/heatrack`` where a wheel installed it."""
from __future__ import annotations

import functools
from pathlib import Path


@functools.cache
def resources_dir() -> Path:
    beside = Path(__file__).resolve().parent.parent / "resources"
    if beside.is_dir():
        return beside
    import sys
    import sysconfig

    for prefix in (sysconfig.get_path("data"), sys.prefix, sys.base_prefix):
        installed = Path(prefix) / "share" / "heatrack"
        if installed.is_dir():
            return installed
    raise FileNotFoundError(f"heatrack's resources are missing: neither {beside} nor <prefix>/share/heatrack exists")
