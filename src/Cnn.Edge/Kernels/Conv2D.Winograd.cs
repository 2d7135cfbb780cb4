using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cnn.Edge.Kernels;

/// <summary>
/// 3x3 stride-1 convolution (one group, no dilation) on x86 as Winograd F(2x2, 3x3) in exact integer arithmetic:
/// 16 multiplies per 2x2 output pixels and channel pair instead of 36, bit-identical to <see cref="Conv2DReference"/>.
/// <list type="bullet">
/// <item>Weights are transformed at load with 2G (G's halves doubled, so all integers): U = (2G) g (2G)^T = 4 G g G^T,
/// |U| ≤ 9 * 128 = 1152, packed as int16 [position][16 channels][Cin/2][16][2] for VPMADDWD.</item>
/// <item>Each input tile d (4x4 pixels of raw int8 x; padding holds the input zero point, i.e. real 0) becomes
/// V = B^T d B (entries 0, ±1: |V| ≤ 4 * 128 = 512, int16), one int16 vector per 16 channels.</item>
/// <item>For each of the 16 positions a GEMM sums U V over Cin into int32 (|U V| ≤ 589,824: VPMADDWD is exact);
/// Y = A^T M A is then 4 S' exactly, where S' = Σ x w over the window (padding as zero point). Every step is
/// a ring operation, so int32 wrapping gives 4 S' modulo 2^32; <see cref="Applies"/> requires 512 Σ|w| ≤ int.MaxValue
/// for every output channel, so |4 S'| fits and Y is 4 S' itself, and Y >> 2 = S' exactly.</item>
/// <item>acc = S' + (bias - inZp Σw) (wrapping, as the folded bias of the GEMM paths) = the reference's acc, then the
/// same requantization epilogue as <see cref="Avx2Gemm"/>.</item>
/// </list>
/// A work unit is a block of consecutive tiles (n, ty, tx) times a range of 32-channel chunks. Every weight is read once
/// per block: where U fits the L2 cache (≤ 1 MB) blocks are 16 tiles (V and M stay in L1), above it (8 MB of int16 U for
/// 512 channels) as many tiles as 1 MB of V allows. Chunks are split so that there are at least <see cref="MinUnits"/>
/// units for threads. Each output byte is computed the same way for any split.
/// </summary>
internal sealed unsafe class WinogradConv3x3
{
    /// <summary>Bytes of transformed input (V) per tile block when the weights U exceed <see cref="L2Bytes"/>.</summary>
    private const int MaxVBytes = 1 << 20;
    private const int L2Bytes = 1 << 20;
    private const int MinUnits = 2;
    private const int Positions = 16;
    /// <summary>Output channels of one pass over the int32 products M (two 16-channel blocks).</summary>
    private const int Chunk = 32;

    private readonly Conv2DShape _s;
    /// <summary>[16 positions][channel block][K2 pairs][16 channels][2] int16.</summary>
    private readonly short[] _u;
    private readonly int[] _bias, _mult, _left, _rpos;
    private readonly int _k2, _blocks, _tilesW, _tilesPerImage, _tiles;
    /// <summary>Tiles per block (GEMM rows: a multiple of the 8-row and 4-row micro-tiles), tile blocks, channel chunks, and chunk ranges per block.</summary>
    private readonly int _t, _tileBlocks, _chunks, _splits;
    private readonly sbyte _inZp;
    private readonly Avx2Epilogue _epilogue;
    /// <summary>The 512-bit epilogue's folded requantization (<see cref="FoldedRequant"/>) when its load-time bounds allow it: the
    /// output transform gives S', the GEMM tile's bias-free sum, and <see cref="_bias"/> is the GEMM's folded bias.</summary>
    private readonly FoldedRequant? _folded;

    /// <summary>Whether the 512-bit path requantizes with <see cref="FoldedRequant"/> (for tests).</summary>
    internal bool UsesFoldedRequant => _folded is not null;

