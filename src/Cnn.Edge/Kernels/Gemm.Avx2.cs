using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cnn.Edge.Kernels;

/// <summary>
/// The AVX2 int8 GEMM microkernel (x86 without VNNI): 4 rows x 16 output channels per step, with no horizontal sums
/// (8 rows x 32 channels on 512-bit vectors, <see cref="Tile8"/>).
/// <list type="bullet">
/// <item>Weights are widened and packed at load as [block of 16 channels][K/2 pairs][16 channels][2] int16 (<see cref="Pack"/>):
/// one 32-byte load is 8 channels x 2 consecutive k, one 64-byte load all 16 channels of the block.</item>
/// <item>A tile's rows are widened once to int16 (on the stack), so a pair (a[2j], a[2j+1]) is one int32 that
/// VPBROADCASTD spreads over the channels.</item>
/// <item>VPMADDWD then adds a[2j] w[c][2j] + a[2j+1] w[c][2j+1] straight into channel c's int32 lane (|each| ≤ 2 * 128 * 128,
/// no saturation); the accumulator of a channel is its final sum, exactly as the reference (int32 addition wraps
/// the same way in any order).</item>
/// </list>
/// Per pair of k (256-bit): 2 weight loads, 4 broadcasts, 8 VPMADDWD and 8 VPADDD for 128 multiply-accumulates; 8 accumulators
/// plus 2 weight vectors and one broadcast fit in AVX2's 16 registers. 512-bit, 8 rows: 2 weight loads, 8 broadcasts,
/// 16 VPMADDWD and 16 VPADDD for 512 (16 of the 32 zmm registers accumulate).
/// </summary>
internal static unsafe class Avx2Gemm
{
    public const int NB = 16;

    /// <summary>
    /// With AVX-512BW the same packed weights feed 512-bit VPMADDWD: one zmm holds a k pair of all 16 channels of a block,
    /// so a step covers 4 rows x 32 channels. Both paths compute every channel's sum exactly; tests run both.
    /// </summary>
    internal static bool Use512 = Avx512BW.IsSupported;

    /// <summary>Bytes of the packed weights of an N x K GEMM (int16, or int8 when <paramref name="narrow"/>).</summary>
    public static int PackedBytes(int n, int k, bool narrow = false) => (n + NB - 1) / NB * ((k + 1) / 2) * NB * 2 * (narrow ? 1 : sizeof(short));

    /// <summary>[N, K] row-major weights into the [N/16][K/2][16][2] int16 layout (in the bytes of <paramref name="packed"/>),
    /// or the same layout in int8 when <paramref name="narrow"/>; padding (channels ≥ N, k ≥ K) is zero.</summary>
    public static void Pack(ReadOnlySpan<sbyte> weights, int n, int k, Span<sbyte> packed, bool narrow = false)
    {
        int k2 = (k + 1) / 2;
        Span<short> w16 = MemoryMarshal.Cast<sbyte, short>(packed);
        packed.Clear();
        for (int c = 0; c < n; c++)
        {
            int blk = c / NB, lane = c % NB;
            for (int i = 0; i < k; i++)
            {
                int at = ((blk * k2 + i / 2) * NB + lane) * 2 + (i & 1);
                if (narrow) packed[at] = weights[c * k + i];
                else w16[at] = weights[c * k + i];
            }
        }
    }

    /// <summary>Shorts of <see cref="PackHalf"/>'s layout for K: 32 per quad of k (two k pairs), K rounded up to 4.</summary>
    public static int HalfPackedShorts(int k) => (k + 3) / 4 * 32;

    /// <summary>
    /// The last block's channels [16 * (blocks - 1), N) (at most 8) of [N, K] row-major weights as [K/4 quads][8 channels][2 k pairs][2]
    /// int16: one zmm holds k pairs j, j + 1 of 8 channels, so that VPMADDWD by a 64-bit broadcast of a row's (pair j, pair j + 1)
    /// fills all 16 lanes (the padded layout of <see cref="Pack"/> leaves half of them zero). Channel c's sum is then its two
    /// lanes added (int32 addition wraps the same way in any order). Padding (channels ≥ N, k ≥ K) is zero.
    /// </summary>
    public static void PackHalf(ReadOnlySpan<sbyte> weights, int n, int k, Span<short> packed)
    {
        int c0 = (n - 1) / NB * NB;
        packed[..HalfPackedShorts(k)].Clear();
        for (int c = c0; c < n; c++)
            for (int i = 0; i < k; i++)
            {
                int j = i / 2;
                packed[(j / 2) * 32 + (c - c0) * 4 + (j & 1) * 2 + (i & 1)] = weights[c * k + i];
            }
    }

    /// <summary>
    /// C[m, :] for m in [0, rows): A rows at a + m*aStride (K bytes each, read exactly), C rows at c + m*cStride;
    /// tiles of 8 rows (<see cref="Tile8"/>), a last single row with <see cref="Tile1"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunRows(GemmPlan p, sbyte* a, int aStride, int rows, sbyte* c, int cStride)
    {
        fixed (sbyte* w = p.W)
        fixed (int* bias = p.Bias, mult = p.Mult, left = p.Left, rpos = p.RightPos, rneg = p.RightNeg)
        {
            if (Use512 && p.Folded is not null && p.N <= NB && p.K <= 1024)
            {
                // One block of channels: 16 rows per tile (the per-tile work of an 8-row tile is then spread over twice the outputs).
                int done = rows / 16 * 16;
                for (int m0 = 0; m0 < done; m0 += 16)
                    Rows16OneBlock(p, a + (long)m0 * aStride, aStride, c + (long)m0 * cStride, cStride, (short*)w, mult);
                a += (long)done * aStride; c += (long)done * cStride; rows -= done;
            }
            sbyte** ar = stackalloc sbyte*[MR];
            sbyte** cr = stackalloc sbyte*[MR];
            for (int m0 = 0; m0 < rows; m0 += MR)
            {
                int valid = Math.Min(MR, rows - m0);
                if (valid == 1)
                {
                    Tile1(p, a + (long)m0 * aStride, c + (long)m0 * cStride, w, bias, mult, left, rpos, rneg);
                    break;
                }
                for (int r = 0; r < MR; r++)
                {
                    int row = m0 + Math.Min(r, valid - 1);
                    ar[r] = a + (long)row * aStride;
                    cr[r] = c + (long)row * cStride;
                }
                Tile8(p, ar, cr, valid, w, bias, mult, left, rpos);
            }
        }
    }

