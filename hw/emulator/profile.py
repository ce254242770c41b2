"""Core profiles: the named limits, number formats and energy figures of one neuromorphic core.

A profile is a frozen dataclass of constants; ``PROFILES`` maps the names a back-end URL takes
(``emulator?profile=loihi``) to instances. Sources of the ``loihi`` values (see ../shared/design/HARDWARE.md,
which quotes each with its page): Davies et al., IEEE Micro 38(1) 2018, Tables 1-2 and its per-core constraints
("D18"); nengo-loihi ``nengo_loihi/block.py``, ``builder/discretize.py``, ``hardware/nxsdk_objects.py``
("NL"); Lava ``lava/proc/lif/models.py`` ``PyLifModelBitAcc`` ("LV"); Frady et al., NICE 2020, Table 1 for
static power ("F20"). Energies are D18's pre-silicon figures at 0.75 V: a model, not a measurement.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CoreProfile:
    """One core's limits and formats, and the per-operation energy and time of the chip it belongs to.

    Limits per core: ``compartments``, ``in_axons`` (distinct presynaptic sources), ``out_axons``
    (core-to-core fan-out edges), ``synapse_words`` of ``synapse_word_bits`` each.
    Formats: weights are a signed mantissa of ``weight_bits`` magnitude bits (stored in -256..255) times
    2 ** (``weight_shift`` + exponent), one exponent per projection in ``weight_exp_min..weight_exp_max``;
    current and voltage are ``state_bits``-bit signed (current wraps two's-complement, voltage saturates);
    decays are ``decay_bits``-bit (x <- x * (2**decay_bits - d) >> decay_bits); the threshold is a
    ``vth_mant_bits``-bit mantissa << ``vth_shift``; refractory ``refractory_min..refractory_max`` ticks;
    delays ``0..delay_max`` ticks; learning traces ``trace_bits`` bits, the eligibility tag
    ``tag_bits`` signed bits, dopamine ``reward_bits`` signed bits.
    Energy (J) per synaptic op, per synapse updated by learning, per active / idle compartment update, per
    spike delivered within a tile and per tile hop east-west / north-south; static power per core (W);
    ``cores_per_tile``; time (s) per synaptic op, per neuron update and the barrier per tick.
    """

    name: str
    compartments: int
    in_axons: int
    out_axons: int
    synapse_words: int
    synapse_word_bits: int
    weight_bits: int
    weight_exp_min: int
    weight_exp_max: int
    weight_shift: int
    state_bits: int
    decay_bits: int
    vth_mant_bits: int
    vth_shift: int
    refractory_min: int
    refractory_max: int
    delay_max: int
    delay_bits: int
    trace_bits: int
    tag_bits: int
    reward_bits: int
    energy_synop_j: float
    energy_syn_update_j: float
    energy_neuron_active_j: float
    energy_neuron_idle_j: float
    energy_spike_local_j: float
    energy_hop_ew_j: float
    energy_hop_ns_j: float
    static_power_per_core_w: float
    cores_per_tile: int
    time_synop_s: float
    time_neuron_update_s: float
    time_barrier_s: float

    @property
    def state_max(self) -> int:
        """Largest current or voltage: 2**(state_bits - 1) - 1."""
        return (1 << (self.state_bits - 1)) - 1

    @property
    def weight_mant_max(self) -> int:
        """Largest weight mantissa magnitude as stored (255 for 8 bits)."""
        return (1 << self.weight_bits) - 1

    @property
    def decay_one(self) -> int:
        """The decay denominator, 2**decay_bits (4096 for 12 bits)."""
        return 1 << self.decay_bits

    @property
    def vth_mant_max(self) -> int:
        return (1 << self.vth_mant_bits) - 1

    @property
    def synapse_bits(self) -> int:
        """Synaptic memory per core in bits."""
        return self.synapse_words * self.synapse_word_bits


LOIHI = CoreProfile(
    name="loihi",
    compartments=1024,          # D18 p.86/89; NL MAX_COMPARTMENTS
    in_axons=4096,              # D18 constraint 4; NL MAX_IN_AXONS
    out_axons=4096,             # D18 constraint 3; NL MAX_OUT_AXONS
    synapse_words=16384,        # D18 constraint 2 (128 KB); NL MAX_SYNAPSE_BITS = 16384 * 64
    synapse_word_bits=64,
    weight_bits=8,              # D18 Table 1 (1-9 bits signed); NL WEIGHT_BITS_MAP, range -256..255
    weight_exp_min=-7,          # NL builder/validate.py: -7 <= weight_exp <= 7
    weight_exp_max=7,
    weight_shift=6,             # NL get_real_weight_exp / LV act_shift: dendritic input = w << (6 + exp)
    state_bits=24,              # Dey22 via D18 notes; NL U_BITS = 23 (+ sign); LV uv_bitwidth = 24
    decay_bits=12,              # NL DECAY_U_MAX = DECAY_V_MAX = 4095; LV du, dv 12-bit
    vth_mant_bits=17,           # NL VTH_MAN_MAX = 2**17 - 1; LV vth 17 bits
    vth_shift=6,                # NL VTH_EXP = 6; LV vth_shift
    refractory_min=1,           # NL REFRACT_DELAY_MAX = 63
    refractory_max=63,
    delay_max=62,               # D18 Table 1 and p.92: 6-bit delay, up to 62
    delay_bits=6,
    trace_bits=7,               # D18 p.91: 7-bit traces, stochastic rounding
    tag_bits=16,                # D18 p.91: 16-bit learning registers; NL LEARN_BITS = 15 (+ sign)
    reward_bits=8,              # a signed 8-bit broadcast (NL scale_pes_errors: +-127)
    energy_synop_j=23.6e-12,    # D18 Table 2: synaptic spike op (minimum)
    energy_syn_update_j=120e-12,  # D18 Table 2: synaptic update, pairwise STDP
    energy_neuron_active_j=81e-12,  # D18 Table 2: neuron update, active
    energy_neuron_idle_j=52e-12,    # D18 Table 2: neuron update, inactive
    energy_spike_local_j=1.7e-12,   # D18 Table 2: within-tile spike
    energy_hop_ew_j=3.0e-12,        # D18 Table 2: tile hop east-west
    energy_hop_ns_j=4.0e-12,        # D18 Table 2: tile hop north-south
    static_power_per_core_w=0.82e-3,  # F20 Table 1 (3.34 W / 32 chips / 128 cores), an upper bound
    cores_per_tile=4,           # inferred from D18 Table 2 "1-32 tiles" (HARDWARE.md: M1 section 3.5)
    time_synop_s=3.5e-9,        # D18 Table 2 (max)
    time_neuron_update_s=8.4e-9,  # D18 Table 2 (active)
    time_barrier_s=113e-9,      # D18 Table 2: mesh-wide barrier, 1 tile
)

PROFILES: dict[str, CoreProfile] = {"loihi": LOIHI}
