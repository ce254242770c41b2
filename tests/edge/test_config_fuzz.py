"""Fuzz of the config loader: any TOML document, any value of any type under a known or unknown key, either
loads or raises ConfigError as one line; never another exception, never a traceback later.

Bounded: a few hundred examples per test, no deadline (the first examples import the back-end registry)."""
from __future__ import annotations

import datetime
import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.config import RANGES, Config, ConfigError, config_from_dict, flatten, load_config

KEYS = sorted(flatten(Config()))
TABLE_NAMES = sorted({key.rsplit(".", 1)[0] for key in KEYS if "." in key})
FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.integers(), st.integers(min_value=-(10**400), max_value=10**400), st.floats(), st.booleans(), st.text(max_size=20),
    st.dates(), st.datetimes(), st.times(),
    st.sampled_from(["", "scene", "file", "audio", "microphone", "numba", "numba?dtype=float32", "novelty",
                     "command", "random", "reference", "json", "text", "debug", "64x48", "127.0.0.1:9108"]),
)
toml_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                            st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                           max_leaves=6)


def in_range(key: str) -> st.SearchStrategy:
    """A value of the key's own type inside its documented range (to reach the checks behind the ranges)."""
    lo, hi = RANGES[key]
    if isinstance(lo, int):
        return st.one_of(st.integers(lo, hi), st.sampled_from([lo, hi]))
    return st.one_of(st.floats(lo, hi, allow_nan=False), st.sampled_from([lo, hi]))


def key_value(key: str) -> st.SearchStrategy:
    return st.one_of(toml_values, in_range(key)) if key in RANGES else toml_values


