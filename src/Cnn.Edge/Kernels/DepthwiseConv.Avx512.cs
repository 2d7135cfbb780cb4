using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cnn.Edge.Kernels;

/// <summary>
/// Selects <see cref="DepthwiseConv"/>'s AVX-512 path (a type argument only: its kernels requantize 16 lanes at a time with
/// <see cref="FoldedRequant"/>); as an <see cref="IRequant4"/> it is <see cref="X86RequantNoLeft"/>.
/// </summary>
internal readonly struct X86Requant512 : IRequant4
{
    public static bool ReadsLeftAndRightPos => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Apply(Vector128<int> x, Vector128<int> mult, Vector128<int> left, Vector128<int> rightPos, Vector128<int> rightNeg)
        => X86RequantNoLeft.Apply(x, mult, left, rightPos, rightNeg);
}

/// <summary>
/// The AVX-512BW path of the depthwise kernel (x86 layers whose every channel allows <see cref="FoldedRequant"/>: shifts ≤ 0,
/// no int.MinValue multiplier, accumulator bounds in range; the others take the 256-bit path): groups of 32 channels, two groups
/// (64 channels) per step.
/// <para>Per pair of taps and group: VPMOVSXBW sign-extends 32 input bytes of each tap to int16 (straight from memory),
/// VPUNPCKLWD/VPUNPCKHWD interleave them into (x[t], x[t + 1]) pairs, and two VPMADDWD with the weights interleaved the
/// same way at load add both products into int32 (exact for any int8 weights): 8 instructions per 64 MACs, against 20 on
/// 256-bit vectors. A last unpaired tap is paired with itself against a zero weight.</para>
/// <para>The accumulators hold the group in the interleaves' order: Lo lane L = channels 8L .. 8L + 3, Hi lane L =
/// 8L + 4 .. 8L + 7 (<see cref="Position512"/>); bias and requantization constants are stored in that order, and
/// VPACKSSDW(Lo, Hi) restores channel order. Two groups narrow with VPACKSSWB + VPERMQ, a single one with VPMOVSWB;
/// a last group of fewer than 32 channels loads and stores under a byte mask, so no channel is left to scalar code.</para>
/// <para>On stride-1 rows (no horizontal dilation) the interior windows go two at a time (<see cref="Window9x2"/>): they share
/// two input columns, so one widening and one interleave serve both (12% less time on MobileNetV2's stride-1 layers). Each
/// loop is a method of its own (NoInlining): together they exceed the JIT's inlining budget, which would then call the
/// vector helpers instead of inlining them.</para>
/// </summary>
internal sealed unsafe partial class DepthwiseConv
{
    private const int Group = 32;
    /// <summary>Per group of 32 channels, in <see cref="Position512"/> order: folded bias, multiplier, T, r, then K as longs
    /// (<see cref="FoldedRequant"/>): for each 16-lane half h, the K of its 8 even lanes at ints 128 + 16 h, of its 8 odd lanes at
    /// 160 + 16 h (so at p + 128 and p + 160 for the half at p).</summary>
    private const int ParamInts = 6 * Group;
    private const int PMult = Group, PT = 2 * Group, PR = 3 * Group, PKEven = 4 * Group, PKOdd = 5 * Group;

    /// <summary>Every channel's <see cref="FoldedRequant.TryChannel"/> constants (K without the bias: the accumulators start from it),
    /// or null when some channel does not allow the folded form.</summary>
    private static (long[] K, int[] T, int[] R)? FoldedConstants(ReadOnlySpan<sbyte> weights, int c, int taps, int[] rawBias, int[] mult, int[] shift, int outZp)
    {
        var k = new long[c];
        int[] t = new int[c], r = new int[c];
        for (int ch = 0; ch < c; ch++)
        {
            long sumAbs = 0;
            for (int i = 0; i < taps; i++) sumAbs += Math.Abs((int)weights[ch * taps + i]);
            if (!FoldedRequant.TryChannel(0, 255 * sumAbs + Math.Abs((long)rawBias[ch]), mult[ch], shift[ch], outZp, out k[ch], out t[ch], out r[ch]))
                return null;
        }
        return (k, t, r);
    }

