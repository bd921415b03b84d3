"""Find the line of each key in a TOML file, so validation errors can say where.

tomllib gives values but no positions. This walks the text once, tracking table headers
(``[a.b]``, ``[[devices]]``) and ``key = value`` lines. Keys inside inline tables and
multi-line arrays map to the line of their parent key; ``line_of`` falls back to the nearest
ancestor that has a line. Good enough for errors; never used to read values.
"""
from __future__ import annotations

import re

Path = tuple[str | int, ...]

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*(\]\]?)\s*(#.*)?$")
_KEY = re.compile(r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=""")


def _split_key(key: str) -> list[str]:
    parts = re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", key)
    return [p[1:-1] if p[:1] in "\"'" else p for p in parts]


def key_lines(text: str) -> dict[Path, int]:
    lines: dict[Path, int] = {}
    counts: dict[tuple[str, ...], int] = {}
    table: Path = ()
    depth = 0  # open brackets/braces of a multi-line value
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0] if '"' not in raw and "'" not in raw else raw
        if depth == 0:
            m = _HEADER.match(line)
            if m and line.lstrip().startswith("["):
                names = _split_key(m.group(2))
                if m.group(1) == "[[":
                    idx = counts.get(tuple(names), 0)
                    counts[tuple(names)] = idx + 1
                    table = (*names, idx)
                else:
                    table = tuple(names)
                lines.setdefault(table, lineno)
                continue
            m = _KEY.match(line)
            if m:
                path = (*table, *_split_key(m.group(1)))
                lines.setdefault(path, lineno)
                value = line[m.end():]
                depth += _balance(value)
                continue
        else:
            depth += _balance(line)
            depth = max(depth, 0)
    return lines


def _balance(s: str) -> int:
    """Net open brackets outside strings."""
    n, quote = 0, ""
    for ch in s:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            break
        elif ch in "[{":
            n += 1
        elif ch in "]}":
            n -= 1
    return n


def line_of(lines: dict[Path, int], path: Path) -> int | None:
    p = tuple(path)
    while p:
        if p in lines:
            return lines[p]
        p = p[:-1]
    return None


def format_path(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
