namespace Cnn.Edge.Kernels;

/// <summary>Fixed-point parameters of an int8 LeakyRelu, computed once at prepare by <see cref="LeakyReluReference.ComputeParams"/>.</summary>
public readonly record struct LeakyReluParams(
    int InputZeroPoint, int OutputZeroPoint,
    int IdentityMultiplier, int IdentityShift, int IdentityLeftShift,
    int AlphaMultiplier, int AlphaShift, int AlphaLeftShift, bool NegativeAlpha);

/// <summary>
/// The specification of int8 LeakyRelu (TFLite's two branches, with Add's extra fraction bits): with v = q - zp_in (|v| ≤ 255),
/// <code>
///   y = clamp(zp_out + Requantize.Apply(v &lt;&lt; L1, M1 · 2^-L1 = s_in / s_out · 2^-L1),            -128, 127)   v ≥ 0
///   y = clamp(zp_out ± Requantize.Apply(v &lt;&lt; L2, M2 · 2^-L2 = |alpha| · s_in / s_out · 2^-L2),  -128, 127)   v &lt; 0 (minus when alpha &lt; 0)
/// </code>
/// The left shift L (20, fewer only for multipliers below 2^-11 so that the right shift stays ≤ 31) keeps L
/// fraction bits through the high multiply, so only the last rounding matters (as in Add): the result is
/// within 1 LSB of f(s_in (q - zp_in)) / s_out + zp_out and almost always exact. No overflow: |v| &lt; 2^8,
/// so v &lt;&lt; 20 &lt; 2^28; prepare requires M1, M2 &lt; 2^22, so Apply's own left shift is at most 2.
/// </summary>
public static class LeakyReluReference
{
    /// <summary>Largest real multiplier accepted (keeps 255 · M inside int32 before the high multiply).</summary>
    public const double MaxMultiplier = 1 << 22;

    /// <exception cref="ArgumentOutOfRangeException">a multiplier is not finite or not below <see cref="MaxMultiplier"/>.</exception>
    public static LeakyReluParams ComputeParams(double inputScale, int inputZeroPoint, double outputScale, int outputZeroPoint, float alpha)
    {
        double m1 = inputScale / outputScale, m2 = Math.Abs((double)alpha) * inputScale / outputScale;
        if (!(m1 < MaxMultiplier) || !(m2 < MaxMultiplier))
            throw new ArgumentOutOfRangeException(nameof(outputScale), outputScale, $"multipliers {m1:R} and {m2:R} must be below 2^22");
        var (im, ish, il) = Split(m1);
        var (am, ash, al) = Split(m2);
        return new LeakyReluParams(inputZeroPoint, outputZeroPoint, im, ish, il, am, ash, al, alpha < 0);
    }

    /// <summary>Multiplier and shift of M · 2^-L with L = min(20, 31 + shift of M) ≥ 0.</summary>
    private static (int Multiplier, int Shift, int LeftShift) Split(double m)
    {
        var (mult, shift) = Requantize.QuantizeMultiplier(m);
        int left = Math.Clamp(31 + shift, 0, 20);
        return (mult, shift - left, left);
    }

    public static void Run(in LeakyReluParams p, ReadOnlySpan<sbyte> input, Span<sbyte> output)
    {
        for (int i = 0; i < output.Length; i++)
        {
            int v = input[i] - p.InputZeroPoint;
            int r;
            if (v >= 0)
            {
                r = Requantize.Apply(v << p.IdentityLeftShift, p.IdentityMultiplier, p.IdentityShift);
            }
            else
            {
                r = Requantize.Apply(v << p.AlphaLeftShift, p.AlphaMultiplier, p.AlphaShift);
                if (p.NegativeAlpha) r = -r;
            }
            int y = r + p.OutputZeroPoint;
            output[i] = (sbyte)(y < -128 ? -128 : y > 127 ? 127 : y);
        }
    }
}