    /// <summary>Whether the AVX-512 path runs (chosen at load).</summary>
    internal bool UsesAvx512 => _avx512;

    /// <summary>Whether the layer requantizes with <see cref="FoldedRequant"/>: the AVX-512 path always does.</summary>
    internal bool UsesFoldedRequant => _avx512;
    private readonly bool _avx512;
    /// <summary>[C/32][(taps + 1) / 2][64] int16: per pair of taps, the Lo then the Hi VPMADDWD operand (see <see cref="Pack512"/>).</summary>
    private readonly short[] _w512 = [];
    /// <summary>3x3 only, [C/32][7][64] int16: the pairs of <see cref="Window9x2"/> (<see cref="Pairs9x2"/>).</summary>
    private readonly short[] _w512x2 = [];

    /// <summary>
    /// Two neighbouring 3x3 windows of a stride-1 row share input columns 1 and 2. <see cref="Window9x2"/> pairs taps
    /// vertically, (row 0, row 1) of each of the 4 columns: one interleave serves both windows. Row 2 pairs columns (0, 1) and
    /// (2, 3). Per pair of windows: the taps (first, second) of the 7 weight pairs, -1 for a zero weight; tap = 3 row + column
    /// of the window: window A's columns are 0-2, window B's 1-3.
    /// </summary>
    private static readonly (int, int)[] Pairs9x2 =
    [
        (0, 3), (1, 4), (2, 5), // rows 0+1, window column 0, 1, 2 (A: input column 0-2, B: 1-3)
        (6, 7), (8, -1),        // A, row 2: input columns (0, 1) and (2, 3)
        (-1, 6), (7, 8),        // B, row 2: input columns (0, 1) and (2, 3)
    ];
    /// <summary>[C/32][<see cref="ParamInts"/>] (+16: the odd-lane multiplier load reads one element past the last group).</summary>
    private readonly int[] _p512 = [];
    /// <summary>
    /// 3x3 layers of C = 1, 2, 4, 8 or 16 channels: 32 / C neighbouring windows of a stride-1 row fill one group of 32 lanes
    /// (their taps and outputs are contiguous), with the weights and constants repeated 32 / C times; else 1.
    /// </summary>
    private readonly int _fold512 = 1;
    private readonly short[] _w512Fold = [];
    private readonly int[] _p512Fold = [];

    /// <summary>The packed weights and constants of the channels repeated to fill a group of 32 (see <see cref="_fold512"/>).</summary>
    private static (short[] W, int[] P) Pack512Folded(ReadOnlySpan<sbyte> weights, int c, int taps, int[] foldedBias, int[] mult,
        (long[] K, int[] T, int[] R) folded)
    {
        var w = new sbyte[Group * taps];
        int[] b = new int[Group], m = new int[Group];
        (long[] K, int[] T, int[] R) f = (new long[Group], new int[Group], new int[Group]);
        for (int ch = 0; ch < Group; ch++)
        {
            weights.Slice(ch % c * taps, taps).CopyTo(w.AsSpan(ch * taps));
            b[ch] = foldedBias[ch % c]; m[ch] = mult[ch % c];
            f.K[ch] = folded.K[ch % c]; f.T[ch] = folded.T[ch % c]; f.R[ch] = folded.R[ch % c];
        }
        var (packed, _, p, _) = Pack512(w, Group, taps, false, b, m, f);
        return (packed, p);
    }

    /// <summary>Byte lanes below C mod 32 set: the last group's load and store mask (all clear when C is a multiple of 32).</summary>
    private readonly Vector256<sbyte> _tail512;

    /// <summary>Where channel r (0..31) of a group sits in its two accumulators (Lo then Hi, 16 lanes each).</summary>
    private static int Position512(int r) => (r % 8 / 4) * 16 + (r / 8) * 4 + r % 4;