@st.composite
def documents(draw) -> dict:
    """A parsed-TOML-like dict: known keys (some at their own tables, some misplaced), unknown keys, tables
    replaced by scalars, values of every type."""
    doc: dict = {}
    for key in draw(st.lists(st.sampled_from(KEYS), max_size=8, unique=True)):
        *tables, leaf = key.split(".")
        node = doc
        for table in tables:
            child = node.setdefault(table, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            node[leaf] = draw(key_value(key))
    for _ in range(draw(st.integers(0, 2))):
        where = draw(st.sampled_from([None, *TABLE_NAMES]))
        node = doc
        for table in (where.split(".") if where else []):
            child = node.setdefault(table, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            node[draw(st.text(min_size=1, max_size=10))] = draw(toml_values)
    if draw(st.booleans()) and TABLE_NAMES:
        doc[draw(st.sampled_from([name.split(".")[0] for name in TABLE_NAMES]))] = draw(scalars)
    return doc


def loads_or_one_line(load) -> None:
    try:
        load()
    except ConfigError as e:
        assert "\n" not in str(e) and str(e).strip(), repr(str(e))


@FUZZ
@given(documents())
def test_any_document_loads_or_gives_one_line(doc):
    loads_or_one_line(lambda: config_from_dict(doc, "fuzz.toml"))


@FUZZ
@given(st.sampled_from([key for key in KEYS if key in RANGES]), st.data())
def test_numbers_near_and_beyond_their_ranges(key, data):
    lo, hi = RANGES[key]
    span = max(abs(hi - lo), 1)
    value = data.draw(st.sampled_from([lo, hi, lo - 1, hi + 1, -hi, hi * 10 ** 9, lo - span * 10 ** 9]))
    value = type(lo)(value)
    *tables, leaf = key.split(".")
    doc: dict = {leaf: value}
    for table in reversed(tables):
        doc = {table: doc}
    try:
        config = config_from_dict(doc, "fuzz.toml")
    except ConfigError as e:  # the table's own check (``must be > 0``), a joint one, or the range
        message = str(e)
        assert "\n" not in message and message.startswith("fuzz.toml."), message
        return
    assert lo <= value <= hi, f"{key} = {value} outside {lo}..{hi} was accepted"
    loaded = config
    for part in key.split("."):
        loaded = getattr(loaded, part)
    assert loaded == value or (math.isfinite(value) and math.isclose(loaded, value))


def toml_literal(value: object) -> str:
    """A TOML spelling of a generated value (strings as basic strings, nested tables inline)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + "".join(c if c.isprintable() and c not in '"\\' else f"\\u{ord(c):04x}" for c in value) + '"'
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_literal(v) for v in value) + "]"
    return "{" + ", ".join(f"{toml_literal(str(k))} = {toml_literal(v)}" for k, v in value.items()) + "}"


@st.composite
def toml_texts(draw) -> str:
    """TOML text: table headers and ``key = value`` lines from the known keys, or junk lines."""
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["header", "pair", "pair", "junk"]))
        if kind == "header":
            lines.append(f"[{draw(st.sampled_from(TABLE_NAMES + ['nowhere']))}]")
        elif kind == "pair":
            key = draw(st.sampled_from(KEYS))
            lines.append(f"{key.rsplit('.', 1)[-1]} = {toml_literal(draw(key_value(key)))}")
        else:
            lines.append(draw(st.text(max_size=30)))
    return "\n".join(lines) + "\n"


@FUZZ
@given(toml_texts())
def test_any_toml_text_loads_or_gives_one_line(text):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.toml"
        path.write_text(text, encoding="utf-8")
        loads_or_one_line(lambda: load_config(path))


@pytest.mark.parametrize("text, line", [
    ("[network]\nn_per_group = 1000000000\n", "x.toml.network.n_per_group: 1000000000 outside 1..4096"),
    ("[run]\ndt_us = 1000000000000000\n", "x.toml.run.dt_us: 1000000000000000 outside 1..1000000"),
    ("[run]\nblock_ticks = 1000000000\n", "x.toml.run.block_ticks: 1000000000 outside 1..100000"),
    ("[scene]\nwidth = 100000\nworld_size_px = 200000\n", "x.toml.scene.width: 100000 outside 1..2048"),
    ("[encoder]\ngrid_w = 5000\n", "x.toml.encoder.grid_w: 5000 outside 1..1024"),
    ("[checkpoint]\ninterval_s = 1e9\n", "x.toml.checkpoint.interval_s: 1000000000.0 outside 0..604800"),
    ("[hearing]\nchunk_ms = 1e12\n", "x.toml.hearing.chunk_ms: must be in (0, 1000] ms, got 1000000000000.0"),
    ("[memory.hippocampus]\nn_ca3 = 1000000\n", "x.toml.memory.hippocampus.n_ca3: 1000000 outside 1..20000"),
    ("[run]\nspeed = 1" + "0" * 30 + "\n", "x.toml.run.speed: 1000000000000000000000000000000 is beyond a 64-bit"),
    ("[run]\nblock_ticks = 20000\n", "x.toml.run.block_ticks: 20000 ticks of run.dt_us = 1000 µs make"),
    ("[network]\nn_per_group = 4096\n[encoder]\ngrid_w = 128\n", "x.toml.network.n_per_group: 4096 per group"),
    ("[memory]\nenabled = true\n[memory.hippocampus]\nn_dg = 1000000\ndg_fan_in = 1000\n",
     "x.toml.memory.hippocampus.dg_fan_in: 1000 × 1000000 cells"),
])
def test_oversize_values_are_one_line_naming_the_key_and_range(tmp_path, text, line):
    path = tmp_path / "x.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(str(tmp_path / line)) and "\n" not in str(err.value), str(err.value)


def test_every_number_has_a_range_of_its_type_that_holds_its_default():
    defaults = flatten(Config())
    numbers = {key for key, value in defaults.items() if type(value) in (int, float)}
    assert numbers == set(RANGES), numbers ^ set(RANGES)
    for key, (lo, hi) in RANGES.items():
        assert type(lo) is type(hi) is type(defaults[key]) and lo <= defaults[key] <= hi, key
