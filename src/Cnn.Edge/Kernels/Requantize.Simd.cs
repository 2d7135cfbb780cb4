using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Cnn.Edge.Kernels;

/// <summary>
/// Four lanes of <see cref="Requantize.Apply"/>, bit for bit, for any int32 x and shift in [-31, 30].
/// Per-lane parameters are precomputed at prepare: <c>left</c> = max(shift, 0), <c>rightPos</c> = max(-shift, 0),
/// <c>rightNeg</c> = -rightPos (NEON's rounding shift takes a negative count). Implementations are structs
/// so that generic kernels are specialised per ISA with no virtual call in the hot loop.
/// </summary>
internal interface IRequant4
{
    static abstract Vector128<int> Apply(Vector128<int> x, Vector128<int> mult, Vector128<int> left, Vector128<int> rightPos, Vector128<int> rightNeg);

    /// <summary>False when <see cref="Apply"/> ignores <c>left</c> and <c>rightPos</c>: kernels then skip loading them.</summary>
    static virtual bool ReadsLeftAndRightPos => true;
}

/// <summary>NEON: SQSHL, SQRDMULH, then the gemmlowp fixup (x - 1 for negative x when shifting) and SRSHL: 5 instructions.</summary>
internal readonly struct AdvSimdRequant : IRequant4
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Apply(Vector128<int> x, Vector128<int> mult, Vector128<int> left, Vector128<int> rightPos, Vector128<int> rightNeg)
        => AdvSimdRequantNoLeft.Apply(AdvSimd.ShiftArithmeticSaturate(x, left), mult, left, rightPos, rightNeg);
}

/// <summary>
/// NEON for layers whose shifts are all ≤ 0 (multipliers below 1, the usual case): SQRDMULH, AND, SSRA, SRSHL.
/// SRSHL rounds ties up; Apply rounds ties away from zero. Subtracting 1 from negative values (only when
/// there is a right shift: rightNeg has its sign bit set) turns one into the other. SSRA adds the -1 without
/// saturation, which is exact: the multiplier is below 2^31, so |SQRDMULH result| &lt; 2^31 and h - 1 ≥ int.MinValue.
/// </summary>
internal readonly struct AdvSimdRequantNoLeft : IRequant4
{
    public static bool ReadsLeftAndRightPos => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Apply(Vector128<int> x, Vector128<int> mult, Vector128<int> left, Vector128<int> rightPos, Vector128<int> rightNeg)
    {
        Vector128<int> h = AdvSimd.MultiplyRoundedDoublingSaturateHigh(x, mult);
        return AdvSimd.ShiftArithmeticRounded(AdvSimd.ShiftRightArithmeticAdd(h, AdvSimd.And(h, rightNeg), 31), rightNeg);
    }
}

/// <summary>NEON for layers whose shifts are all &lt; 0 (every channel shifts right): SQRDMULH, SSRA, SRSHL (see <see cref="AdvSimdRequantNoLeft"/>).</summary>
internal readonly struct AdvSimdRequantRight : IRequant4
{
    public static bool ReadsLeftAndRightPos => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Apply(Vector128<int> x, Vector128<int> mult, Vector128<int> left, Vector128<int> rightPos, Vector128<int> rightNeg)
    {
        Vector128<int> h = AdvSimd.MultiplyRoundedDoublingSaturateHigh(x, mult);
        return AdvSimd.ShiftArithmeticRounded(AdvSimd.ShiftRightArithmeticAdd(h, h, 31), rightNeg);
    }
}

/// <summary>
/// NEON for GEMM layers whose shifts are all &lt; 0 and whose clamp starts at or above the output zero point (ReLU, ReLU6):
/// SQRDMULH, SRSHL, without the fixup of <see cref="AdvSimdRequantRight"/>. The fixup only changes negative h at an exact
/// tie, where SRSHL gives y + 1 for the rule's y = -(k + 1), k ≥ 0: both are ≤ 0, so both plus the zero point are at or
/// below act_min and clamp to the same byte. Only for kernels that clamp right after (<see cref="GemmPlan"/>'s 4x16 and 4x4 tiles).
/// </summary>
internal readonly struct AdvSimdRequantRightClamped : IRequant4
{
    public static bool ReadsLeftAndRightPos => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Apply(Vector128<int> x, Vector128<int> mult, Vector128<int> left, Vector128<int> rightPos, Vector128<int> rightNeg)
        => AdvSimd.ShiftArithmeticRounded(AdvSimd.MultiplyRoundedDoublingSaturateHigh(x, mult), rightNeg);
}

/// <summary>Which NEON requantization a layer's shifts allow (chosen once at load); <see cref="RightShiftClamped"/>: right
/// shifts only and act_min ≥ the output zero point (<see cref="AdvSimdRequantRightClamped"/>, GEMM plans only).</summary>
internal enum ArmRequantKind { General, NoLeftShift, RightShiftOnly, RightShiftClamped }