    /// <summary>16 rows (K int8 each at a + r * aStride) times the plan's one block of channels (N ≤ 16, with
    /// <see cref="GemmPlan.Folded"/>): 16 zmm accumulators, one weight load and 16 broadcasts per k pair.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit]
    private static void Rows16OneBlock(GemmPlan p, sbyte* a, int aStride, sbyte* c, int cStride, short* w, int* mult)
    {
        int k = p.K, k2 = (k + 1) / 2;
        int* x = stackalloc int[16 * k2]; // 16 rows of K int16: 32 K bytes, K ≤ 1024 (RunRows)
        for (int r = 0; r < 16; r++) Widen(a + (long)r * aStride, k, (short*)(x + r * k2));
        int* x0 = x, x1 = x0 + k2, x2 = x1 + k2, x3 = x2 + k2, x4 = x3 + k2, x5 = x4 + k2, x6 = x5 + k2, x7 = x6 + k2;
        int* x8 = x7 + k2, x9 = x8 + k2, x10 = x9 + k2, x11 = x10 + k2, x12 = x11 + k2, x13 = x12 + k2, x14 = x13 + k2, x15 = x14 + k2;
        Vector512<short> v = Vector512.Load(w);
        Vector512<int> c0 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(x0[0]).AsInt16(), v), c1 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(x1[0]).AsInt16(), v);
        Vector512<int> c2 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(x2[0]).AsInt16(), v), c3 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(x3[0]).AsInt16(), v);
        Vector512<int> c4 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(x4[0]).AsInt16(), v), c5 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(x5[0]).AsInt16(), v);
        Vector512<int> c6 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(x6[0]).AsInt16(), v), c7 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(x7[0]).AsInt16(), v);
        Vector512<int> c8 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(x8[0]).AsInt16(), v), c9 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(x9[0]).AsInt16(), v);
        Vector512<int> c10 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(x10[0]).AsInt16(), v), c11 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(x11[0]).AsInt16(), v);
        Vector512<int> c12 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(x12[0]).AsInt16(), v), c13 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(x13[0]).AsInt16(), v);
        Vector512<int> c14 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(x14[0]).AsInt16(), v), c15 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(x15[0]).AsInt16(), v);
        short* wj = w + NB * 2;
        for (int j = 1; j < k2; j++, wj += NB * 2)
        {
            v = Vector512.Load(wj);
            c0 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x0[j]).AsInt16(), v); c1 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x1[j]).AsInt16(), v);
            c2 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x2[j]).AsInt16(), v); c3 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x3[j]).AsInt16(), v);
            c4 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x4[j]).AsInt16(), v); c5 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x5[j]).AsInt16(), v);
            c6 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x6[j]).AsInt16(), v); c7 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x7[j]).AsInt16(), v);
            c8 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x8[j]).AsInt16(), v); c9 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x9[j]).AsInt16(), v);
            c10 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x10[j]).AsInt16(), v); c11 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x11[j]).AsInt16(), v);
            c12 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x12[j]).AsInt16(), v); c13 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x13[j]).AsInt16(), v);
            c14 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x14[j]).AsInt16(), v); c15 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x15[j]).AsInt16(), v);
        }
        var e = new Avx2Epilogue(p.OutZp, p.ActMin, p.ActMax, p.AnyLeftShift, p.AnyMinMultiplier);
        var q = Requant16Folded.Load(p, 0, null, mult, null, null);
        int n = p.N;
        q.Finish(e, c0, c, n); q.Finish(e, c1, c + cStride, n); q.Finish(e, c2, c + 2 * cStride, n); q.Finish(e, c3, c + 3 * cStride, n);
        q.Finish(e, c4, c + 4 * cStride, n); q.Finish(e, c5, c + 5 * cStride, n); q.Finish(e, c6, c + 6 * cStride, n); q.Finish(e, c7, c + 7 * cStride, n);
        sbyte* c8r = c + 8L * cStride;
        q.Finish(e, c8, c8r, n); q.Finish(e, c9, c8r + cStride, n); q.Finish(e, c10, c8r + 2 * cStride, n); q.Finish(e, c11, c8r + 3 * cStride, n);
        q.Finish(e, c12, c8r + 4 * cStride, n); q.Finish(e, c13, c8r + 5 * cStride, n); q.Finish(e, c14, c8r + 6 * cStride, n); q.Finish(e, c15, c8r + 7 * cStride, n);
    }

    /// <summary>Rows per tile of <see cref="Tile8"/>.</summary>
    public const int MR = 8;

    /// <summary>
    /// Rows a[0..7] (K int8 each; rows ≥ <paramref name="rows"/> are not read) times every channel of the plan; writes
    /// rows x N int8 results at c[r] + n. 512-bit: 8 rows x 32 channels per step; 256-bit: two 4-row <see cref="Tile256"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit]
    public static void Tile8(GemmPlan p, sbyte** a, sbyte** c, int rows, sbyte* w, int* bias, int* mult, int* left, int* rpos)
    {
        int k = p.K, k2 = (k + 1) / 2;
        // The valid rows of K int16: at most 8 * 2 * K bytes, 72 KB for a 3x3x512 convolution (a FullyConnected batch of
        // up to 4 takes half). The kernels read rows past `rows` as the last valid one and never store their sums.
        int* x = stackalloc int[rows * k2];
        for (int r = 0; r < rows; r++) Widen(a[r], k, (short*)(x + r * k2));
        TileWide8(p, x, k2, c, rows, w, bias, mult, left, rpos);
    }

    /// <summary><see cref="Tile8"/> on rows already widened: row r is K int16 at x + r * k2 (int32 pairs; the pad of an odd K
    /// may hold anything: it meets zero weights).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void TileWide8(GemmPlan p, int* x, int k2, sbyte** c, int rows, sbyte* w, int* bias, int* mult, int* left, int* rpos)
        => TileWide8(p, x, k2, c, rows, w, bias, mult, left, rpos, 0, (p.N + NB - 1) / NB);

    /// <summary><see cref="TileWide8(GemmPlan, int*, int, sbyte**, int, sbyte*, int*, int*, int*, int*)"/> for the 16-channel
    /// blocks [blk0, blk1) only.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void TileWide8(GemmPlan p, int* x, int k2, sbyte** c, int rows, sbyte* w, int* bias, int* mult, int* left, int* rpos, int blk0, int blk1)
    {
        if (Use512)
        {
            if (p.Folded is not null) Tile512x8<Requant16Folded>(p, x, k2, blk0, blk1, c, rows, (short*)w, bias, mult, left, rpos);
            else Tile512x8<Requant16Params>(p, x, k2, blk0, blk1, c, rows, (short*)w, bias, mult, left, rpos);
            return;
        }
        Tile256(p, x, k2, blk0, blk1, c, Math.Min(rows, 4), w, bias, mult, left, rpos, null);
        if (rows > 4) Tile256(p, x + 4 * k2, k2, blk0, blk1, c + 4, rows - 4, w, bias, mult, left, rpos, null);
    }

    /// <summary>8 rows x 32 channels (two blocks) per step, 16 zmm accumulators; a last odd block 8 rows x 16 channels; a last full
    /// block and a last block of ≤ 8 channels (N = 24, 56, ...) with <see cref="FullAndHalf8{TQ}"/> when the plan packed it dense.</summary>
    /// <remarks>The epilogue is <typeparamref name="TQ"/>: <see cref="Requant16Folded"/> when the plan's bounds allow it
    /// (<see cref="FoldedRequant"/>), else <see cref="Requant16Params"/>.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile512x8<TQ>(GemmPlan p, int* x, int k2, int blk0, int blocks, sbyte** c, int rows, short* w, int* bias, int* mult, int* left, int* rpos)
        where TQ : struct, IEpilogue16<TQ>
    {
        int last = rows - 1; // rows past it alias the last valid one (Tile8 widens only the valid rows)
        int* x0 = x, x1 = x + Math.Min(1, last) * k2, x2 = x + Math.Min(2, last) * k2, x3 = x + Math.Min(3, last) * k2;
        int* x4 = x + Math.Min(4, last) * k2, x5 = x + Math.Min(5, last) * k2, x6 = x + Math.Min(6, last) * k2, x7 = x + Math.Min(7, last) * k2;
        long blockShorts = (long)k2 * (NB * 2);
        var e = new Avx2Epilogue(p.OutZp, p.ActMin, p.ActMax, p.AnyLeftShift, p.AnyMinMultiplier);
        int blk = blk0;
        // The last full block and a last block of ≤ 8 channels: one step of the dense tile instead of two half-empty blocks.
        int pairEnd = p.HalfBlock is not null && blocks == (p.N + NB - 1) / NB && ((blocks - blk0) & 1) == 0 ? blocks - 2 : blocks;
        for (; blk + 2 <= pairEnd; blk += 2)
        {
            short* wa = w + blk * blockShorts, wb = wa + blockShorts;
            // k pair 0 starts the sums (no add to zero), the loop adds the others.
            Vector512<short> v0 = Vector512.Load(wa), v1 = Vector512.Load(wb);
            Vector512<short> b0 = Vector512.Create(x0[0]).AsInt16(), b1 = Vector512.Create(x1[0]).AsInt16(), b2 = Vector512.Create(x2[0]).AsInt16();
            Vector512<short> b3 = Vector512.Create(x3[0]).AsInt16(), b4 = Vector512.Create(x4[0]).AsInt16(), b5 = Vector512.Create(x5[0]).AsInt16();
            Vector512<short> b6 = Vector512.Create(x6[0]).AsInt16(), b7 = Vector512.Create(x7[0]).AsInt16();
            Vector512<int> c00 = Avx512BW.MultiplyAddAdjacent(b0, v0), c10 = Avx512BW.MultiplyAddAdjacent(b1, v0), c20 = Avx512BW.MultiplyAddAdjacent(b2, v0);
            Vector512<int> c30 = Avx512BW.MultiplyAddAdjacent(b3, v0), c40 = Avx512BW.MultiplyAddAdjacent(b4, v0), c50 = Avx512BW.MultiplyAddAdjacent(b5, v0);
            Vector512<int> c60 = Avx512BW.MultiplyAddAdjacent(b6, v0), c70 = Avx512BW.MultiplyAddAdjacent(b7, v0);
            Vector512<int> c01 = Avx512BW.MultiplyAddAdjacent(b0, v1), c11 = Avx512BW.MultiplyAddAdjacent(b1, v1), c21 = Avx512BW.MultiplyAddAdjacent(b2, v1);
            Vector512<int> c31 = Avx512BW.MultiplyAddAdjacent(b3, v1), c41 = Avx512BW.MultiplyAddAdjacent(b4, v1), c51 = Avx512BW.MultiplyAddAdjacent(b5, v1);
            Vector512<int> c61 = Avx512BW.MultiplyAddAdjacent(b6, v1), c71 = Avx512BW.MultiplyAddAdjacent(b7, v1);
            wa += NB * 2; wb += NB * 2;
            for (int j = 1; j < k2; j++, wa += NB * 2, wb += NB * 2)
            {
                Vector512<short> w0 = Vector512.Load(wa), w1 = Vector512.Load(wb);
                Vector512<short> b = Vector512.Create(x0[j]).AsInt16();
                c00 += Avx512BW.MultiplyAddAdjacent(b, w0); c01 += Avx512BW.MultiplyAddAdjacent(b, w1);
                b = Vector512.Create(x1[j]).AsInt16();
                c10 += Avx512BW.MultiplyAddAdjacent(b, w0); c11 += Avx512BW.MultiplyAddAdjacent(b, w1);
                b = Vector512.Create(x2[j]).AsInt16();
                c20 += Avx512BW.MultiplyAddAdjacent(b, w0); c21 += Avx512BW.MultiplyAddAdjacent(b, w1);
                b = Vector512.Create(x3[j]).AsInt16();
                c30 += Avx512BW.MultiplyAddAdjacent(b, w0); c31 += Avx512BW.MultiplyAddAdjacent(b, w1);
                b = Vector512.Create(x4[j]).AsInt16();
                c40 += Avx512BW.MultiplyAddAdjacent(b, w0); c41 += Avx512BW.MultiplyAddAdjacent(b, w1);
                b = Vector512.Create(x5[j]).AsInt16();
                c50 += Avx512BW.MultiplyAddAdjacent(b, w0); c51 += Avx512BW.MultiplyAddAdjacent(b, w1);
                b = Vector512.Create(x6[j]).AsInt16();
                c60 += Avx512BW.MultiplyAddAdjacent(b, w0); c61 += Avx512BW.MultiplyAddAdjacent(b, w1);
                b = Vector512.Create(x7[j]).AsInt16();
                c70 += Avx512BW.MultiplyAddAdjacent(b, w0); c71 += Avx512BW.MultiplyAddAdjacent(b, w1);
            }
            int n0 = blk * NB, n1 = n0 + NB;
            int count0 = Math.Min(NB, p.N - n0), count1 = Math.Min(NB, p.N - n1);
            // Block by block, its requantization parameters loaded once for the 8 rows (12 + 16 of the 32 zmm registers).
            Finish8Rows(e, TQ.Load(p, n0, bias, mult, left, rpos), c, n0, count0, rows, c00, c10, c20, c30, c40, c50, c60, c70);
            Finish8Rows(e, TQ.Load(p, n1, bias, mult, left, rpos), c, n1, count1, rows, c01, c11, c21, c31, c41, c51, c61, c71);
        }
        if (pairEnd < blocks)
        {
            FullAndHalf8<TQ>(p, k2, x0, x1, x2, x3, x4, x5, x6, x7, blk, c, rows, w + blk * blockShorts, bias, mult, left, rpos, e);
            return;
        }
        if (blk < blocks)
        {
            short* wa = w + blk * blockShorts;
            Vector512<short> v0 = Vector512.Load(wa);
            Vector512<int> c0 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(x0[0]).AsInt16(), v0), c1 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(x1[0]).AsInt16(), v0);
            Vector512<int> c2 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(x2[0]).AsInt16(), v0), c3 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(x3[0]).AsInt16(), v0);
            Vector512<int> c4 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(x4[0]).AsInt16(), v0), c5 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(x5[0]).AsInt16(), v0);
            Vector512<int> c6 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(x6[0]).AsInt16(), v0), c7 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(x7[0]).AsInt16(), v0);
            wa += NB * 2;
            for (int j = 1; j < k2; j++, wa += NB * 2)
            {
                Vector512<short> w0 = Vector512.Load(wa);
                c0 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x0[j]).AsInt16(), w0);
                c1 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x1[j]).AsInt16(), w0);
                c2 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x2[j]).AsInt16(), w0);
                c3 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x3[j]).AsInt16(), w0);
                c4 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x4[j]).AsInt16(), w0);
                c5 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x5[j]).AsInt16(), w0);
                c6 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x6[j]).AsInt16(), w0);
                c7 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x7[j]).AsInt16(), w0);
            }
            int n0 = blk * NB, count = Math.Min(NB, p.N - n0);
            Finish8Rows(e, TQ.Load(p, n0, bias, mult, left, rpos), c, n0, count, rows, c0, c1, c2, c3, c4, c5, c6, c7);
        }
    }

    /// <summary>
    /// 8 rows times block <paramref name="blk"/> (16 channels, weights at wa) and the plan's last block of ≤ 8 channels
    /// (<see cref="GemmPlan.HalfBlock"/>): per quad of k and row, two 32-bit broadcasts for the full block and one 64-bit broadcast
    /// for the half block, 3 VPMADDWD for the 4 of the padded layout (16 zmm accumulators).
    /// Not inlined: in <see cref="Tile512x8"/> it slowed the two-block loop by 10-20 % (the JIT's register allocation).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void FullAndHalf8<TQ>(GemmPlan p, int k2, int* x0, int* x1, int* x2, int* x3, int* x4, int* x5, int* x6, int* x7,
        int blk, sbyte** c, int rows, short* wa, int* bias, int* mult, int* left, int* rpos, Avx2Epilogue e)
        where TQ : struct, IEpilogue16<TQ>
    {
        short* wh = p.HalfBlock;
        Vector512<int> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        Vector512<int> h0 = default, h1 = default, h2 = default, h3 = default, h4 = default, h5 = default, h6 = default, h7 = default;
        int j = 0;
        for (; j + 2 <= k2; j += 2, wa += NB * 4, wh += NB * 2)
        {
            Vector512<short> w0 = Vector512.Load(wa), w1 = Vector512.Load(wa + NB * 2), wq = Vector512.Load(wh);
            c0 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x0[j]).AsInt16(), w0) + Avx512BW.MultiplyAddAdjacent(Vector512.Create(x0[j + 1]).AsInt16(), w1);
            h0 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(long*)(x0 + j)).AsInt16(), wq);
            c1 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x1[j]).AsInt16(), w0) + Avx512BW.MultiplyAddAdjacent(Vector512.Create(x1[j + 1]).AsInt16(), w1);
            h1 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(long*)(x1 + j)).AsInt16(), wq);
            c2 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x2[j]).AsInt16(), w0) + Avx512BW.MultiplyAddAdjacent(Vector512.Create(x2[j + 1]).AsInt16(), w1);
            h2 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(long*)(x2 + j)).AsInt16(), wq);
            c3 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x3[j]).AsInt16(), w0) + Avx512BW.MultiplyAddAdjacent(Vector512.Create(x3[j + 1]).AsInt16(), w1);
            h3 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(long*)(x3 + j)).AsInt16(), wq);
            c4 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x4[j]).AsInt16(), w0) + Avx512BW.MultiplyAddAdjacent(Vector512.Create(x4[j + 1]).AsInt16(), w1);
            h4 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(long*)(x4 + j)).AsInt16(), wq);
            c5 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x5[j]).AsInt16(), w0) + Avx512BW.MultiplyAddAdjacent(Vector512.Create(x5[j + 1]).AsInt16(), w1);
            h5 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(long*)(x5 + j)).AsInt16(), wq);
            c6 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x6[j]).AsInt16(), w0) + Avx512BW.MultiplyAddAdjacent(Vector512.Create(x6[j + 1]).AsInt16(), w1);
            h6 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(long*)(x6 + j)).AsInt16(), wq);
            c7 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x7[j]).AsInt16(), w0) + Avx512BW.MultiplyAddAdjacent(Vector512.Create(x7[j + 1]).AsInt16(), w1);
            h7 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(long*)(x7 + j)).AsInt16(), wq);
        }
        if (j < k2)
        {
            // A last single pair: its 32-bit broadcast meets zero weights in the half block's second-pair lanes.
            Vector512<short> w0 = Vector512.Load(wa), wq = Vector512.Load(wh);
            Vector512<short> b = Vector512.Create(x0[j]).AsInt16();
            c0 += Avx512BW.MultiplyAddAdjacent(b, w0); h0 += Avx512BW.MultiplyAddAdjacent(b, wq);
            b = Vector512.Create(x1[j]).AsInt16(); c1 += Avx512BW.MultiplyAddAdjacent(b, w0); h1 += Avx512BW.MultiplyAddAdjacent(b, wq);
            b = Vector512.Create(x2[j]).AsInt16(); c2 += Avx512BW.MultiplyAddAdjacent(b, w0); h2 += Avx512BW.MultiplyAddAdjacent(b, wq);
            b = Vector512.Create(x3[j]).AsInt16(); c3 += Avx512BW.MultiplyAddAdjacent(b, w0); h3 += Avx512BW.MultiplyAddAdjacent(b, wq);
            b = Vector512.Create(x4[j]).AsInt16(); c4 += Avx512BW.MultiplyAddAdjacent(b, w0); h4 += Avx512BW.MultiplyAddAdjacent(b, wq);
            b = Vector512.Create(x5[j]).AsInt16(); c5 += Avx512BW.MultiplyAddAdjacent(b, w0); h5 += Avx512BW.MultiplyAddAdjacent(b, wq);
            b = Vector512.Create(x6[j]).AsInt16(); c6 += Avx512BW.MultiplyAddAdjacent(b, w0); h6 += Avx512BW.MultiplyAddAdjacent(b, wq);
            b = Vector512.Create(x7[j]).AsInt16(); c7 += Avx512BW.MultiplyAddAdjacent(b, w0); h7 += Avx512BW.MultiplyAddAdjacent(b, wq);
        }
        int n0 = blk * NB, n1 = n0 + NB;
        Finish8Rows(e, TQ.Load(p, n0, bias, mult, left, rpos), c, n0, NB, rows, c0, c1, c2, c3, c4, c5, c6, c7);
        Finish8Rows(e, TQ.Load(p, n1, bias, mult, left, rpos), c, n1, p.N - n1, rows,
            PairSums(h0), PairSums(h1), PairSums(h2), PairSums(h3), PairSums(h4), PairSums(h5), PairSums(h6), PairSums(h7));
    }

    /// <summary>The 8 channels' sums of a dense half-block accumulator (lanes 2c, 2c + 1 of channel c) in lanes 0..7; lanes 8..15 zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> PairSums(Vector512<int> h)
        => Avx512F.ConvertToVector256Int32((h + Avx512F.ShiftRightLogical(h.AsInt64(), 32).AsInt32()).AsInt64()).ToVector512();

    /// <summary>The epilogue of channels [n0, n0 + 16) of rows [0, rows) (≤ 8), whose sums are r0..r7.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish8Rows<TQ>(in Avx2Epilogue e, in TQ q, sbyte** c, int n0, int count, int rows,
        Vector512<int> r0, Vector512<int> r1, Vector512<int> r2, Vector512<int> r3, Vector512<int> r4, Vector512<int> r5, Vector512<int> r6, Vector512<int> r7)
        where TQ : struct, IEpilogue16<TQ>
    {
        q.Finish(e, r0, c[0] + n0, count);
        if (rows > 1) q.Finish(e, r1, c[1] + n0, count);
        if (rows > 2) q.Finish(e, r2, c[2] + n0, count);
        if (rows > 3) q.Finish(e, r3, c[3] + n0, count);
        if (rows > 4) q.Finish(e, r4, c[4] + n0, count);
        if (rows > 5) q.Finish(e, r5, c[5] + n0, count);
        if (rows > 6) q.Finish(e, r6, c[6] + n0, count);
        if (rows > 7) q.Finish(e, r7, c[7] + n0, count);
    }

    /// <summary>
    /// Rows a[0..3] (K int8 each; rows ≥ <paramref name="rows"/> are not read) times every channel of the plan;
    /// writes rows x N int8 results at c[r] + n (<see cref="Tile8"/> with at most 4 rows).
    /// </summary>
    public static void Tile(GemmPlan p, sbyte** a, sbyte** c, int rows, sbyte* w, int* bias, int* mult, int* left, int* rpos, int* rneg)
        => Tile8(p, a, c, rows, w, bias, mult, left, rpos);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile256(GemmPlan p, int* x, int k2, int blk0, int blocks, sbyte** c, int rows, sbyte* w, int* bias, int* mult, int* left, int* rpos, int* rneg)
    {
        int last = rows - 1; // rows past it alias the last valid one
        int* x0 = x, x1 = x + Math.Min(1, last) * k2, x2 = x + Math.Min(2, last) * k2, x3 = x + Math.Min(3, last) * k2;
        for (int blk = blk0; blk < blocks; blk++)
        {
            Vector256<int> c00 = default, c01 = default, c10 = default, c11 = default;
            Vector256<int> c20 = default, c21 = default, c30 = default, c31 = default;
            short* wb = (short*)w + (long)blk * k2 * (NB * 2);
            for (int j = 0; j < k2; j++, wb += NB * 2)
            {
                Vector256<short> w0 = Vector256.Load(wb);
                Vector256<short> w1 = Vector256.Load(wb + 16);
                Vector256<short> b = Vector256.Create(x0[j]).AsInt16();
                c00 += Avx2.MultiplyAddAdjacent(b, w0); c01 += Avx2.MultiplyAddAdjacent(b, w1);
                b = Vector256.Create(x1[j]).AsInt16();
                c10 += Avx2.MultiplyAddAdjacent(b, w0); c11 += Avx2.MultiplyAddAdjacent(b, w1);
                b = Vector256.Create(x2[j]).AsInt16();
                c20 += Avx2.MultiplyAddAdjacent(b, w0); c21 += Avx2.MultiplyAddAdjacent(b, w1);
                b = Vector256.Create(x3[j]).AsInt16();
                c30 += Avx2.MultiplyAddAdjacent(b, w0); c31 += Avx2.MultiplyAddAdjacent(b, w1);
            }
            int n0 = blk * NB, count = Math.Min(NB, p.N - n0);
            Finish16(p, c00, c01, n0, c[0] + n0, count, bias, mult, left, rpos, rneg);
            if (rows > 1) Finish16(p, c10, c11, n0, c[1] + n0, count, bias, mult, left, rpos, rneg);
            if (rows > 2) Finish16(p, c20, c21, n0, c[2] + n0, count, bias, mult, left, rpos, rneg);
            if (rows > 3) Finish16(p, c30, c31, n0, c[3] + n0, count, bias, mult, left, rpos, rneg);
        }
    }

    /// <summary>One row (batch-1 FullyConnected, a layer's last pixel): 1 x 32 channels per step, no MACs on repeated rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit]
    public static void Tile1(GemmPlan p, sbyte* a, sbyte* c, sbyte* w, int* bias, int* mult, int* left, int* rpos, int* rneg)
    {
        if (p.NarrowWeights) Tile1<Int8Weights>(p, a, c, w, bias, mult, left, rpos, rneg);
        else Tile1<Int16Weights>(p, a, c, w, bias, mult, left, rpos, rneg);
    }

    /// <summary>8 channels x 2 consecutive k of the packed weights at element offset i, as int16.</summary>
    private interface IWeights { static abstract Vector256<short> Load(sbyte* w, long i); }
    private readonly struct Int16Weights : IWeights
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<short> Load(sbyte* w, long i) => Vector256.Load((short*)w + i);
    }
    /// <summary>Batch-1 FullyConnected plans keep int8 weights (<see cref="GemmPlan.NarrowWeights"/>): one row per weight, so the
    /// layer streams its weights once and half the bytes beat the VPMOVSXBW per load.</summary>
    private readonly struct Int8Weights : IWeights
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<short> Load(sbyte* w, long i) => Avx2.ConvertToVector256Int16(w + i);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit]
    private static void Tile1<TW>(GemmPlan p, sbyte* a, sbyte* c, sbyte* w, int* bias, int* mult, int* left, int* rpos, int* rneg) where TW : struct, IWeights
    {
        int k = p.K, k2 = (k + 1) / 2;
        int* x = stackalloc int[k2];
        Widen(a, k, (short*)x);
        int blocks = (p.N + NB - 1) / NB;
        for (int blk = 0; blk < blocks; blk++)
        {
            Vector256<int> c0 = default, c1 = default, d0 = default, d1 = default;
            long wb = (long)blk * k2 * (NB * 2); // element offset of the block
            int j = 0;
            // Two pairs per step in separate accumulators: the chain of VPADDD is then half as long.
            for (; j + 2 <= k2; j += 2, wb += NB * 4)
            {
                Vector256<short> b = Vector256.Create(x[j]).AsInt16();
                c0 += Avx2.MultiplyAddAdjacent(b, TW.Load(w, wb));
                c1 += Avx2.MultiplyAddAdjacent(b, TW.Load(w, wb + 16));
                b = Vector256.Create(x[j + 1]).AsInt16();
                d0 += Avx2.MultiplyAddAdjacent(b, TW.Load(w, wb + 32));
                d1 += Avx2.MultiplyAddAdjacent(b, TW.Load(w, wb + 48));
            }
            if (j < k2)
            {
                Vector256<short> b = Vector256.Create(x[j]).AsInt16();
                c0 += Avx2.MultiplyAddAdjacent(b, TW.Load(w, wb));
                c1 += Avx2.MultiplyAddAdjacent(b, TW.Load(w, wb + 16));
            }
            int n0 = blk * NB;
            Finish16(p, c0 + d0, c1 + d1, n0, c + n0, Math.Min(NB, p.N - n0), bias, mult, left, rpos, rneg);
        }
    }

    /// <summary>K int8 to int16, zero-padded to an even count (the pad meets zero weights).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Widen(sbyte* src, int k, short* dst)
    {
        int i = 0;
        for (; i + 16 <= k; i += 16) Avx.Store(dst + i, Avx2.ConvertToVector256Int16(src + i));
        for (; i < k; i++) dst[i] = src[i];
        if ((k & 1) != 0) dst[k] = 0;
    }

    /// <summary>Bias, requantization, output zero point, clamp for 16 channels; stores <paramref name="count"/> bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish16(GemmPlan p, Vector256<int> lo8, Vector256<int> hi8, int n0, sbyte* dst, int count,
        int* bias, int* mult, int* left, int* rpos, int* rneg)
        => Finish16(new Avx2Epilogue(p.OutZp, p.ActMin, p.ActMax, p.AnyLeftShift, p.AnyMinMultiplier), lo8, hi8, n0, dst, count, bias, mult, left, rpos);

    /// <summary>Accumulators of channels [n0, n0 + 16) (lo8: the first 8) plus bias[n0..], requantized with the per-channel
    /// parameters at n0, zero point, clamp; stores <paramref name="count"/> bytes at dst.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Finish16(in Avx2Epilogue e, Vector256<int> lo8, Vector256<int> hi8, int n0, sbyte* dst, int count,
        int* bias, int* mult, int* left, int* rpos)
    {
        Vector256<int> zp = Vector256.Create(e.OutZp), min = Vector256.Create(e.ActMin), max = Vector256.Create(e.ActMax);
        Vector256<int> r0 = Vector256.Min(Vector256.Max(Requant8(lo8 + Avx.LoadVector256(bias + n0), Avx.LoadVector256(mult + n0),
            Avx.LoadVector256((uint*)left + n0), Avx.LoadVector256((uint*)rpos + n0), e.AnyLeftShift) + zp, min), max);
        Vector256<int> r1 = Vector256.Min(Vector256.Max(Requant8(hi8 + Avx.LoadVector256(bias + n0 + 8), Avx.LoadVector256(mult + n0 + 8),
            Avx.LoadVector256((uint*)left + n0 + 8), Avx.LoadVector256((uint*)rpos + n0 + 8), e.AnyLeftShift) + zp, min), max);
        Store16(Narrow16(r0, r1), dst, count);
    }

    /// <summary>The first <paramref name="count"/> (≤ 16) bytes of v at dst: one store for 16, one 8-byte store for the half
    /// block of 24-channel layers and the FC 1000 tail, then byte by byte.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Store16(Vector128<sbyte> v, sbyte* dst, int count)
    {
        if (count == NB)
        {
            v.Store(dst);
            return;
        }
        int i = 0;
        if (count >= 8)
        {
            Unsafe.WriteUnaligned(dst, v.AsInt64().ToScalar());
            i = 8;
        }
        for (; i < count; i++) dst[i] = v.GetElement(i);
    }

    /// <summary>The 512-bit <see cref="Finish16(in Avx2Epilogue, Vector256{int}, Vector256{int}, int, sbyte*, int, int*, int*, int*, int*)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Finish16(in Avx2Epilogue e, Vector512<int> acc, int n0, sbyte* dst, int count, int* bias, int* mult, int* left, int* rpos)
        => new Requant16Params(n0, bias, mult, left, rpos).Finish(e, acc, dst, count);

    /// <summary>
    /// Sixteen lanes of <see cref="Requantize.Apply"/>: <see cref="Requant8"/> on 512-bit vectors, with the rounding mask
    /// 2^r - 1 and its half precomputed per channel (<see cref="Requant16Params"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<int> Requant16(Vector512<int> x, Vector512<int> m, Vector512<uint> left, Vector512<uint> r,
        Vector512<int> mask, Vector512<int> half, bool anyLeft, bool minMultiplier)
    {
        if (anyLeft)
        {
            Vector512<int> s = Avx512F.ShiftLeftLogicalVariable(x, left);
            Vector512<int> back = Avx512F.ShiftRightArithmeticVariable(s, left);
            Vector512<int> sat = Avx512F.ShiftRightArithmetic(x, 31) ^ Vector512.Create(int.MaxValue);
            x = Vector512.ConditionalSelect(Vector512.Equals(back, x), s, sat);
        }
        Vector512<long> nudge = Vector512.Create(1L << 30);
        Vector512<long> even = Avx512F.Multiply(x, m) + nudge;
        Vector512<long> odd = Avx512F.Multiply(Avx512F.ShiftRightLogical(x.AsInt64(), 32).AsInt32(), Avx512F.ShiftRightLogical(m.AsInt64(), 32).AsInt32()) + nudge;
        Vector512<int> h = Vector512.ConditionalSelect(Vector512.Create(unchecked((long)0xFFFF_FFFF_0000_0000)).AsInt32(),
            Avx512F.ShiftLeftLogical(odd, 1).AsInt32(), Avx512F.ShiftRightLogical(even, 31).AsInt32());
        if (minMultiplier)
        {
            Vector512<int> minValue = Vector512.Create(int.MinValue);
            h = Vector512.ConditionalSelect(Vector512.Equals(x, minValue) & Vector512.Equals(m, minValue), Vector512.Create(int.MaxValue), h);
        }
        // Rounding divide by 2^r, ties away from zero: remainder > half + (h < 0).
        Vector512<int> remainder = h & mask;
        Vector512<int> threshold = half - Avx512F.ShiftRightArithmetic(h, 31);
        return Avx512F.ShiftRightArithmeticVariable(h, r) - Vector512.GreaterThan(remainder, threshold);
    }

    /// <summary>
    /// Eight lanes of <see cref="Requantize.Apply"/>, bit for bit: <see cref="X86Requant"/> on 256-bit vectors. The
    /// saturating left shift runs only when some channel of the plan has a positive shift (rare: it needs a
    /// multiplier ≥ 1, i.e. an output scale below input scale x weight scale).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<int> Requant8(Vector256<int> x, Vector256<int> m, Vector256<uint> left, Vector256<uint> r, bool anyLeft)
    {
        if (anyLeft)
        {
            Vector256<int> s = Avx2.ShiftLeftLogicalVariable(x, left);
            Vector256<int> back = Avx2.ShiftRightArithmeticVariable(s, left);
            Vector256<int> sat = Avx2.Xor(Avx2.ShiftRightArithmetic(x, 31), Vector256.Create(int.MaxValue));
            x = Avx2.BlendVariable(sat.AsByte(), s.AsByte(), Avx2.CompareEqual(back, x).AsByte()).AsInt32();
        }
        // SQRDMULH: (x*m + 2^30) >> 31 on the exact 64-bit products of the even and the odd lanes.
        Vector256<long> nudge = Vector256.Create(1L << 30);
        Vector256<long> even = Avx2.Add(Avx2.Multiply(x, m), nudge);
        Vector256<long> odd = Avx2.Add(Avx2.Multiply(Avx2.ShiftRightLogical(x.AsInt64(), 32).AsInt32(), Avx2.ShiftRightLogical(m.AsInt64(), 32).AsInt32()), nudge);
        Vector256<int> h = Avx2.Blend(Avx2.ShiftRightLogical(even, 31).AsInt32(), Avx2.ShiftLeftLogical(odd, 1).AsInt32(), 0b1010_1010);
        Vector256<int> minValue = Vector256.Create(int.MinValue);
        Vector256<int> overflow = Avx2.And(Avx2.CompareEqual(x, minValue), Avx2.CompareEqual(m, minValue));
        h = Avx2.BlendVariable(h.AsByte(), Vector256.Create(int.MaxValue).AsByte(), overflow.AsByte()).AsInt32();
        // Rounding divide by 2^r, ties away from zero (Requantize.RoundingDivideByPot).
        Vector256<int> mask = Avx2.Subtract(Avx2.ShiftLeftLogicalVariable(Vector256<int>.One, r), Vector256<int>.One);
        Vector256<int> remainder = Avx2.And(h, mask);
        Vector256<int> threshold = Avx2.Subtract(Avx2.ShiftRightArithmetic(mask, 1), Avx2.ShiftRightArithmetic(h, 31));
        return Avx2.Subtract(Avx2.ShiftRightArithmeticVariable(h, r), Avx2.CompareGreaterThan(remainder, threshold));
    }

    /// <summary>16 int32 lanes already clamped into int8 range to 16 bytes in order (VPACKSS* work per 128-bit half).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<sbyte> Narrow16(Vector256<int> r0, Vector256<int> r1)
    {
        Vector256<short> s16 = Avx2.PackSignedSaturate(r0, r1);                   // [r0 0-3, r1 0-3 | r0 4-7, r1 4-7]
        s16 = Avx2.Permute4x64(s16.AsInt64(), 0b11_01_10_00).AsInt16();          // [r0 0-3, r0 4-7 | r1 0-3, r1 4-7]
        return Sse2.PackSignedSaturate(s16.GetLower(), s16.GetUpper());
    }
}

