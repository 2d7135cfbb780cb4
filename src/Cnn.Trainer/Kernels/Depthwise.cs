using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Cnn.Trainer.Kernels;

/// <summary>
/// Layout of one depthwise plane for <see cref="Depthwise"/>. The input plane is zero-padded and split
/// into stride phases: phase (a, b) holds padded pixels (i·SH + a, j·SW + b) at row i, column j (Hq × Wq).
/// Tap (ky, kx) then reads one phase at a fixed offset for every output, so an output computed at
/// "wide" index q = oy·Wq + ox reads phase[Tap[t] + q]: a contiguous vector load for any stride and
/// dilation. Columns ox ≥ OW of the wide layout are junk and never copied out.
/// </summary>
internal sealed class DepthwisePlan
{
    public DepthwisePlan(in ConvGeometry g, int h, int w)
    {
        G = g; H = h; W = w;
        OH = g.OutH(h); OW = g.OutW(w);
        int hp = h + 2 * g.PadH, wp = w + 2 * g.PadW;
        Hq = (hp + g.StrideH - 1) / g.StrideH; Wq = (wp + g.StrideW - 1) / g.StrideW;
        // Valid outputs read inside Hq×Wq; the vector tail of the last row reads at most Simd.MaxLanes further.
        PhaseLen = Hq * Wq + Simd.MaxLanes;
        Phases = g.StrideH * g.StrideW;
        Wide = ((OH - 1) * Wq + OW + Simd.MaxLanes - 1) / Simd.MaxLanes * Simd.MaxLanes;
        Tap = new int[g.KH * g.KW];
        for (int ky = 0; ky < g.KH; ky++)
            for (int kx = 0; kx < g.KW; kx++)
            {
                int py = ky * g.DilH, px = kx * g.DilW;
                Tap[ky * g.KW + kx] = ((py % g.StrideH) * g.StrideW + px % g.StrideW) * PhaseLen + py / g.StrideH * Wq + px / g.StrideW;
            }
    }

    public ConvGeometry G { get; }
    public int H { get; }
    public int W { get; }
    public int OH { get; }
    public int OW { get; }
    public int Hq { get; }
    public int Wq { get; }
    public int PhaseLen { get; }
    public int Phases { get; }
    /// <summary>Wide output length rounded up to a multiple of every vector width.</summary>
    public int Wide { get; }
    public int[] Tap { get; }

    public bool Matches(in ConvGeometry g, int h, int w) => g == G && h == H && w == W;

    /// <summary>Per-thread buffers: phases of x and of dx, wide output or gradient. Allocated zeroed: padding and slack of the phases stay zero.</summary>
    public DepthwiseScratch NewScratch() => new(new float[Phases * PhaseLen], new float[Phases * PhaseLen], new float[Wide + Simd.MaxLanes]);
}

internal sealed record DepthwiseScratch(float[] Phases, float[] DPhases, float[] Wide);

/// <summary>Direct depthwise convolution (one filter per channel, multiplier 1) on the phase layout of <see cref="DepthwisePlan"/>.</summary>
internal static class Depthwise
{
    /// <summary>y[OH·OW] = bias + Σ_t k[t]·x[tap t] for one plane.</summary>
    public static void Forward(DepthwisePlan p, DepthwiseScratch s, ReadOnlySpan<float> x, ReadOnlySpan<float> k, float bias, Span<float> y)
    {
        switch (Simd.Width)
        {
            case SimdWidth.V512: Forward<Vector512<float>, V512>(p, s, x, k, bias, y); break;
            case SimdWidth.V256: Forward<Vector256<float>, V256>(p, s, x, k, bias, y); break;
            default: Forward<Vector128<float>, V128>(p, s, x, k, bias, y); break;
        }
    }

    /// <summary>dk[t] += Σ dy·x[tap t]; dx (when not empty) = the adjoint (every pixel written), for one plane.</summary>
    public static void Backward(DepthwisePlan p, DepthwiseScratch s, ReadOnlySpan<float> x, ReadOnlySpan<float> k, ReadOnlySpan<float> dy,
        Span<float> dk, Span<float> dx)
    {
        switch (Simd.Width)
        {
            case SimdWidth.V512: Backward<Vector512<float>, V512>(p, s, x, k, dy, dk, dx); break;
            case SimdWidth.V256: Backward<Vector256<float>, V256>(p, s, x, k, dy, dk, dx); break;
            default: Backward<Vector128<float>, V128>(p, s, x, k, dy, dk, dx); break;
        }
    }

    /// <summary>Copies plane x into its padded phases (padding cells are never written, so they stay zero).</summary>
    private static void Split(DepthwisePlan p, ReadOnlySpan<float> x, float[] phases) =>
        Walk<ToPhases>(p, ref MemoryMarshal.GetReference(x), phases);

    /// <summary>dx = its padded phases (the adjoint of <see cref="Split"/>; each pixel has exactly one cell).</summary>
    private static void Merge(DepthwisePlan p, float[] phases, Span<float> dx) =>
        Walk<FromPhases>(p, ref MemoryMarshal.GetReference(dx), phases);

    private interface IPixelOp
    {
        static abstract void Apply(ref float pixel, ref float phaseCell);
    }

