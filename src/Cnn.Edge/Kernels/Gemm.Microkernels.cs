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

/// <summary>Cortex-A76 and later: SDOT, 16 MACs per instruction.</summary>
internal readonly struct DpMac : IDotMac
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> PrepareA(Vector128<sbyte> a) => a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Mac(Vector128<int> acc, Vector128<sbyte> a, Vector128<sbyte> w) => Dp.DotProduct(acc, a, w);
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
        if (rows == 1)
        {
            switch (p.Isa)
            {
                case KernelIsa.Avx2: Avx2Gemm.Tile1(p, a[0], c[0], w, bias, mult, left, rpos, rneg); break;
                case KernelIsa.AdvSimdDp: Tile1<DpMac, AdvSimdRequant>(p, a[0], c[0], w, bias, mult, left, rpos, rneg); break;
                case KernelIsa.AdvSimd when p.PairProducts: Tile1<SmlalMac, AdvSimdRequant>(p, a[0], c[0], w, bias, mult, left, rpos, rneg); break;
                case KernelIsa.AdvSimd: Tile1<SmullMac, AdvSimdRequant>(p, a[0], c[0], w, bias, mult, left, rpos, rneg); break;
                case KernelIsa.AvxVnni: Tile1<VnniMac, X86Requant>(p, a[0], c[0], w, bias, mult, left, rpos, rneg); break;
                default: Tile1<PortableMac, ScalarLaneRequant>(p, a[0], c[0], w, bias, mult, left, rpos, rneg); break;
            }
            return;
        }
        switch (p.Isa)
        {
            case KernelIsa.AdvSimdDp:
                Tile<DpMac, AdvSimdRequant>(p, a, c, rows, w, bias, mult, left, rpos, rneg);
                break;
            case KernelIsa.AdvSimd:
                if (p.PairProducts) Tile<SmlalMac, AdvSimdRequant>(p, a, c, rows, w, bias, mult, left, rpos, rneg);
                else Tile<SmullMac, AdvSimdRequant>(p, a, c, rows, w, bias, mult, left, rpos, rneg);
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
            bool copy = p.K != p.Kp && p.Isa != KernelIsa.Avx2; // the AVX2 kernel widens exactly K bytes of each row
            if (copy) new Span<sbyte>(scratch, GemmPlan.MR * p.Kp).Clear();
            for (int m0 = 0; m0 < rows; m0 += GemmPlan.MR)
            {
                int valid = Math.Min(GemmPlan.MR, rows - m0);
                for (int r = 0; r < GemmPlan.MR; r++)
                {
                    int row = m0 + Math.Min(r, valid - 1);
                    sbyte* src = a + (long)row * aStride;
                    if (copy)
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
