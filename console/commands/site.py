"""``heatrack site check FILE``: validate a site file and report every problem."""
from __future__ import annotations

import sys

from console.site import SiteError, load_site


def check_command(file: str) -> int:
    """``heatrack site check FILE``: print every problem, or a one-line summary."""
    try:
        site = load_site(file)
    except SiteError as e:
        for p in e.problems:
            print(p, file=sys.stderr)
        n = len(e.problems)
        print(f"{file}: {n} problem{'s' * (n != 1)}", file=sys.stderr)
        return 1
    kinds: dict[str, int] = {}
    for d in site.devices:
        kinds[d.kind] = kinds.get(d.kind, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    print(f"{file}: OK — {site.site.name!r}: {len(site.devices)} devices ({summary}), "
          f"{len(site.power_path.outlets)} outlet links, {len(site.heat_path.consumers)} heat consumers")
    return 0
