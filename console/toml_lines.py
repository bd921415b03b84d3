"""Find the line of each key in a TOML file, so validation errors can say where.

tomllib gives values but no positions. This walks the text once, tracking table headers
(``[a.b]``, ``[[devices]]``) and ``key = value`` lines, and follows each value over the lines
it spans (arrays, inline tables, multi-line strings), so an element of a multi-line array gets
its own line. ``line_of`` falls back to the nearest ancestor that has a line. Good enough for
errors; never used to read values.
"""
from __future__ import annotations

import dataclasses
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
    value: _ValueWalker | None = None  # a value still open from an earlier line
    # TOML counts lines by "\n" only (str.splitlines would also split on \x0c, \u2028 ...).
    for lineno, raw in enumerate(text.split("\n"), start=1):
        if value is not None:
            if value.feed(raw, 0, lineno):
                value = None
            continue
        m = _HEADER.match(raw)
        if m and raw.lstrip().startswith("["):
            names = _split_key(m.group(2))
            if m.group(1) == "[[":
                idx = counts.get(tuple(names), 0)
                counts[tuple(names)] = idx + 1
                table = (*names, idx)
            else:
                table = tuple(names)
            lines.setdefault(table, lineno)
            continue
        m = _KEY.match(raw)
        if m:
            path = (*table, *_split_key(m.group(1)))
            lines.setdefault(path, lineno)
            walker = _ValueWalker(path, lines)
            if not walker.feed(raw, m.end(), lineno):
                value = walker
    return lines


_INLINE_KEY = re.compile(r"""((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=""")
_MAX_TRACKED_DEPTH = 64
_SCALAR_END = re.compile(r"[,\]}#]")


class _ValueWalker:
    """Follows one value over the lines it spans, noting the line where each array element
    and each inline-table key starts (consumers[1].design_w in a multi-line array)."""

    def __init__(self, path: Path, lines: dict[Path, int]) -> None:
        self.root = path
        self.lines = lines
        self.stack: list[list] = []  # [kind "array" | "table", path, next element index]
        self.quote = ""  # the delimiter of a multi-line string left open at the end of a line
        self.started = False

    def feed(self, s: str, i: int, lineno: int) -> bool:
        """Consume ``s`` from ``i``; True once the value is complete."""
        n = len(s)
        if self.quote:
            end = s.find(self.quote, i)
            if end < 0:
                return False
            i, self.quote = end + 3, ""
            if not self.stack:
                return True
        while True:
            while i < n and s[i] in " \t\r":
                i += 1
            if i >= n or s[i] == "#":
                return self.started and not self.stack
            c = s[i]
            if not self.stack:
                if self.started:
                    return True  # anything after a complete value is tomllib's to report
                self.started = True
                path = self.root
            else:
                top = self.stack[-1]
                if c in ",]}":
                    if c == ",":
                        top[2] += 1
                    else:
                        self.stack.pop()
                        if not self.stack:
                            return True
                    i += 1
                    continue
                if top[0] == "array":
                    path = (*top[1], top[2])
                    self.lines.setdefault(path, lineno)
                else:
                    m = _INLINE_KEY.match(s, i)
                    if not m:
                        i += 1
                        continue
                    path = (*top[1], *_split_key(m.group(1)))
                    self.lines.setdefault(path, lineno)
                    i = m.end()
                    while i < n and s[i] in " \t\r":
                        i += 1
                    if i >= n:
                        return False
                    c = s[i]
            i = self._value(s, i, c, path)
            if len(self.stack) > _MAX_TRACKED_DEPTH:
                self.stack.clear()  # absurd nesting (refused elsewhere): stop following it
                return True
            if i < 0:
                return False  # a multi-line string goes on
            if not self.stack:
                return True

    def _value(self, s: str, i: int, c: str, path: Path) -> int:
        """Step over one value starting at ``s[i]``; -1 when a multi-line string stays open."""
        if c in "[{":
            self.stack.append(["array" if c == "[" else "table", path, 0])
            return i + 1
        if c in "\"'":
            if s.startswith(c * 3, i):
                end = s.find(c * 3, i + 3)
                if end < 0:
                    self.quote = c * 3
                    return -1
                return end + 3
            j = i + 1
            while j < len(s) and s[j] != c:
                j += 2 if c == '"' and s[j] == "\\" else 1
            return j + 1
        m = _SCALAR_END.search(s, i + 1)
        return m.start() if m else len(s)


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


@dataclasses.dataclass(frozen=True)
class BracketScan:
    too_deep: int | None  # line of the outermost bracket of a value nested past the limit
    unclosed: tuple[str, int] | None  # what ("array", "inline table", "string") opened where


_INTERESTING = re.compile(r'["\'#\[\]{}\n\\]')


def scan_brackets(text: str, max_depth: int) -> BracketScan:
    """Track brackets outside strings and comments, so a file nested past ``max_depth`` is
    refused before tomllib recurses into it, and a file that ends inside an array, an inline
    table or a multi-line string can name the line where it opened (tomllib says only "at end
    of document")."""
    stack: list[tuple[str, int]] = []
    line, i, n = 1, 0, len(text)
    quote = ""  # the open string's delimiter: ", ', """ or '''
    quote_line = 0
    comment = False
    while (m := _INTERESTING.search(text, i)) is not None:
        j = m.start()
        ch, i = text[j], j + 1
        if ch == "\n":
            line += 1
            comment = False
            if len(quote) == 1:
                quote = ""  # a one-line string cannot span lines (tomllib reports it)
            continue
        if comment:
            continue
        if quote:
            if ch == "\\" and quote[0] == '"':
                if i < n and text[i] != "\n":
                    i += 1  # the escaped character
            elif len(quote) == 1:
                if ch == quote:
                    quote = ""
            elif text.startswith(quote, j):
                k = j + 3
                while k < n and k < j + 5 and text[k] == quote[0]:
                    k += 1  # up to two quotes of content just before the closing three
                i, quote = k, ""
            continue
        if ch in "\"'":
            quote, quote_line = ch, line
            if text.startswith(ch * 3, j):
                quote, i = ch * 3, j + 3
        elif ch == "#":
            comment = True
        elif ch in "[{":
            stack.append(("array" if ch == "[" else "inline table", line))
            if len(stack) > max_depth:
                return BracketScan(stack[0][1], None)
        elif ch in "]}" and stack:
            stack.pop()
    if len(quote) == 3:  # it swallowed the rest of the file: the likeliest culprit
        return BracketScan(None, ("multi-line string", quote_line))
    return BracketScan(None, stack[0] if stack else None)
