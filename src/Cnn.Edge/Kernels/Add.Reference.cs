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
/// <summary>Output dimensions and per-input element strides (0 = broadcast) of an Add with broadcasting.</summary>
public readonly record struct AddBroadcast(int D0, int D1, int D2, int D3, int A0, int A1, int A2, int A3, int B0, int B1, int B2, int B3);

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
        for (int i = 0; i < output.Length; i++) output[i] = One(p, a[i], b[i]);
    }

    /// <summary>One output element: the arithmetic above.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static sbyte One(in AddParams p, sbyte a, sbyte b)
    {
        int sa = Requantize.Apply((a - p.AZeroPoint) << LeftShift, p.AMultiplier, p.AShift);
        int sb = Requantize.Apply((b - p.BZeroPoint) << LeftShift, p.BMultiplier, p.BShift);
        return Requantize.ToInt8(sa + sb, p.OutputMultiplier, p.OutputShift, p.OutputZeroPoint, p.ActMin, p.ActMax);
    }

    /// <summary>
    /// Add with broadcasting (numpy rule, one rank ≤ 4, leading dimensions of 1 prepended): output [D0,D1,D2,D3];
    /// <paramref name="s"/> holds each input's element stride per output dimension, 0 where that input has size 1
    /// (a [N,1,1,C] per-channel tensor added to [N,H,W,C], a [1,1,1,1] scalar, ...). Same arithmetic per element as <see cref="Run"/>.
    /// </summary>
    public static void RunBroadcast(in AddParams p, in AddBroadcast s, ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, Span<sbyte> output)
    {
        int o = 0;
        for (int i0 = 0; i0 < s.D0; i0++)
            for (int i1 = 0; i1 < s.D1; i1++)
                for (int i2 = 0; i2 < s.D2; i2++)
                {
                    int ia = i0 * s.A0 + i1 * s.A1 + i2 * s.A2, ib = i0 * s.B0 + i1 * s.B1 + i2 * s.B2;
                    for (int i3 = 0; i3 < s.D3; i3++) output[o++] = One(p, a[ia + i3 * s.A3], b[ib + i3 * s.B3]);
                }
    }

    /// <summary>Strides for <see cref="RunBroadcast"/> from the input and output shapes (one rank ≤ 4, checked by OpShapes).</summary>
    public static AddBroadcast Broadcast(int[] a, int[] b, int[] output)
    {
        int pad = 4 - output.Length;
        int[] d = new int[4], sa = new int[4], sb = new int[4];
        for (int k = 0; k < 4; k++) d[k] = k < pad ? 1 : output[k - pad];
        Strides(a, sa);
        Strides(b, sb);
        return new AddBroadcast(d[0], d[1], d[2], d[3], sa[0], sa[1], sa[2], sa[3], sb[0], sb[1], sb[2], sb[3]);

        void Strides(int[] shape, int[] strides)
        {
            int stride = 1;
            for (int k = 3; k >= 0; k--)
            {
                int dim = k < pad ? 1 : shape[k - pad];
                strides[k] = dim == 1 ? 0 : stride;
                stride *= dim;
            }
        }
    }
}
