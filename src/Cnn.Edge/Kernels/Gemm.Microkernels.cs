using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Cnn.Edge.Kernels;

/// <summary>One 16-byte step of a dot product: acc (4 int32 partial sums) += Σ a[i] * w[i] over 16 int8 pairs.</summary>
internal interface IDotMac
{
    /// <summary>Transforms a freshly loaded A vector once, before it is used against the NR weight vectors.</summary>
    static abstract Vector128<sbyte> PrepareA(Vector128<sbyte> a);
    static abstract Vector128<int> Mac(Vector128<int> acc, Vector128<sbyte> a, Vector128<sbyte> w);
}

/// <summary>Cortex-A72/A53, weights without -128: SMULL + SMLAL2 into int16 (|sum of 2| ≤ 32512), SADALP into int32.</summary>
internal readonly struct SmlalMac : IDotMac
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> PrepareA(Vector128<sbyte> a) => a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Mac(Vector128<int> acc, Vector128<sbyte> a, Vector128<sbyte> w)
    {
        Vector128<short> p = AdvSimd.MultiplyWideningLower(a.GetLower(), w.GetLower());
        p = AdvSimd.MultiplyWideningUpperAndAdd(p, a, w);
        return AdvSimd.AddPairwiseWideningAndAdd(acc, p);
    }
}

/// <summary>Cortex-A72/A53, any weights: each int16 product (|p| ≤ 16384) goes straight into SADALP.</summary>
internal readonly struct SmullMac : IDotMac
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> PrepareA(Vector128<sbyte> a) => a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Mac(Vector128<int> acc, Vector128<sbyte> a, Vector128<sbyte> w)
    {
        acc = AdvSimd.AddPairwiseWideningAndAdd(acc, AdvSimd.MultiplyWideningLower(a.GetLower(), w.GetLower()));
        return AdvSimd.AddPairwiseWideningAndAdd(acc, AdvSimd.MultiplyWideningUpper(a, w));
    }
}

/// <summary>x86 AVX-VNNI: VPDPBUSD multiplies unsigned A by signed W, so A is fed as a + 128 (the plan's bias removes 128 Σw).</summary>
internal readonly struct VnniMac : IDotMac
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> PrepareA(Vector128<sbyte> a) => Sse2.Xor(a, Vector128.Create(sbyte.MinValue));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Mac(Vector128<int> acc, Vector128<sbyte> a, Vector128<sbyte> w)
        => AvxVnni.MultiplyWideningAndAdd(acc, a.AsByte(), w);
}

/// <summary>Portable Vector128: widen to int16, multiply (exact: |a w| ≤ 16384), widen to int32, add.</summary>
internal readonly struct PortableMac : IDotMac
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> PrepareA(Vector128<sbyte> a) => a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Mac(Vector128<int> acc, Vector128<sbyte> a, Vector128<sbyte> w)
    {
        (Vector128<short> alo, Vector128<short> ahi) = Vector128.Widen(a);
        (Vector128<short> wlo, Vector128<short> whi) = Vector128.Widen(w);
        (Vector128<int> p0, Vector128<int> p1) = Vector128.Widen(alo * wlo);
        (Vector128<int> p2, Vector128<int> p3) = Vector128.Widen(ahi * whi);
        return acc + ((p0 + p1) + (p2 + p3));
    }
}

/// <summary>The register-blocked int8 GEMM microkernels: 4 rows of A by 4 output channels per step.</summary>
internal static unsafe class Int8Gemm
{
    /// <summary>
    /// Rows a[0..3] (each Kp bytes, rows ≥ <paramref name="rows"/> may repeat a valid row) times every channel
    /// group of the plan; writes rows × N int8 results at c[r] + n.
    /// 16 accumulators (4 rows x 4 channels, 4 int32 partial sums each) + 4 A + 4 W vectors = 24 of NEON's
    /// 32 registers (x86 has 32 with AVX-512's EVEX encoding, 16 without: then the JIT spills some).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // kernels run optimized from the first inference (no tier-0 JIT)
    public static void Tile<TMac, TReq>(GemmPlan p, sbyte** a, sbyte** c, int rows, sbyte* w, int* bias, int* mult, int* left, int* rpos, int* rneg)
        where TMac : struct, IDotMac where TReq : struct, IRequant4
    {
        sbyte* a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
        int kBlocks = p.KBlocks;
        Vector128<int> zp = Vector128.Create(p.OutZp), lo = Vector128.Create(p.ActMin), hi = Vector128.Create(p.ActMax);
        for (int g = 0; g < p.Groups; g++)
        {
            Vector128<int> c00 = default, c01 = default, c02 = default, c03 = default;
            Vector128<int> c10 = default, c11 = default, c12 = default, c13 = default;
            Vector128<int> c20 = default, c21 = default, c22 = default, c23 = default;
            Vector128<int> c30 = default, c31 = default, c32 = default, c33 = default;
            sbyte* wg = w + (long)g * kBlocks * (GemmPlan.NR * GemmPlan.KBlock);
            for (int kb = 0; kb < kBlocks; kb++)
            {
                int ko = kb * GemmPlan.KBlock;
                Vector128<sbyte> x0 = TMac.PrepareA(Vector128.Load(a0 + ko));
                Vector128<sbyte> x1 = TMac.PrepareA(Vector128.Load(a1 + ko));
                Vector128<sbyte> x2 = TMac.PrepareA(Vector128.Load(a2 + ko));
                Vector128<sbyte> x3 = TMac.PrepareA(Vector128.Load(a3 + ko));
                sbyte* wk = wg + kb * (GemmPlan.NR * GemmPlan.KBlock);
                Vector128<sbyte> w0 = Vector128.Load(wk);
                Vector128<sbyte> w1 = Vector128.Load(wk + 16);
                Vector128<sbyte> w2 = Vector128.Load(wk + 32);
                Vector128<sbyte> w3 = Vector128.Load(wk + 48);
                c00 = TMac.Mac(c00, x0, w0); c01 = TMac.Mac(c01, x0, w1); c02 = TMac.Mac(c02, x0, w2); c03 = TMac.Mac(c03, x0, w3);
                c10 = TMac.Mac(c10, x1, w0); c11 = TMac.Mac(c11, x1, w1); c12 = TMac.Mac(c12, x1, w2); c13 = TMac.Mac(c13, x1, w3);
                c20 = TMac.Mac(c20, x2, w0); c21 = TMac.Mac(c21, x2, w1); c22 = TMac.Mac(c22, x2, w2); c23 = TMac.Mac(c23, x2, w3);
                c30 = TMac.Mac(c30, x3, w0); c31 = TMac.Mac(c31, x3, w1); c32 = TMac.Mac(c32, x3, w2); c33 = TMac.Mac(c33, x3, w3);
            }
            int n0 = g * GemmPlan.NR;
            int count = Math.Min(GemmPlan.NR, p.N - n0);
            Vector128<int> b = Vector128.Load(bias + n0), m = Vector128.Load(mult + n0);
            Vector128<int> l = Vector128.Load(left + n0), rp = Vector128.Load(rpos + n0), rn = Vector128.Load(rneg + n0);
            Finish<TReq>(Reduce4(c00, c01, c02, c03), b, m, l, rp, rn, zp, lo, hi, c[0] + n0, count);
            if (rows > 1) Finish<TReq>(Reduce4(c10, c11, c12, c13), b, m, l, rp, rn, zp, lo, hi, c[1] + n0, count);
            if (rows > 2) Finish<TReq>(Reduce4(c20, c21, c22, c23), b, m, l, rp, rn, zp, lo, hi, c[2] + n0, count);
            if (rows > 3) Finish<TReq>(Reduce4(c30, c31, c32, c33), b, m, l, rp, rn, zp, lo, hi, c[3] + n0, count);
        }
    }

    /// <summary>One row of A (batch-1 FullyConnected, the last pixels of a layer): 1x4 blocks, so no MACs are wasted on repeated rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile1<TMac, TReq>(GemmPlan p, sbyte* a0, sbyte* c0, sbyte* w, int* bias, int* mult, int* left, int* rpos, int* rneg)
        where TMac : struct, IDotMac where TReq : struct, IRequant4
    {
        int kBlocks = p.KBlocks;
        Vector128<int> zp = Vector128.Create(p.OutZp), lo = Vector128.Create(p.ActMin), hi = Vector128.Create(p.ActMax);
        for (int g = 0; g < p.Groups; g++)
        {
            Vector128<int> c00 = default, c01 = default, c02 = default, c03 = default;
            sbyte* wk = w + (long)g * kBlocks * (GemmPlan.NR * GemmPlan.KBlock);
            for (int kb = 0; kb < kBlocks; kb++, wk += GemmPlan.NR * GemmPlan.KBlock)
            {
                Vector128<sbyte> x0 = TMac.PrepareA(Vector128.Load(a0 + kb * GemmPlan.KBlock));
                c00 = TMac.Mac(c00, x0, Vector128.Load(wk));
                c01 = TMac.Mac(c01, x0, Vector128.Load(wk + 16));
                c02 = TMac.Mac(c02, x0, Vector128.Load(wk + 32));
                c03 = TMac.Mac(c03, x0, Vector128.Load(wk + 48));
            }
            int n0 = g * GemmPlan.NR;
            Finish<TReq>(Reduce4(c00, c01, c02, c03), Vector128.Load(bias + n0), Vector128.Load(mult + n0), Vector128.Load(left + n0),
                Vector128.Load(rpos + n0), Vector128.Load(rneg + n0), zp, lo, hi, c0 + n0, Math.Min(GemmPlan.NR, p.N - n0));
        }
    }