    /// <summary>Whether the Winograd path computes this convolution exactly (shape, ISA, and the |4 S'| bound).</summary>
    public static bool Applies(KernelIsa isa, in Conv2DShape s, ReadOnlySpan<sbyte> weights, int inZp)
    {
        if (isa != KernelIsa.Avx2 || s.KernelHeight != 3 || s.KernelWidth != 3 || s.StrideH != 1 || s.StrideW != 1
            || s.DilationH != 1 || s.DilationW != 1 || s.Groups != 1 || inZp < sbyte.MinValue || inZp > sbyte.MaxValue)
            return false;
        int k = 9 * s.InputChannels;
        for (int oc = 0; oc < s.OutputChannels; oc++)
        {
            long sum = 0;
            foreach (sbyte w in weights.Slice(oc * k, k)) sum += Math.Abs((int)w);
            if (512 * sum > int.MaxValue) return false; // |4 S'| ≤ 4 * 128 * Σ|w| must fit int32
        }
        return true;
    }

    public WinogradConv3x3(in Conv2DShape s, ReadOnlySpan<sbyte> weights, ReadOnlySpan<int> bias,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, int inZp, int outZp, int actMin, int actMax)
    {
        _s = s;
        int cin = s.InputChannels, cout = s.OutputChannels;
        _k2 = (cin + 1) / 2;
        _blocks = (cout + Avx2Gemm.NB - 1) / Avx2Gemm.NB;
        int np = _blocks * Avx2Gemm.NB;
        _tilesW = (s.OutputWidth + 1) / 2;
        _tilesPerImage = _tilesW * ((s.OutputHeight + 1) / 2);
        _tiles = s.Batch * _tilesPerImage;
        long uBytes = (long)Positions * np * _k2 * sizeof(int);
        int cap = uBytes <= L2Bytes ? 16 : Math.Clamp(MaxVBytes / (Positions * sizeof(int) * _k2) / 8 * 8, 16, 256);
        _tileBlocks = (_tiles + cap - 1) / cap;
        _t = ((_tiles + _tileBlocks - 1) / _tileBlocks + 7) / 8 * 8;
        _chunks = (_blocks + 1) / 2;
        _splits = Math.Clamp((MinUnits + _tileBlocks - 1) / _tileBlocks, 1, _chunks);
        _inZp = (sbyte)inZp;
        _u = new short[Positions * np * _k2 * 2];
        _bias = new int[np]; _mult = new int[np]; _left = new int[np]; _rpos = new int[np];
        bool anyLeft = false, minMultiplier = false;
        Span<int> u = stackalloc int[Positions];
        Span<int> t = stackalloc int[12];
        for (int oc = 0; oc < cout; oc++)
        {
            int sum = 0;
            for (int ic = 0; ic < cin; ic++)
            {
                // g[ky][kx] = weights[oc, ky, kx, ic]; t = (2G) g (4x3), u = t (2G)^T (4x4).
                int w0 = oc * 9 * cin + ic; // weights[oc, ky, kx, ic] at w0 + (ky * 3 + kx) * cin
                for (int kx = 0; kx < 3; kx++)
                {
                    int g0 = weights[w0 + kx * cin], g1 = weights[w0 + (3 + kx) * cin], g2 = weights[w0 + (6 + kx) * cin];
                    sum += g0 + g1 + g2;
                    t[kx] = 2 * g0; t[3 + kx] = g0 + g1 + g2; t[6 + kx] = g0 - g1 + g2; t[9 + kx] = 2 * g2;
                }
                for (int r = 0; r < 4; r++)
                {
                    int t0 = t[r * 3], t1 = t[r * 3 + 1], t2 = t[r * 3 + 2];
                    u[r * 4] = 2 * t0; u[r * 4 + 1] = t0 + t1 + t2; u[r * 4 + 2] = t0 - t1 + t2; u[r * 4 + 3] = 2 * t2;
                }
                for (int pos = 0; pos < Positions; pos++)
                    _u[(((long)pos * _blocks + oc / Avx2Gemm.NB) * _k2 + ic / 2) * 32 + oc % Avx2Gemm.NB * 2 + (ic & 1)] = (short)u[pos];
            }
            _bias[oc] = unchecked((bias.IsEmpty ? 0 : bias[oc]) - inZp * sum); // S' counts padding as inZp: remove inZp Σw
            _mult[oc] = multipliers[oc];
            _left[oc] = Math.Max(shifts[oc], 0);
            _rpos[oc] = Math.Max(-shifts[oc], 0);
            anyLeft |= shifts[oc] > 0;
            minMultiplier |= multipliers[oc] == int.MinValue;
        }
        _epilogue = new Avx2Epilogue(outZp, actMin, actMax, anyLeft, minMultiplier);
        // Weights [oc][ky][kx][ic] are rows of 9 Cin per channel, as the GEMM's [N, K].
        if (Avx512BW.IsSupported) _folded = FoldedRequant.TryCreate(cout, 9 * cin, weights, bias, multipliers, shifts, inZp, outZp, actMin, actMax);
    }