/// <summary>The per-layer constants of <see cref="Avx2Gemm.Finish16(in Avx2Epilogue, Vector256{int}, Vector256{int}, int, sbyte*, int, int*, int*, int*, int*)"/>.</summary>
/// <param name="AnyMinMultiplier">Some channel's multiplier is int.MinValue, so SQRDMULH can saturate (never from
/// <see cref="Requantize.QuantizeMultiplier"/>, whose multipliers are ≥ 2^30; the 512-bit epilogue skips the test otherwise).</param>
internal readonly record struct Avx2Epilogue(int OutZp, int ActMin, int ActMax, bool AnyLeftShift, bool AnyMinMultiplier = true);

/// <summary>The epilogue of 16 channels of the 512-bit GEMM tile: its per-channel constants loaded once per block
/// (<see cref="Load"/>), then applied to each row's bias-free accumulators.</summary>
internal unsafe interface IEpilogue16<TSelf> where TSelf : struct
{
    static abstract TSelf Load(GemmPlan p, int n0, int* bias, int* mult, int* left, int* rpos);

    /// <summary>Accumulators (without the bias) of the 16 channels to int8; stores <paramref name="count"/> bytes at dst.</summary>
    void Finish(in Avx2Epilogue e, Vector512<int> acc, sbyte* dst, int count);
}