    /// <summary>
    /// Cortex-A76 (SDOT by element), 4 rows (or 1, <typeparamref name="TFour"/>) x 16 channels (or 8, the last group,
    /// <typeparamref name="TWide"/>) per tile, weights in the <see cref="GemmPlan.Dp16"/> layout: each 16-byte weight
    /// vector (4 channels x 4 k) is multiplied by 4 k of each row, so every int32 lane is one output and no reduction is
    /// needed. Per 16 k: 4 A loads + 16 weight loads + 64 SDOT = 1024 MACs in 84 instructions. The accumulators start
    /// from the (zero-point folded) bias; the epilogue requantizes 16 channels and narrows them with SQXTN (saturating
    /// narrows commute with a clamp inside [-128, 127]) into one 16-byte store.
    /// With 4 rows every row is computed and stored: rows past <paramref name="rows"/> must repeat the last valid row in
    /// both <paramref name="a"/> and <paramref name="c"/> (the same bytes written twice), as every caller arranges.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // kernels run optimized from the first inference (no tier-0 JIT)
    [SkipLocalsInit] // every field of the DpTile is set below: no zeroing per tile
    internal static void TileDp16<TFour, TReq>(GemmPlan p, sbyte** a, sbyte** c, int rows, sbyte* w, int* bias, int* mult, int* left, int* rpos, int* rneg)
        where TFour : struct, IFlag where TReq : struct, IRequant4
    {
        DpTile t;
        InitTile(p, &t, w, bias, mult, left, rneg);
        t.A0 = a[0]; t.A1 = TFour.Value ? a[1] : t.A0; t.A2 = TFour.Value ? a[2] : t.A0; t.A3 = TFour.Value ? a[3] : t.A0;
        t.D0 = c[0]; t.D1 = TFour.Value ? c[1] : t.D0; t.D2 = TFour.Value ? c[2] : t.D0; t.D3 = TFour.Value ? c[3] : t.D0;
        RunGroups<TFour, TReq>(&t);
    }

    /// <summary>The plan's loop bounds, packed parameters and epilogue constants into a tile (everything but the rows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void InitTile(GemmPlan p, DpTile* t, sbyte* w, int* bias, int* mult, int* left, int* rneg)
    {
        t->W = w;
        t->W16 = (short*)w; // Smlal16 plans hold int16 weights in W's bytes
        t->BiasRows = bias + p.Bias.Length / (1 + GemmPlan.MR); // the row copies after the bias
        t->Mult = mult; t->Left = left; t->RNeg = rneg;
        t->Kp = p.Kp; t->K8 = p.K8; t->N = p.N;
        t->KFull = p.KFull16; t->TailQuads = p.TailQuads; t->K8Full = p.KFull8; t->Tail8 = p.Tail8;
        t->FullGroups = p.FullGroups; t->Last = p.LastGroup; t->Dp = p.Dp16;
        t->Zp = Vector128.Create(p.OutZp); t->Zp16 = Vector128.Create((short)p.OutZp);
        t->Lo = Vector128.Create((sbyte)p.ActMin); t->Hi = Vector128.Create((sbyte)p.ActMax);
    }

    /// <summary>Every channel group of one tile: the whole 16-channel groups (stored without a count), then the plan's last
    /// group (<see cref="GemmPlan.LastGroup"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RunGroups<TFour, TReq>(DpTile* t) where TFour : struct, IFlag where TReq : struct, IRequant4
    {
        int full = t->FullGroups;
        if (t->Dp)
        {
            if (full > 0) GroupsDp16<TFour, Yes, Yes, TReq>(t, 0, full);
            switch (t->Last)
            {
                case LastGroupKind.Wide: GroupsDp16<TFour, Yes, No, TReq>(t, full, full + 1); break;
                case LastGroupKind.Narrow8: GroupsDp16<TFour, No, Yes, TReq>(t, full, full + 1); break;
                case LastGroupKind.Narrow: GroupsDp16<TFour, No, No, TReq>(t, full, full + 1); break;
            }
            return;
        }
        if (full > 0) GroupsSmlal16<TFour, Yes, Yes, TReq>(t, 0, full);
        switch (t->Last)
        {
            case LastGroupKind.Wide: GroupsSmlal16<TFour, Yes, No, TReq>(t, full, full + 1); break;
            case LastGroupKind.Narrow8: GroupsSmlal16<TFour, No, Yes, TReq>(t, full, full + 1); break;
            case LastGroupKind.Narrow: GroupsSmlal16<TFour, No, No, TReq>(t, full, full + 1); break;
        }
    }

    /// <summary>
    /// A <see cref="GemmPlan.Dp16"/> or <see cref="GemmPlan.Smlal16"/> plan over whole 4-row tiles of rows [0, rows) straight
    /// from A (the pointwise layers' pixels): the tile's constants are set once, then each tile only sets its 8 row pointers.
    /// Stops at the first tile whose last row the kernel would read past the end of A (its K padding); returns the rows done.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit]
    private static int StreamTiles<TReq>(GemmPlan p, sbyte* a, long aStride, int rows, sbyte* c, long cStride,
        sbyte* w, int* bias, int* mult, int* left, int* rneg) where TReq : struct, IRequant4
    {
        DpTile t;
        InitTile(p, &t, w, bias, mult, left, rneg);
        // Bytes the kernel reads from each row: whole 16-k blocks (Dp16: Kp) or 8-k blocks (Smlal16: K8).
        sbyte* readEnd = a + (long)(rows - 1) * aStride + p.K - (p.Dp16 ? p.Kp : p.K8) - 3 * aStride; // first row of the last safe tile
        int m0 = 0;
        sbyte* a0 = a, c0 = c;
        if (p.Six16)
        {
            // Rows left after the 6-row tiles go in 4-row tiles and a 1-row tile; 2 or 3 left would be a 4-row tile with repeated
            // rows, so one 6-row tile fewer: 8 or 9 left go as 4 + 4 (+ 1) with no repeats (9 rows: 4 + 4 + 1, not 6 + 3 + a repeat).
            int six = rows % 6 is 2 or 3 ? rows - rows % 6 - 6 : rows - rows % 6;
            for (; m0 + 6 <= six && a0 <= readEnd - 2 * aStride; m0 += 6, a0 += 6 * aStride, c0 += 6 * cStride)
            {
                t.A0 = a0; t.A1 = a0 + aStride; t.A2 = a0 + 2 * aStride; t.A3 = a0 + 3 * aStride; t.A4 = a0 + 4 * aStride; t.A5 = a0 + 5 * aStride;
                t.D0 = c0; t.D1 = c0 + cStride; t.D2 = c0 + 2 * cStride; t.D3 = c0 + 3 * cStride; t.D4 = c0 + 4 * cStride; t.D5 = c0 + 5 * cStride;
                RunGroupsSix<TReq>(&t);
            }
        }
        for (; m0 + GemmPlan.MR <= rows && a0 <= readEnd; m0 += GemmPlan.MR, a0 += 4 * aStride, c0 += 4 * cStride)
        {
            t.A0 = a0; t.A1 = a0 + aStride; t.A2 = a0 + 2 * aStride; t.A3 = a0 + 3 * aStride;
            t.D0 = c0; t.D1 = c0 + cStride; t.D2 = c0 + 2 * cStride; t.D3 = c0 + 3 * cStride;
            RunGroups<Yes, TReq>(&t);
        }
        return m0;
    }

    /// <summary><see cref="StreamTiles{TReq}"/> with the requantization the plan's shifts allow.</summary>
    private static int StreamTiles(GemmPlan p, sbyte* a, int aStride, int rows, sbyte* c, int cStride, sbyte* w, int* bias, int* mult, int* left, int* rneg)
        => p.RequantKind switch
        {
            ArmRequantKind.RightShiftClamped => StreamTiles<AdvSimdRequantRightClamped>(p, a, aStride, rows, c, cStride, w, bias, mult, left, rneg),
            ArmRequantKind.RightShiftOnly => StreamTiles<AdvSimdRequantRight>(p, a, aStride, rows, c, cStride, w, bias, mult, left, rneg),
            ArmRequantKind.NoLeftShift => StreamTiles<AdvSimdRequantNoLeft>(p, a, aStride, rows, c, cStride, w, bias, mult, left, rneg),
            _ => StreamTiles<AdvSimdRequant>(p, a, aStride, rows, c, cStride, w, bias, mult, left, rneg),
        };

    /// <summary>Which last channel group a 16-channel plan has after its whole groups (fixed at load).</summary>
    internal enum LastGroupKind : byte { None, Wide, Narrow8, Narrow }

    /// <summary>One Dp16 tile's rows, outputs, packed parameters and epilogue constants (passed by pointer: one argument).</summary>
    private struct DpTile
    {
        public sbyte* A0, A1, A2, A3, D0, D1, D2, D3, W;
        public sbyte* A4, A5, D4, D5; // the 6-row tiles' last two rows (GemmPlan.Six16)
        public short* W16;
        public int* BiasRows, Mult, Left, RNeg;
        public int Kp, K8, KFull, TailQuads, K8Full, Tail8, N, FullGroups;
        public LastGroupKind Last;
        public bool Dp;
        public Vector128<int> Zp;
        public Vector128<short> Zp16;
        public Vector128<sbyte> Lo, Hi;
    }