    public int WorkUnits => _tileBlocks * _splits;

    /// <summary>V [16][tiles per block][K2] int32 pairs, then M [16][tiles per block][32] int32.</summary>
    public int ScratchBytes => Positions * _t * (_k2 + Chunk) * sizeof(int);

    /// <summary>Units [unit0, unit1) of <see cref="WorkUnits"/>: unit u is tile block u / splits, chunk range u % splits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // kernels run optimized from the first inference (no tier-0 JIT)
    public void Run(ReadOnlySpan<sbyte> input, Span<sbyte> output, Span<byte> scratch, int unit0, int unit1)
    {
        fixed (sbyte* x = input)
        fixed (sbyte* y = output)
        fixed (byte* t = scratch)
        fixed (short* u = _u)
        fixed (int* bias = _bias, mult = _mult, left = _left, rpos = _rpos)
        {
            int* v = (int*)t;
            int* m = v + Positions * _t * _k2;
            bool use512 = Avx2Gemm.Use512;
            long blockShorts = (long)_k2 * 32;
            int transformed = -1; // the tile block whose V the scratch holds (consecutive units of one block share it)
            for (int unit = unit0; unit < unit1; unit++)
            {
                int tb = unit / _splits, split = unit - tb * _splits;
                int q0 = tb * _t, count = Math.Min(_t, _tiles - q0);
                if (tb != transformed)
                    for (int i = 0; i < count; i++) TransformInput(x, q0 + i, (short*)(v + i * _k2));
                transformed = tb;
                int c1 = (int)((long)_chunks * (split + 1) / _splits);
                for (int b0 = 2 * (int)((long)_chunks * split / _splits); b0 < 2 * c1; b0 += 2)
                {
                    int nb = Math.Min(2, _blocks - b0);
                    for (int pos = 0; pos < Positions; pos++)
                    {
                        short* wa = u + (pos * _blocks + b0) * blockShorts;
                        int* vp = v + pos * _t * _k2, mp = m + pos * _t * Chunk;
                        if (use512) Gemm512(vp, _k2, (count + 7) & ~7, wa, nb == 2 ? wa + blockShorts : null, mp);
                        else for (int b = 0; b < nb; b++) Gemm256(vp, _k2, (count + 3) & ~3, wa + b * blockShorts, mp + b * Avx2Gemm.NB);
                    }
                    for (int i = 0; i < count; i++) TransformOutput(q0 + i, m + i * Chunk, b0, nb, y, bias, mult, left, rpos);
                }
            }
        }
    }