/// <summary>The requantization parameters of 16 channels from n0, in registers: loaded once, applied to any number of rows.</summary>
internal readonly unsafe struct Requant16Params : IEpilogue16<Requant16Params>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Requant16Params Load(GemmPlan p, int n0, int* bias, int* mult, int* left, int* rpos) => new(n0, bias, mult, left, rpos);

    private readonly Vector512<int> _bias, _mult, _mask, _half;
    private readonly Vector512<uint> _left, _right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Requant16Params(int n0, int* bias, int* mult, int* left, int* rpos)
    {
        _bias = Vector512.Load(bias + n0);
        _mult = Vector512.Load(mult + n0);
        _left = Vector512.Load((uint*)left + n0);
        _right = Vector512.Load((uint*)rpos + n0);
        _mask = Avx512F.ShiftLeftLogicalVariable(Vector512<int>.One, _right) - Vector512<int>.One;
        _half = Avx512F.ShiftRightArithmetic(_mask, 1);
    }

    /// <summary>acc plus bias, requantized, plus the zero point, clamped; VPMOVSDB (a saturating narrow commutes with a clamp
    /// inside [-128, 127]); stores <paramref name="count"/> bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Finish(in Avx2Epilogue e, Vector512<int> acc, sbyte* dst, int count)
    {
        Vector512<int> v = Avx2Gemm.Requant16(acc + _bias, _mult, _left, _right, _mask, _half, e.AnyLeftShift, e.AnyMinMultiplier) + Vector512.Create(e.OutZp);
        v = Vector512.Min(Vector512.Max(v, Vector512.Create(e.ActMin)), Vector512.Create(e.ActMax));
        Avx2Gemm.Store16(Avx512F.ConvertToVector128SByteWithSaturation(v), dst, count);
    }
}

