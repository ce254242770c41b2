"""A NetworkSpec as named arrays plus a JSON-safe layout, and back (what a core image carries of its network).

``spec_to_arrays`` walks the spec's dataclass tree by ``dataclasses.fields``, so a new field needs no change
here. Every numpy array becomes one entry ``spec.<path>`` of the arrays (``spec.projections.0.weight_mv``);
the layout mirrors the tree with one node per value:

- ``None``, bools, ints, strings and finite floats as themselves (JSON keeps int and float apart);
- ``{"float": "inf"}`` (or ``"-inf"``, ``"nan"``) for a non-finite float;
- ``{"array": NAME}`` for an array;
- ``{"tuple": [node, ...]}`` for a tuple;
- ``{"class": NAME, "fields": {field: node}}`` for a dataclass of snn.spec.

``spec_from_arrays`` rebuilds the spec exactly (same dtypes and shapes, same field values) and validates it. A
field the layout lacks takes its default (a layout written before the field existed); one without a default,
an unknown class or field, a missing array, an unused ``spec.`` array or a value of the wrong type for its
field's annotation is refused with one ValueError line naming its path. Numpy scalars are written as the
Python numbers they equal.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing

import numpy as np

from snn import spec as spec_module
from snn.spec import NetworkSpec

PREFIX = "spec"
"""Root of every path: arrays are named ``spec.<path>``."""
CLASSES: dict[str, type] = {name: cls for name, cls in vars(spec_module).items()
                            if isinstance(cls, type) and dataclasses.is_dataclass(cls)
                            and cls.__module__ == spec_module.__name__}
"""The dataclasses a layout may name: every dataclass defined in snn.spec."""
NON_FINITE = ("inf", "-inf", "nan")


def _refuse(path: str, why: str) -> ValueError:
    return ValueError(f"network spec: {path}: {why}")


@functools.cache
def _hints(cls: type) -> dict[str, object]:
    return typing.get_type_hints(cls)


def _fits(value, hint) -> bool:
    """Whether ``value`` is of the annotated type ``hint`` (unions, ``tuple[X, ...]``, classes; an int is a float,
    a bool is not an int)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, arg) for arg in args)
    if origin is tuple:
        if not isinstance(value, tuple):
            return False
        items = args[:1] * len(value) if len(args) == 2 and args[1] is Ellipsis else args
        return len(items) == len(value) and all(_fits(v, a) for v, a in zip(value, items))
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _check_field(cls: type, name: str, value, path: str) -> None:
    hint = _hints(cls)[name]
    if not _fits(value, hint):
        expected = hint.__name__ if isinstance(hint, type) else str(hint).replace(f"{spec_module.__name__}.", "")
        raise _refuse(path, f"{type(value).__name__} does not fit {cls.__name__}.{name} ({expected})")


def spec_to_arrays(spec: NetworkSpec) -> tuple[dict[str, np.ndarray], dict]:
    """(arrays named ``spec.<path>``, layout) of ``spec`` (see the module docstring). ValueError naming the path
    of a value that is not of its field's type or that the layout cannot hold."""
    arrays: dict[str, np.ndarray] = {}

    def encode(value, path: str):
        if value is None or isinstance(value, (bool, int, str)):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else {"float": repr(value)}
        if isinstance(value, np.ndarray):
            arrays[path] = value
            return {"array": path}
        if isinstance(value, tuple):
            return {"tuple": [encode(v, f"{path}.{k}") for k, v in enumerate(value)]}
        cls = type(value)
        if CLASSES.get(cls.__name__) is not cls:
            raise _refuse(path, f"cannot encode a {cls.__name__}")
        out = {}
        for f in dataclasses.fields(cls):
            item = getattr(value, f.name)
            if isinstance(item, np.generic):
                item = item.item()
            _check_field(cls, f.name, item, f"{path}.{f.name}")
            out[f.name] = encode(item, f"{path}.{f.name}")
        return {"class": cls.__name__, "fields": out}

    if not isinstance(spec, NetworkSpec):
        raise _refuse(PREFIX, f"expected a NetworkSpec, got {type(spec).__name__}")
    return arrays, encode(spec, PREFIX)


def spec_from_arrays(arrays: dict[str, np.ndarray], layout: dict) -> NetworkSpec:
    """The validated NetworkSpec that ``spec_to_arrays`` turned into (arrays, layout); ``arrays`` may hold other
    arrays too, but no ``spec.`` array the layout does not name. ValueError (one line naming the path) when the
    layout or arrays are not a spec's (see the module docstring)."""
    used: set[str] = set()

    def decode(node, path: str):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, dict) and set(node) == {"float"}:
            if node["float"] not in NON_FINITE:
                raise _refuse(path, f"float must be one of {', '.join(NON_FINITE)}, got {node['float']!r}")
            return float(node["float"])
        if isinstance(node, dict) and set(node) == {"array"}:
            name = node["array"]
            if not isinstance(name, str) or name not in arrays:
                raise _refuse(path, f"missing array {name!r}")
            if not isinstance(arrays[name], np.ndarray):
                raise _refuse(path, f"array {name!r} is a {type(arrays[name]).__name__}, not a numpy array")
            used.add(name)
            return arrays[name]
        if isinstance(node, dict) and set(node) == {"tuple"} and isinstance(node["tuple"], list):
            return tuple(decode(v, f"{path}.{k}") for k, v in enumerate(node["tuple"]))
        if isinstance(node, dict) and set(node) == {"class", "fields"} and isinstance(node["fields"], dict):
            return decode_class(node["class"], node["fields"], path)
        raise _refuse(path, f"not a layout node: {str(node)[:80]!r}")

    def decode_class(name, values: dict, path: str):
        cls = CLASSES.get(name) if isinstance(name, str) else None
        if cls is None:
            raise _refuse(path, f"unknown class {name!r} (known: {', '.join(sorted(CLASSES))})")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise _refuse(f"{path}.{unknown[0]}", f"{name} has no such field")
        kwargs = {}
        for key, f in fields.items():
            if key not in values:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    raise _refuse(f"{path}.{key}", f"missing field of {name}")
                continue
            kwargs[key] = decode(values[key], f"{path}.{key}")
            _check_field(cls, key, kwargs[key], f"{path}.{key}")
        return cls(**kwargs)

    spec = decode(layout, PREFIX)
    if not isinstance(spec, NetworkSpec):
        raise _refuse(PREFIX, f"the layout's root must be a NetworkSpec, got {type(spec).__name__}")
    unused = sorted(name for name in arrays if name.startswith(f"{PREFIX}.") and name not in used)
    if unused:
        raise _refuse(unused[0], "array not named by the layout")
    try:
        spec.validate()
    except ValueError as e:
        raise ValueError(f"network spec: {e}") from None
    return spec