    /// <summary>Whether this CPU and layer may take the AVX-512 path: AVX-512BW (with VL) and every shift ≤ 0 (then
    /// <see cref="FoldedConstants"/> decides).</summary>
    private static bool Avx512Applies(KernelIsa isa, bool x86NoLeft)
        => isa is KernelIsa.Avx2 or KernelIsa.AvxVnni && x86NoLeft && Avx512BW.IsSupported && Avx512BW.VL.IsSupported;

    /// <summary>The weights and per-channel constants in the AVX-512 layout.</summary>
    private static (short[] W, short[] W9x2, int[] P, Vector256<sbyte> Tail) Pack512(ReadOnlySpan<sbyte> weights, int c, int taps, bool k3,
        int[] foldedBias, int[] mult, (long[] K, int[] T, int[] R) f)
    {
        var pairs = new (int, int)[(taps + 1) / 2];
        for (int i = 0; i < pairs.Length; i++) pairs[i] = (2 * i, 2 * i + 1 < taps ? 2 * i + 1 : -1);
        short[] w = PackPairs(weights, c, taps, pairs), w9x2 = k3 ? PackPairs(weights, c, taps, Pairs9x2) : [];
        int groups = (c + Group - 1) / Group;
        var p = new int[groups * ParamInts + 16];
        for (int ch = 0; ch < c; ch++)
        {
            int g = ch / Group, r = ch % Group;
            int at = g * ParamInts + Position512(r);
            p[at] = foldedBias[ch];
            p[at + PMult] = mult[ch];
            p[at + PT] = f.T[ch];
            p[at + PR] = f.R[ch];
            // The K of lane `lane` of half h: a long at ints PKEven + 16 h (even lanes) or PKOdd + 16 h (odd), element lane / 2.
            int pos = Position512(r), half = pos / 16, lane = pos % 16;
            int kAt = g * ParamInts + (lane % 2 == 0 ? PKEven : PKOdd) + 16 * half + 2 * (lane / 2);
            p[kAt] = (int)f.K[ch];
            p[kAt + 1] = (int)(f.K[ch] >> 32);
        }
        var tail = new sbyte[Group];
        for (int i = 0; i < c % Group; i++) tail[i] = -1;
        return (w, w9x2, p, Vector256.Create((ReadOnlySpan<sbyte>)tail));
    }

    /// <summary>[C/32][pair][64] int16: for each pair of taps (first, second; -1 = zero weight), the Lo then the Hi VPMADDWD operand.</summary>
    private static short[] PackPairs(ReadOnlySpan<sbyte> weights, int c, int taps, (int First, int Second)[] pairs)
    {
        var w = new short[(c + Group - 1) / Group * pairs.Length * 2 * Group];
        for (int ch = 0; ch < c; ch++)
        {
            int g = ch / Group, r = ch % Group;
            // Operand (Lo/Hi) r % 8 / 4, lane r / 8, dword r % 4 within the lane, then the pair's first or second tap.
            int wAt = (r % 8 / 4) * Group + (r / 8) * 8 + (r % 4) * 2;
            for (int i = 0; i < pairs.Length; i++)
            {
                int at = (g * pairs.Length + i) * 2 * Group + wAt;
                if (pairs[i].First >= 0) w[at] = weights[ch * taps + pairs[i].First];
                if (pairs[i].Second >= 0) w[at + 1] = weights[ch * taps + pairs[i].Second];
            }
        }
        return w;
    }

    /// <summary>Output and clamp constants of the AVX-512 path, read once per call.</summary>
    private struct Out512
    {
        /// <summary>The [g &lt; T] correction of <see cref="FoldedRequant"/> is needed (<see cref="FoldedRequant.NeedsCorrection"/>).</summary>
        public bool Correct;
        public Vector512<sbyte> Lo8, Hi8;
        public Vector256<sbyte> Tail;
    }

    /// <summary>Two accumulators of one group of 32 channels (see <see cref="Position512"/>).</summary>
    private struct Acc32
    {
        public Vector512<int> Lo, Hi;
    }