/// <summary>
/// The x86 512-bit kernels' cheaper exact requantization (GEMM tile, depthwise, Add): the rule of docs/quantization.md bit for bit,
/// for channels with no left shift (shift ≤ 0) whose accumulator bounds keep the folded sums in range (checked at load by
/// <see cref="TryChannel"/>). With p = x·m (x the accumulator with its bias, m the multiplier, r = -shift ≥ 1; shift 0 in
/// <see cref="TryChannel"/>) the rule is
/// <code>
///   h = floor((p + 2^30) / 2^31)                      SQRDMULH, ties up
///   y = floor((h + 2^(r-1) - [h &lt; 0]) / 2^r)         RoundingDivideByPot: ties away from zero
/// </code>
/// Multiples of 2^31 added inside the first floor come out of it unchanged, so one 64-bit constant per channel,
/// K = bias·m + 2^30 + 2^(30+r) + zp·2^(31+r), carries the bias, both rounding halves and the output zero point:
/// <code>
///   g = floor((acc·m + K) / 2^31) = h + 2^(r-1) + zp·2^r       (acc = the kernel's sum without the bias)
///   y + zp = (g - [g &lt; T]) >> r,   T = 2^(r-1) + zp·2^r     ([g &lt; T] is [h &lt; 0])
/// </code>
/// Per 16 lanes: VPMULDQ x2, VPSRLQ x2, VPSLLQ, VPADDQ x2, VPTERNLOGD, VPSRAVD, and VPCMPD + VPMOVM2D + VPADDD for the correction
/// (left out under ReLU clamps, <see cref="NeedsCorrection"/>); no bias
/// add, no zero-point add, and no clamp on a side where the activation range reaches the int8 limit (VPMOVSDB saturates), against
/// 21-24 before.
/// </summary>
internal sealed unsafe class FoldedRequant
{
    /// <summary>Per 16-channel block: the K of its 8 even channels, then of its 8 odd channels (VPMULDQ's lane order).</summary>
    public readonly long* K;
    /// <summary>The same layout: 31 + r, the 64-bit shifts of <see cref="Apply16NoCorrection"/>.</summary>
    public readonly long* S;
    /// <summary>Per channel: T and r.</summary>
    public readonly int* T, R;
    /// <summary>act_min above -128, act_max below 127: clamp that side before the saturating narrow (ReLU6 with zero point 0 needs
    /// only the lower one).</summary>
    public readonly bool ClampLow, ClampHigh;
    /// <summary>Whether the [g &lt; T] correction is needed: not when act_min ≥ zp (ReLU, ReLU6), see <see cref="NeedsCorrection"/>.</summary>
    public readonly bool Correct;
    private readonly long[] _k, _s;
    private readonly int[] _t, _r;