    /// <summary>V = B^T d B of tile q for every channel, at vt + position * (tiles per block) * K2 pairs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void TransformInput(sbyte* x, int q, short* vt)
    {
        ref readonly Conv2DShape s = ref _s;
        int cin = s.InputChannels;
        int n = q / _tilesPerImage, rem = q - n * _tilesPerImage, ty = rem / _tilesW, tx = rem - ty * _tilesW;
        int iy0 = 2 * ty - s.PadTop, ix0 = 2 * tx - s.PadLeft;
        sbyte** p = stackalloc sbyte*[Positions];
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 4; c++)
            {
                int iy = iy0 + r, ix = ix0 + c;
                p[r * 4 + c] = (uint)iy < (uint)s.InputHeight && (uint)ix < (uint)s.InputWidth
                    ? x + (((long)n * s.InputHeight + iy) * s.InputWidth + ix) * cin : null;
            }
        long ps = (long)_t * _k2 * 2; // shorts between positions
        Vector256<short> zp = Vector256.Create((short)_inZp);
        int ch = 0;
        for (; ch + 16 <= cin; ch += 16)
        {
            Vector256<short> d00 = Load(p[0], ch, zp), d01 = Load(p[1], ch, zp), d02 = Load(p[2], ch, zp), d03 = Load(p[3], ch, zp);
            Vector256<short> d10 = Load(p[4], ch, zp), d11 = Load(p[5], ch, zp), d12 = Load(p[6], ch, zp), d13 = Load(p[7], ch, zp);
            Vector256<short> d20 = Load(p[8], ch, zp), d21 = Load(p[9], ch, zp), d22 = Load(p[10], ch, zp), d23 = Load(p[11], ch, zp);
            Vector256<short> d30 = Load(p[12], ch, zp), d31 = Load(p[13], ch, zp), d32 = Load(p[14], ch, zp), d33 = Load(p[15], ch, zp);
            // B^T d: rows (d0 - d2, d1 + d2, d2 - d1, d1 - d3), then the same on columns.
            Row(d00 - d20, d01 - d21, d02 - d22, d03 - d23, vt + ch, ps);
            Row(d10 + d20, d11 + d21, d12 + d22, d13 + d23, vt + 4 * ps + ch, ps);
            Row(d20 - d10, d21 - d11, d22 - d12, d23 - d13, vt + 8 * ps + ch, ps);
            Row(d10 - d30, d11 - d31, d12 - d32, d13 - d33, vt + 12 * ps + ch, ps);
        }
        for (; ch < cin; ch++) ScalarTail(p, ch, vt, ps);
        // Odd Cin: the pad channel keeps whatever the scratch holds; it meets zero weights (VPMADDWD: garbage * 0 = 0).
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Load(sbyte* p, int ch, Vector256<short> zp) => p == null ? zp : Avx2.ConvertToVector256Int16(p + ch);

    /// <summary>One row of B^T d times B: (r0 - r2, r1 + r2, r2 - r1, r1 - r3) at 4 consecutive positions.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row(Vector256<short> r0, Vector256<short> r1, Vector256<short> r2, Vector256<short> r3, short* dst, long ps)
    {
        (r0 - r2).Store(dst);
        (r1 + r2).Store(dst + ps);
        (r2 - r1).Store(dst + 2 * ps);
        (r1 - r3).Store(dst + 3 * ps);
    }

    /// <summary>The input transform of one channel (channels past the last multiple of 16).</summary>
    private void ScalarTail(sbyte** p, int ch, short* vt, long ps)
    {
        Span<int> d = stackalloc int[Positions];
        for (int i = 0; i < Positions; i++) d[i] = p[i] == null ? _inZp : p[i][ch];
        Span<int> b = stackalloc int[Positions];
        for (int c = 0; c < 4; c++)
        {
            b[c] = d[c] - d[8 + c]; b[4 + c] = d[4 + c] + d[8 + c]; b[8 + c] = d[8 + c] - d[4 + c]; b[12 + c] = d[4 + c] - d[12 + c];
        }
        for (int r = 0; r < 4; r++)
        {
            short* row = vt + 4 * r * ps + ch;
            row[0] = (short)(b[r * 4] - b[r * 4 + 2]);
            row[ps] = (short)(b[r * 4 + 1] + b[r * 4 + 2]);
            row[2 * ps] = (short)(b[r * 4 + 2] - b[r * 4 + 1]);
            row[3 * ps] = (short)(b[r * 4 + 1] - b[r * 4 + 3]);
        }
    }

