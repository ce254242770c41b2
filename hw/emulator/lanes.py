"""The integer LIF update of sixteen compartments at once, written as explicit 16-lane LLVM vectors.

Why explicit vectors: Numba leaves vectorisation to LLVM's loop vectoriser, which widens every integer to 64
bits (Numba's integer typing) and is tuned to 256-bit registers on current x86 targets: four compartments per
instruction, half the float32 engine's eight. Here the state is int32 (24-bit values) and the whole update is
16 x i32 / 16 x f32, kept whole where 512-bit registers exist (AVX-512) and split into legal pieces elsewhere
(AVX2, NEON): the arithmetic is the same on every host and only the speed differs.

The 12-bit decay sign(x) * ((|x| * k) >> 12) needs a 36-bit product, which no 32-bit lane holds; it is done
exactly in float32 by splitting x at bit 12: for an integer |x| < 2**24 (every 24-bit state value), x is exact
in float32, xh = trunc(x / 4096) and xl = x - 4096 * xh are exact integers of x's sign (|xl| < 4096), xl * k /
4096 has at most 24 significant bits (xl * k < 2**24 for k <= 4096) so trunc(xl * (k / 4096)) is exact, and
xh * k + that (< 2**24) is exact: trunc(x * k / 4096), i.e. the decay, because trunc is odd-symmetric and xh,
xl share x's sign. tests/hw compare every lane against int_lif_scalar.

``lif_lanes`` is hw.emulator.kernels.int_lif_scalar's arithmetic (no noise, not strict) for compartments
j..j+15; the caller (hw.emulator.kernels.int_lif_vector) runs whole blocks of sixteen through it and the rest
through the same arithmetic in plain Numba.
"""
from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

LANES = 16
"""Compartments per call."""
COUNT_BITS = 8
"""The packed result: active updates in bits 0-7, voltage saturations in 8-15, spikes in 16-23."""

_I32 = ir.IntType(32)
_I64 = ir.IntType(64)
_VI32 = ir.VectorType(_I32, LANES)
_VF32 = ir.VectorType(ir.FloatType(), LANES)
_V8 = ir.VectorType(ir.IntType(8), LANES)
_MASK = ir.IntType(LANES)


def _splat(builder: ir.IRBuilder, value: ir.Value, vector_type: ir.VectorType) -> ir.Value:
    """A vector with ``value`` in every lane."""
    one = builder.insert_element(ir.Constant(vector_type, ir.Undefined), value, ir.Constant(_I32, 0))
    return builder.shuffle_vector(one, ir.Constant(vector_type, ir.Undefined),
                                  ir.Constant(ir.VectorType(_I32, LANES), [0] * LANES))


def _lanes_of(context, builder, array_type, array, j, vector_type: ir.VectorType) -> ir.Value:
    """A pointer to elements j..j+15 of ``array`` as one vector."""
    data = context.make_array(array_type)(context, builder, array).data
    return builder.bitcast(builder.gep(data, [j]), vector_type.as_pointer())


def _vector_function(builder: ir.IRBuilder, name: str, n_args: int) -> ir.Function:
    """The LLVM intrinsic llvm.<name>.v16f32."""
    return cgutils.get_or_insert_function(builder.module, ir.FunctionType(_VF32, [_VF32] * n_args),
                                          f"llvm.{name}.v16f32")


def _decay(builder: ir.IRBuilder, x: ir.Value, keep: ir.Value, keep_fraction: ir.Value) -> ir.Value:
    """sign(x) * ((|x| * keep) >> 12) of int32 lanes, split at bit 12 in float32 (exact: module docstring);
    ``keep`` and ``keep_fraction`` = keep / 4096 are float32 splats."""
    trunc, fma = _vector_function(builder, "trunc", 1), _vector_function(builder, "fma", 3)
    xf = builder.sitofp(x, _VF32)
    high = builder.call(trunc, [builder.fmul(xf, ir.Constant(_VF32, [1.0 / 4096.0] * LANES))])
    low = builder.call(fma, [builder.fneg(high), ir.Constant(_VF32, [4096.0] * LANES), xf])
    low_decayed = builder.call(trunc, [builder.fmul(low, keep_fraction)])
    return builder.fptosi(builder.call(fma, [high, keep, low_decayed]), _VI32)