    private FoldedRequant(int np, int actMin, int actMax, bool correct)
    {
        // Pinned (never moved), so the kernels keep raw pointers; the plan holds the arrays alive.
        _k = GC.AllocateArray<long>(np, pinned: true);
        _s = GC.AllocateArray<long>(np, pinned: true);
        _t = GC.AllocateArray<int>(np, pinned: true);
        _r = GC.AllocateArray<int>(np, pinned: true);
        K = (long*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_k));
        S = (long*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_s));
        T = (int*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_t));
        R = (int*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_r));
        ClampLow = actMin > sbyte.MinValue;
        ClampHigh = actMax < sbyte.MaxValue;
        Correct = correct;
    }

    /// <summary>
    /// The correction -[h &lt; 0] only lowers y where h &lt; 0, and there both y with and without it are ≤ 0: y + zp ≤ zp. When
    /// act_min ≥ zp (ReLU and ReLU6 clamps: act_min = max(-128, zp) = zp) the clamp (or VPMOVSDB's saturation at -128 when act_min is -128)
    /// then gives act_min either way, so the kernels leave it out.
    /// </summary>
    public static bool NeedsCorrection(int outZp, int actMin) => actMin < outZp;

    /// <summary>
    /// The constants of an N x K plan, or null when some channel does not meet <see cref="TryChannel"/>'s conditions or its raw
    /// sum Σ a·w (the tile's accumulator, int8 a and w) could leave int32 (128 Σ|w| ≥ 2^31): acc·m is then not x·m - bias·m.
    /// </summary>
    public static FoldedRequant? TryCreate(int n, int k, ReadOnlySpan<sbyte> weights, ReadOnlySpan<int> bias, ReadOnlySpan<int> multipliers,
        ReadOnlySpan<int> shifts, int inZp, int outZp, int actMin, int actMax)
    {
        int np = (n + Avx2Gemm.NB - 1) / Avx2Gemm.NB * Avx2Gemm.NB;
        var f = new FoldedRequant(np, actMin, actMax, NeedsCorrection(outZp, actMin));
        for (int c = 0; c < np; c++)
        {
            long sum = 0, sumAbs = 0, b = c < n && !bias.IsEmpty ? bias[c] : 0;
            if (c < n)
                for (int i = 0; i < k; i++)
                {
                    sbyte w = weights[c * k + i];
                    sum += w;
                    sumAbs += Math.Abs((int)w);
                }
            if (128 * sumAbs >= 1L << 31
                || !TryChannel(b - (long)inZp * sum, 255 * sumAbs + Math.Abs(b), c < n ? multipliers[c] : 0, c < n ? shifts[c] : 0, outZp,
                    out long kc, out int t, out int r))
                return null;
            int lane = c % Avx2Gemm.NB;
            f._k[c - lane + (lane & 1) * 8 + lane / 2] = kc;
            f._s[c - lane + (lane & 1) * 8 + lane / 2] = 31 + r;
            f._t[c] = t;
            f._r[c] = r;
        }
        return f;
    }

    /// <summary>
    /// One channel's K (with <paramref name="biasInK"/> folded in: the bias the accumulator does not hold), T and r; false when
    /// the folded form would not be exact: a left shift (shift &gt; 0; a multiplier of 0 gives 0 whatever the shift, taken as shift 0),
    /// multiplier int.MinValue (the SQRDMULH saturation), |K| ≥ 2^62 (acc·m + K must stay in int64 with |acc·m| &lt; 2^62),
    /// g outside int32 (or g - 1 below it) for some accumulator x in [-<paramref name="accBound"/>, accBound] (x with its bias:
    /// 255 Σ|w| + |bias| from |x - zp_in| ≤ 255), or T outside int32. Shift 0 (r = 0) has no second rounding: K = bias·m + 2^30 + zp·2^31,
    /// g = h + zp, and T = int.MinValue makes the correction a no-op.
    /// </summary>
    public static bool TryChannel(long biasInK, long accBound, int m, int shift, int outZp, out long k, out int t, out int r)
    {
        k = 0; t = 0; r = 0;
        if (m == 0) shift = 0;
        if (shift > 0 || m == int.MinValue) return false;
        r = -shift;
        Int128 half = r == 0 ? 0 : (Int128)1 << (30 + r); // the second rounding's half, 2^(r-1), times 2^31
        Int128 constant = ((Int128)1 << 30) + half + ((Int128)outZp << (31 + r));
        Int128 kc = (Int128)biasInK * m + constant;
        Int128 pMax = (Int128)accBound * Math.Abs((long)m);
        Int128 gLo = (constant - pMax) >> 31, gHi = (constant + pMax) >> 31; // arithmetic shifts: floor
        Int128 tc = r == 0 ? int.MinValue : ((Int128)1 << (r - 1)) + ((Int128)outZp << r);
        if (Int128.Abs(kc) >= (Int128)1 << 62 || gLo <= int.MinValue || gHi > int.MaxValue || tc < int.MinValue || tc > int.MaxValue)
            return false;
        k = (long)kc;
        t = (int)tc;
        return true;
    }

    /// <summary>16 lanes: y + zp from the accumulator acc (see the class remarks); <paramref name="multOdd"/> holds each odd lane's
    /// multiplier in the even lane below it, <paramref name="kEven"/>/<paramref name="kOdd"/> the K of the even/odd lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Apply16(Vector512<int> acc, Vector512<int> mult, Vector512<int> multOdd, Vector512<long> kEven, Vector512<long> kOdd,
        Vector512<int> t, Vector512<uint> r, bool correct)
    {
        Vector512<long> even = Avx512F.Multiply(acc, mult) + kEven;
        Vector512<long> odd = Avx512F.Multiply(Avx512F.ShiftRightLogical(acc.AsInt64(), 32).AsInt32(), multOdd) + kOdd;
        // Bits 31..62 of each 64-bit sum (g fits in 32 bits: checked at load): even lanes shifted down, odd ones up.
        Vector512<int> g = Vector512.ConditionalSelect(Vector512.Create(unchecked((long)0xFFFF_FFFF_0000_0000)).AsInt32(),
            Avx512F.ShiftLeftLogical(odd, 1).AsInt32(), Avx512F.ShiftRightLogical(even, 31).AsInt32());
        if (correct) g = Vector512.ConditionalSelect(Vector512.LessThan(g, t), g - Vector512<int>.One, g);
        return Avx512F.ShiftRightArithmeticVariable(g, r);
    }

    /// <summary>
    /// <see cref="Apply16"/> without the correction, another way: each 64-bit sum shifted by 31 + r (<paramref name="sEven"/>,
    /// <paramref name="sOdd"/>; floor(floor(q / 2^31) / 2^r) = floor(q / 2^(31+r))), whose low dwords (y + zp, within int32 as g is)
    /// one VPERMT2D gathers: two VPSRAVQ and a VPERMT2D (port 5) for two shifts, a VPTERNLOGD and a VPSRAVD. Pays in the GEMM
    /// tile, whose VPMADDWD load port 0; not in the depthwise kernel, whose widenings and interleaves load port 5.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Apply16NoCorrection(Vector512<int> acc, Vector512<int> mult, Vector512<int> multOdd, Vector512<long> kEven,
        Vector512<long> kOdd, Vector512<ulong> sEven, Vector512<ulong> sOdd)
    {
        Vector512<long> even = Avx512F.Multiply(acc, mult) + kEven;
        Vector512<long> odd = Avx512F.Multiply(Avx512F.ShiftRightLogical(acc.AsInt64(), 32).AsInt32(), multOdd) + kOdd;
        return Avx512F.PermuteVar16x32x2(Avx512F.ShiftRightArithmeticVariable(even, sEven).AsInt32(),
            Vector512.Create(0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30),
            Avx512F.ShiftRightArithmeticVariable(odd, sOdd).AsInt32());
    }
}

