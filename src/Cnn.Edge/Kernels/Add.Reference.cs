namespace Cnn.Edge.Kernels;

/// <summary>Fixed-point parameters of an int8 Add, computed once at prepare by <see cref="AddReference.ComputeParams"/>.</summary>
public readonly record struct AddParams(
    int AZeroPoint, int AMultiplier, int AShift,
    int BZeroPoint, int BMultiplier, int BShift,
    int OutputZeroPoint, int OutputMultiplier, int OutputShift,
    int ActMin, int ActMax);

/// <summary>
/// The specification of int8 Add of two tensors with different scales (TFLite's scheme):
/// <code>
///   t      = 2 * max(sa, sb)
///   a'     = Requantize.Apply((qa - zpa) &lt;&lt; 20, Ma = sa / t)      Ma, Mb ≤ 1/2
///   b'     = Requantize.Apply((qb - zpb) &lt;&lt; 20, Mb = sb / t)
///   y      = clamp(Requantize.Apply(a' + b', Mo = t / (2^20 * so)) + zpo, actMin, actMax)
/// </code>
/// The left shift by 20 keeps 20 fraction bits through the rescaling of each input, so only the
/// last rounding matters: the result is within 1 LSB of (sa(qa-zpa) + sb(qb-zpb)) / so + zpo.
/// Overflow: |q - zp| ≤ 255 &lt; 2^8, so the shifted values are below 2^28, a' and b' below 2^27,
/// and their sum below 2^28.
/// </summary>
public static class AddReference
{
    public const int LeftShift = 20;

    /// <exception cref="ArgumentOutOfRangeException">a multiplier is not representable (see <see cref="Requantize.QuantizeMultiplier"/>).</exception>
    public static AddParams ComputeParams(double aScale, int aZeroPoint, double bScale, int bZeroPoint,
        double outputScale, int outputZeroPoint, int actMin, int actMax)
    {
        double twiceMax = 2 * Math.Max(aScale, bScale);
        var (am, ash) = Requantize.QuantizeMultiplier(aScale / twiceMax);
        var (bm, bsh) = Requantize.QuantizeMultiplier(bScale / twiceMax);
        var (om, osh) = Requantize.QuantizeMultiplier(twiceMax / ((1 << LeftShift) * outputScale));
        return new AddParams(aZeroPoint, am, ash, bZeroPoint, bm, bsh, outputZeroPoint, om, osh, actMin, actMax);
    }

    public static void Run(in AddParams p, ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, Span<sbyte> output)
    {
        for (int i = 0; i < output.Length; i++)
        {
            int sa = Requantize.Apply((a[i] - p.AZeroPoint) << LeftShift, p.AMultiplier, p.AShift);
            int sb = Requantize.Apply((b[i] - p.BZeroPoint) << LeftShift, p.BMultiplier, p.BShift);
            output[i] = Requantize.ToInt8(sa + sb, p.OutputMultiplier, p.OutputShift, p.OutputZeroPoint, p.ActMin, p.ActMax);
        }
    }
}
