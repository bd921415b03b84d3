"""Modbus register decoding and encoding through compiled structs (the fast path taken ~10
million times a season of fast-forward) give exactly what the plain byte path gives, in both
word orders, and registers out of 0..65535 fail as they always did."""
from __future__ import annotations

import random
import struct

import pytest

from protocols.modbus.profile import TYPES, Point, decode_raw, encode


def plain_decode(point: Point, words: list[int]) -> int | float:
    ordered = list(reversed(words)) if point.word_order == "little" else list(words)
    (value,) = struct.unpack(TYPES[point.type][1], b"".join(w.to_bytes(2, "big") for w in ordered))
    return value  # type: ignore[no-any-return]


NUMERIC = [t for t, (n, code) in TYPES.items() if code]


@pytest.mark.parametrize("order", ["big", "little"])
@pytest.mark.parametrize("kind", NUMERIC)
def test_fast_decode_and_encode_agree_with_the_byte_path(kind: str, order: str) -> None:
    point = Point("p", "holding", 0, kind, "ch", "temperature", word_order=order)
    rng = random.Random(kind + order)
    n = TYPES[kind][0]
    cases = [[0] * n, [0xFFFF] * n, [0x8000] + [0] * (n - 1), [0x7F80, 0][:n], [0x7FC0, 0][:n]]
    cases += [[rng.randrange(0x10000) for _ in range(n)] for _ in range(500)]
    for words in cases:
        got, want = decode_raw(point, words), plain_decode(point, words)
        assert got == want or (got != got and want != want), words  # NaN is NaN
        if got == got:
            assert encode(point, got) == words, words
    for bad in ([0x10000] * n, [-1] * n):
        with pytest.raises(OverflowError):
            decode_raw(point, bad)