    /// <summary>Y = A^T M A of tile q for channel blocks [b0, b0 + nb), then bias, requantization and clamp of each pixel inside the output.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void TransformOutput(int q, int* mt, int b0, int nb, sbyte* y, int* bias, int* mult, int* left, int* rpos)
    {
        ref readonly Conv2DShape s = ref _s;
        int cout = s.OutputChannels;
        int n = q / _tilesPerImage, rem = q - n * _tilesPerImage, ty = rem / _tilesW, tx = rem - ty * _tilesW;
        int oy = 2 * ty, ox = 2 * tx;
        bool right = ox + 1 < s.OutputWidth, down = oy + 1 < s.OutputHeight;
        sbyte* y00 = y + (((long)n * s.OutputHeight + oy) * s.OutputWidth + ox) * cout;
        sbyte* y10 = y00 + (long)s.OutputWidth * cout;
        int ps = _t * Chunk;
        for (int b = 0; b < nb; b++)
        {
            int n0 = (b0 + b) * Avx2Gemm.NB, count = Math.Min(Avx2Gemm.NB, cout - n0);
            int* mb = mt + b * Avx2Gemm.NB;
            if (Avx2Gemm.Use512)
            {
                Transform16(mb, ps, out Vector512<int> z00, out Vector512<int> z01, out Vector512<int> z10, out Vector512<int> z11);
                if (_folded is not null)
                    Finish2x2(_epilogue, new Requant16Folded(_folded, n0, mult), z00, z01, z10, z11, y00 + n0, y10 + n0, cout, count, right, down);
                else
                    Finish2x2(_epilogue, new Requant16Params(n0, bias, mult, left, rpos), z00, z01, z10, z11, y00 + n0, y10 + n0, cout, count, right, down);
                continue;
            }
            Transform8(mb, ps, out Vector256<int> a00, out Vector256<int> a01, out Vector256<int> a10, out Vector256<int> a11);
            Transform8(mb + 8, ps, out Vector256<int> h00, out Vector256<int> h01, out Vector256<int> h10, out Vector256<int> h11);
            Avx2Gemm.Finish16(_epilogue, a00, h00, n0, y00 + n0, count, bias, mult, left, rpos);
            if (right) Avx2Gemm.Finish16(_epilogue, a01, h01, n0, y00 + cout + n0, count, bias, mult, left, rpos);
            if (down)
            {
                Avx2Gemm.Finish16(_epilogue, a10, h10, n0, y10 + n0, count, bias, mult, left, rpos);
                if (right) Avx2Gemm.Finish16(_epilogue, a11, h11, n0, y10 + cout + n0, count, bias, mult, left, rpos);
            }
        }
    }