    /// <summary>count interior 3x3 windows of one output row (as <see cref="Interior9"/>), every channel: in pairs on a stride-1 row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Interior9Avx512(Ctx* ctx, sbyte* p, int count, long pixStep, long dx, long dy, sbyte* dst)
    {
        int c = ctx->C, stride = ctx->Stride, done = 0;
        if (pixStep == stride && dx == stride) // stride 1, no horizontal dilation
        {
            if (ctx->Fold > 1)
            {
                // Fold neighbouring windows as one of 32 channels: tap t of window k is 32 / Fold channels after window k - 1's.
                // (Fold > 1 only when C < 32: one block, all channels.)
                int groups = count / ctx->Fold;
                done = groups * ctx->Fold;
                Interior9x1Avx512(ctx, p, groups, Group, dx, dy, dst, Group, Group, ctx->W512Fold, ctx->P512Fold);
            }
            else
            {
                int pairs = count / 2;
                if (pairs > 0) Interior9x2Avx512(ctx, p, pairs, dy, dst);
                done = 2 * pairs;
            }
        }
        Interior9x1Avx512(ctx, p + done * pixStep, count - done, pixStep, dx, dy, dst + (long)done * stride, stride, c, ctx->W512, ctx->P512);
    }

    /// <summary>pairs of neighbouring interior 3x3 windows of a stride-1 row (no horizontal dilation).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Interior9x2Avx512(Ctx* ctx, sbyte* p, int pairs, long dy, sbyte* dst)
    {
        int c = ctx->C, stride = ctx->Stride;
        short* w = ctx->W512x2;
        int* prm = ctx->P512;
        Out512 o = ctx->Out;
        for (int i = 0; i < pairs; i++, p += 2 * stride, dst += 2 * stride)
            Pixel9x2Avx512(p, p + dy, p + 2 * dy, dst, stride, c, w, prm, o);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    /// <param name="dstStep">Bytes from one window's output to the next.</param>
    /// <param name="c">Channels per window.</param>
    private static void Interior9x1Avx512(Ctx* ctx, sbyte* p, int count, long pixStep, long dx, long dy, sbyte* dst, int dstStep, int c, short* w, int* prm)
    {
        Out512 o = ctx->Out;
        long dx2 = 2 * dx;
        for (int i = 0; i < count; i++, p += pixStep, dst += dstStep)
        {
            sbyte* r1 = p + dy, r2 = r1 + dy;
            Pixel9Avx512(p, p + dx, p + dx2, r1, r1 + dx, r1 + dx2, r2, r2 + dx, r2 + dx2, dst, c, w, prm, o);
        }
    }

    /// <summary>One 3x3 window through its tap pointers (padding), every channel.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Indirect9Avx512(Ctx* ctx, sbyte** ptr, sbyte* dst)
        => Pixel9Avx512(ptr[0], ptr[1], ptr[2], ptr[3], ptr[4], ptr[5], ptr[6], ptr[7], ptr[8], dst, ctx->C, ctx->W512, ctx->P512, ctx->Out);

    /// <summary>One window of any size through its tap pointers, every channel.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void IndirectKAvx512(Ctx* ctx, sbyte** ptr, sbyte* dst)
        => PixelKAvx512(ptr, ctx->Taps, dst, ctx->C, ctx->W512, ctx->P512, ctx->Out);

    /// <summary>One 3x3 window, every channel: 64 per step, then a group of 32, then a masked group.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pixel9Avx512(sbyte* i0, sbyte* i1, sbyte* i2, sbyte* i3, sbyte* i4, sbyte* i5, sbyte* i6, sbyte* i7, sbyte* i8,
        sbyte* dst, int c, short* w, int* prm, in Out512 o)
    {
        const int wGroup = 5 * 2 * Group;
        int c0 = 0;
        for (; c0 + 2 * Group <= c; c0 += 2 * Group, w += 2 * wGroup, prm += 2 * ParamInts)
        {
            Acc32 a = Window9<No>(i0 + c0, i1 + c0, i2 + c0, i3 + c0, i4 + c0, i5 + c0, i6 + c0, i7 + c0, i8 + c0, w, prm, default);
            int c1 = c0 + Group;
            Acc32 b = Window9<No>(i0 + c1, i1 + c1, i2 + c1, i3 + c1, i4 + c1, i5 + c1, i6 + c1, i7 + c1, i8 + c1, w + wGroup, prm + ParamInts, default);
            Store64(a, b, prm, dst + c0, o);
        }
        if (c0 + Group <= c)
        {
            Acc32 a = Window9<No>(i0 + c0, i1 + c0, i2 + c0, i3 + c0, i4 + c0, i5 + c0, i6 + c0, i7 + c0, i8 + c0, w, prm, default);
            Store32<No>(a, prm, dst + c0, o);
            c0 += Group; w += wGroup; prm += ParamInts;
        }
        if (c0 < c)
        {
            Acc32 a = Window9<Yes>(i0 + c0, i1 + c0, i2 + c0, i3 + c0, i4 + c0, i5 + c0, i6 + c0, i7 + c0, i8 + c0, w, prm, o.Tail);
            Store32<Yes>(a, prm, dst + c0, o);
        }
    }

