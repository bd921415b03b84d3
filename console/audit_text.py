"""The audit log's JSON columns in words a person checks at a glance (Qt-free).

``before`` is the latest reading when the write was asked (``{"value", "unit", "ts"}``);
``after`` is what was asked and read back (``{"requested", "readback"}``), or the unlock's
``{"minutes", "reason"}``. Anything else (an older or foreign row) is shown as its text, so
the view never hides what the log holds."""
from __future__ import annotations

import json
from typing import Any

MAX_TEXT = 200


def _num(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _load(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def before_text(text: str | None) -> str:
    v = _load(text)
    if v is None:
        return ""
    if isinstance(v, dict) and set(v) <= {"value", "unit", "ts"} and "value" in v:
        if v["value"] is None:
            return "no value"
        return f"{_num(v['value'])} {v.get('unit') or ''}".strip()
    return _plain(v)


def after_text(text: str | None) -> str:
    v = _load(text)
    if v is None:
        return ""
    if isinstance(v, dict) and "requested" in v and set(v) <= {"requested", "readback"}:
        shown = f"asked {_num(v['requested'])}"
        if "readback" in v:
            shown += f", read back {_num(v['readback'])}"
        return shown
    if isinstance(v, dict) and "minutes" in v and set(v) <= {"minutes", "reason"}:
        reason = v.get("reason") or ""
        return f"for {_num(v['minutes'])} min" + (f": {reason}" if reason else "")
    return _plain(v)


def _plain(v: Any) -> str:
    text = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 1] + "…"


def is_ok(result: str) -> bool:
    """ok and the lock's own bookkeeping (expired) are normal; refused, failed, mismatch are not."""
    return result in ("ok", "expired")


__all__ = ["after_text", "before_text", "is_ok"]
