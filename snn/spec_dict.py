"""Build a NetworkSpec from plain data (a parsed TOML table): populations, connectivity rules, weights, rules.

Errors name the key (``network.projections[1].connect: ...``); every random draw comes from ``seed``.
"""
from __future__ import annotations

import dataclasses
import math
import typing

import numpy as np

from snn.spec import (
    LIFParams, ModelParams, NetworkSpec, PairSTDP, PopulationSpec, ProjectionSpec, RewardSTDP, ShortTermPlasticity,
    ThirdFactorHebb, TripletSTDP,
)

RULES = {"pair_stdp": PairSTDP, "reward_stdp": RewardSTDP, "triplet_stdp": TripletSTDP,
         "third_factor_hebb": ThirdFactorHebb}
CONNECT = ("all_to_all", "all_but_self", "one_to_one", "bernoulli")


def _params(cls, data: dict, where: str):
    """A frozen parameter dataclass from a table, refusing unknown keys and non-numbers."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: must be a table")
    known = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    for key, value in data.items():
        if key not in known:
            raise ValueError(f"{where}.{key}: unknown key (known: {', '.join(sorted(known))})")
        if hints[key] is float and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ValueError(f"{where}.{key}: expected a number, got {value!r}")
        default = known[key].default
        unbounded = isinstance(default, float) and math.isinf(default)  # e.g. a time constant of "never"
        if hints[key] is float and (math.isnan(value) or (math.isinf(value) and not unbounded)):
            raise ValueError(f"{where}.{key}: must be a finite number, got {value!r}")
    return cls(**{k: float(v) if hints[k] is float else v for k, v in data.items()})


def _take(table: dict, key: str, where: str, kinds: tuple, default=None):
    if key not in table:
        if default is None:
            raise ValueError(f"{where}.{key}: required")
        return default
    value = table[key]
    if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
        raise ValueError(f"{where}.{key}: expected {' or '.join(k.__name__ for k in kinds)}, got {value!r}")
    return value


def _connect(kind: str, n_pre: int, n_post: int, p: float, rng: np.random.Generator, where: str):
    if kind == "all_to_all":
        pre, post = np.divmod(np.arange(n_pre * n_post), n_post)
    elif kind == "all_but_self":
        pre, post = np.nonzero(~np.eye(n_pre, n_post, dtype=bool))
    elif kind == "one_to_one":
        if n_pre != n_post:
            raise ValueError(f"{where}.connect: one_to_one needs equal sizes, got {n_pre} and {n_post}")
        pre = post = np.arange(n_pre)
    else:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{where}.p: must be in [0, 1], got {p}")
        pre, post = np.nonzero(rng.random((n_pre, n_post)) < p)
    return pre.astype(np.int32), post.astype(np.int32)


def spec_from_dict(data: dict, where: str = "network") -> NetworkSpec:
    """A validated NetworkSpec from ``{"dt_us", "seed", "readout", "populations": [...], "projections": [...]}``.

    Population: name, size, kind (input | poisson | lif | alif | lif_cond | izhikevich), rate_hz (poisson),
    [lif] LIFParams, [model] ModelParams (alif, lif_cond, izhikevich), [stp] ShortTermPlasticity.
    Projection: name, pre, post, connect (all_to_all | all_but_self | one_to_one | bernoulli with p), weight_mv
    (a number) or weight_min_mv/weight_max_mv (uniform), port (exc | inh), delay_ticks, [plasticity] with rule = pair_stdp | triplet_stdp |
    reward_stdp and that rule's parameters.
    """
    if not isinstance(data, dict):
        raise ValueError(f"{where}: must be a table")
    known = {"dt_us", "seed", "readout", "learning", "populations", "projections"}
    if "dtype" in data:
        raise ValueError(f"{where}.dtype: the number type of the state is a back-end option, not part of the "
                         "network: choose it with the back-end URL, e.g. --backend 'numba?dtype=float64'")
    for key in data:
        if key not in known:
            raise ValueError(f"{where}.{key}: unknown key (known: {', '.join(sorted(known))})")
    rng = np.random.default_rng(_take(data, "seed", where, (int,), 0))
    populations = []
    for k, table in enumerate(_take(data, "populations", where, (list,))):
        w = f"{where}.populations[{k}]"
        if not isinstance(table, dict):
            raise ValueError(f"{w}: must be a table")
        unknown = set(table) - {"name", "size", "kind", "rate_hz", "lif", "model", "stp", "dale"}
        if unknown:
            raise ValueError(f"{w}.{sorted(unknown)[0]}: unknown key")
        size = _take(table, "size", w, (int,))
        rate = table.get("rate_hz")
        rates = None if rate is None else np.broadcast_to(np.asarray(rate, dtype=float), (size,)).copy()
        stp = _params(ShortTermPlasticity, table["stp"], f"{w}.stp") if "stp" in table else None
        populations.append(PopulationSpec(
            _take(table, "name", w, (str,)), size, _take(table, "kind", w, (str,), "lif"),
            _params(LIFParams, table.get("lif", {}), f"{w}.lif"), rate_hz=rates,
            model=_params(ModelParams, table.get("model", {}), f"{w}.model"), stp=stp,
            dale=_take(table, "dale", w, (str,), "")))
    sizes = {p.name: p.size for p in populations}
    projections = []
    for k, table in enumerate(_take(data, "projections", where, (list,), [])):
        w = f"{where}.projections[{k}]"
        if not isinstance(table, dict):
            raise ValueError(f"{w}: must be a table")
        unknown = set(table) - {"name", "pre", "post", "connect", "p", "weight_mv", "weight_min_mv", "weight_max_mv",
                                "port", "plasticity", "delay_ticks", "normalise_sum_mv"}
        if unknown:
            raise ValueError(f"{w}.{sorted(unknown)[0]}: unknown key")
        pre_name, post_name = _take(table, "pre", w, (str,)), _take(table, "post", w, (str,))
        for key, name in (("pre", pre_name), ("post", post_name)):
            if name not in sizes:
                raise ValueError(f"{w}.{key}: no population named {name!r}")
        kind = _take(table, "connect", w, (str,), "all_to_all")
        if kind not in CONNECT:
            raise ValueError(f"{w}.connect: must be one of {', '.join(CONNECT)}, got {kind!r}")
        pre, post = _connect(kind, sizes[pre_name], sizes[post_name], float(table.get("p", 1.0)), rng, w)
        if "weight_mv" in table:
            weights = np.full(len(pre), float(_take(table, "weight_mv", w, (int, float))))
        else:
            lo = float(_take(table, "weight_min_mv", w, (int, float)))
            weights = rng.uniform(lo, float(_take(table, "weight_max_mv", w, (int, float))), len(pre))
        rule = None
        if "plasticity" in table:
            plastic = dict(table["plasticity"]) if isinstance(table["plasticity"], dict) else None
            if plastic is None or plastic.get("rule") not in RULES:
                raise ValueError(f"{w}.plasticity.rule: must be one of {', '.join(RULES)}")
            rule = _params(RULES[plastic.pop("rule")], plastic, f"{w}.plasticity")
        projections.append(ProjectionSpec(_take(table, "name", w, (str,), f"projection{k}"), pre_name, post_name,
                                          pre, post, weights, plasticity=rule,
                                          port=_take(table, "port", w, (str,), "exc"),
                                          delay_ticks=_take(table, "delay_ticks", w, (int,), 0),
                                          normalise_sum_mv=table.get("normalise_sum_mv")))
    spec = NetworkSpec(tuple(populations), tuple(projections), readout=_take(data, "readout", where, (str,)),
                       dt_us=_take(data, "dt_us", where, (int,), 1000), learning=_take(data, "learning", where, (bool,), True))
    spec.validate()
    return spec
