using System.Runtime.CompilerServices;

namespace Cnn.Edge.Kernels;

/// <summary>
/// The one requantization rule of the SDK (docs/quantization.md): a real multiplier M is stored as a
/// Q31 fixed-point <c>multiplier</c> in [2^30, 2^31) and a power-of-two <c>shift</c> with
/// M = multiplier * 2^(shift - 31). Applying it is TFLite's MultiplyByQuantizedMultiplier:
/// left-shift by max(shift, 0), saturating rounding doubling high multiply (ties rounded up,
/// exactly NEON SQRDMULH), then a rounding right shift by max(-shift, 0) with ties away from zero.
/// The two roundings together stay within (not reaching) 1 LSB of the real product. Every kernel (scalar or SIMD) must
/// produce exactly what <see cref="Apply"/> produces.
/// </summary>
public static class Requantize
{
    /// <summary>Splits a real multiplier into (Q31 multiplier, shift). M = 0 gives (0, 0).</summary>
    /// <exception cref="ArgumentOutOfRangeException">M negative, not finite, or not representable (shift outside [-31, 30]).</exception>
    public static (int Multiplier, int Shift) QuantizeMultiplier(double realMultiplier)
    {
        if (!double.IsFinite(realMultiplier) || realMultiplier < 0)
            throw new ArgumentOutOfRangeException(nameof(realMultiplier), realMultiplier, "must be finite and non-negative");
        if (realMultiplier == 0) return (0, 0);
        double q = Frexp(realMultiplier, out int shift); // q in [0.5, 1)
        long qFixed = (long)Math.Round(q * (1L << 31), MidpointRounding.AwayFromZero);
        if (qFixed == 1L << 31) { qFixed /= 2; shift++; }
        if (shift < -31) return (0, 0); // below 2^-62: the product rounds to zero for every int32 input
        if (shift > 30)
            throw new ArgumentOutOfRangeException(nameof(realMultiplier), realMultiplier, "too large: shift above 30");
        return ((int)qFixed, shift);
    }

    /// <summary>round(x * multiplier * 2^(shift-31)) with TFLite's double rounding (see class remarks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Apply(int x, int multiplier, int shift)
    {
        int leftShift = shift > 0 ? shift : 0;
        int rightShift = shift > 0 ? 0 : -shift;
        // The left shift saturates like the NEON SQSHL the SIMD kernels use; inputs here are bounded
        // accumulators for which it never actually saturates in a valid model.
        long shifted = (long)x << leftShift;
        int xs = shifted > int.MaxValue ? int.MaxValue : shifted < int.MinValue ? int.MinValue : (int)shifted;
        return RoundingDivideByPot(SaturatingRoundingDoublingHighMul(xs, multiplier), rightShift);
    }

    /// <summary>(a*b*2 + 2^31) >> 32 with the one overflow case (MinValue*MinValue) saturated: NEON SQRDMULH.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int SaturatingRoundingDoublingHighMul(int a, int b)
    {
        if (a == int.MinValue && b == int.MinValue) return int.MaxValue;
        long ab = (long)a * b;
        long nudge = ab >= 0 ? 1L << 30 : 1 - (1L << 30);
        return (int)((ab + nudge) / (1L << 31));
    }

    /// <summary>x / 2^exponent rounded to nearest, ties away from zero (gemmlowp RoundingDivideByPOT).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int RoundingDivideByPot(int x, int exponent)
    {
        if (exponent == 0) return x;
        int mask = (int)((1L << exponent) - 1);
        int remainder = x & mask;
        int threshold = (mask >> 1) + (x < 0 ? 1 : 0);
        return (x >> exponent) + (remainder > threshold ? 1 : 0);
    }

    /// <summary>Requantize an int32 accumulator to int8: zero point added, then clamped to [actMin, actMax].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static sbyte ToInt8(int acc, int multiplier, int shift, int outputZeroPoint, int actMin, int actMax)
    {
        int v = Apply(acc, multiplier, shift) + outputZeroPoint;
        return (sbyte)(v < actMin ? actMin : v > actMax ? actMax : v);
    }

    /// <summary>numerator / denominator rounded to nearest, ties away from zero; denominator &gt; 0 and
    /// |numerator| + denominator/2 within int32 (the callers' bounds guarantee it). Used by average pooling.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int DivideRoundAwayFromZero(int numerator, int denominator)
        => numerator >= 0
            ? (numerator + denominator / 2) / denominator
            : -((-numerator + denominator / 2) / denominator);

    /// <summary>
    /// The int8 clamp of a fused activation whose real output range is [realMin, realMax] (use
    /// negative/positive infinity for "unbounded"): ReLU is (0, +inf), ReLU6 is (0, 6). Result in
    /// output units: [max(-128, zp + round(realMin / scale)), min(127, zp + round(realMax / scale))],
    /// rounding half away from zero.
    /// </summary>
    public static (int Min, int Max) ActivationRange(double realMin, double realMax, float scale, int zeroPoint)
    {
        if (!(scale > 0) || !float.IsFinite(scale))
            throw new ArgumentOutOfRangeException(nameof(scale), scale, "must be finite and > 0");
        if (double.IsNaN(realMin) || double.IsNaN(realMax) || realMin > realMax)
            throw new ArgumentOutOfRangeException(nameof(realMin), $"[{realMin}, {realMax}] is not a range");
        static int ToQ(double real, float scale, int zp)
        {
            double q = Math.Round(real / scale, MidpointRounding.AwayFromZero) + zp;
            return (int)Math.Clamp(q, sbyte.MinValue, sbyte.MaxValue);
        }
        return (ToQ(realMin, scale, zeroPoint), ToQ(realMax, scale, zeroPoint));
    }

    private static double Frexp(double value, out int exponent)
    {
        // value = mantissa * 2^exponent with mantissa in [0.5, 1), for finite positive value.
        exponent = Math.ILogB(value) + 1;
        return Math.ScaleB(value, -exponent);
    }
}