    /// <summary>Two neighbouring 3x3 windows of a stride-1 row (top-left input pixels r0 and r0 + stride; r1, r2 the rows below), c channels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pixel9x2Avx512(sbyte* r0, sbyte* r1, sbyte* r2, sbyte* dst, int stride, int c, short* w, int* prm, in Out512 o)
    {
        const int wGroup = 7 * 2 * Group;
        int c0 = 0;
        for (; c0 + 2 * Group <= c; c0 += 2 * Group, w += 2 * wGroup, prm += 2 * ParamInts)
        {
            Acc32x2 g0 = Window9x2<No>(r0 + c0, r1 + c0, r2 + c0, stride, w, prm, default);
            Acc32x2 g1 = Window9x2<No>(r0 + c0 + Group, r1 + c0 + Group, r2 + c0 + Group, stride, w + wGroup, prm + ParamInts, default);
            Store64(g0.A, g1.A, prm, dst + c0, o);
            Store64(g0.B, g1.B, prm, dst + stride + c0, o);
        }
        if (c0 + Group <= c)
        {
            Acc32x2 g = Window9x2<No>(r0 + c0, r1 + c0, r2 + c0, stride, w, prm, default);
            Store32<No>(g.A, prm, dst + c0, o);
            Store32<No>(g.B, prm, dst + stride + c0, o);
            c0 += Group; w += wGroup; prm += ParamInts;
        }
        if (c0 < c)
        {
            Acc32x2 g = Window9x2<Yes>(r0 + c0, r1 + c0, r2 + c0, stride, w, prm, o.Tail);
            Store32<Yes>(g.A, prm, dst + c0, o);
            Store32<Yes>(g.B, prm, dst + stride + c0, o);
        }
    }

    /// <summary>The accumulators of one group of two neighbouring windows.</summary>
    private struct Acc32x2
    {
        public Acc32 A, B;
    }