    /// <summary>The 2x2 output pixels of a tile (those inside the output) of 16 channels: y00, y10 the top-left and bottom-left pixels' first channel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish2x2<TQ>(in Avx2Epilogue e, in TQ q, Vector512<int> z00, Vector512<int> z01, Vector512<int> z10, Vector512<int> z11,
        sbyte* y00, sbyte* y10, int cout, int count, bool right, bool down)
        where TQ : struct, IEpilogue16<TQ>
    {
        q.Finish(e, z00, y00, count);
        if (right) q.Finish(e, z01, y00 + cout, count);
        if (down)
        {
            q.Finish(e, z10, y10, count);
            if (right) q.Finish(e, z11, y10 + cout, count);
        }
    }

    /// <summary>A^T M A >> 2 for 8 channels: rows (m0 + m1 + m2, m1 - m2 - m3), then the same on columns.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transform8(int* m, int ps, out Vector256<int> y00, out Vector256<int> y01, out Vector256<int> y10, out Vector256<int> y11)
    {
        Vector256<int> c0 = Vector256.Load(m), c1 = Vector256.Load(m + ps), c2 = Vector256.Load(m + 2 * ps), c3 = Vector256.Load(m + 3 * ps);
        Vector256<int> s00 = c0 + c1 + c2, s01 = c1 - c2 - c3;
        c0 = Vector256.Load(m + 4 * ps); c1 = Vector256.Load(m + 5 * ps); c2 = Vector256.Load(m + 6 * ps); c3 = Vector256.Load(m + 7 * ps);
        Vector256<int> s10 = c0 + c1 + c2, s11 = c1 - c2 - c3;
        c0 = Vector256.Load(m + 8 * ps); c1 = Vector256.Load(m + 9 * ps); c2 = Vector256.Load(m + 10 * ps); c3 = Vector256.Load(m + 11 * ps);
        Vector256<int> s20 = c0 + c1 + c2, s21 = c1 - c2 - c3;
        c0 = Vector256.Load(m + 12 * ps); c1 = Vector256.Load(m + 13 * ps); c2 = Vector256.Load(m + 14 * ps); c3 = Vector256.Load(m + 15 * ps);
        Vector256<int> s30 = c0 + c1 + c2, s31 = c1 - c2 - c3;
        y00 = Avx2.ShiftRightArithmetic(s00 + s10 + s20, 2);
        y01 = Avx2.ShiftRightArithmetic(s01 + s11 + s21, 2);
        y10 = Avx2.ShiftRightArithmetic(s10 - s20 - s30, 2);
        y11 = Avx2.ShiftRightArithmetic(s11 - s21 - s31, 2);
    }

    /// <summary><see cref="Transform8"/> for 16 channels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transform16(int* m, int ps, out Vector512<int> y00, out Vector512<int> y01, out Vector512<int> y10, out Vector512<int> y11)
    {
        Vector512<int> c0 = Vector512.Load(m), c1 = Vector512.Load(m + ps), c2 = Vector512.Load(m + 2 * ps), c3 = Vector512.Load(m + 3 * ps);
        Vector512<int> s00 = c0 + c1 + c2, s01 = c1 - c2 - c3;
        c0 = Vector512.Load(m + 4 * ps); c1 = Vector512.Load(m + 5 * ps); c2 = Vector512.Load(m + 6 * ps); c3 = Vector512.Load(m + 7 * ps);
        Vector512<int> s10 = c0 + c1 + c2, s11 = c1 - c2 - c3;
        c0 = Vector512.Load(m + 8 * ps); c1 = Vector512.Load(m + 9 * ps); c2 = Vector512.Load(m + 10 * ps); c3 = Vector512.Load(m + 11 * ps);
        Vector512<int> s20 = c0 + c1 + c2, s21 = c1 - c2 - c3;
        c0 = Vector512.Load(m + 12 * ps); c1 = Vector512.Load(m + 13 * ps); c2 = Vector512.Load(m + 14 * ps); c3 = Vector512.Load(m + 15 * ps);
        Vector512<int> s30 = c0 + c1 + c2, s31 = c1 - c2 - c3;
        y00 = Avx512F.ShiftRightArithmetic(s00 + s10 + s20, 2);
        y01 = Avx512F.ShiftRightArithmetic(s01 + s11 + s21, 2);
        y10 = Avx512F.ShiftRightArithmetic(s10 - s20 - s30, 2);
        y11 = Avx512F.ShiftRightArithmetic(s11 - s21 - s31, 2);
    }

    /// <summary>
    /// M[r][0..32) = Σ_j V[r][j] · (wa | wb)[j] for rows [0, rows) (a multiple of 8): 8 rows x 32 channels per step
    /// (16 zmm accumulators; per pair of k 2 weight loads, 8 broadcasts, 16 VPMADDWD). wb null: 16 channels.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gemm512(int* v, int k2, int rows, short* wa, short* wb, int* m)
    {
        for (int r0 = 0; r0 < rows; r0 += 8, v += 8 * k2, m += 8 * Chunk)
        {
            int* x0 = v, x1 = v + k2, x2 = v + 2 * k2, x3 = v + 3 * k2, x4 = v + 4 * k2, x5 = v + 5 * k2, x6 = v + 6 * k2, x7 = v + 7 * k2;
            Vector512<int> c00 = default, c10 = default, c20 = default, c30 = default, c40 = default, c50 = default, c60 = default, c70 = default;
            if (wb == null)
            {
                short* w = wa;
                for (int j = 0; j < k2; j++, w += 32)
                {
                    Vector512<short> w0 = Vector512.Load(w);
                    c00 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x0[j]).AsInt16(), w0);
                    c10 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x1[j]).AsInt16(), w0);
                    c20 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x2[j]).AsInt16(), w0);
                    c30 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x3[j]).AsInt16(), w0);
                    c40 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x4[j]).AsInt16(), w0);
                    c50 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x5[j]).AsInt16(), w0);
                    c60 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x6[j]).AsInt16(), w0);
                    c70 += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x7[j]).AsInt16(), w0);
                }
                c00.Store(m); c10.Store(m + Chunk); c20.Store(m + 2 * Chunk); c30.Store(m + 3 * Chunk);
                c40.Store(m + 4 * Chunk); c50.Store(m + 5 * Chunk); c60.Store(m + 6 * Chunk); c70.Store(m + 7 * Chunk);
                continue;
            }
            Vector512<int> c01 = default, c11 = default, c21 = default, c31 = default, c41 = default, c51 = default, c61 = default, c71 = default;
            short* pa = wa, pb = wb;
            for (int j = 0; j < k2; j++, pa += 32, pb += 32)
            {
                Vector512<short> w0 = Vector512.Load(pa), w1 = Vector512.Load(pb);
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
            c00.Store(m); c01.Store(m + 16); c10.Store(m + Chunk); c11.Store(m + Chunk + 16);
            c20.Store(m + 2 * Chunk); c21.Store(m + 2 * Chunk + 16); c30.Store(m + 3 * Chunk); c31.Store(m + 3 * Chunk + 16);
            c40.Store(m + 4 * Chunk); c41.Store(m + 4 * Chunk + 16); c50.Store(m + 5 * Chunk); c51.Store(m + 5 * Chunk + 16);
            c60.Store(m + 6 * Chunk); c61.Store(m + 6 * Chunk + 16); c70.Store(m + 7 * Chunk); c71.Store(m + 7 * Chunk + 16);
        }
    }

    /// <summary>AVX2: 4 rows x 16 channels per step (8 ymm accumulators), rows a multiple of 4.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gemm256(int* v, int k2, int rows, short* w, int* m)
    {
        for (int r0 = 0; r0 < rows; r0 += 4, v += 4 * k2, m += 4 * Chunk)
        {
            int* x0 = v, x1 = v + k2, x2 = v + 2 * k2, x3 = v + 3 * k2;
            Vector256<int> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
            short* p = w;
            for (int j = 0; j < k2; j++, p += 32)
            {
                Vector256<short> w0 = Vector256.Load(p), w1 = Vector256.Load(p + 16);
                Vector256<short> b = Vector256.Create(x0[j]).AsInt16();
                c00 += Avx2.MultiplyAddAdjacent(b, w0); c01 += Avx2.MultiplyAddAdjacent(b, w1);
                b = Vector256.Create(x1[j]).AsInt16();
                c10 += Avx2.MultiplyAddAdjacent(b, w0); c11 += Avx2.MultiplyAddAdjacent(b, w1);
                b = Vector256.Create(x2[j]).AsInt16();
                c20 += Avx2.MultiplyAddAdjacent(b, w0); c21 += Avx2.MultiplyAddAdjacent(b, w1);
                b = Vector256.Create(x3[j]).AsInt16();
                c30 += Avx2.MultiplyAddAdjacent(b, w0); c31 += Avx2.MultiplyAddAdjacent(b, w1);
            }
            c00.Store(m); c01.Store(m + 8); c10.Store(m + Chunk); c11.Store(m + Chunk + 8);
            c20.Store(m + 2 * Chunk); c21.Store(m + 2 * Chunk + 8); c30.Store(m + 3 * Chunk); c31.Store(m + 3 * Chunk + 8);
        }
    }
}