internal static class ArmRequant
{
    public static ArmRequantKind Classify(ReadOnlySpan<int> shifts)
    {
        bool noLeft = true, allRight = true;
        foreach (int s in shifts)
        {
            noLeft &= s <= 0;
            allRight &= s < 0;
        }
        return allRight ? ArmRequantKind.RightShiftOnly : noLeft ? ArmRequantKind.NoLeftShift : ArmRequantKind.General;
    }
}

/// <summary>x86 (AVX2 on 128-bit vectors): emulates SQSHL and SQRDMULH with 64-bit products (PMULDQ).</summary>
internal readonly struct X86Requant : IRequant4
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Apply(Vector128<int> x, Vector128<int> mult, Vector128<int> left, Vector128<int> rightPos, Vector128<int> rightNeg)
    {
        // Saturating left shift: shifting back must give x, else the shift overflowed.
        Vector128<uint> l = left.AsUInt32();
        Vector128<int> s = Avx2.ShiftLeftLogicalVariable(x, l);
        Vector128<int> back = Avx2.ShiftRightArithmeticVariable(s, l);
        Vector128<int> sat = Sse2.Xor(Sse2.ShiftRightArithmetic(x, 31), Vector128.Create(int.MaxValue));
        Vector128<int> xs = Sse41.BlendVariable(sat, s, Sse2.CompareEqual(back, x));
        return RoundingDivide(HighMul(xs, mult), rightPos);
    }

    /// <summary>Rounding divide by 2^r, ties away from zero: a transcription of Requantize.RoundingDivideByPot.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> RoundingDivide(Vector128<int> h, Vector128<int> rightPos)
    {
        Vector128<uint> r = rightPos.AsUInt32();
        Vector128<int> mask = Sse2.Subtract(Avx2.ShiftLeftLogicalVariable(Vector128<int>.One, r), Vector128<int>.One);
        Vector128<int> remainder = Sse2.And(h, mask);
        Vector128<int> threshold = Sse2.Subtract(Sse2.ShiftRightArithmetic(mask, 1), Sse2.ShiftRightArithmetic(h, 31));
        Vector128<int> q = Avx2.ShiftRightArithmeticVariable(h, r);
        return Sse2.Subtract(q, Sse2.CompareGreaterThan(remainder, threshold));
    }

    /// <summary>SQRDMULH: (a*b + 2^30) >> 31 on the exact 64-bit product; only MinValue*MinValue saturates.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> HighMul(Vector128<int> a, Vector128<int> b)
    {
        Vector128<int> min = Vector128.Create(int.MinValue);
        Vector128<int> overflow = Sse2.And(Sse2.CompareEqual(a, min), Sse2.CompareEqual(b, min));
        return Sse41.BlendVariable(HighMulNoSaturate(a, b), Vector128.Create(int.MaxValue), overflow);
    }

    /// <summary><see cref="HighMul"/> for operands that are not both int.MinValue.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> HighMulNoSaturate(Vector128<int> a, Vector128<int> b)
    {
        Vector128<long> nudge = Vector128.Create(1L << 30);
        Vector128<long> even = Sse2.Add(Sse41.Multiply(a, b), nudge);
        Vector128<long> odd = Sse2.Add(Sse41.Multiply(Sse2.ShiftRightLogical(a.AsInt64(), 32).AsInt32(), Sse2.ShiftRightLogical(b.AsInt64(), 32).AsInt32()), nudge);
        // The result fits in 32 bits, so bits 31..62 of the sum are it:
        // a logical shift right by 31 puts them in the low half (even lanes), a shift left by 1 in the high half (odd lanes).
        Vector128<int> lo = Sse2.ShiftRightLogical(even, 31).AsInt32();
        Vector128<int> hi = Sse2.ShiftLeftLogical(odd, 1).AsInt32();
        return Avx2.Blend(lo, hi, 0b1010);
    }
}