    /// <summary>
    /// One group of two neighbouring 3x3 windows A and B (input columns 0-2 and 1-3 from the row pointers, c bytes apart: the pixel stride) with
    /// the weight pairs of <see cref="Pairs9x2"/>: 12 widenings and 12 interleaves for both windows, against 18 and 20.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Acc32x2 Window9x2<TM>(sbyte* r0, sbyte* r1, sbyte* r2, long c, short* w, int* prm, Vector256<sbyte> m) where TM : struct, IFlag
    {
        const int pair = 2 * Group;
        Acc32x2 a;
        a.A.Lo = a.B.Lo = Vector512.Load(prm);
        a.A.Hi = a.B.Hi = Vector512.Load(prm + 16);
        // Rows 0 and 1 of column j: window A's column j (j < 3), window B's column j - 1 (j > 0).
        Vector512<short> x = Widen<TM>(r0, m), y = Widen<TM>(r1, m);
        a.A = MaddPair(a.A, Avx512BW.UnpackLow(x, y), Avx512BW.UnpackHigh(x, y), w);
        x = Widen<TM>(r0 + c, m); y = Widen<TM>(r1 + c, m);
        Vector512<short> lo = Avx512BW.UnpackLow(x, y), hi = Avx512BW.UnpackHigh(x, y);
        a.A = MaddPair(a.A, lo, hi, w + pair);
        a.B = MaddPair(a.B, lo, hi, w);
        x = Widen<TM>(r0 + 2 * c, m); y = Widen<TM>(r1 + 2 * c, m);
        lo = Avx512BW.UnpackLow(x, y); hi = Avx512BW.UnpackHigh(x, y);
        a.A = MaddPair(a.A, lo, hi, w + 2 * pair);
        a.B = MaddPair(a.B, lo, hi, w + pair);
        x = Widen<TM>(r0 + 3 * c, m); y = Widen<TM>(r1 + 3 * c, m);
        a.B = MaddPair(a.B, Avx512BW.UnpackLow(x, y), Avx512BW.UnpackHigh(x, y), w + 2 * pair);
        // Row 2: columns (0, 1) and (2, 3).
        x = Widen<TM>(r2, m); y = Widen<TM>(r2 + c, m);
        lo = Avx512BW.UnpackLow(x, y); hi = Avx512BW.UnpackHigh(x, y);
        a.A = MaddPair(a.A, lo, hi, w + 3 * pair);
        a.B = MaddPair(a.B, lo, hi, w + 5 * pair);
        x = Widen<TM>(r2 + 2 * c, m); y = Widen<TM>(r2 + 3 * c, m);
        lo = Avx512BW.UnpackLow(x, y); hi = Avx512BW.UnpackHigh(x, y);
        a.A = MaddPair(a.A, lo, hi, w + 4 * pair);
        a.B = MaddPair(a.B, lo, hi, w + 6 * pair);
        return a;
    }