    private struct ToPhases : IPixelOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Apply(ref float pixel, ref float phaseCell) => phaseCell = pixel;
    }

    private struct FromPhases : IPixelOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Apply(ref float pixel, ref float phaseCell) => pixel = phaseCell;
    }

    /// <summary>Pairs every pixel of the H×W plane with its cell in the phase layout; column phases in turn, so no division per pixel.</summary>
    private static void Walk<TOp>(DepthwisePlan p, ref float plane, float[] phases) where TOp : struct, IPixelOp
    {
        int sw = p.G.StrideW;
        ref float Ph = ref MemoryMarshal.GetArrayDataReference(phases);
        for (int iy = 0; iy < p.H; iy++)
        {
            ref float row = ref Unsafe.Add(ref plane, iy * p.W);
            ref float rowPhases = ref Unsafe.Add(ref Ph, RowBase(p, iy));
            for (int b = 0; b < sw; b++)
            {
                var (ix, j) = FirstColumn(p, b);
                ref float cells = ref Unsafe.Add(ref rowPhases, b * p.PhaseLen + j);
                for (int jj = 0; ix < p.W; ix += sw, jj++) TOp.Apply(ref Unsafe.Add(ref row, ix), ref Unsafe.Add(ref cells, jj));
            }
        }
    }

    /// <summary>rows × cols floats between row strides; planes here are a few pixels wide, too short to pay for a memmove call per row.</summary>
    private static void CopyRows(ref float src, int srcStride, ref float dst, int dstStride, int rows, int cols)
    {
        for (int r = 0; r < rows; r++)
        {
            ref float s = ref Unsafe.Add(ref src, r * srcStride);
            ref float d = ref Unsafe.Add(ref dst, r * dstStride);
            for (int c = 0; c < cols; c++) Unsafe.Add(ref d, c) = Unsafe.Add(ref s, c);
        }
    }

    /// <summary>Offset of input row iy (padded row py) in column phase 0.</summary>
    private static int RowBase(DepthwisePlan p, int iy)
    {
        int py = iy + p.G.PadH;
        return (py % p.G.StrideH) * p.G.StrideW * p.PhaseLen + py / p.G.StrideH * p.Wq;
    }

    /// <summary>First input column in column phase b, and its column in that phase.</summary>
    private static (int Ix, int J) FirstColumn(DepthwisePlan p, int b)
    {
        int sw = p.G.StrideW;
        int ix = ((b - p.G.PadW) % sw + sw) % sw;
        return (ix, (ix + p.G.PadW) / sw);
    }

    private static void Forward<TV, TO>(DepthwisePlan p, DepthwiseScratch s, ReadOnlySpan<float> x, ReadOnlySpan<float> k, float bias, Span<float> y)
        where TV : unmanaged where TO : struct, ISimd<TV>
    {
        Split(p, x, s.Phases);
        ref float P = ref MemoryMarshal.GetArrayDataReference(s.Phases);
        ref float Wd = ref MemoryMarshal.GetArrayDataReference(s.Wide);
        var taps = p.Tap;
        var b = TO.Splat(bias);
        for (int q = 0; q < p.Wide; q += TO.Count)
        {
            var acc = b;
            for (int t = 0; t < taps.Length; t++)
                acc = TO.Fma(TO.Splat(k[t]), TO.Load(ref P, (nuint)(taps[t] + q)), acc);
            TO.Store(acc, ref Wd, (nuint)q);
        }
        CopyRows(ref Wd, p.Wq, ref MemoryMarshal.GetReference(y), p.OW, p.OH, p.OW);
    }

    private static void Backward<TV, TO>(DepthwisePlan p, DepthwiseScratch s, ReadOnlySpan<float> x, ReadOnlySpan<float> k, ReadOnlySpan<float> dy,
        Span<float> dk, Span<float> dx)
        where TV : unmanaged where TO : struct, ISimd<TV>
    {
        Split(p, x, s.Phases);
        // dy in the wide layout with zero junk columns and tail (Forward left junk there), so they add nothing below.
        Array.Clear(s.Wide);
        CopyRows(ref MemoryMarshal.GetReference(dy), p.OW, ref MemoryMarshal.GetArrayDataReference(s.Wide), p.Wq, p.OH, p.OW);
        ref float P = ref MemoryMarshal.GetArrayDataReference(s.Phases);
        ref float D = ref MemoryMarshal.GetArrayDataReference(s.Wide);
        var taps = p.Tap;
        for (int t = 0; t < taps.Length; t++)
        {
            ref float Pt = ref Unsafe.Add(ref P, taps[t]);
            TV a0 = TO.Zero, a1 = TO.Zero;
            int q = 0;
            for (; q + 2 * TO.Count <= p.Wide; q += 2 * TO.Count)
            {
                a0 = TO.Fma(TO.Load(ref D, (nuint)q), TO.Load(ref Pt, (nuint)q), a0);
                a1 = TO.Fma(TO.Load(ref D, (nuint)(q + TO.Count)), TO.Load(ref Pt, (nuint)(q + TO.Count)), a1);
            }
            for (; q < p.Wide; q += TO.Count)
                a0 = TO.Fma(TO.Load(ref D, (nuint)q), TO.Load(ref Pt, (nuint)q), a0);
            dk[t] += TO.Sum(TO.Add(a0, a1));
        }
        if (dx.IsEmpty) return;
        Array.Clear(s.DPhases);
        ref float DP = ref MemoryMarshal.GetArrayDataReference(s.DPhases);
        for (int t = 0; t < taps.Length; t++)
        {
            ref float DPt = ref Unsafe.Add(ref DP, taps[t]);
            var wv = TO.Splat(k[t]);
            for (int q = 0; q < p.Wide; q += TO.Count)
                TO.Store(TO.Fma(wv, TO.Load(ref D, (nuint)q), TO.Load(ref DPt, (nuint)q)), ref DPt, (nuint)q);
        }
        Merge(p, s.DPhases, dx);
    }
}