/// <summary>
/// x86 for layers whose shifts are all ≤ 0 and whose multipliers are not int.MinValue (the usual case): <see cref="X86Requant"/>
/// without the saturating left shift (a shift by 0 is x itself) and without the SQRDMULH saturation test (only
/// MinValue·MinValue saturates).
/// </summary>
internal readonly struct X86RequantNoLeft : IRequant4
{
    /// <summary>Whether a layer's (multiplier, shift) pairs allow this variant (checked once at load).</summary>
    public static bool Applies(ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts)
    {
        for (int i = 0; i < shifts.Length; i++)
            if (shifts[i] > 0 || multipliers[i] == int.MinValue) return false;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Apply(Vector128<int> x, Vector128<int> mult, Vector128<int> left, Vector128<int> rightPos, Vector128<int> rightNeg)
        => X86Requant.RoundingDivide(X86Requant.HighMulNoSaturate(x, mult), rightPos);

    /// <summary>Eight lanes (AVX2): the same instructions on 256-bit vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Apply(Vector256<int> x, Vector256<int> mult, Vector256<int> rightPos)
    {
        Vector256<long> nudge = Vector256.Create(1L << 30);
        Vector256<long> even = Avx2.Add(Avx2.Multiply(x, mult), nudge);
        Vector256<long> odd = Avx2.Add(Avx2.Multiply(Avx2.ShiftRightLogical(x.AsInt64(), 32).AsInt32(), Avx2.ShiftRightLogical(mult.AsInt64(), 32).AsInt32()), nudge);
        Vector256<int> h = Avx2.Blend(Avx2.ShiftRightLogical(even, 31).AsInt32(), Avx2.ShiftLeftLogical(odd, 1).AsInt32(), 0b10101010);
        Vector256<uint> r = rightPos.AsUInt32();
        Vector256<int> mask = Avx2.Subtract(Avx2.ShiftLeftLogicalVariable(Vector256<int>.One, r), Vector256<int>.One);
        Vector256<int> remainder = Avx2.And(h, mask);
        Vector256<int> threshold = Avx2.Subtract(Avx2.ShiftRightArithmetic(mask, 1), Avx2.ShiftRightArithmetic(h, 31));
        Vector256<int> q = Avx2.ShiftRightArithmeticVariable(h, r);
        return Avx2.Subtract(q, Avx2.CompareGreaterThan(remainder, threshold));
    }
}

/// <summary>Portable fallback: the scalar rule per lane (the Vector128 ISA is a correctness baseline, not a fast path).</summary>
internal readonly struct ScalarLaneRequant : IRequant4
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Apply(Vector128<int> x, Vector128<int> mult, Vector128<int> left, Vector128<int> rightPos, Vector128<int> rightNeg)
    {
        return Vector128.Create(
            Requantize.Apply(x.GetElement(0), mult.GetElement(0), left.GetElement(0) - rightPos.GetElement(0)),
            Requantize.Apply(x.GetElement(1), mult.GetElement(1), left.GetElement(1) - rightPos.GetElement(1)),
            Requantize.Apply(x.GetElement(2), mult.GetElement(2), left.GetElement(2) - rightPos.GetElement(2)),
            Requantize.Apply(x.GetElement(3), mult.GetElement(3), left.GetElement(3) - rightPos.GetElement(3)));
    }
}

/// <summary>Array-level vectorized requantization (for kernels that requantize a whole row, and for tests).</summary>
public static class RequantizeSimd
{
    /// <summary>out[i] = Requantize.Apply(x[i], multiplier[i], shift[i]), vectorized with <paramref name="isa"/>.</summary>
    public static void Apply(KernelIsa isa, ReadOnlySpan<int> x, ReadOnlySpan<int> multiplier, ReadOnlySpan<int> shift, Span<int> result)
    {
        if (multiplier.Length < x.Length || shift.Length < x.Length || result.Length < x.Length)
            throw new ArgumentException("multiplier, shift and result must be at least as long as x");
        switch (KernelSelector.Resolve(isa))
        {
            case KernelIsa.AdvSimd or KernelIsa.AdvSimdDp: Run<AdvSimdRequant>(x, multiplier, shift, result); break;
            case KernelIsa.Avx2 or KernelIsa.AvxVnni: Run<X86Requant>(x, multiplier, shift, result); break;
            case KernelIsa.Vector128: Run<ScalarLaneRequant>(x, multiplier, shift, result); break;
            default:
                for (int i = 0; i < x.Length; i++) result[i] = Requantize.Apply(x[i], multiplier[i], shift[i]);
                break;
        }
    }

    private static void Run<TReq>(ReadOnlySpan<int> x, ReadOnlySpan<int> multiplier, ReadOnlySpan<int> shift, Span<int> result)
        where TReq : struct, IRequant4
    {
        int i = 0;
        for (; i + 4 <= x.Length; i += 4)
        {
            Vector128<int> s = Vector128.Create(shift.Slice(i, 4));
            Vector128<int> left = Vector128.Max(s, Vector128<int>.Zero);
            Vector128<int> rightNeg = Vector128.Min(s, Vector128<int>.Zero);
            TReq.Apply(Vector128.Create(x.Slice(i, 4)), Vector128.Create(multiplier.Slice(i, 4)), left, -rightNeg, rightNeg)
                .CopyTo(result.Slice(i, 4));
        }
        for (; i < x.Length; i++) result[i] = Requantize.Apply(x[i], multiplier[i], shift[i]);
    }
}