    /// <summary>Any number of taps through their pointers, every channel, a group at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PixelKAvx512(sbyte** ptr, int taps, sbyte* dst, int c, short* w, int* prm, in Out512 o)
    {
        int wGroup = (taps + 1) / 2 * 2 * Group;
        int c0 = 0;
        for (; c0 + Group <= c; c0 += Group, w += wGroup, prm += ParamInts)
            Store32<No>(WindowK<No>(ptr, taps, c0, w, prm, default), prm, dst + c0, o);
        if (c0 < c) Store32<Yes>(WindowK<Yes>(ptr, taps, c0, w, prm, o.Tail), prm, dst + c0, o);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Acc32 Window9<TM>(sbyte* i0, sbyte* i1, sbyte* i2, sbyte* i3, sbyte* i4, sbyte* i5, sbyte* i6, sbyte* i7, sbyte* i8,
        short* w, int* prm, Vector256<sbyte> m) where TM : struct, IFlag
    {
        Acc32 a;
        a.Lo = Vector512.Load(prm);
        a.Hi = Vector512.Load(prm + 16);
        a = Taps2Avx512(a, Widen<TM>(i0, m), Widen<TM>(i1, m), w);
        a = Taps2Avx512(a, Widen<TM>(i2, m), Widen<TM>(i3, m), w + 2 * Group);
        a = Taps2Avx512(a, Widen<TM>(i4, m), Widen<TM>(i5, m), w + 4 * Group);
        a = Taps2Avx512(a, Widen<TM>(i6, m), Widen<TM>(i7, m), w + 6 * Group);
        Vector512<short> x8 = Widen<TM>(i8, m);
        return Taps2Avx512(a, x8, x8, w + 8 * Group);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Acc32 WindowK<TM>(sbyte** ptr, int taps, int c0, short* w, int* prm, Vector256<sbyte> m) where TM : struct, IFlag
    {
        Acc32 a;
        a.Lo = Vector512.Load(prm);
        a.Hi = Vector512.Load(prm + 16);
        int t = 0;
        for (; t + 1 < taps; t += 2, w += 2 * Group)
            a = Taps2Avx512(a, Widen<TM>(ptr[t] + c0, m), Widen<TM>(ptr[t + 1] + c0, m), w);
        if (t < taps)
        {
            Vector512<short> x = Widen<TM>(ptr[t] + c0, m);
            a = Taps2Avx512(a, x, x, w);
        }
        return a;
    }

    /// <summary>32 input bytes sign-extended to int16 (VPMOVSXBW); masked: only the tail's lanes are read, the rest are 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> Widen<TM>(sbyte* p, Vector256<sbyte> m) where TM : struct, IFlag
        => Avx512BW.ConvertToVector512Int16(TM.Value ? Avx512BW.VL.MaskLoad(p, m, Vector256<sbyte>.Zero) : Vector256.Load(p));

    /// <summary>Two taps of a group: (x[t], x[t + 1]) int16 pairs times the interleaved weights, summed into int32 by VPMADDWD.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Acc32 Taps2Avx512(Acc32 a, Vector512<short> x0, Vector512<short> x1, short* w)
        => MaddPair(a, Avx512BW.UnpackLow(x0, x1), Avx512BW.UnpackHigh(x0, x1), w);

    /// <summary>Interleaved int16 pairs (Lo, Hi) times a weight pair (the Lo then the Hi operand at w), added into a.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Acc32 MaddPair(Acc32 a, Vector512<short> lo, Vector512<short> hi, short* w)
    {
        a.Lo += Avx512BW.MultiplyAddAdjacent(lo, Vector512.Load(w));
        a.Hi += Avx512BW.MultiplyAddAdjacent(hi, Vector512.Load(w + Group));
        return a;
    }

    /// <summary>16 requantized lanes plus the output zero point (<see cref="FoldedRequant"/>: in K); p points at the lanes' bias.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Requant512(Vector512<int> acc, int* p, in Out512 o)
        => FoldedRequant.Apply16(acc, Vector512.Load(p + PMult), Vector512.Load(p + PMult + 1), Vector512.Load((long*)(p + PKEven)),
            Vector512.Load((long*)(p + PKOdd)), Vector512.Load(p + PT), Vector512.Load((uint*)p + PR), o.Correct);

    /// <summary>Two groups (params at p and p + <see cref="ParamInts"/>) to 64 bytes: VPACKSSDW per group, VPACKSSWB interleaves the
    /// groups by 8 bytes per lane, VPERMQ puts the quadwords back in channel order; then the int8 clamp.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store64(Acc32 a, Acc32 b, int* p, sbyte* dst, in Out512 o)
    {
        Vector512<short> s0 = Avx512BW.PackSignedSaturate(Requant512(a.Lo, p, o), Requant512(a.Hi, p + 16, o));
        Vector512<short> s1 = Avx512BW.PackSignedSaturate(Requant512(b.Lo, p + ParamInts, o), Requant512(b.Hi, p + ParamInts + 16, o));
        Vector512<sbyte> bytes = Avx512F.PermuteVar8x64(Avx512BW.PackSignedSaturate(s0, s1).AsInt64(), Vector512.Create(0L, 2, 4, 6, 1, 3, 5, 7)).AsSByte();
        Avx512BW.Min(Avx512BW.Max(bytes, o.Lo8), o.Hi8).Store(dst);
    }

    /// <summary>One group to 32 bytes: VPACKSSDW, VPMOVSWB, the clamp; masked: only the tail's bytes are written.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store32<TM>(Acc32 a, int* p, sbyte* dst, in Out512 o) where TM : struct, IFlag
    {
        Vector512<short> s = Avx512BW.PackSignedSaturate(Requant512(a.Lo, p, o), Requant512(a.Hi, p + 16, o));
        Vector256<sbyte> bytes = Avx2.Min(Avx2.Max(Avx512BW.ConvertToVector256SByteWithSaturation(s), o.Lo8.GetLower()), o.Hi8.GetLower());
        if (TM.Value) Avx512BW.VL.MaskStore(dst, o.Tail, bytes);
        else bytes.Store(dst);
    }
}