    /// <summary>Channel groups [g0, g1) (16 channels each, or 8 when not <typeparamref name="TWide"/>; all of them real channels
    /// when <typeparamref name="TFull"/>) of a Dp16 tile.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void GroupsDp16<TFour, TWide, TFull, TReq>(DpTile* t, int g0, int g1)
        where TFour : struct, IFlag where TWide : struct, IFlag where TFull : struct, IFlag where TReq : struct, IRequant4
    {
        sbyte* a0 = t->A0, a1 = t->A1, a2 = t->A2, a3 = t->A3, d0 = t->D0, d1 = t->D1, d2 = t->D2, d3 = t->D3;
        Vector128<int> zp = t->Zp; // the epilogue's constants, kept in registers across the groups
        Vector128<short> zp16 = t->Zp16;
        Vector128<sbyte> lo = t->Lo, hi = t->Hi;
        int kp = t->Kp, kFull = t->KFull, tailQuads = t->TailQuads, width = TWide.Value ? 16 : 8;
        for (int g = g0; g < g1; g++)
        {
            int n0 = g * GemmPlan.NRDp;
            BiasRows<TFour, TWide>(t->BiasRows + n0 * GemmPlan.MR, out Vector128<int> c00, out Vector128<int> c01, out Vector128<int> c02, out Vector128<int> c03,
                out Vector128<int> c10, out Vector128<int> c11, out Vector128<int> c12, out Vector128<int> c13, out Vector128<int> c20, out Vector128<int> c21,
                out Vector128<int> c22, out Vector128<int> c23, out Vector128<int> c30, out Vector128<int> c31, out Vector128<int> c32, out Vector128<int> c33);
            sbyte* wk = t->W + (long)n0 * kp;
            int ko = 0;
            for (; ko < kFull; ko += GemmPlan.KBlock, wk += 16 * width)
            {
                Vector128<sbyte> x0 = Vector128.Load(a0 + ko);
                Vector128<sbyte> x1 = TFour.Value ? Vector128.Load(a1 + ko) : default;
                Vector128<sbyte> x2 = TFour.Value ? Vector128.Load(a2 + ko) : default;
                Vector128<sbyte> x3 = TFour.Value ? Vector128.Load(a3 + ko) : default;
                Quad<TFour, TWide>(0, wk, x0, x1, x2, x3, ref c00, ref c01, ref c02, ref c03, ref c10, ref c11, ref c12, ref c13, ref c20, ref c21, ref c22, ref c23, ref c30, ref c31, ref c32, ref c33);
                Quad<TFour, TWide>(1, wk, x0, x1, x2, x3, ref c00, ref c01, ref c02, ref c03, ref c10, ref c11, ref c12, ref c13, ref c20, ref c21, ref c22, ref c23, ref c30, ref c31, ref c32, ref c33);
                Quad<TFour, TWide>(2, wk, x0, x1, x2, x3, ref c00, ref c01, ref c02, ref c03, ref c10, ref c11, ref c12, ref c13, ref c20, ref c21, ref c22, ref c23, ref c30, ref c31, ref c32, ref c33);
                Quad<TFour, TWide>(3, wk, x0, x1, x2, x3, ref c00, ref c01, ref c02, ref c03, ref c10, ref c11, ref c12, ref c13, ref c20, ref c21, ref c22, ref c23, ref c30, ref c31, ref c32, ref c33);
            }
            if (tailQuads > 0)
            {
                // The padded block: quads past K meet zero weights, so they are skipped (K = 24: 2 of 4 quads).
                Vector128<sbyte> x0 = Vector128.Load(a0 + ko);
                Vector128<sbyte> x1 = TFour.Value ? Vector128.Load(a1 + ko) : default;
                Vector128<sbyte> x2 = TFour.Value ? Vector128.Load(a2 + ko) : default;
                Vector128<sbyte> x3 = TFour.Value ? Vector128.Load(a3 + ko) : default;
                Quad<TFour, TWide>(0, wk, x0, x1, x2, x3, ref c00, ref c01, ref c02, ref c03, ref c10, ref c11, ref c12, ref c13, ref c20, ref c21, ref c22, ref c23, ref c30, ref c31, ref c32, ref c33);
                if (tailQuads > 1) Quad<TFour, TWide>(1, wk, x0, x1, x2, x3, ref c00, ref c01, ref c02, ref c03, ref c10, ref c11, ref c12, ref c13, ref c20, ref c21, ref c22, ref c23, ref c30, ref c31, ref c32, ref c33);
                if (tailQuads > 2) Quad<TFour, TWide>(2, wk, x0, x1, x2, x3, ref c00, ref c01, ref c02, ref c03, ref c10, ref c11, ref c12, ref c13, ref c20, ref c21, ref c22, ref c23, ref c30, ref c31, ref c32, ref c33);
                if (tailQuads > 3) Quad<TFour, TWide>(3, wk, x0, x1, x2, x3, ref c00, ref c01, ref c02, ref c03, ref c10, ref c11, ref c12, ref c13, ref c20, ref c21, ref c22, ref c23, ref c30, ref c31, ref c32, ref c33);
            }
            EpilogueRows<TFour, TWide, TFull, TReq>(t, n0, d0, d1, d2, d3, zp, zp16, lo, hi, c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33);
        }
    }

    /// <summary>The channel groups of a 6-row tile (<see cref="GemmPlan.Six16"/>), as <see cref="RunGroups{TFour, TReq}"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RunGroupsSix<TReq>(DpTile* t) where TReq : struct, IRequant4
    {
        int full = t->FullGroups;
        if (full > 0) GroupsDpSix<Yes, Yes, TReq>(t, 0, full);
        switch (t->Last)
        {
            case LastGroupKind.Wide: GroupsDpSix<Yes, No, TReq>(t, full, full + 1); break;
            case LastGroupKind.Narrow8: GroupsDpSix<No, Yes, TReq>(t, full, full + 1); break;
            case LastGroupKind.Narrow: GroupsDpSix<No, No, TReq>(t, full, full + 1); break;
        }
    }