def _count(builder: ir.IRBuilder, mask: ir.Value) -> ir.Value:
    """The number of true lanes of a 16 x i1 mask, as i64."""
    return builder.ctpop(builder.zext(builder.bitcast(mask, _MASK), _I64))


@intrinsic
def lif_lanes(typingctx, j, v, u_exc, u_inh, left, fired, keep_v, keep_e, keep_i, bias, vth, v_reset, top):
    """One step of compartments j..j+15 (int32 arrays v, u_exc, u_inh, refractory ``left``; uint8 spike flags
    ``fired`` set to 0/1; keep_* the float32 12-bit keep factors 4096 - d - offset; bias, vth, v_reset, top
    int32): free = left <= 0; x = decay(v) + u_exc + u_inh + bias; v' = clip(x, +-top) if free, else v_reset;
    left' = 0 if free else left - 1; currents decayed; spike iff v' > vth, then v' = v_reset (the caller sets a
    spiker's refractory count). Returns active | saturated << 8 | spikes << 16: active counts free lanes with a
    bias or any non-zero state, saturated the free lanes whose x was clipped."""
    sig = types.int64(types.int64, v, u_exc, u_inh, left, fired, types.float32, types.float32, types.float32,
                      types.int32, types.int32, types.int32, types.int32)

    def codegen(context, builder, signature, args):
        j, keeps, (bias, vth, v_reset, top) = args[0], args[6:9], args[9:]
        p_v, p_ue, p_ui, p_left = (_lanes_of(context, builder, signature.args[k], args[k], j, _VI32)
                                   for k in range(1, 5))
        p_fired = _lanes_of(context, builder, signature.args[5], args[5], j, _V8)
        vj, ue, ui, r = (builder.load(p, align=4) for p in (p_v, p_ue, p_ui, p_left))
        scale = ir.Constant(_VF32, [1.0 / 4096.0] * LANES)
        keep_v, keep_e, keep_i = (_splat(builder, k, _VF32) for k in keeps)
        fraction_v, fraction_e, fraction_i = (builder.fmul(k, scale) for k in (keep_v, keep_e, keep_i))
        bias, vth, reset_v, top = (_splat(builder, x, _VI32) for x in (bias, vth, v_reset, top))
        zero = ir.Constant(_VI32, [0] * LANES)
        free = builder.icmp_signed("<=", r, zero)
        x = builder.add(builder.add(_decay(builder, vj, keep_v, fraction_v), ue), builder.add(ui, bias))
        low = builder.neg(top)
        high_clipped = builder.select(builder.icmp_signed(">", x, top), top, x)
        clipped = builder.select(builder.icmp_signed("<", high_clipped, low), low, high_clipped)
        saturated = builder.and_(free, builder.icmp_signed("!=", clipped, x))
        busy = builder.or_(builder.icmp_signed("!=", builder.or_(builder.or_(vj, ue), ui), zero),
                           builder.icmp_signed("!=", bias, zero))
        active = builder.and_(free, busy)
        v_new = builder.select(free, clipped, reset_v)
        builder.store(builder.select(free, zero, builder.sub(r, ir.Constant(_VI32, [1] * LANES))), p_left, align=4)
        builder.store(_decay(builder, ue, keep_e, fraction_e), p_ue, align=4)
        builder.store(_decay(builder, ui, keep_i, fraction_i), p_ui, align=4)
        spike = builder.icmp_signed(">", v_new, vth)
        builder.store(builder.zext(spike, _V8), p_fired, align=1)
        builder.store(builder.select(spike, reset_v, v_new), p_v, align=4)
        packed = builder.or_(_count(builder, active),
                             builder.shl(_count(builder, saturated), ir.Constant(_I64, COUNT_BITS)))
        return builder.or_(packed, builder.shl(_count(builder, spike), ir.Constant(_I64, 2 * COUNT_BITS)))

    return sig, codegen
