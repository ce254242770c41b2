"""Core mapping: split a NetworkSpec's neurons over cores within every per-core limit of a CoreProfile.

What lives where: every population except ``"input"`` is made of compartments on cores (``"poisson"`` sources
included); an input neuron lives off-core and reaches the cores as an external axon. Cores are filled greedily
in population order, each with the longest run of consecutive compartments that keeps it within its limits,
so a population may be split into consecutive neuron ranges and a core may hold the tail of one population and
the head of the next.

Resources of one core (the counting rules follow nengo-loihi ``block.py``, see ../shared/design/HARDWARE.md):

- ``compartments``: neurons on the core;
- ``in_axons``: distinct presynaptic neurons (of any population, inputs included) with at least one synapse
  onto a compartment of the core;
- ``out_axons``: distinct (source neuron on the core, destination core) pairs; a destination may be the core
  itself, because on the chip a spike reaches even its own core through an output axon and the router;
- ``synapse_words``: for each in-axon, ``ceil((n_syn * (weight_bits + delay_bits + index_bits) + 4 + 6) / 64)``
  64-bit words, where ``n_syn`` is the axon's synapse count onto the core (one synapse group per axon: the
  4-bit format index plus the 6-bit synapse count), and ``index_bits`` is the smallest entry of
  ``INDEX_BITS_MAP`` that can hold the largest core-local compartment index the axon addresses (nengo-loihi
  ``Synapse.idx_bits``, applied per axon rather than per synapse block). Tag bits are not counted (nengo-loihi's
  default of 0).

Compartments, in-axons and synapse words only grow as a core takes more neurons, so the greedy split is exact
for them. Out-axons depend on where later neurons go; they are counted once the split is complete, and a core
over its limit is refilled with fewer neurons (its prefix that fitted) until every core fits.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hw.emulator.profile import CoreProfile
from snn.spec import NetworkSpec

INDEX_BITS_MAP = np.array([0, 6, 7, 8, 9, 10, 11, 12], dtype=np.int64)
"""Synapse index widths a synapse format can take (nengo-loihi ``SynapseConfig.INDEX_BITS_MAP``)."""
SYNAPSE_FMT_BITS = 4
"""Bits of the synapse format index per synapse group (nengo-loihi ``SYNAPSE_FMT_IDX_BITS``)."""
SYNAPSE_COUNT_BITS = 6
"""Bits of the synapse count per synapse group (nengo-loihi ``N_SYNAPSES_BITS``)."""
RESOURCES = ("compartments", "in_axons", "out_axons", "synapse_words")
"""The per-core limits, in the order a violation is looked for."""
MIN_WINDOW = 64
"""Compartments first tried for a core before the window doubles (keeps re-sorting cheap on small cores)."""


@dataclass(frozen=True)
class Violation:
    """The first limit a mapping breaks: ``core`` needs ``value`` of ``resource``; the profile allows ``maximum``."""

    core: int
    resource: str
    value: int
    maximum: int


@dataclass(frozen=True)
class MappingReport:
    """Where each neuron goes and what each core uses.

    ``per_core``: one dict per core with ``compartments``, ``in_axons``, ``out_axons``, ``synapse_words`` and
    ``populations`` (``[name, lo, hi]``: the population's neurons ``lo..hi-1``, local indices). ``limits``: the
    profile's four limits. ``neuron_lo`` / ``neuron_hi`` (int64, one per core): the core's global neuron ids
    ``lo..hi-1`` (contiguous, since the input population comes first). When ``fits`` is False, ``violation``
    names the first limit broken and ``per_core`` ends with the core that broke it.
    """

    profile: str
    per_core: list[dict]
    limits: dict[str, int]
    fits: bool
    violation: Violation | None
    neuron_lo: np.ndarray = field(repr=False)
    neuron_hi: np.ndarray = field(repr=False)

    @property
    def cores(self) -> int:
        return len(self.per_core)

    def to_dict(self) -> dict:
        """The report as plain JSON data (keys: profile, cores, per_core, limits, fits, violation)."""
        v = self.violation
        return {"profile": self.profile, "cores": self.cores, "per_core": self.per_core, "limits": self.limits,
                "fits": self.fits,
                "violation": None if v is None else {"core": v.core, "resource": v.resource, "value": v.value,
                                                     "maximum": v.maximum}}


def limits_of(profile: CoreProfile) -> dict[str, int]:
    """The profile's per-core limits by resource name."""
    return {name: int(getattr(profile, name)) for name in RESOURCES}


def index_bits(local_index: np.ndarray) -> np.ndarray:
    """Synapse index width (bits) that addresses core-local compartment ``local_index`` (>= 0), from
    INDEX_BITS_MAP: the smallest entry >= the index's bit length."""
    needed = np.searchsorted(np.int64(1) << np.arange(13, dtype=np.int64), local_index, side="right")
    return INDEX_BITS_MAP[np.searchsorted(INDEX_BITS_MAP, needed, side="left")]


def axon_words(n_syn: np.ndarray, max_local: np.ndarray, profile: CoreProfile) -> np.ndarray:
    """64-bit words of synapse memory of an axon with ``n_syn`` synapses onto a core whose largest addressed
    core-local compartment index is ``max_local``."""
    bits = n_syn * (profile.weight_bits + profile.delay_bits + index_bits(max_local)) + SYNAPSE_FMT_BITS \
        + SYNAPSE_COUNT_BITS
    return -(-bits // profile.synapse_word_bits)


@dataclass(frozen=True)
class _Net:
    """The spec flattened for mapping: compartment positions and synapses sorted by target position."""

    n_neurons: int
    comp_global: np.ndarray   # int64 [n_comp]: global neuron id of each compartment position
    pos_of: np.ndarray        # int64 [n_neurons]: compartment position, -1 for input neurons
    pre: np.ndarray           # int64 [n_syn]: presynaptic global id, sorted by target position
    target: np.ndarray        # int64 [n_syn]: target compartment position, ascending


def _flatten(spec: NetworkSpec) -> _Net:
    spec.validate()
    offsets = spec.offsets()
    on_core = np.concatenate([np.full(p.size, p.kind != "input") for p in spec.populations])
    pos_of = np.where(on_core, np.cumsum(on_core) - 1, -1).astype(np.int64)
    pre = [np.asarray(c.pre_idx, dtype=np.int64) + offsets[c.pre] for c in spec.projections]
    post = [np.asarray(c.post_idx, dtype=np.int64) + offsets[c.post] for c in spec.projections]
    pre = np.concatenate(pre) if pre else np.zeros(0, np.int64)
    target = pos_of[np.concatenate(post)] if post else np.zeros(0, np.int64)
    order = np.argsort(target, kind="stable")
    return _Net(spec.n_neurons, np.flatnonzero(on_core).astype(np.int64), pos_of, pre[order], target[order])


def _prefix_usage(pre: np.ndarray, local: np.ndarray, width: int, profile: CoreProfile):
    """In-axons and synapse words of a core holding the first L compartments of a window, for L = 1..width.

    ``pre`` / ``local``: the synapses onto the window (presynaptic global id, core-local target index). Each
    synapse, taken in target order per axon, adds the growth of its axon's word count to the core from its
    target's index on; an axon's first synapse adds the axon."""
    order = np.lexsort((local, pre))
    p, t = pre[order], local[order]
    m = len(p)
    first = np.ones(m, dtype=bool)
    first[1:] = p[1:] != p[:-1]
    index = np.arange(m, dtype=np.int64)
    count = index - np.maximum.accumulate(np.where(first, index, 0)) + 1
    words = axon_words(count, t, profile)
    growth = words - np.where(first, 0, np.concatenate(([0], words[:-1])))
    in_axons = np.cumsum(np.bincount(t[first], minlength=width))
    synapse_words = np.cumsum(np.bincount(t, weights=growth, minlength=width)).astype(np.int64)
    return in_axons, synapse_words


def _fill(net: _Net, bounds: list[int], caps: dict[int, int], profile: CoreProfile) -> Violation | None:
    """Extend the split ``bounds`` (core start positions plus the end) greedily to the last compartment.

    A core takes the longest run of compartments within its compartment, in-axon and synapse-word limits (and
    its cap in ``caps``, set by an out-axon refill). Returns the violation when one compartment alone breaks
    a limit (``bounds`` then ends with that compartment's core)."""
    n_comp = len(net.comp_global)
    last = MIN_WINDOW
    while bounds[-1] < n_comp:
        start, core = bounds[-1], len(bounds) - 1
        limit = min(caps.get(core, profile.compartments), n_comp - start)
        width = min(limit, max(MIN_WINDOW, 2 * last))
        while True:
            lo, hi = np.searchsorted(net.target, [start, start + width])
            in_axons, words = _prefix_usage(net.pre[lo:hi], net.target[lo:hi] - start, width, profile)
            over = (in_axons > profile.in_axons) | (words > profile.synapse_words)
            size = int(np.argmax(over)) if over.any() else width
            if size < width or width == limit:
                break
            width = min(2 * width, limit)
        if size == 0:
            bounds.append(start + 1)
            if in_axons[0] > profile.in_axons:
                return Violation(core, "in_axons", int(in_axons[0]), profile.in_axons)
            return Violation(core, "synapse_words", int(words[0]), profile.synapse_words)
        bounds.append(start + size)
        last = size
    return None


def _usage(net: _Net, bounds: np.ndarray, profile: CoreProfile) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Exact per-core resources of a split (``bounds``: core start positions plus the end), and each
    neuron's number of destination cores (its out-axons; 0 for inputs and silent neurons)."""
    n_cores = len(bounds) - 1
    mapped = net.target < bounds[-1]
    pre, target = net.pre[mapped], net.target[mapped]
    core = np.searchsorted(bounds, target, side="right") - 1
    local = target - bounds[core]
    key = core * net.n_neurons + pre
    order = np.lexsort((local, key))
    key, local = key[order], local[order]
    last = np.ones(len(key), dtype=bool)
    last[:-1] = key[1:] != key[:-1]
    group_end = np.flatnonzero(last)
    n_syn = np.diff(np.concatenate(([-1], group_end)))
    group_core = key[group_end] // net.n_neurons
    words = axon_words(n_syn, local[group_end], profile)
    sources = key[group_end] % net.n_neurons
    on_core = net.pos_of[sources] >= 0
    destinations = np.bincount(sources[on_core], minlength=net.n_neurons)
    source_core = np.searchsorted(bounds, net.pos_of[sources[on_core]], side="right") - 1
    usage = {
        "compartments": np.diff(bounds),
        "in_axons": np.bincount(group_core, minlength=n_cores),
        "out_axons": np.bincount(source_core, minlength=n_cores),
        "synapse_words": np.bincount(group_core, weights=words, minlength=n_cores).astype(np.int64),
    }
    return usage, destinations


def map_network(spec: NetworkSpec, profile: CoreProfile) -> MappingReport:
    """Split ``spec`` over cores of ``profile`` (see the module docstring); deterministic for a spec."""
    if profile.compartments > 1 << int(INDEX_BITS_MAP[-1]):
        raise ValueError(f"profile {profile.name!r}.compartments: {profile.compartments} cannot be addressed "
                         f"with {INDEX_BITS_MAP[-1]} index bits")
    net = _flatten(spec)
    bounds, caps = [0], {}
    while True:
        violation = _fill(net, bounds, caps, profile)
        edges = np.array(bounds, dtype=np.int64)
        usage, destinations = _usage(net, edges, profile)
        if violation is not None:
            break
        over = np.flatnonzero(usage["out_axons"] > profile.out_axons)
        if not over.size:
            break
        core = int(over[0])
        if usage["compartments"][core] == 1:
            violation = Violation(core, "out_axons", int(usage["out_axons"][core]), profile.out_axons)
            break
        needed = np.cumsum(destinations[net.comp_global[edges[core]:edges[core + 1]]])
        caps[core] = max(1, int(np.searchsorted(needed, profile.out_axons, side="right")))
        del bounds[core + 1:]
    return _report(spec, net, edges, usage, violation, profile)


def _report(spec: NetworkSpec, net: _Net, edges: np.ndarray, usage: dict[str, np.ndarray],
            violation: Violation | None, profile: CoreProfile) -> MappingReport:
    pops = [p for p in spec.populations if p.kind != "input"]
    pop_start = np.concatenate(([0], np.cumsum([p.size for p in pops]))).astype(np.int64)
    per_core = []
    for core in range(len(edges) - 1):
        lo, hi = edges[core], edges[core + 1]
        first = int(np.searchsorted(pop_start, lo, side="right")) - 1
        last = int(np.searchsorted(pop_start, hi, side="left"))
        ranges = [[pops[p].name, int(max(lo, pop_start[p]) - pop_start[p]),
                   int(min(hi, pop_start[p + 1]) - pop_start[p])] for p in range(first, last)]
        entry = {name: int(usage[name][core]) for name in RESOURCES}
        entry["populations"] = ranges
        per_core.append(entry)
    return MappingReport(
        profile=profile.name, per_core=per_core, limits=limits_of(profile), fits=violation is None,
        violation=violation, neuron_lo=net.comp_global[edges[:-1]] if len(edges) > 1 else np.zeros(0, np.int64),
        neuron_hi=net.comp_global[edges[1:] - 1] + 1 if len(edges) > 1 else np.zeros(0, np.int64))