    /// <summary>
    /// Channel groups [g0, g1) of a 6-row SDOT tile (large K, <see cref="GemmPlan.Six16"/>): 24 accumulators, 6 rows' 16 k and
    /// 2 weight vectors at a time fill NEON's 32 registers. The loop per 16 k (NativeAOT arm64): 6 A loads + 8 LDP of weight pairs
    /// + 96 SDOT + 4 = 1536 MACs in 114 instructions (13.5 per instruction; the 4-row tile: 1024 in 80, 12.8). Otherwise as
    /// <see cref="GroupsDp16"/>; rows 4 and 5 start from the bias copies of rows 0 and 1 (all copies are equal). Below K = 96 the
    /// extra spills of the epilogue (24 accumulators live) cost more than the loop saves (bench/arm64-layers.sh, MobileNetV2 1.0:
    /// K = 64 9.27 MACs/insn against 9.29 with 4-row tiles, K = 16 4.72 against 5.01).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void GroupsDpSix<TWide, TFull, TReq>(DpTile* t, int g0, int g1)
        where TWide : struct, IFlag where TFull : struct, IFlag where TReq : struct, IRequant4
    {
        sbyte* a0 = t->A0, a1 = t->A1, a2 = t->A2, a3 = t->A3, a4 = t->A4, a5 = t->A5;
        int kp = t->Kp, kFull = t->KFull, tailQuads = t->TailQuads, width = TWide.Value ? 16 : 8;
        for (int g = g0; g < g1; g++)
        {
            int n0 = g * GemmPlan.NRDp;
            int* b = t->BiasRows + n0 * GemmPlan.MR;
            BiasRows<Yes, TWide>(b, out Vector128<int> c00, out Vector128<int> c01, out Vector128<int> c02, out Vector128<int> c03,
                out Vector128<int> c10, out Vector128<int> c11, out Vector128<int> c12, out Vector128<int> c13, out Vector128<int> c20, out Vector128<int> c21,
                out Vector128<int> c22, out Vector128<int> c23, out Vector128<int> c30, out Vector128<int> c31, out Vector128<int> c32, out Vector128<int> c33);
            BiasRow<TWide>(b, out Vector128<int> c40, out Vector128<int> c41, out Vector128<int> c42, out Vector128<int> c43);
            BiasRow<TWide>(b + GemmPlan.NRDp, out Vector128<int> c50, out Vector128<int> c51, out Vector128<int> c52, out Vector128<int> c53);
            sbyte* wk = t->W + (long)n0 * kp;
            int ko = 0;
            for (; ko < kFull; ko += GemmPlan.KBlock, wk += 16 * width)
            {
                Vector128<sbyte> x0 = Vector128.Load(a0 + ko), x1 = Vector128.Load(a1 + ko), x2 = Vector128.Load(a2 + ko);
                Vector128<sbyte> x3 = Vector128.Load(a3 + ko), x4 = Vector128.Load(a4 + ko), x5 = Vector128.Load(a5 + ko);
                HalfSix<TWide>(0, 0, wk, x0, x1, x2, x3, x4, x5, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
                if (TWide.Value) HalfSix<TWide>(0, 1, wk, x0, x1, x2, x3, x4, x5, ref c02, ref c03, ref c12, ref c13, ref c22, ref c23, ref c32, ref c33, ref c42, ref c43, ref c52, ref c53);
                HalfSix<TWide>(1, 0, wk, x0, x1, x2, x3, x4, x5, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
                if (TWide.Value) HalfSix<TWide>(1, 1, wk, x0, x1, x2, x3, x4, x5, ref c02, ref c03, ref c12, ref c13, ref c22, ref c23, ref c32, ref c33, ref c42, ref c43, ref c52, ref c53);
                HalfSix<TWide>(2, 0, wk, x0, x1, x2, x3, x4, x5, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
                if (TWide.Value) HalfSix<TWide>(2, 1, wk, x0, x1, x2, x3, x4, x5, ref c02, ref c03, ref c12, ref c13, ref c22, ref c23, ref c32, ref c33, ref c42, ref c43, ref c52, ref c53);
                HalfSix<TWide>(3, 0, wk, x0, x1, x2, x3, x4, x5, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
                if (TWide.Value) HalfSix<TWide>(3, 1, wk, x0, x1, x2, x3, x4, x5, ref c02, ref c03, ref c12, ref c13, ref c22, ref c23, ref c32, ref c33, ref c42, ref c43, ref c52, ref c53);
            }
            if (tailQuads > 0)
            {
                // The padded block: quads past K meet zero weights, so they are skipped.
                Vector128<sbyte> x0 = Vector128.Load(a0 + ko), x1 = Vector128.Load(a1 + ko), x2 = Vector128.Load(a2 + ko);
                Vector128<sbyte> x3 = Vector128.Load(a3 + ko), x4 = Vector128.Load(a4 + ko), x5 = Vector128.Load(a5 + ko);
                HalfSix<TWide>(0, 0, wk, x0, x1, x2, x3, x4, x5, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
                if (TWide.Value) HalfSix<TWide>(0, 1, wk, x0, x1, x2, x3, x4, x5, ref c02, ref c03, ref c12, ref c13, ref c22, ref c23, ref c32, ref c33, ref c42, ref c43, ref c52, ref c53);
                if (tailQuads > 1)
                {
                    HalfSix<TWide>(1, 0, wk, x0, x1, x2, x3, x4, x5, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
                    if (TWide.Value) HalfSix<TWide>(1, 1, wk, x0, x1, x2, x3, x4, x5, ref c02, ref c03, ref c12, ref c13, ref c22, ref c23, ref c32, ref c33, ref c42, ref c43, ref c52, ref c53);
                }
                if (tailQuads > 2)
                {
                    HalfSix<TWide>(2, 0, wk, x0, x1, x2, x3, x4, x5, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
                    if (TWide.Value) HalfSix<TWide>(2, 1, wk, x0, x1, x2, x3, x4, x5, ref c02, ref c03, ref c12, ref c13, ref c22, ref c23, ref c32, ref c33, ref c42, ref c43, ref c52, ref c53);
                }
                if (tailQuads > 3)
                {
                    HalfSix<TWide>(3, 0, wk, x0, x1, x2, x3, x4, x5, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
                    if (TWide.Value) HalfSix<TWide>(3, 1, wk, x0, x1, x2, x3, x4, x5, ref c02, ref c03, ref c12, ref c13, ref c22, ref c23, ref c32, ref c33, ref c42, ref c43, ref c52, ref c53);
                }
            }
            Vector128<int> zp = t->Zp;
            Vector128<short> zp16 = t->Zp16;
            Vector128<sbyte> lo = t->Lo, hi = t->Hi;
            EpilogueRows<Yes, TWide, TFull, TReq>(t, n0, t->D0, t->D1, t->D2, t->D3, zp, zp16, lo, hi, c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33);
            EpilogueRow<TWide, TFull, TReq>(t, n0, t->D4, zp, zp16, lo, hi, c40, c41, c42, c43);
            EpilogueRow<TWide, TFull, TReq>(t, n0, t->D5, zp, zp16, lo, hi, c50, c51, c52, c53);
        }
    }

    /// <summary>One row's accumulators from a bias copy (16 channels, or 8 when not <typeparamref name="TWide"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BiasRow<TWide>(int* b, out Vector128<int> c0, out Vector128<int> c1, out Vector128<int> c2, out Vector128<int> c3)
        where TWide : struct, IFlag
    {
        c0 = Vector128.Load(b); c1 = Vector128.Load(b + 4);
        c2 = TWide.Value ? Vector128.Load(b + 8) : default; c3 = TWide.Value ? Vector128.Load(b + 12) : default;
    }

    /// <summary>One row's requantization and store, as a row of <see cref="EpilogueRows"/> (the group's parameters loaded again).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void EpilogueRow<TWide, TFull, TReq>(DpTile* t, int n0, sbyte* d, Vector128<int> zp, Vector128<short> zp16, Vector128<sbyte> lo, Vector128<sbyte> hi,
        Vector128<int> c0, Vector128<int> c1, Vector128<int> c2, Vector128<int> c3)
        where TWide : struct, IFlag where TFull : struct, IFlag where TReq : struct, IRequant4
    {
        int width = TWide.Value ? 16 : 8;
        int count = TFull.Value ? width : Math.Min(width, t->N - n0);
        int* pm = t->Mult + n0, pl = t->Left + n0, pr = t->RNeg + n0;
        bool wide = TWide.Value, lefts = TReq.ReadsLeftAndRightPos;
        Finish16<TWide, TFull, TReq>(c0, c1, c2, c3,
            Vector128.Load(pm), Vector128.Load(pm + 4), wide ? Vector128.Load(pm + 8) : default, wide ? Vector128.Load(pm + 12) : default,
            lefts ? Vector128.Load(pl) : default, lefts ? Vector128.Load(pl + 4) : default,
            lefts && wide ? Vector128.Load(pl + 8) : default, lefts && wide ? Vector128.Load(pl + 12) : default,
            Vector128.Load(pr), Vector128.Load(pr + 4), wide ? Vector128.Load(pr + 8) : default, wide ? Vector128.Load(pr + 12) : default,
            zp, zp16, lo, hi, d + n0, count);
    }

    /// <summary>Quad q of a 16-k block of the 6-row tile, for channels 0-7 (h = 0) or 8-15 (h = 1): two weight vectors (one LDP)
    /// against lane q of each of the 6 rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void HalfSix<TWide>([ConstantExpected(Min = 0, Max = 3)] byte q, [ConstantExpected(Min = 0, Max = 1)] int h, sbyte* wk,
        Vector128<sbyte> x0, Vector128<sbyte> x1, Vector128<sbyte> x2, Vector128<sbyte> x3, Vector128<sbyte> x4, Vector128<sbyte> x5,
        ref Vector128<int> l0, ref Vector128<int> r0, ref Vector128<int> l1, ref Vector128<int> r1, ref Vector128<int> l2, ref Vector128<int> r2,
        ref Vector128<int> l3, ref Vector128<int> r3, ref Vector128<int> l4, ref Vector128<int> r4, ref Vector128<int> l5, ref Vector128<int> r5)
        where TWide : struct, IFlag
    {
        int o = q * 4 * (TWide.Value ? 16 : 8) + h * 32;
        Vector128<sbyte> w0 = Vector128.Load(wk + o), w1 = Vector128.Load(wk + o + 16);
        Rows4<Yes>(q, w0, x0, x1, x2, x3, ref l0, ref l1, ref l2, ref l3);
        l4 = Dp.DotProductBySelectedQuadruplet(l4, w0, x4, q);
        l5 = Dp.DotProductBySelectedQuadruplet(l5, w0, x5, q);
        Rows4<Yes>(q, w1, x0, x1, x2, x3, ref r0, ref r1, ref r2, ref r3);
        r4 = Dp.DotProductBySelectedQuadruplet(r4, w1, x4, q);
        r5 = Dp.DotProductBySelectedQuadruplet(r5, w1, x5, q);
    }

    /// <summary>Every row's accumulators start from the group's (zero-point folded) bias: the plan's copy for each row
    /// (<see cref="GemmPlan.Bias"/>), 2 LDP per row instead of one load and 12 register copies.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BiasRows<TFour, TWide>(int* b, out Vector128<int> c00, out Vector128<int> c01, out Vector128<int> c02, out Vector128<int> c03,
        out Vector128<int> c10, out Vector128<int> c11, out Vector128<int> c12, out Vector128<int> c13, out Vector128<int> c20, out Vector128<int> c21,
        out Vector128<int> c22, out Vector128<int> c23, out Vector128<int> c30, out Vector128<int> c31, out Vector128<int> c32, out Vector128<int> c33)
        where TFour : struct, IFlag where TWide : struct, IFlag
    {
        const int R = GemmPlan.NRDp;
        bool four = TFour.Value, wide = TWide.Value;
        c00 = Vector128.Load(b); c01 = Vector128.Load(b + 4); c02 = wide ? Vector128.Load(b + 8) : default; c03 = wide ? Vector128.Load(b + 12) : default;
        c10 = four ? Vector128.Load(b + R) : default; c11 = four ? Vector128.Load(b + R + 4) : default;
        c12 = four && wide ? Vector128.Load(b + R + 8) : default; c13 = four && wide ? Vector128.Load(b + R + 12) : default;
        c20 = four ? Vector128.Load(b + 2 * R) : default; c21 = four ? Vector128.Load(b + 2 * R + 4) : default;
        c22 = four && wide ? Vector128.Load(b + 2 * R + 8) : default; c23 = four && wide ? Vector128.Load(b + 2 * R + 12) : default;
        c30 = four ? Vector128.Load(b + 3 * R) : default; c31 = four ? Vector128.Load(b + 3 * R + 4) : default;
        c32 = four && wide ? Vector128.Load(b + 3 * R + 8) : default; c33 = four && wide ? Vector128.Load(b + 3 * R + 12) : default;
    }

    /// <summary>Requantization parameters of a group loaded once, then every row requantized and stored (with 4 rows all four:
    /// rows past the valid ones repeat the last valid row, see <see cref="TileDp16"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void EpilogueRows<TFour, TWide, TFull, TReq>(DpTile* t, int n0, sbyte* d0, sbyte* d1, sbyte* d2, sbyte* d3,
        Vector128<int> zp, Vector128<short> zp16, Vector128<sbyte> lo, Vector128<sbyte> hi, Vector128<int> c00, Vector128<int> c01, Vector128<int> c02, Vector128<int> c03,
        Vector128<int> c10, Vector128<int> c11, Vector128<int> c12, Vector128<int> c13, Vector128<int> c20, Vector128<int> c21, Vector128<int> c22, Vector128<int> c23,
        Vector128<int> c30, Vector128<int> c31, Vector128<int> c32, Vector128<int> c33)
        where TFour : struct, IFlag where TWide : struct, IFlag where TFull : struct, IFlag where TReq : struct, IRequant4
    {
        int width = TWide.Value ? 16 : 8;
        int count = TFull.Value ? width : Math.Min(width, t->N - n0);
        int* pm = t->Mult + n0, pl = t->Left + n0, pr = t->RNeg + n0;
        Vector128<int> m0 = Vector128.Load(pm), m1 = Vector128.Load(pm + 4), m2 = TWide.Value ? Vector128.Load(pm + 8) : default, m3 = TWide.Value ? Vector128.Load(pm + 12) : default;
        Vector128<int> r0 = Vector128.Load(pr), r1 = Vector128.Load(pr + 4), r2 = TWide.Value ? Vector128.Load(pr + 8) : default, r3 = TWide.Value ? Vector128.Load(pr + 12) : default;
        bool lefts = TReq.ReadsLeftAndRightPos;
        Vector128<int> l0 = lefts ? Vector128.Load(pl) : default, l1 = lefts ? Vector128.Load(pl + 4) : default;
        Vector128<int> l2 = lefts && TWide.Value ? Vector128.Load(pl + 8) : default, l3 = lefts && TWide.Value ? Vector128.Load(pl + 12) : default;
        Finish16<TWide, TFull, TReq>(c00, c01, c02, c03, m0, m1, m2, m3, l0, l1, l2, l3, r0, r1, r2, r3, zp, zp16, lo, hi, d0 + n0, count);
        if (TFour.Value)
        {
            Finish16<TWide, TFull, TReq>(c10, c11, c12, c13, m0, m1, m2, m3, l0, l1, l2, l3, r0, r1, r2, r3, zp, zp16, lo, hi, d1 + n0, count);
            Finish16<TWide, TFull, TReq>(c20, c21, c22, c23, m0, m1, m2, m3, l0, l1, l2, l3, r0, r1, r2, r3, zp, zp16, lo, hi, d2 + n0, count);
            Finish16<TWide, TFull, TReq>(c30, c31, c32, c33, m0, m1, m2, m3, l0, l1, l2, l3, r0, r1, r2, r3, zp, zp16, lo, hi, d3 + n0, count);
        }
    }

    /// <summary>
    /// Cortex-A72/A53 for small K (<see cref="GemmPlan.Smlal16"/>): channel groups [g0, g1) of a 4x16 tile with int16 weights,
    /// 8 k of each row sign-extended once (SXTL) and multiplied by element (SMLAL/SMLAL2 Vd.4S, Vn.4H, Vm.H[i]): 4 MACs per
    /// instruction but no horizontal reduction, and the same 16-channel epilogue as the SDOT tiles.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void GroupsSmlal16<TFour, TWide, TFull, TReq>(DpTile* t, int g0, int g1)
        where TFour : struct, IFlag where TWide : struct, IFlag where TFull : struct, IFlag where TReq : struct, IRequant4
    {
        sbyte* a0 = t->A0, a1 = t->A1, a2 = t->A2, a3 = t->A3, d0 = t->D0, d1 = t->D1, d2 = t->D2, d3 = t->D3;
        Vector128<int> zp = t->Zp; // the epilogue's constants, kept in registers across the groups
        Vector128<short> zp16 = t->Zp16;
        Vector128<sbyte> lo = t->Lo, hi = t->Hi;
        int k8 = t->K8, k8Full = t->K8Full, tail8 = t->Tail8, width = TWide.Value ? 16 : 8;
        for (int g = g0; g < g1; g++)
        {
            int n0 = g * GemmPlan.NRDp;
            BiasRows<TFour, TWide>(t->BiasRows + n0 * GemmPlan.MR, out Vector128<int> c00, out Vector128<int> c01, out Vector128<int> c02, out Vector128<int> c03,
                out Vector128<int> c10, out Vector128<int> c11, out Vector128<int> c12, out Vector128<int> c13, out Vector128<int> c20, out Vector128<int> c21,
                out Vector128<int> c22, out Vector128<int> c23, out Vector128<int> c30, out Vector128<int> c31, out Vector128<int> c32, out Vector128<int> c33);
            short* wk = t->W16 + (long)n0 * k8;
            int ko = 0;
            for (; ko < k8Full; ko += 8, wk += 8 * width)
            {
                Vector128<short> x0 = AdvSimd.SignExtendWideningLower(Vector64.Load(a0 + ko));
                Vector128<short> x1 = TFour.Value ? AdvSimd.SignExtendWideningLower(Vector64.Load(a1 + ko)) : default;
                Vector128<short> x2 = TFour.Value ? AdvSimd.SignExtendWideningLower(Vector64.Load(a2 + ko)) : default;
                Vector128<short> x3 = TFour.Value ? AdvSimd.SignExtendWideningLower(Vector64.Load(a3 + ko)) : default;
                K1<TFour, TWide>(0, wk, x0, x1, x2, x3, ref c00, ref c01, ref c02, ref c03, ref c10, ref c11, ref c12, ref c13, ref c20, ref c21, ref c22, ref c23, ref c30, ref c31, ref c32, ref c33);
                K1<TFour, TWide>(1, wk, x0, x1, x2, x3, ref c00, ref c01, ref c02, ref c03, ref c10, ref c11, ref c12, ref c13, ref c20, ref c21, ref c22, ref c23, ref c30, ref c31, ref c32, ref c33);
                K1<TFour, TWide>(2, wk, x0, x1, x2, x3, ref c00, ref c01, ref c02, ref c03, ref c10, ref c11, ref c12, ref c13, ref c20, ref c21, ref c22, ref c23, ref c30, ref c31, ref c32, ref c33);
                K1<TFour, TWide>(3, wk, x0, x1, x2, x3, ref c00, ref c01, ref c02, ref c03, ref c10, ref c11, ref c12, ref c13, ref c20, ref c21, ref c22, ref c23, ref c30, ref c31, ref c32, ref c33);
                K1<TFour, TWide>(4, wk, x0, x1, x2, x3, ref c00, ref c01, ref c02, ref c03, ref c10, ref c11, ref c12, ref c13, ref c20, ref c21, ref c22, ref c23, ref c30, ref c31, ref c32, ref c33);
                K1<TFour, TWide>(5, wk, x0, x1, x2, x3, ref c00, ref c01, ref c02, ref c03, ref c10, ref c11, ref c12, ref c13, ref c20, ref c21, ref c22, ref c23, ref c30, ref c31, ref c32, ref c33);
                K1<TFour, TWide>(6, wk, x0, x1, x2, x3, ref c00, ref c01, ref c02, ref c03, ref c10, ref c11, ref c12, ref c13, ref c20, ref c21, ref c22, ref c23, ref c30, ref c31, ref c32, ref c33);
                K1<TFour, TWide>(7, wk, x0, x1, x2, x3, ref c00, ref c01, ref c02, ref c03, ref c10, ref c11, ref c12, ref c13, ref c20, ref c21, ref c22, ref c23, ref c30, ref c31, ref c32, ref c33);
            }
            if (tail8 > 0)
            {
                // The last partial block: the k past K meet zero weights, so they are skipped (K = 27: 3 of 8).
                Vector128<short> x0 = AdvSimd.SignExtendWideningLower(Vector64.Load(a0 + ko));
                Vector128<short> x1 = TFour.Value ? AdvSimd.SignExtendWideningLower(Vector64.Load(a1 + ko)) : default;
                Vector128<short> x2 = TFour.Value ? AdvSimd.SignExtendWideningLower(Vector64.Load(a2 + ko)) : default;
                Vector128<short> x3 = TFour.Value ? AdvSimd.SignExtendWideningLower(Vector64.Load(a3 + ko)) : default;
                K1<TFour, TWide>(0, wk, x0, x1, x2, x3, ref c00, ref c01, ref c02, ref c03, ref c10, ref c11, ref c12, ref c13, ref c20, ref c21, ref c22, ref c23, ref c30, ref c31, ref c32, ref c33);
                if (tail8 > 1) K1<TFour, TWide>(1, wk, x0, x1, x2, x3, ref c00, ref c01, ref c02, ref c03, ref c10, ref c11, ref c12, ref c13, ref c20, ref c21, ref c22, ref c23, ref c30, ref c31, ref c32, ref c33);
                if (tail8 > 2) K1<TFour, TWide>(2, wk, x0, x1, x2, x3, ref c00, ref c01, ref c02, ref c03, ref c10, ref c11, ref c12, ref c13, ref c20, ref c21, ref c22, ref c23, ref c30, ref c31, ref c32, ref c33);
                if (tail8 > 3) K1<TFour, TWide>(3, wk, x0, x1, x2, x3, ref c00, ref c01, ref c02, ref c03, ref c10, ref c11, ref c12, ref c13, ref c20, ref c21, ref c22, ref c23, ref c30, ref c31, ref c32, ref c33);
                if (tail8 > 4) K1<TFour, TWide>(4, wk, x0, x1, x2, x3, ref c00, ref c01, ref c02, ref c03, ref c10, ref c11, ref c12, ref c13, ref c20, ref c21, ref c22, ref c23, ref c30, ref c31, ref c32, ref c33);
                if (tail8 > 5) K1<TFour, TWide>(5, wk, x0, x1, x2, x3, ref c00, ref c01, ref c02, ref c03, ref c10, ref c11, ref c12, ref c13, ref c20, ref c21, ref c22, ref c23, ref c30, ref c31, ref c32, ref c33);
                if (tail8 > 6) K1<TFour, TWide>(6, wk, x0, x1, x2, x3, ref c00, ref c01, ref c02, ref c03, ref c10, ref c11, ref c12, ref c13, ref c20, ref c21, ref c22, ref c23, ref c30, ref c31, ref c32, ref c33);
            }
            EpilogueRows<TFour, TWide, TFull, TReq>(t, n0, d0, d1, d2, d3, zp, zp16, lo, hi, c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33);
        }
    }

    /// <summary>k = i of an 8-k block (lane i of the rows' int16 vectors) against its 16 (or 8) int16 weights, i rows of
    /// weights past the block's base <paramref name="wq"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void K1<TFour, TWide>([ConstantExpected(Min = 0, Max = 7)] byte i, short* wq, Vector128<short> x0, Vector128<short> x1, Vector128<short> x2, Vector128<short> x3,
        ref Vector128<int> c00, ref Vector128<int> c01, ref Vector128<int> c02, ref Vector128<int> c03,
        ref Vector128<int> c10, ref Vector128<int> c11, ref Vector128<int> c12, ref Vector128<int> c13,
        ref Vector128<int> c20, ref Vector128<int> c21, ref Vector128<int> c22, ref Vector128<int> c23,
        ref Vector128<int> c30, ref Vector128<int> c31, ref Vector128<int> c32, ref Vector128<int> c33)
        where TFour : struct, IFlag where TWide : struct, IFlag
    {
        // Channels 0-3, 4-7 (8-11, 12-15) of k = i as 64-bit vectors at constant offsets from the block's base (the JIT pairs
        // them into LDP): every multiply takes a whole 64-bit register, so there are no copies and no address adds.
        int o = i * (TWide.Value ? 16 : 8);
        Vector64<short> w0 = Vector64.Load(wq + o), w1 = Vector64.Load(wq + o + 4);
        Vector64<short> w2 = TWide.Value ? Vector64.Load(wq + o + 8) : default, w3 = TWide.Value ? Vector64.Load(wq + o + 12) : default;
        Rows4Smlal<TFour>(i, w0, w1, x0, x1, x2, x3, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31);
        if (TWide.Value) Rows4Smlal<TFour>(i, w2, w3, x0, x1, x2, x3, ref c02, ref c03, ref c12, ref c13, ref c22, ref c23, ref c32, ref c33);
    }

    /// <summary>8 int16 weights (channels 0-3 in <paramref name="wl"/>, 4-7 in <paramref name="wh"/>) against lane i of each row:
    /// SMLAL by element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rows4Smlal<TFour>([ConstantExpected(Min = 0, Max = 7)] byte i, Vector64<short> wl, Vector64<short> wh,
        Vector128<short> x0, Vector128<short> x1, Vector128<short> x2, Vector128<short> x3,
        ref Vector128<int> lo0, ref Vector128<int> hi0, ref Vector128<int> lo1, ref Vector128<int> hi1,
        ref Vector128<int> lo2, ref Vector128<int> hi2, ref Vector128<int> lo3, ref Vector128<int> hi3) where TFour : struct, IFlag
    {
        lo0 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(lo0, wl, x0, i);
        hi0 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(hi0, wh, x0, i);
        if (!TFour.Value) return;
        lo1 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(lo1, wl, x1, i);
        hi1 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(hi1, wh, x1, i);
        lo2 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(lo2, wl, x2, i);
        hi2 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(hi2, wh, x2, i);
        lo3 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(lo3, wl, x3, i);
        hi3 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(hi3, wh, x3, i);
    }

    /// <summary>One quad q (4 k) of the 16-k block: the weight vectors of 4 channels each against lane q of every row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Quad<TFour, TWide>([ConstantExpected(Min = 0, Max = 3)] byte q, sbyte* wk, Vector128<sbyte> x0, Vector128<sbyte> x1, Vector128<sbyte> x2, Vector128<sbyte> x3,
        ref Vector128<int> c00, ref Vector128<int> c01, ref Vector128<int> c02, ref Vector128<int> c03,
        ref Vector128<int> c10, ref Vector128<int> c11, ref Vector128<int> c12, ref Vector128<int> c13,
        ref Vector128<int> c20, ref Vector128<int> c21, ref Vector128<int> c22, ref Vector128<int> c23,
        ref Vector128<int> c30, ref Vector128<int> c31, ref Vector128<int> c32, ref Vector128<int> c33)
        where TFour : struct, IFlag where TWide : struct, IFlag
    {
        // The weight vectors loaded back to back (LDP pairs) at constant offsets from the block's base, then used.
        int o = q * 4 * (TWide.Value ? 16 : 8);
        Vector128<sbyte> w0 = Vector128.Load(wk + o), w1 = Vector128.Load(wk + o + 16);
        Vector128<sbyte> w2 = TWide.Value ? Vector128.Load(wk + o + 32) : default, w3 = TWide.Value ? Vector128.Load(wk + o + 48) : default;
        Rows4<TFour>(q, w0, x0, x1, x2, x3, ref c00, ref c10, ref c20, ref c30);
        Rows4<TFour>(q, w1, x0, x1, x2, x3, ref c01, ref c11, ref c21, ref c31);
        if (!TWide.Value) return;
        Rows4<TFour>(q, w2, x0, x1, x2, x3, ref c02, ref c12, ref c22, ref c32);
        Rows4<TFour>(q, w3, x0, x1, x2, x3, ref c03, ref c13, ref c23, ref c33);
    }

    /// <summary>One weight vector (4 channels x 4 k) against quad q of each row: SDOT by element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rows4<TFour>([ConstantExpected(Min = 0, Max = 3)] byte q, Vector128<sbyte> w, Vector128<sbyte> x0, Vector128<sbyte> x1, Vector128<sbyte> x2, Vector128<sbyte> x3,
        ref Vector128<int> r0, ref Vector128<int> r1, ref Vector128<int> r2, ref Vector128<int> r3) where TFour : struct, IFlag
    {
        r0 = Dp.DotProductBySelectedQuadruplet(r0, w, x0, q);
        if (!TFour.Value) return;
        r1 = Dp.DotProductBySelectedQuadruplet(r1, w, x1, q);
        r2 = Dp.DotProductBySelectedQuadruplet(r2, w, x2, q);
        r3 = Dp.DotProductBySelectedQuadruplet(r3, w, x3, q);
    }

