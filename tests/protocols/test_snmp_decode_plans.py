"""The SNMP client's remembered row plans (decode.Decoder) give exactly what decoding from
scratch (build_readings) gives, poll after poll, while the rows a walk returns change: an
outlet gone or added, a stray ``.0`` twin, rows outside a ``where``, decimal digits, a bad
value, and a channel that cannot be named (the error of the first bad row, as before)."""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import pytest

from protocols.snmp import decode as d
from protocols.snmp.profiles import ColumnSpec, Profile, load_profiles

PROFILES = load_profiles()
Tables = dict[str, dict[tuple[int, ...], d.Raw]]


def apc_tables(outlets: Mapping[tuple[int, ...], int]) -> Tables:
    p = "1.3.6.1.4.1.318.1.1.26."
    return {p + "9.4.3.1.7": dict(outlets), p + "9.4.3.1.6": {k: v // 100 for k, v in outlets.items()},
            p + "9.2.3.1.5": {k: 2 for k in outlets}, p + "6.3.1.5": {(1,): 42}, p + "6.3.1.6": {(1,): 230},
            p + "6.3.1.7": {(1,): 12}}


def raritan_tables(rows: Mapping[tuple[int, ...], int], digits: Mapping[tuple[int, ...], d.Raw]) -> Tables:
    col = next(c for c in PROFILES["raritan-pdu2"].columns if c.value.name == "outletRmsCurrent")
    assert col.digits is not None
    return {col.oid: dict(rows), col.digits: dict(digits)}


def same(profile: Profile, decoder: d.Decoder, tables: Tables) -> list[tuple[str, object]]:
    """Decode with the plans and from scratch; they must agree, errors included."""
    try:
        want = d.build_readings(profile, "dev", 1.0, {}, tables)
    except d.DecodeError as e:
        with pytest.raises(d.DecodeError) as got:
            decoder.readings("dev", 1.0, {}, tables)
        assert str(got.value) == str(e)
        return [("error", str(e))]
    assert decoder.readings("dev", 1.0, {}, tables) == want
    return [(r.series_key, r.value) for r in want]


def test_apc_outlets_that_come_and_go() -> None:
    profile = PROFILES["apc-rpdu2"]
    decoder = d.Decoder(profile)
    shapes = [
        {(1,): 500, (2,): 600, (3,): 700},
        {(1,): 510, (2,): 610, (3,): 710},  # same rows, new values: the plan is reused
        {(1,): 510, (3,): 710},  # outlet 2 gone
        {(1,): 510, (2,): 0, (3,): 710, (4,): 90},  # back, and a fourth
        {(1, 0): 1, (1,): 520, (2,): 620},  # a stray .0 twin: the clean row wins
        {(1,): 500, (2,): 600, (3,): 700},  # the first shape again
    ]
    results = [same(profile, decoder, apc_tables(rows)) for rows in shapes]
    assert results[0] != results[1] and results[0] == results[5]
    assert ("dev/outlet2/power", 600.0) not in results[2] and ("dev/outlet4/power", 90.0) in results[3]


def test_raritan_digits_where_and_errors() -> None:
    profile = PROFILES["raritan-pdu2"]
    decoder = d.Decoder(profile)
    rows = {(1, 3, 1): 311, (1, 3, 5): 68, (1, 4, 1): 1500}
    digits: dict[tuple[int, ...], d.Raw] = {(1, 3, 1): 3, (1, 3, 5): 0, (1, 4, 1): 2}
    assert ("dev/outlet3/current", 0.311) in same(profile, decoder, raritan_tables(rows, digits))
    assert ("dev/outlet3/current", 3.11) in same(profile, decoder, raritan_tables(rows, {**digits, (1, 3, 1): 2}))
    bad = same(profile, decoder, raritan_tables(rows, {(1, 3, 1): 40}))  # same rows, a bad digits value
    assert bad[0][0] == "error" and "decimal digits" in bad[0][1]
    # a row of another sensor type (outside ``where``) and a missing unit part: kept out
    assert len(same(profile, decoder, raritan_tables({**rows, (1, 9, 9): 5, (7,): 1}, digits))) == \
        len(same(profile, decoder, raritan_tables(rows, digits)))


def test_a_channel_that_cannot_be_named_fails_as_from_scratch() -> None:
    """Where no plan can be made, the column is decoded as before: the same error."""
    profile = PROFILES["apc-rpdu2"]
    col = next(c for c in profile.columns if "{outlet}" in c.value.channel)
    unnamed = ColumnSpec(col.oid, ("unit",), col.value)  # the channel wants {outlet}
    broken = dataclasses.replace(profile, columns=(unnamed,))
    decoder = d.Decoder(broken)
    for _ in range(2):
        out = same(broken, decoder, {col.oid: {(1,): 5, (2,): 6}})
        assert out[0][0] == "error" and "needs 'outlet'" in out[0][1]
    assert same(broken, decoder, {col.oid: {}}) == []  # no rows: nothing to name