/// <summary>The <see cref="FoldedRequant"/> epilogue of 16 channels from n0, in registers.</summary>
internal readonly unsafe struct Requant16Folded : IEpilogue16<Requant16Folded>
{
    private readonly Vector512<int> _mult, _multOdd, _t;
    private readonly Vector512<long> _kEven, _kOdd;
    private readonly Vector512<ulong> _sEven, _sOdd;
    private readonly Vector512<uint> _r;
    private readonly bool _clampLow, _clampHigh, _correct;

    /// <summary>Channels [n0, n0 + 16) of <paramref name="f"/>, whose multipliers are at <paramref name="mult"/> (padded to whole blocks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Requant16Folded(FoldedRequant f, int n0, int* mult)
    {
        _mult = Vector512.Load(mult + n0);
        _multOdd = Avx512F.ShiftRightLogical(_mult.AsInt64(), 32).AsInt32();
        _kEven = Vector512.Load(f.K + n0);
        _kOdd = Vector512.Load(f.K + n0 + 8);
        _sEven = Vector512.Load((ulong*)f.S + n0);
        _sOdd = Vector512.Load((ulong*)f.S + n0 + 8);
        _t = Vector512.Load(f.T + n0);
        _r = Vector512.Load((uint*)f.R + n0);
        _clampLow = f.ClampLow;
        _clampHigh = f.ClampHigh;
        _correct = f.Correct;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Requant16Folded Load(GemmPlan p, int n0, int* bias, int* mult, int* left, int* rpos) => new(p.Folded!, n0, mult);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Finish(in Avx2Epilogue e, Vector512<int> acc, sbyte* dst, int count)
    {
        Vector512<int> v = _correct
            ? FoldedRequant.Apply16(acc, _mult, _multOdd, _kEven, _kOdd, _t, _r, true)
            : FoldedRequant.Apply16NoCorrection(acc, _mult, _multOdd, _kEven, _kOdd, _sEven, _sOdd);
        if (_clampLow) v = Vector512.Max(v, Vector512.Create(e.ActMin));
        if (_clampHigh) v = Vector512.Min(v, Vector512.Create(e.ActMax));
        Avx2Gemm.Store16(Avx512F.ConvertToVector128SByteWithSaturation(v), dst, count);
    }
}