    /// <summary>
    /// Requantize 16 (or 8) channels of one row, add the zero point, narrow with saturation, clamp, store count bytes
    /// (<typeparamref name="TFull"/>: the whole width). The scalar rule adds the zero point to the int32 result, wrapping; when
    /// every shift is negative (<see cref="AdvSimdRequantRight"/>) that result is within ±2^30 and cannot wrap, so the zero
    /// point is added after the first narrowing instead, with saturation on 8 int16 lanes (SQADD): a result saturated to
    /// ±32767 stays beyond [-128, 127] after adding |zp| ≤ 128, so the clamped bytes are the same, with half the adds.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish16<TWide, TFull, TReq>(Vector128<int> v0, Vector128<int> v1, Vector128<int> v2, Vector128<int> v3,
        Vector128<int> m0, Vector128<int> m1, Vector128<int> m2, Vector128<int> m3, Vector128<int> l0, Vector128<int> l1, Vector128<int> l2, Vector128<int> l3,
        Vector128<int> r0, Vector128<int> r1, Vector128<int> r2, Vector128<int> r3,
        Vector128<int> zp, Vector128<short> zp16, Vector128<sbyte> lo, Vector128<sbyte> hi, sbyte* dst, int count)
        where TWide : struct, IFlag where TFull : struct, IFlag where TReq : struct, IRequant4
    {
        bool narrowZp = typeof(TReq) == typeof(AdvSimdRequantRight) || typeof(TReq) == typeof(AdvSimdRequantRightClamped);
        // rightPos only matters to the x86 and portable requantizations, which never run on Dp16 plans.
        v0 = TReq.Apply(v0, m0, l0, default, r0);
        v1 = TReq.Apply(v1, m1, l1, default, r1);
        if (!narrowZp) { v0 += zp; v1 += zp; }
        Vector128<short> s01 = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(v0), v1);
        if (narrowZp) s01 = AdvSimd.AddSaturate(s01, zp16);
        Vector128<short> s23 = default;
        if (TWide.Value)
        {
            v2 = TReq.Apply(v2, m2, l2, default, r2);
            v3 = TReq.Apply(v3, m3, l3, default, r3);
            if (!narrowZp) { v2 += zp; v3 += zp; }
            s23 = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(v2), v3);
            if (narrowZp) s23 = AdvSimd.AddSaturate(s23, zp16);
        }
        Vector128<sbyte> r = AdvSimd.Min(AdvSimd.Max(AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(s01), s23), lo), hi);
        if (TFull.Value || count == (TWide.Value ? 16 : 8))
        {
            if (TWide.Value) r.Store(dst);
            else Unsafe.WriteUnaligned(dst, r.AsInt64().ToScalar());
        }
        else
        {
            for (int i = 0; i < count; i++) dst[i] = r.GetElement(i);
        }
    }

    /// <summary>A Dp16 plan for up to 4 rows (rows == 1: the 1-row tile, no MACs on repeated rows).</summary>
    private static void RunDp16<TReq>(GemmPlan p, sbyte** a, sbyte** c, int rows, sbyte* w, int* bias, int* mult, int* left, int* rpos, int* rneg)
        where TReq : struct, IRequant4
    {
        if (rows == 1) TileDp16<No, TReq>(p, a, c, rows, w, bias, mult, left, rpos, rneg);
        else TileDp16<Yes, TReq>(p, a, c, rows, w, bias, mult, left, rpos, rneg);
    }

    /// <summary>Cortex-A72/A53 4x4 (or 1x4) tiles with the requantization the layer's shifts allow.</summary>
    private static void RunAdvSimd<TMac, TPair>(GemmPlan p, sbyte** a, sbyte** c, int rows, sbyte* w, int* bias, int* mult, int* left, int* rpos, int* rneg)
        where TMac : struct, IDotMac where TPair : struct, IFlag
    {
        switch (p.RequantKind)
        {
            case ArmRequantKind.RightShiftClamped:
                if (rows == 1) Tile1<TMac, AdvSimdRequantRightClamped>(p, a[0], c[0], w, bias, mult, left, rpos, rneg);
                else TileArm<TPair, AdvSimdRequantRightClamped>(p, a, c, w, bias, mult, left, rneg);
                break;
            case ArmRequantKind.RightShiftOnly:
                if (rows == 1) Tile1<TMac, AdvSimdRequantRight>(p, a[0], c[0], w, bias, mult, left, rpos, rneg);
                else TileArm<TPair, AdvSimdRequantRight>(p, a, c, w, bias, mult, left, rneg);
                break;
            case ArmRequantKind.NoLeftShift:
                if (rows == 1) Tile1<TMac, AdvSimdRequantNoLeft>(p, a[0], c[0], w, bias, mult, left, rpos, rneg);
                else TileArm<TPair, AdvSimdRequantNoLeft>(p, a, c, w, bias, mult, left, rneg);
                break;
            default:
                if (rows == 1) Tile1<TMac, AdvSimdRequant>(p, a[0], c[0], w, bias, mult, left, rpos, rneg);
                else TileArm<TPair, AdvSimdRequant>(p, a, c, w, bias, mult, left, rneg);
                break;
        }
    }

    /// <summary>
    /// Cortex-A72/A53 4x4 tiles (K above <see cref="GemmPlan.SmlalMaxK"/>): 4 rows x 4 channels, 16 k per step loaded as two
    /// 8-byte halves of each row and weight vector (LDP), so the widening multiplies need no copies of lower halves: SMULL +
    /// SMLAL into int16 (<typeparamref name="TPair"/>: no weight is -128) or two SMULL, then SADALP into int32. All four rows
    /// are computed and stored: rows past the valid ones repeat the last valid row in a and c (see <see cref="TileDp16"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TileArm<TPair, TReq>(GemmPlan p, sbyte** a, sbyte** c, sbyte* w, int* bias, int* mult, int* left, int* rneg)
        where TPair : struct, IFlag where TReq : struct, IRequant4
    {
        int full = p.N / GemmPlan.NR;
        if (full > 0) GroupsArm<TPair, Yes, TReq>(p, a, c, w, bias, mult, left, rneg, 0, full);
        if (full < p.Groups) GroupsArm<TPair, No, TReq>(p, a, c, w, bias, mult, left, rneg, full, full + 1);
    }

    /// <summary>Channel groups [g0, g1) of <see cref="TileArm{TPair, TReq}"/> (<typeparamref name="TFull"/>: 4 real channels each).
    /// The epilogue requantizes the 4 rows' 4 channels, narrows all 16 with SQXTN (the zero point added to the int16 lanes with
    /// SQADD when every shift is negative, see <see cref="Finish16"/>), clamps once and stores each row's 4 bytes (ST1 lane).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void GroupsArm<TPair, TFull, TReq>(GemmPlan p, sbyte** a, sbyte** c, sbyte* w, int* bias, int* mult, int* left, int* rneg, int g0, int g1)
        where TPair : struct, IFlag where TFull : struct, IFlag where TReq : struct, IRequant4
    {
        sbyte* a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
        sbyte* d0 = c[0], d1 = c[1], d2 = c[2], d3 = c[3];
        int kBlocks = p.KBlocks, n = p.N, outZp = p.OutZp, actMin = p.ActMin, actMax = p.ActMax;
        bool narrowZp = typeof(TReq) == typeof(AdvSimdRequantRight) || typeof(TReq) == typeof(AdvSimdRequantRightClamped);
        for (int g = g0; g < g1; g++)
        {
            Vector128<int> c00 = default, c01 = default, c02 = default, c03 = default;
            Vector128<int> c10 = default, c11 = default, c12 = default, c13 = default;
            Vector128<int> c20 = default, c21 = default, c22 = default, c23 = default;
            Vector128<int> c30 = default, c31 = default, c32 = default, c33 = default;
            sbyte* wk = w + (long)g * kBlocks * (GemmPlan.NR * GemmPlan.KBlock);
            sbyte* x0 = a0, x1 = a1, x2 = a2, x3 = a3;
            // The first block starts the accumulators (SADDLP: no zeroing), then two blocks per iteration at constant offsets
            // from the rows' and weights' bases (fewer pointer steps), then an odd last block.
            Block4<TPair, Yes>(x0, x1, x2, x3, wk, 0, ref c00, ref c01, ref c02, ref c03, ref c10, ref c11, ref c12, ref c13,
                ref c20, ref c21, ref c22, ref c23, ref c30, ref c31, ref c32, ref c33);
            int kb = 1;
            for (; kb + 2 <= kBlocks; kb += 2, x0 += 2 * GemmPlan.KBlock, x1 += 2 * GemmPlan.KBlock, x2 += 2 * GemmPlan.KBlock,
                x3 += 2 * GemmPlan.KBlock, wk += 2 * GemmPlan.NR * GemmPlan.KBlock)
            {
                Block4<TPair, No>(x0, x1, x2, x3, wk, 1, ref c00, ref c01, ref c02, ref c03, ref c10, ref c11, ref c12, ref c13,
                    ref c20, ref c21, ref c22, ref c23, ref c30, ref c31, ref c32, ref c33);
                Block4<TPair, No>(x0, x1, x2, x3, wk, 2, ref c00, ref c01, ref c02, ref c03, ref c10, ref c11, ref c12, ref c13,
                    ref c20, ref c21, ref c22, ref c23, ref c30, ref c31, ref c32, ref c33);
            }
            if (kb < kBlocks)
                Block4<TPair, No>(x0, x1, x2, x3, wk, 1, ref c00, ref c01, ref c02, ref c03, ref c10, ref c11, ref c12, ref c13,
                    ref c20, ref c21, ref c22, ref c23, ref c30, ref c31, ref c32, ref c33);
            int n0 = g * GemmPlan.NR;
            Vector128<int> b = Vector128.Load(bias + n0), m = Vector128.Load(mult + n0), rn = Vector128.Load(rneg + n0);
            Vector128<int> l = TReq.ReadsLeftAndRightPos ? Vector128.Load(left + n0) : default;
            Vector128<int> v0 = TReq.Apply(Reduce4(c00, c01, c02, c03) + b, m, l, default, rn);
            Vector128<int> v1 = TReq.Apply(Reduce4(c10, c11, c12, c13) + b, m, l, default, rn);
            Vector128<int> v2 = TReq.Apply(Reduce4(c20, c21, c22, c23) + b, m, l, default, rn);
            Vector128<int> v3 = TReq.Apply(Reduce4(c30, c31, c32, c33) + b, m, l, default, rn);
            if (!narrowZp)
            {
                Vector128<int> zp = Vector128.Create(outZp);
                v0 += zp; v1 += zp; v2 += zp; v3 += zp;
            }
            Vector128<short> s01 = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(v0), v1);
            Vector128<short> s23 = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(v2), v3);
            if (narrowZp)
            {
                Vector128<short> zp16 = Vector128.Create((short)outZp);
                s01 = AdvSimd.AddSaturate(s01, zp16);
                s23 = AdvSimd.AddSaturate(s23, zp16);
            }
            Vector128<sbyte> r = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(s01), s23);
            Vector128<int> q = AdvSimd.Min(AdvSimd.Max(r, Vector128.Create((sbyte)actMin)), Vector128.Create((sbyte)actMax)).AsInt32();
            if (TFull.Value)
            {
                AdvSimd.StoreSelectedScalar((int*)(d0 + n0), q, 0);
                AdvSimd.StoreSelectedScalar((int*)(d1 + n0), q, 1);
                AdvSimd.StoreSelectedScalar((int*)(d2 + n0), q, 2);
                AdvSimd.StoreSelectedScalar((int*)(d3 + n0), q, 3);
            }
            else
            {
                Vector128<sbyte> qb = q.AsSByte();
                for (int i = 0; i < n - n0; i++)
                {
                    d0[n0 + i] = qb.GetElement(i);
                    d1[n0 + i] = qb.GetElement(4 + i);
                    d2[n0 + i] = qb.GetElement(8 + i);
                    d3[n0 + i] = qb.GetElement(12 + i);
                }
            }
        }
    }

    /// <summary>Block b (16 k) past the rows' bases x0..x3 and the weights' base wk (constant offsets: LDP with an immediate) into
    /// the 16 accumulators; <typeparamref name="TFirst"/>: the first block, which sets them instead of adding to them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block4<TPair, TFirst>(sbyte* x0, sbyte* x1, sbyte* x2, sbyte* x3, sbyte* wk, [ConstantExpected(Min = 0, Max = 2)] int b,
        ref Vector128<int> c00, ref Vector128<int> c01, ref Vector128<int> c02, ref Vector128<int> c03,
        ref Vector128<int> c10, ref Vector128<int> c11, ref Vector128<int> c12, ref Vector128<int> c13,
        ref Vector128<int> c20, ref Vector128<int> c21, ref Vector128<int> c22, ref Vector128<int> c23,
        ref Vector128<int> c30, ref Vector128<int> c31, ref Vector128<int> c32, ref Vector128<int> c33) where TPair : struct, IFlag where TFirst : struct, IFlag
    {
        int o = b * GemmPlan.KBlock;
        Vector64<sbyte> l0 = Vector64.Load(x0 + o), h0 = Vector64.Load(x0 + o + 8), l1 = Vector64.Load(x1 + o), h1 = Vector64.Load(x1 + o + 8);
        Vector64<sbyte> l2 = Vector64.Load(x2 + o), h2 = Vector64.Load(x2 + o + 8), l3 = Vector64.Load(x3 + o), h3 = Vector64.Load(x3 + o + 8);
        sbyte* wb = wk + GemmPlan.NR * o;
        Channel4<TPair, TFirst>(wb, 0, l0, h0, l1, h1, l2, h2, l3, h3, ref c00, ref c10, ref c20, ref c30);
        Channel4<TPair, TFirst>(wb, 1, l0, h0, l1, h1, l2, h2, l3, h3, ref c01, ref c11, ref c21, ref c31);
        Channel4<TPair, TFirst>(wb, 2, l0, h0, l1, h1, l2, h2, l3, h3, ref c02, ref c12, ref c22, ref c32);
        Channel4<TPair, TFirst>(wb, 3, l0, h0, l1, h1, l2, h2, l3, h3, ref c03, ref c13, ref c23, ref c33);
    }

    /// <summary>Channel j's 16 weights (two 8-byte halves at a constant offset from the block's base <paramref name="wk"/>, so
    /// that they load with one LDP) against 16 k of each of the 4 rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Channel4<TPair, TFirst>(sbyte* wk, [ConstantExpected(Min = 0, Max = 3)] int j, Vector64<sbyte> l0, Vector64<sbyte> h0,
        Vector64<sbyte> l1, Vector64<sbyte> h1, Vector64<sbyte> l2, Vector64<sbyte> h2, Vector64<sbyte> l3, Vector64<sbyte> h3,
        ref Vector128<int> r0, ref Vector128<int> r1, ref Vector128<int> r2, ref Vector128<int> r3) where TPair : struct, IFlag where TFirst : struct, IFlag
    {
        Vector64<sbyte> wl = Vector64.Load(wk + 16 * j), wh = Vector64.Load(wk + 16 * j + 8);
        r0 = Mac16<TPair, TFirst>(r0, l0, h0, wl, wh);
        r1 = Mac16<TPair, TFirst>(r1, l1, h1, wl, wh);
        r2 = Mac16<TPair, TFirst>(r2, l2, h2, wl, wh);
        r3 = Mac16<TPair, TFirst>(r3, l3, h3, wl, wh);
    }

    /// <summary>acc += 16 products (8 from the lower halves, 8 from the upper), as <see cref="SmlalMac"/> (paired in int16) or
    /// <see cref="SmullMac"/>; <typeparamref name="TFirst"/>: acc = the products (SADDLP, acc is not read).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Mac16<TPair, TFirst>(Vector128<int> acc, Vector64<sbyte> al, Vector64<sbyte> ah, Vector64<sbyte> wl, Vector64<sbyte> wh)
        where TPair : struct, IFlag where TFirst : struct, IFlag
    {
        if (TPair.Value)
        {
            Vector128<short> p = AdvSimd.MultiplyWideningLowerAndAdd(AdvSimd.MultiplyWideningLower(al, wl), ah, wh);
            return TFirst.Value ? AdvSimd.AddPairwiseWidening(p) : AdvSimd.AddPairwiseWideningAndAdd(acc, p);
        }
        Vector128<short> lo = AdvSimd.MultiplyWideningLower(al, wl);
        acc = TFirst.Value ? AdvSimd.AddPairwiseWidening(lo) : AdvSimd.AddPairwiseWideningAndAdd(acc, lo);
        return AdvSimd.AddPairwiseWideningAndAdd(acc, AdvSimd.MultiplyWideningLower(ah, wh));
    }

    /// <summary>[Σ v0, Σ v1, Σ v2, Σ v3]: ADDP on arm64, PHADDD on x86 (both add adjacent pairs of two vectors).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<int> Reduce4(Vector128<int> v0, Vector128<int> v1, Vector128<int> v2, Vector128<int> v3)
    {
        if (AdvSimd.Arm64.IsSupported)
            return AdvSimd.Arm64.AddPairwise(AdvSimd.Arm64.AddPairwise(v0, v1), AdvSimd.Arm64.AddPairwise(v2, v3));
        if (Ssse3.IsSupported)
            return Ssse3.HorizontalAdd(Ssse3.HorizontalAdd(v0, v1), Ssse3.HorizontalAdd(v2, v3));
        return Vector128.Create(Vector128.Sum(v0), Vector128.Sum(v1), Vector128.Sum(v2), Vector128.Sum(v3));
    }

    /// <summary>Bias, requantization, output zero point (wrapping add, as the scalar rule), clamp, store count ≤ 4 bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Finish<TReq>(Vector128<int> acc, Vector128<int> bias, Vector128<int> mult, Vector128<int> left, Vector128<int> rpos, Vector128<int> rneg,
        Vector128<int> zp, Vector128<int> lo, Vector128<int> hi, sbyte* dst, int count) where TReq : struct, IRequant4
    {
        Vector128<int> v = TReq.Apply(acc + bias, mult, left, rpos, rneg) + zp;
        v = Vector128.Min(Vector128.Max(v, lo), hi);
        Store4(v, dst, count);
    }

    /// <summary>Narrows 4 int32 lanes already clamped into [-128, 127] and stores the first count of them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Store4(Vector128<int> v, sbyte* dst, int count)
    {
        Vector128<short> s16 = Vector128.Narrow(v, v);
        Vector128<sbyte> s8 = Vector128.Narrow(s16, s16);
        if (count == 4)
        {
            Unsafe.WriteUnaligned(dst, s8.AsInt32().ToScalar());
        }
        else
        {
            for (int i = 0; i < count; i++) dst[i] = s8.GetElement(i);
        }
    }

    /// <summary>Runs one tile of up to 4 rows with the plan's ISA (the switch is predictable: one ISA per plan).</summary>
    public static void RunTile(GemmPlan p, sbyte** a, sbyte** c, int rows, sbyte* w, int* bias, int* mult, int* left, int* rpos, int* rneg)
    {
        if (p.Dp16 || p.Smlal16)
        {
            switch (p.RequantKind)
            {
                case ArmRequantKind.RightShiftClamped: RunDp16<AdvSimdRequantRightClamped>(p, a, c, rows, w, bias, mult, left, rpos, rneg); break;
                case ArmRequantKind.RightShiftOnly: RunDp16<AdvSimdRequantRight>(p, a, c, rows, w, bias, mult, left, rpos, rneg); break;
                case ArmRequantKind.NoLeftShift: RunDp16<AdvSimdRequantNoLeft>(p, a, c, rows, w, bias, mult, left, rpos, rneg); break;
                default: RunDp16<AdvSimdRequant>(p, a, c, rows, w, bias, mult, left, rpos, rneg); break;
            }
            return;
        }
        if (rows == 1)
        {
            switch (p.Isa)
            {
                case KernelIsa.Avx2: Avx2Gemm.Tile1(p, a[0], c[0], w, bias, mult, left, rpos, rneg); break;
                case KernelIsa.AdvSimd when p.PairProducts: RunAdvSimd<SmlalMac, Yes>(p, a, c, rows, w, bias, mult, left, rpos, rneg); break;
                case KernelIsa.AdvSimd: RunAdvSimd<SmullMac, No>(p, a, c, rows, w, bias, mult, left, rpos, rneg); break;
                case KernelIsa.AvxVnni: Tile1<VnniMac, X86Requant>(p, a[0], c[0], w, bias, mult, left, rpos, rneg); break;
                default: Tile1<PortableMac, ScalarLaneRequant>(p, a[0], c[0], w, bias, mult, left, rpos, rneg); break;
            }
            return;
        }
        switch (p.Isa)
        {
            case KernelIsa.AdvSimd:
                if (p.PairProducts) RunAdvSimd<SmlalMac, Yes>(p, a, c, rows, w, bias, mult, left, rpos, rneg);
                else RunAdvSimd<SmullMac, No>(p, a, c, rows, w, bias, mult, left, rpos, rneg);
                break;
            case KernelIsa.AvxVnni:
                Tile<VnniMac, X86Requant>(p, a, c, rows, w, bias, mult, left, rpos, rneg);
                break;
            case KernelIsa.Avx2:
                Avx2Gemm.Tile(p, a, c, rows, w, bias, mult, left, rpos, rneg);
                break;
            default:
                Tile<PortableMac, ScalarLaneRequant>(p, a, c, rows, w, bias, mult, left, rpos, rneg);
                break;
        }
    }

    /// <summary>
    /// C[m, :] for m in [0, rows): A rows at a + m*aStride (K bytes each), C rows at c + m*cStride.
    /// When K is not a multiple of 16 each tile of A is first copied into <paramref name="scratch"/>
    /// (4 x Kp bytes, zero padded: the padding meets zero weights), so the kernel never reads past a row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // kernels run optimized from the first inference (no tier-0 JIT)
    public static void RunRows(GemmPlan p, sbyte* a, int aStride, int rows, sbyte* c, int cStride, sbyte* scratch)
    {
        fixed (sbyte* w = p.W)
        fixed (int* bias = p.Bias, mult = p.Mult, left = p.Left, rpos = p.RightPos, rneg = p.RightNeg)
        {
            sbyte** ar = stackalloc sbyte*[GemmPlan.MR];
            sbyte** cr = stackalloc sbyte*[GemmPlan.MR];
            // Rows are read in 16-byte blocks up to Kp; the bytes past K meet zero weights, so reading into the next
            // row is harmless: only rows whose blocks would pass the end of A are copied into zero-padded scratch.
            bool copy = p.K != p.Kp && p.Isa != KernelIsa.Avx2; // the AVX2 kernel widens exactly K bytes of each row
            sbyte* aEnd = a + (long)(rows - 1) * aStride + p.K;
            // The 4x16 NEON tiles take the whole tiles that read inside A straight; the rest (the last rows) go on below.
            int done = p.Dp16 || p.Smlal16 ? StreamTiles(p, a, aStride, rows, c, cStride, w, bias, mult, left, rneg) : 0;
            if (copy && done < rows) new Span<sbyte>(scratch, GemmPlan.MR * p.Kp).Clear();
            for (int m0 = done; m0 < rows; m0 += GemmPlan.MR)
            {
                int valid = Math.Min(GemmPlan.MR, rows - m0);
                for (int r = 0; r < GemmPlan.MR; r++)
                {
                    int row = m0 + Math.Min(r, valid - 1);
                    sbyte* src = a + (long)row * aStride;
                    if (copy && src + p.Kp > aEnd)
                    {
                        sbyte* dst = scratch + r * p.Kp;
                        if (r < valid) Buffer.MemoryCopy(src, dst, p.K, p.K);
                        ar[r] = r < valid ? dst : ar[valid - 1];
                    }
                    else
                    {
                        ar[r] = src;
                    }
                    cr[r] = c + (long)row * cStride;
                }
                RunTile(p, ar, cr, valid, w, bias, mult, left, rpos, rneg);
            }
        }
    }

    /// <summary>Scratch bytes <see cref="RunRows"/> needs.</summary>
    public static int RowsScratchBytes(GemmPlan p) => p.K == p.Kp || p.Isa == KernelIsa.Avx2 ? 0 : GemmPlan.MR * p.Kp;
}
