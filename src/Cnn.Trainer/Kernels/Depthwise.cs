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
        // The input gradient gathers per phase: the taps of phase f in increasing t, each with its offset in the phase.
        PhaseTapStart = new int[Phases + 1];
        PhaseTaps = new int[Tap.Length];
        PhaseTapShift = new int[Tap.Length];
        TapOrder = new int[Tap.Length];
        for (int t = 0; t < Tap.Length; t++) TapOrder[t] = t;
        for (int f = 0, n = 0; f < Phases; f++)
        {
            PhaseTapStart[f] = n;
            for (int t = 0; t < Tap.Length; t++)
                if (Tap[t] / PhaseLen == f) { PhaseTaps[n] = t; PhaseTapShift[n] = -(Tap[t] % PhaseLen); DyPad = Math.Max(DyPad, Tap[t] % PhaseLen); n++; }
        }
        PhaseTapStart[Phases] = Tap.Length;
        // Split/Merge walk rows and column phases with these instead of a division per row.
        RowBase = new int[h];
        for (int iy = 0; iy < h; iy++)
        {
            int py = iy + g.PadH;
            RowBase[iy] = (py % g.StrideH) * g.StrideW * PhaseLen + py / g.StrideH * Wq;
        }
        FirstColumn = new int[2 * g.StrideW];
        for (int b = 0; b < g.StrideW; b++)
        {
            int ix = ((b - g.PadW) % g.StrideW + g.StrideW) % g.StrideW;
            FirstColumn[2 * b] = ix;
            FirstColumn[2 * b + 1] = (ix + g.PadW) / g.StrideW;
        }
        GatherLen = (Hq * Wq + Simd.MaxLanes - 1) / Simd.MaxLanes * Simd.MaxLanes;
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
    /// <summary>Taps of phase f are PhaseTaps[PhaseTapStart[f] .. PhaseTapStart[f + 1]), in increasing tap order.</summary>
    public int[] PhaseTapStart { get; }
    public int[] PhaseTaps { get; }
    /// <summary>Minus the offset inside its phase of each tap in <see cref="PhaseTaps"/> (the gather reads dy there).</summary>
    public int[] PhaseTapShift { get; }
    /// <summary>0, 1, …: the forward's taps in order.</summary>
    public int[] TapOrder { get; }
    /// <summary>Zeros before the wide dy in the backward buffer: the gather reads dy at (cell − tap offset).</summary>
    public int DyPad { get; }
    /// <summary>Phase cells the input gradient computes (every cell a pixel maps to), rounded up to every vector width.</summary>
    public int GatherLen { get; }
    /// <summary>Offset of input row iy (padded row iy + PadH) in column phase 0.</summary>
    public int[] RowBase { get; }
    /// <summary>For column phase b: [2b] its first input column, [2b + 1] that column's index in the phase.</summary>
    public int[] FirstColumn { get; }

    public bool Matches(in ConvGeometry g, int h, int w) => g == G && h == H && w == W;

    /// <summary>Per-thread buffers: phases of x and of dx, wide output or gradient. Allocated zeroed: padding and slack of the phases stay zero.</summary>
    public DepthwiseScratch NewScratch() =>
        new(new float[Phases * PhaseLen], new float[Phases * PhaseLen], new float[DyPad + Math.Max(Wide, GatherLen) + Simd.MaxLanes]);
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
        /// <summary>Stride 1: pixels[0..n) and cells[0..n).</summary>
        static abstract void Row(ref float pixels, ref float cells, int n);
        /// <summary>Stride 2, 8 pixels at once: pixels 2j..2j + 7 and evens[j..j + 4), odds[j..j + 4).</summary>
        static abstract void Block8(ref float pixels, ref float evens, ref float odds, int j);
    }

    /// <summary>Stride 2: the even pixels of a row of w and evens[j], the odd ones and odds[j] (pixel 2j, 2j + 1).</summary>
    private static void Pairs<TOp>(ref float pixels, ref float evens, ref float odds, int w) where TOp : struct, IPixelOp
    {
        int j = 0;
        for (; 2 * j + 8 <= w; j += 4) TOp.Block8(ref pixels, ref evens, ref odds, j);
        // An even row's last 8 pixels in one more (overlapping) block: a copy, so repeating cells changes nothing.
        if (2 * j < w && w >= 8 && w % 2 == 0) { TOp.Block8(ref pixels, ref evens, ref odds, (w - 8) / 2); return; }
        for (int ix = 2 * j; ix < w; ix++) TOp.Apply(ref Unsafe.Add(ref pixels, ix), ref Unsafe.Add(ref (ix & 1) == 0 ? ref evens : ref odds, ix >> 1));
    }

    // Deinterleave and interleave 8 pixels with one lane permutation (vpermps): pixels (0..7) ↔ evens (0 2 4 6), odds (1 3 5 7).
    private static Vector256<int> Unzip => Vector256.Create(0, 2, 4, 6, 1, 3, 5, 7);
    private static Vector256<int> Zip => Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7);

    private struct ToPhases : IPixelOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Apply(ref float pixel, ref float phaseCell) => phaseCell = pixel;

        public static void Row(ref float pixels, ref float cells, int n) => Vec.CopyShort(ref pixels, ref cells, n);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Block8(ref float pixels, ref float evens, ref float odds, int j)
        {
            var v = Vector256.Shuffle(Vector256.LoadUnsafe(ref pixels, (nuint)(2 * j)), Unzip);
            v.GetLower().StoreUnsafe(ref evens, (nuint)j);
            v.GetUpper().StoreUnsafe(ref odds, (nuint)j);
        }
    }

    private struct FromPhases : IPixelOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Apply(ref float pixel, ref float phaseCell) => pixel = phaseCell;

        public static void Row(ref float pixels, ref float cells, int n) => Vec.CopyShort(ref cells, ref pixels, n);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Block8(ref float pixels, ref float evens, ref float odds, int j) =>
            Vector256.Shuffle(Vector256.Create(Vector128.LoadUnsafe(ref evens, (nuint)j), Vector128.LoadUnsafe(ref odds, (nuint)j)), Zip)
                .StoreUnsafe(ref pixels, (nuint)(2 * j));
    }

    /// <summary>
    /// Pairs every pixel of the H×W plane with its cell in the phase layout: a row copy at stride 1, a vector
    /// (de)interleave at stride 2, else column phases in turn, so no division per pixel.
    /// </summary>
    private static void Walk<TOp>(DepthwisePlan p, ref float plane, float[] phases) where TOp : struct, IPixelOp
    {
        int sw = p.G.StrideW, w = p.W;
        ref float Ph = ref MemoryMarshal.GetArrayDataReference(phases);
        var rowBase = p.RowBase;
        var first = p.FirstColumn;
        bool pairs = sw == 2 && w >= 2 && Vector256.IsHardwareAccelerated;
        // Stride 2: the phase whose first column is pixel 0 holds the even pixels, the other the odd ones.
        int evenPhase = first[0] == 0 ? 0 : 1, oddPhase = 1 - evenPhase;
        int evenAt = pairs ? evenPhase * p.PhaseLen + first[2 * evenPhase + 1] : 0, oddAt = pairs ? oddPhase * p.PhaseLen + first[2 * oddPhase + 1] : 0;
        for (int iy = 0; iy < p.H; iy++)
        {
            ref float row = ref Unsafe.Add(ref plane, iy * w);
            ref float rowPhases = ref Unsafe.Add(ref Ph, rowBase[iy]);
            if (sw == 1) { TOp.Row(ref row, ref Unsafe.Add(ref rowPhases, first[1]), w); continue; }
            if (pairs) { Pairs<TOp>(ref row, ref Unsafe.Add(ref rowPhases, evenAt), ref Unsafe.Add(ref rowPhases, oddAt), w); continue; }
            for (int b = 0; b < sw; b++)
            {
                int ix = first[2 * b];
                ref float cells = ref Unsafe.Add(ref rowPhases, b * p.PhaseLen + first[2 * b + 1]);
                for (int jj = 0; ix < w; ix += sw, jj++) TOp.Apply(ref Unsafe.Add(ref row, ix), ref Unsafe.Add(ref cells, jj));
            }
        }
    }

    /// <summary>
    /// dst[c] = init + Σ_i k[kIndex[i]]·src[offset[i] + c] for c in [0, len) (len a multiple of the vector width), one FMA
    /// chain per c over i = i0 .. i1 − 1 in order; four vectors of c at a time share each broadcast weight.
    /// </summary>
    private static void TapSums<TV, TO>(ref float src, int[] offset, int[] kIndex, int i0, int i1, ReadOnlySpan<float> k, TV init, ref float dst, int len)
        where TV : unmanaged where TO : struct, ISimd<TV>
    {
        int c = 0;
        for (; c + 4 * TO.Count <= len; c += 4 * TO.Count)
        {
            TV a0 = init, a1 = init, a2 = init, a3 = init;
            for (int i = i0; i < i1; i++)
            {
                var wv = TO.Splat(k[kIndex[i]]);
                ref float Si = ref Unsafe.Add(ref src, offset[i] + c);
                a0 = TO.Fma(wv, TO.Load(ref Si, 0), a0);
                a1 = TO.Fma(wv, TO.Load(ref Si, (nuint)TO.Count), a1);
                a2 = TO.Fma(wv, TO.Load(ref Si, (nuint)(2 * TO.Count)), a2);
                a3 = TO.Fma(wv, TO.Load(ref Si, (nuint)(3 * TO.Count)), a3);
            }
            ref float Dc = ref Unsafe.Add(ref dst, c);
            TO.Store(a0, ref Dc, 0); TO.Store(a1, ref Dc, (nuint)TO.Count);
            TO.Store(a2, ref Dc, (nuint)(2 * TO.Count)); TO.Store(a3, ref Dc, (nuint)(3 * TO.Count));
        }
        for (; c < len; c += TO.Count)
        {
            TV acc = init;
            for (int i = i0; i < i1; i++)
                acc = TO.Fma(TO.Splat(k[kIndex[i]]), TO.Load(ref Unsafe.Add(ref src, offset[i] + c), 0), acc);
            TO.Store(acc, ref dst, (nuint)c);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Forward<TV, TO>(DepthwisePlan p, DepthwiseScratch s, ReadOnlySpan<float> x, ReadOnlySpan<float> k, float bias, Span<float> y)
        where TV : unmanaged where TO : struct, ISimd<TV>
    {
        Split(p, x, s.Phases);
        ref float P = ref MemoryMarshal.GetArrayDataReference(s.Phases);
        ref float Wd = ref MemoryMarshal.GetArrayDataReference(s.Wide);
        TapSums<TV, TO>(ref P, p.Tap, p.TapOrder, 0, p.Tap.Length, k, TO.Splat(bias), ref Wd, p.Wide);
        Vec.CopyRows(ref Wd, p.Wq, ref MemoryMarshal.GetReference(y), p.OW, p.OH, p.OW);
    }

    /// <summary>
    /// Σ lanes of v, folded in halves with vector adds down to 128 bits, then summed: a fraction of the shuffles and
    /// scalar adds of a lane-by-lane sum at 512 bits, which dominated the weight gradient of small planes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Sum<TV>(TV v) where TV : unmanaged
    {
        if (typeof(TV) == typeof(Vector512<float>))
        {
            var v512 = Unsafe.As<TV, Vector512<float>>(ref v);
            var h = v512.GetLower() + v512.GetUpper();
            return Vector128.Sum(h.GetLower() + h.GetUpper());
        }
        if (typeof(TV) == typeof(Vector256<float>))
        {
            var v256 = Unsafe.As<TV, Vector256<float>>(ref v);
            return Vector128.Sum(v256.GetLower() + v256.GetUpper());
        }
        return Vector128.Sum(Unsafe.As<TV, Vector128<float>>(ref v));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Backward<TV, TO>(DepthwisePlan p, DepthwiseScratch s, ReadOnlySpan<float> x, ReadOnlySpan<float> k, ReadOnlySpan<float> dy,
        Span<float> dk, Span<float> dx)
        where TV : unmanaged where TO : struct, ISimd<TV>
    {
        Split(p, x, s.Phases);
        // dy in the wide layout after DyPad zeros, with zero junk columns and tail (Forward left junk there), so they add nothing below.
        Array.Clear(s.Wide);
        ref float D = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(s.Wide), p.DyPad);
        Vec.CopyRows(ref MemoryMarshal.GetReference(dy), p.OW, ref D, p.Wq, p.OH, p.OW);
        ref float P = ref MemoryMarshal.GetArrayDataReference(s.Phases);
        var taps = p.Tap;
        // dk: four taps at a time share each load of dy.
        int t = 0;
        for (; t + 4 <= taps.Length; t += 4)
        {
            ref float P0 = ref Unsafe.Add(ref P, taps[t]);
            ref float P1 = ref Unsafe.Add(ref P, taps[t + 1]);
            ref float P2 = ref Unsafe.Add(ref P, taps[t + 2]);
            ref float P3 = ref Unsafe.Add(ref P, taps[t + 3]);
            TV a0 = TO.Zero, a1 = TO.Zero, a2 = TO.Zero, a3 = TO.Zero;
            for (int q = 0; q < p.Wide; q += TO.Count)
            {
                var d = TO.Load(ref D, (nuint)q);
                a0 = TO.Fma(d, TO.Load(ref P0, (nuint)q), a0);
                a1 = TO.Fma(d, TO.Load(ref P1, (nuint)q), a1);
                a2 = TO.Fma(d, TO.Load(ref P2, (nuint)q), a2);
                a3 = TO.Fma(d, TO.Load(ref P3, (nuint)q), a3);
            }
            dk[t] += Sum(a0); dk[t + 1] += Sum(a1); dk[t + 2] += Sum(a2); dk[t + 3] += Sum(a3);
        }
        for (; t < taps.Length; t++)
        {
            ref float Pt = ref Unsafe.Add(ref P, taps[t]);
            TV a0 = TO.Zero;
            for (int q = 0; q < p.Wide; q += TO.Count)
                a0 = TO.Fma(TO.Load(ref D, (nuint)q), TO.Load(ref Pt, (nuint)q), a0);
            dk[t] += Sum(a0);
        }
        if (dx.IsEmpty) return;
        // dx phases by gather: cell c of phase f = Σ over the taps of f, in order, of k[t]·dy[c − offset]; one FMA chain
        // per cell in registers (the scalar adjoint's order), every cell Merge reads written, none cleared first.
        ref float DP = ref MemoryMarshal.GetArrayDataReference(s.DPhases);
        for (int f = 0; f < p.Phases; f++)
        {
            ref float DPf = ref Unsafe.Add(ref DP, f * p.PhaseLen);
            TapSums<TV, TO>(ref D, p.PhaseTapShift, p.PhaseTaps, p.PhaseTapStart[f], p.PhaseTapStart[f + 1], k, TO.Zero, ref DPf, p.GatherLen);
        }
        Merge(p, s.DPhases, dx);
    }
}
