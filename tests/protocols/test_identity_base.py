"""Identity itself: whatever a device sends, the fields are bounded printable text or None."""
from __future__ import annotations

import time

from protocols.base import IDENTITY_EXTRA_MAX, Identity, identity_text


def test_hostile_text_is_cut_first_then_escaped() -> None:
    t0 = time.perf_counter()
    ident = Identity(model="M" * 1_000_000 + "\x1b[2J", serial="SN\x1b]0;title\x07\r\n", manufacturer="\u202eevil")
    assert time.perf_counter() - t0 < 0.05  # the megabyte is never walked
    assert ident.model == "M" * 127 + "…"
    assert ident.serial == "SN\\x1b]0;title\\x07" and ident.serial.isprintable()  # trailing CR LF stripped
    assert ident.manufacturer == "\\u202eevil"  # a right-to-left override cannot reorder a label


def test_values_of_any_type() -> None:
    assert identity_text(b"ACME\x00\x00\x00junk") == "ACME"  # fixed-width NUL padding
    assert identity_text("  Array-3A3     ") == "Array-3A3"
    assert identity_text(1.02) == "1.02" and identity_text(42) == "42"
    assert identity_text(10**5000) is None  # str() of it would raise
    assert identity_text(float("nan")) is None and identity_text(float("inf")) is None
    assert identity_text(True) is None and identity_text({"a": 1}) is None and identity_text(["x"]) is None
    assert identity_text("") is None and identity_text("   ") is None and identity_text(None) is None


def test_extras_are_bounded_deduplicated_and_dropped_when_empty() -> None:
    many = tuple((f"k{i}", "v") for i in range(500))
    ident = Identity(extra=(("a", "1"), ("a", "2"), ("", "x"), ("b", None), ("c",), ("k" * 100, "long key"), *many))
    keys = [k for k, _ in ident.extra]
    assert keys[:2] == ["a", "k" * 39 + "…"] and dict(ident.extra)["a"] == "1"
    assert len(ident.extra) == IDENTITY_EXTRA_MAX
    assert Identity(extra={"x": "y"}).extra == (("x", "y"),)  # a dict is taken too


def test_items_get_fill_and_json() -> None:
    ident = Identity(model="M", extra=(("bios_version", "1.0"),))
    lesser = Identity("Maker", "other", "S1", extra=(("bios_version", "0.9"), ("sku", "K")))
    both = ident.filled_from(lesser)
    assert (both.manufacturer, both.model, both.serial, both.firmware) == ("Maker", "M", "S1", None)
    assert dict(both.extra) == {"bios_version": "1.0", "sku": "K"}
    assert both.items()[:3] == [("manufacturer", "Maker"), ("model", "M"), ("serial", "S1")]
    assert both.get("sku") == "K" and both.get("model") == "M" and both.get("nope") is None
    assert both.as_json_dict() == {"manufacturer": "Maker", "model": "M", "serial": "S1", "firmware": None,
                                   "extra": {"sku": "K", "bios_version": "1.0"}}
    assert Identity().empty and not both.empty and Identity() == Identity()
