using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cnn.Edge.Kernels;

/// <summary>
/// The optimized Conv2D, bit-identical to <see cref="Conv2DReference"/>, prepared once at load:
/// <list type="bullet">
/// <item>pointwise (1x1, stride 1, no padding, one group): a GEMM straight over the NHWC pixels;</item>
/// <item>depthwise with multiplier 1 (groups = Cin = Cout): <see cref="DepthwiseConv"/>, vectorized over channels;</item>
/// <item>threads: with one group, the output channels may be packed in parts (<see cref="ChannelParts"/>, panels of 16), so
/// that layers of few pixels split by (channel part, pixel tile) pairs;</item>
/// <item>everything else (KxK, strides, dilations, padding, groups, depthwise multipliers): the same GEMM on
/// tiles of 4 output pixels whose receptive fields are gathered into a 4 x Kp scratch (padding positions
/// hold the input zero point; <see cref="PatchGather"/>: 16-byte moves per kernel row where the windows lie inside the image,
/// on Avx2 widened to int16 on the way), so no whole-image im2col is ever materialized;</item>
/// <item>on x86 (Avx2), 3x3 stride 1 with one group: exact integer Winograd F(2x2, 3x3) (<see cref="WinogradConv3x3"/>),
/// 2.25 times fewer multiplies, when the weights keep its int32 bound.</item>
/// </list>
/// OpFactory hook: <c>Conv2DOptimized.TryCreate(KernelSelector.Resolve(options.Isa), ...)</c>; null means
/// "use the reference" (Scalar ISA).
/// </summary>
public sealed unsafe class Conv2DOptimized
{
    private enum Kind { Pointwise, Depthwise, Gathered, Winograd }

    /// <summary>3x3 stride-1 convolutions take <see cref="WinogradConv3x3"/> on x86 when it applies (tests and benchmarks switch it off).</summary>
    internal static bool UseWinograd = true;

    private readonly Conv2DShape _s;
    private readonly Kind _kind;
    /// <summary>One plan per group; with one group, one per part of the output channels (<see cref="ChannelParts"/>).</summary>
    private readonly GemmPlan[] _plans = [];
    /// <summary>First output channel of each channel part ([0] when not split).</summary>
    private readonly int[] _n0 = [0];
    private readonly DepthwiseConv? _depthwise;
    private readonly WinogradConv3x3? _winograd;
    private readonly int _inZp;
    /// <summary>The receptive-field copy of the gathered path (on Avx2 its plan of inside windows and <see cref="PatchGather.WidenRun"/>).</summary>
    private readonly PatchGather _gather;
    /// <summary>Output pixels per GEMM tile: 8 for the x86 kernel (<see cref="Avx2Gemm.Tile8"/>), 4 for the others.</summary>
    private readonly int _mr;

    /// <summary>The ISA the kernels run with.</summary>
    public KernelIsa Isa { get; }

    /// <summary>Whether this convolution runs the Winograd path (for tests).</summary>
    internal bool IsWinograd => _kind == Kind.Winograd;

    /// <summary>Temporary bytes <see cref="Run"/> needs.</summary>
    public int ScratchBytes { get; }
    /// <summary>The depthwise kernel when this convolution is depthwise with multiplier 1, else null.</summary>
    internal DepthwiseConv? Depthwise => _depthwise;

    private Conv2DOptimized(KernelIsa isa, in Conv2DShape s, ReadOnlySpan<sbyte> weights, ReadOnlySpan<int> bias,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, int inZp, int outZp, int actMin, int actMax, int channelParts)
    {
        Isa = isa;
        _s = s;
        _inZp = inZp;
        _mr = isa == KernelIsa.Avx2 ? Avx2Gemm.MR : GemmPlan.MR;
        int cg = s.InputChannelsPerGroup, coutG = s.OutputChannelsPerGroup;
        if (cg == 1 && coutG == 1 && s.Groups == s.InputChannels)
        {
            _kind = Kind.Depthwise;
            _depthwise = new DepthwiseConv(isa, s, weights, bias, multipliers, shifts, inZp, outZp, actMin, actMax);
            ScratchBytes = 0;
            return;
        }
        if (UseWinograd && WinogradConv3x3.Applies(isa, s, weights, inZp))
        {
            _kind = Kind.Winograd;
            _winograd = new WinogradConv3x3(s, weights, bias, multipliers, shifts, inZp, outZp, actMin, actMax);
            ScratchBytes = _winograd.ScratchBytes;
            return;
        }
        bool pointwise = s.KernelHeight == 1 && s.KernelWidth == 1 && s.StrideH == 1 && s.StrideW == 1
            && s.PadTop == 0 && s.PadLeft == 0 && s.Groups == 1
            && s.OutputHeight == s.InputHeight && s.OutputWidth == s.InputWidth;
        _kind = pointwise ? Kind.Pointwise : Kind.Gathered;
        int k = s.KernelHeight * s.KernelWidth * cg;
        // Channel parts (one group only): panels of 16 channels (the AVX2 and SDOT kernels' width, 4 of the others) dealt evenly.
        int panels = (coutG + ChannelPanel - 1) / ChannelPanel;
        int parts = CanSplitChannels ? Math.Clamp(channelParts, 1, panels) : 1;
        _plans = new GemmPlan[s.Groups * parts];
        _n0 = new int[parts];
        for (int g = 0; g < s.Groups; g++)
            for (int i = 0; i < parts; i++)
            {
                int n0 = Math.Min(coutG, (int)((long)panels * i / parts) * ChannelPanel);
                int n1 = Math.Min(coutG, (int)((long)panels * (i + 1) / parts) * ChannelPanel);
                int oc0 = g * coutG + n0, n = n1 - n0;
                _n0[i] = n0;
                _plans[g + i] = new GemmPlan(isa, n, k, weights.Slice(oc0 * k, n * k),
                    bias.IsEmpty ? bias : bias.Slice(oc0, n),
                    multipliers.Slice(oc0, n), shifts.Slice(oc0, n), inZp, outZp, actMin, actMax);
            }
        ScratchBytes = pointwise ? Int8Gemm.RowsScratchBytes(_plans[0])
            : isa == KernelIsa.Avx2 ? Panel * (k + 1) / 2 * sizeof(int) + PatchGather.Slack * sizeof(short) // a panel of rows of K int16 (even), the last row's spill
            : GemmPlan.MR * (_plans[0].Kp + PatchGather.Slack);
        _gather = new PatchGather(s);
    }

    /// <summary>Prepares the optimized kernel, or returns null for the Scalar ISA (the reference runs then).</summary>
    /// <param name="isa">A resolved ISA (see <see cref="KernelSelector.Resolve"/>).</param>
    /// <param name="channelParts">GEMM paths with one group: output channel parts packed as separate plans, so that threads
    /// can share layers of few pixels (clamped to the 16-channel panels; see <see cref="ChannelParts"/>).</param>
    public static Conv2DOptimized? TryCreate(KernelIsa isa, in Conv2DShape s, ReadOnlySpan<sbyte> weights, ReadOnlySpan<int> bias,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, int inZp, int outZp, int actMin, int actMax, int channelParts = 1)
    {
        isa = KernelSelector.Resolve(isa);
        if (isa == KernelIsa.Scalar) return null;
        return new Conv2DOptimized(isa, s, weights, bias, multipliers, shifts, inZp, outZp, actMin, actMax, channelParts);
    }

    /// <summary>Output channels per panel of a channel part: a multiple of every kernel's channel group (4, 16).</summary>
    internal const int ChannelPanel = 16;

    /// <summary>Whether the output channels can be split into parts: the GEMM paths with one group, the gathered one on x86 only
    /// (it gathers a tile once for all its parts; the 4-pixel gathered tiles of the other ISAs would be gathered once per part,
    /// and the extra work measured on Cortex-A76 cancelled the better balance).</summary>
    public bool CanSplitChannels => (_kind == Kind.Pointwise || _kind == Kind.Gathered && Isa == KernelIsa.Avx2) && _s.Groups == 1;

    /// <summary>Output channel parts the work units cover (1 unless prepared with more).</summary>
    public int ChannelParts => _n0.Length;

    /// <summary>Tiles of 4 (8 on x86) output pixels of the GEMM paths.</summary>
    public int Tiles => (Pixels + _mr - 1) / _mr;

    /// <summary>The cost of the GEMM paths' work units [0, unit) with <paramref name="parts"/> channel parts (equal), in output
    /// pixels plus one per tile, times parts (to weigh the splits at load): the last tile may hold fewer pixels, and a tile costs
    /// about one pixel more than its pixels (a 1-pixel tile of MobileNetV2 0.35's last 3x3 layer costs 0.39 of a 4-pixel one
    /// on Cortex-A72 and A76, bench/arm64-threads.sh).</summary>
    public long CostBefore(int unit, int parts)
    {
        int tiles = Tiles;
        if (_kind == Kind.Gathered) // tile-major
            return TileCostBefore(unit / parts) * parts + (long)(unit % parts) * TileCost(unit / parts);
        return (long)(unit / tiles) * TileCostBefore(tiles) + TileCostBefore(unit % tiles); // part-major
    }

    /// <summary>Pixels plus one of tiles [0, tile).</summary>
    private long TileCostBefore(int tile) => Math.Min((long)tile * _mr, Pixels) + Math.Min(tile, Tiles);

    private int TileCost(int tile) => tile < Tiles ? Math.Min(_mr, Pixels - tile * _mr) + 1 : 0;

    /// <summary>Same contract as <see cref="Conv2DReference.Run"/> with the parameters captured at prepare.</summary>
    public void Run(ReadOnlySpan<sbyte> input, Span<sbyte> output, Span<byte> scratch)
        => Run(input, output, scratch, 0, WorkUnits);

    /// <summary>
    /// The independent pieces a thread can take: output rows (n, oy) for depthwise, groups of Winograd tiles, otherwise
    /// (channel part, tile of 4 (8 on x86) output pixels) pairs: pointwise part-major (unit u = tile u % Tiles of part
    /// u / Tiles), gathered tile-major (part u % parts of tile u / parts: a tile is gathered once for its parts). Any split
    /// computes every output byte the same way (exact integer sums, the same requantization).
    /// </summary>
    public int WorkUnits => _kind switch
    {
        Kind.Depthwise => _s.Batch * _s.OutputHeight,
        Kind.Winograd => _winograd!.WorkUnits,
        _ => Tiles * ChannelParts,
    };

    /// <summary>Multiply-accumulates of one inference (to decide whether splitting pays).</summary>
    public long Macs => (long)Pixels * _s.OutputChannels * _s.KernelHeight * _s.KernelWidth * _s.InputChannelsPerGroup;

    private int Pixels => _s.Batch * _s.OutputHeight * _s.OutputWidth;

    /// <summary>Work units [unit0, unit1) (see <see cref="WorkUnits"/>); <paramref name="scratch"/> is this thread's.</summary>
    public void Run(ReadOnlySpan<sbyte> input, Span<sbyte> output, Span<byte> scratch, int unit0, int unit1)
    {
        if (unit0 >= unit1) return;
        if (_kind == Kind.Depthwise)
        {
            _depthwise!.Run(input, output, unit0, unit1);
            return;
        }
        if (_kind == Kind.Winograd)
        {
            _winograd!.Run(input, output, scratch, unit0, unit1);
            return;
        }
        int tiles = Tiles, parts = ChannelParts;
        if (_kind == Kind.Gathered)
        {
            // Tile-major: unit u is channel part u % parts of tile u / parts, so a tile's receptive fields are gathered once
            // for all the parts of the range: a first partial tile, whole tiles, a last partial tile.
            int ta = unit0 / parts, pa = unit0 % parts, tb = unit1 / parts, pb = unit1 % parts;
            if (ta == tb)
            {
                RunGatheredTiles(input, output, scratch, ta, ta + 1, pa, pb);
                return;
            }
            if (pa != 0) RunGatheredTiles(input, output, scratch, ta, ++ta, pa, parts);
            if (tb > ta) RunGatheredTiles(input, output, scratch, ta, tb, 0, parts);
            if (pb != 0) RunGatheredTiles(input, output, scratch, tb, tb + 1, 0, pb);
            return;
        }
        // Part-major: unit u is tile u % tiles of channel part u / tiles (one GEMM call per part of the range).
        for (int part = unit0 / tiles; part * tiles < unit1; part++)
        {
            int t0 = Math.Max(unit0 - part * tiles, 0), t1 = Math.Min(unit1 - part * tiles, tiles);
            RunPointwise(input, output, scratch, part, t0 * _mr, Math.Min(t1 * _mr, Pixels));
        }
    }

    /// <summary>Tiles [tile0, tile1) of the gathered path, channel parts [part0, part1) of each.</summary>
    private void RunGatheredTiles(ReadOnlySpan<sbyte> input, Span<sbyte> output, Span<byte> scratch, int tile0, int tile1, int part0, int part1)
    {
        int p0 = tile0 * _mr, p1 = Math.Min(tile1 * _mr, Pixels);
        if (Isa == KernelIsa.Avx2) RunGatheredAvx2(input, output, scratch, part0, part1, p0, p1);
        else RunGathered(input, output, scratch, p0, p1); // one part (see CanSplitChannels)
    }

    /// <summary>Output pixels [p0, p1) of the channel part <paramref name="part"/> (the pointwise path).</summary>
    private void RunPointwise(ReadOnlySpan<sbyte> input, Span<sbyte> output, Span<byte> scratch, int part, int p0, int p1)
    {
        fixed (sbyte* x = input)
        fixed (sbyte* y = output)
        fixed (byte* t = scratch)
            RunPointwiseRows(part, x + (long)p0 * _s.InputChannels, y + (long)p0 * _s.OutputChannels + _n0[part], t, p1 - p0);
    }

    /// <summary><paramref name="pixels"/> pixels at x (InputChannels bytes apart) into c (OutputChannels apart), channel part <paramref name="part"/>.</summary>
    private void RunPointwiseRows(int part, sbyte* x, sbyte* c, byte* t, int pixels)
    {
        GemmPlan plan = _plans[part];
        if (Isa == KernelIsa.Avx2) Avx2Gemm.RunRows(plan, x, _s.InputChannels, pixels, c, _s.OutputChannels);
        else Int8Gemm.RunRows(plan, x, _s.InputChannels, pixels, c, _s.OutputChannels, (sbyte*)t);
    }

    /// <summary>Whether this convolution runs the pointwise path (1x1, stride 1, no padding, one group).</summary>
    internal bool IsPointwise => _kind == Kind.Pointwise;

    /// <summary>Whether the 512-bit x86 epilogue uses <see cref="FoldedRequant"/>: every GEMM plan allows it, or the depthwise or Winograd kernel does.</summary>
    internal bool UsesFoldedRequant => _depthwise?.UsesFoldedRequant ?? _winograd?.UsesFoldedRequant
        ?? (_plans.Length > 0 && Array.TrueForAll(_plans, p => p.Folded is not null));

    /// <summary>
    /// Row-level entry point of the pointwise path (fused blocks, <see cref="Runtime.Ops.FusedInvertedResidualOp"/>): <paramref name="pixels"/>
    /// NHWC pixels at <paramref name="x"/> (InputChannels bytes apart) into <paramref name="y"/> (OutputChannels apart), every channel
    /// part, with the GEMM and requantization the whole layer runs; <paramref name="scratch"/> holds <see cref="ScratchBytes"/>.
    /// </summary>
    internal void RunPointwisePixels(sbyte* x, sbyte* y, byte* scratch, int pixels)
    {
        for (int part = 0; part < _plans.Length; part++) RunPointwiseRows(part, x, y + _n0[part], scratch, pixels);
    }

    /// <summary>Output pixels gathered at once on x86: each weight is read once per panel (per 8 pixels, a 3x3x256 -> 512 layer
    /// would stream its 2.4 MB of int16 weights from L3 per 8 pixels).</summary>
    private const int Panel = 64;

    /// <summary>
    /// The gathered path on x86: receptive fields of a panel of 64 output pixels widened to int16 while they are gathered
    /// (runs of windows inside the image: <see cref="PatchGather.WidenRun"/>, one VPMOVSXBW per kernel row of ≤ 16 bytes; other
    /// windows position by position, 16 channels per VPMOVSXBW, a tail as the last 16 bytes again, overlapping), then for each
    /// pair of 16-channel blocks the 8-pixel tiles of
    /// <see cref="Avx2Gemm.TileWide8(GemmPlan, int*, int, sbyte**, int, sbyte*, int*, int*, int*, int*, int, int)"/>
    /// multiplies (rows past the valid ones are read as the last valid row). The pad of an odd K keeps a stale value: it meets
    /// zero weights.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RunGatheredAvx2(ReadOnlySpan<sbyte> input, Span<sbyte> output, Span<byte> scratch, int part0, int part1, int p0, int p1)
    {
        ref readonly Conv2DShape s = ref _s;
        ref readonly PatchGather gather = ref _gather;
        int cg = s.InputChannelsPerGroup, coutG = s.OutputChannelsPerGroup, cout = s.OutputChannels;
        int k2 = (s.KernelHeight * s.KernelWidth * cg + 1) / 2;
        int ow = s.OutputWidth, oh = s.OutputHeight, ohw = oh * ow;
        long imageBytes = (long)s.InputHeight * s.InputWidth * s.InputChannels;
        const int mr = Panel;
        fixed (sbyte* x = input)
        fixed (sbyte* y = output)
        fixed (byte* t = scratch)
        {
            int* rowsBuf = (int*)t;
            sbyte* end = x + input.Length; // the limit of 16-byte loads
            sbyte** cr = stackalloc sbyte*[mr];
            sbyte** cp = stackalloc sbyte*[mr]; // cr plus a channel part's first channel
            // (n, oy, ox) of pixel p0, then stepped: no divisions per pixel (the 3-channel stems have 12,544 of them).
            int n0 = p0 / ohw, oy0 = (p0 - n0 * ohw) / ow, ox0 = p0 - n0 * ohw - oy0 * ow;
            for (int m0 = p0; m0 < p1; m0 += mr)
            {
                int valid = Math.Min(mr, p1 - m0);
                for (int g = 0; g < s.Groups; g++)
                {
                    int n = n0, oy = oy0, ox = ox0;
                    for (int r = 0; r < valid;)
                    {
                        sbyte* image = x + n * imageBytes + g * cg;
                        short* dst = (short*)(rowsBuf + r * k2);
                        sbyte* c = y + (long)(m0 + r) * cout + g * coutG;
                        int inside = gather.InsidePixels(image, end, oy, ox, valid - r);
                        if (inside > 0)
                        {
                            // Windows of one output row inside the image (the stems' interior): whole kernel rows.
                            gather.WidenRun(gather.Origin(image, oy, ox), inside, dst, 2 * k2);
                            for (int i = 0; i < inside; i++, c += cout) cr[r + i] = c;
                            r += inside;
                            ox += inside;
                        }
                        else
                        {
                            GatherWide(image, dst, oy * s.StrideH - s.PadTop, ox * s.StrideW - s.PadLeft);
                            cr[r++] = c;
                            ox++;
                        }
                        if (ox == ow)
                        {
                            ox = 0;
                            if (++oy == oh) { oy = 0; n++; }
                        }
                    }
                    for (int part = part0; part < part1; part++)
                    {
                        int c0 = _n0[part]; // first output channel of the part
                        for (int r = 0; r < valid; r++) cp[r] = cr[r] + c0;
                        GemmPlan p = _plans[g + part]; // one of g, part is 0
                        int blocks = (p.N + Avx2Gemm.NB - 1) / Avx2Gemm.NB;
                        fixed (sbyte* w = p.W)
                        fixed (int* bias = p.Bias, mult = p.Mult, left = p.Left, rpos = p.RightPos)
                            for (int b0 = 0; b0 < blocks; b0 += 2)
                                for (int r0 = 0; r0 < valid; r0 += Avx2Gemm.MR)
                                    Avx2Gemm.TileWide8(p, rowsBuf + r0 * k2, k2, cp + r0, Math.Min(Avx2Gemm.MR, valid - r0), w, bias, mult, left, rpos,
                                        b0, Math.Min(b0 + 2, blocks));
                    }
                    if (g == s.Groups - 1) { n0 = n; oy0 = oy; ox0 = ox; }
                }
            }
        }
    }

    /// <summary>The field of the window whose top-left tap is (iy0, ix0) (may lie in the padding) widened to K int16 at dst,
    /// position by position (borders, dilated, grouped or long kernel rows); <paramref name="image"/> is this image and group's first byte.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void GatherWide(sbyte* image, short* dst, int iy0, int ix0)
    {
        ref readonly Conv2DShape s = ref _s;
        int cg = s.InputChannelsPerGroup;
        bool wholeRows = s.Groups == 1 && s.DilationW == 1 && ix0 >= 0 && ix0 + s.KernelWidth <= s.InputWidth;
        for (int ky = 0; ky < s.KernelHeight; ky++)
        {
            int iy = iy0 + ky * s.DilationH;
            if (wholeRows && (uint)iy < (uint)s.InputHeight)
            {
                int count = s.KernelWidth * cg;
                WidenCopy(image + ((long)iy * s.InputWidth + ix0) * s.InputChannels, dst, count);
                dst += count;
                continue;
            }
            for (int kx = 0; kx < s.KernelWidth; kx++, dst += cg)
            {
                int ix = ix0 + kx * s.DilationW;
                if ((uint)iy < (uint)s.InputHeight && (uint)ix < (uint)s.InputWidth)
                    WidenCopy(image + ((long)iy * s.InputWidth + ix) * s.InputChannels, dst, cg);
                else
                    new Span<short>(dst, cg).Fill((short)_inZp); // padding is the real value 0
            }
        }
    }

    /// <summary>count int8 to int16: 16 per VPMOVSXBW, the tail as the last 16 again (count ≥ 16), else one by one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WidenCopy(sbyte* src, short* dst, int count)
    {
        if (count < 16)
        {
            for (int i = 0; i < count; i++) dst[i] = src[i];
            return;
        }
        int j = 0;
        for (; j + 16 <= count; j += 16) Avx2.ConvertToVector256Int16(src + j).Store(dst + j);
        if (j < count) Avx2.ConvertToVector256Int16(src + count - 16).Store(dst + count - 16);
    }

    /// <summary>Output pixels [p0, p1) (flattened n, oy, ox) of the gathered path (ISAs other than Avx2): tiles of 4 pixels whose
    /// receptive fields <see cref="PatchGather"/> copies into the scratch (4 rows of Kp + 16 bytes), then one GEMM tile, group
    /// by group.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // kernels run optimized from the first inference (no tier-0 JIT)
    [SkipLocalsInit] // the tile pointers are all set before use
    private void RunGathered(ReadOnlySpan<sbyte> input, Span<sbyte> output, Span<byte> scratch, int p0, int p1)
    {
        ref readonly Conv2DShape s = ref _s;
        ref readonly PatchGather gather = ref _gather;
        int cg = s.InputChannelsPerGroup, coutG = s.OutputChannelsPerGroup, cout = s.OutputChannels;
        int ow = s.OutputWidth, oh = s.OutputHeight, ohw = oh * ow;
        int sh = s.StrideH, sw = s.StrideW, pt = s.PadTop, pl = s.PadLeft;
        int ts = _plans[0].Kp + PatchGather.Slack; // tile row stride
        long imageBytes = (long)s.InputHeight * s.InputWidth * s.InputChannels;
        Vector128<sbyte> zp = Vector128.Create((sbyte)_inZp);
        fixed (sbyte* x = input)
        fixed (sbyte* y = output)
        fixed (byte* t = scratch)
        {
            sbyte* tile = (sbyte*)t, end = x + input.Length;
            sbyte** ar = stackalloc sbyte*[GemmPlan.MR];
            sbyte** cr = stackalloc sbyte*[GemmPlan.MR];
            ar[0] = tile; // the tile's rows (RunInside sets the others; a partial tile repeats its last valid row)
            int n0 = p0 / ohw, oy0 = (p0 - n0 * ohw) / ow, ox0 = p0 - n0 * ohw - oy0 * ow;
            for (int g = 0; g < s.Groups; g++)
            {
                GemmPlan p = _plans[g];
                fixed (sbyte* w = p.W)
                fixed (int* bias = p.Bias, mult = p.Mult, left = p.Left, rpos = p.RightPos, rneg = p.RightNeg)
                {
                    // (n, oy, ox) of the tile's first pixel, stepped: no divisions per pixel (the stems have 2,304-12,544 of them).
                    int n = n0, oy = oy0, ox = ox0;
                    for (int m0 = p0; m0 < p1;)
                    {
                        sbyte* image = x + n * imageBytes + g * cg;
                        sbyte* c = y + (long)m0 * cout + g * coutG;
                        int inside = gather.InsideTiles(image, end, oy, ox, p1 - m0);
                        if (inside > 0)
                        {
                            // A run of tiles of one output row with every window inside the image (the stems' interior); the
                            // 4x16 NEON tiles called straight, their requantization variant chosen once per run.
                            sbyte* src = gather.Origin(image, oy, ox);
                            if (!p.Dp16 && !p.Smlal16)
                                RunInside<AdvSimdRequant, No>(gather, p, src, c, cout, inside, ar, cr, ts, w, bias, mult, left, rpos, rneg);
                            else if (p.RequantKind == ArmRequantKind.RightShiftClamped)
                                RunInside<AdvSimdRequantRightClamped, Yes>(gather, p, src, c, cout, inside, ar, cr, ts, w, bias, mult, left, rpos, rneg);
                            else if (p.RequantKind == ArmRequantKind.RightShiftOnly)
                                RunInside<AdvSimdRequantRight, Yes>(gather, p, src, c, cout, inside, ar, cr, ts, w, bias, mult, left, rpos, rneg);
                            else if (p.RequantKind == ArmRequantKind.NoLeftShift)
                                RunInside<AdvSimdRequantNoLeft, Yes>(gather, p, src, c, cout, inside, ar, cr, ts, w, bias, mult, left, rpos, rneg);
                            else
                                RunInside<AdvSimdRequant, Yes>(gather, p, src, c, cout, inside, ar, cr, ts, w, bias, mult, left, rpos, rneg);
                            m0 += inside * GemmPlan.MR;
                            ox += inside * GemmPlan.MR;
                        }
                        else
                        {
                            // One tile window by window (borders, long or grouped kernel rows, tiles across output rows).
                            int valid = Math.Min(GemmPlan.MR, p1 - m0);
                            // Rows past the valid ones repeat the last valid row, in A and C (the 4x16 tiles store all four).
                            for (int r = 0; r < GemmPlan.MR; r++)
                            {
                                cr[r] = c + (long)Math.Min(r, valid - 1) * cout;
                                ar[r] = tile + Math.Min(r, valid - 1) * ts;
                            }
                            for (int r = 0; r < valid; r++, ox++)
                            {
                                if (ox == ow)
                                {
                                    ox = 0;
                                    if (++oy == oh) { oy = 0; n++; }
                                }
                                gather.Pixel(tile + r * ts, x + n * imageBytes + g * cg, end, oy * sh - pt, ox * sw - pl, zp);
                            }
                            Int8Gemm.RunTile(p, ar, cr, valid, w, bias, mult, left, rpos, rneg);
                            m0 += GemmPlan.MR;
                        }
                        if (ox == ow)
                        {
                            ox = 0;
                            if (++oy == oh) { oy = 0; n++; }
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// <paramref name="tiles"/> 4-pixel tiles of one output row whose windows lie inside the image (<see cref="PatchGather.InsideTiles"/>),
    /// the first window at <paramref name="src"/>, the first output pixel at <paramref name="c"/>: each copied with
    /// <see cref="PatchGather.Copy4"/>, then one GEMM tile (<typeparamref name="TDp16"/>: the plan's 4x16 NEON tile called straight
    /// with the requantization <typeparamref name="TReq"/>; otherwise through <see cref="Int8Gemm.RunTile"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunInside<TReq, TDp16>(in PatchGather gather, GemmPlan p, sbyte* src, sbyte* c, int cout, int tiles, sbyte** ar, sbyte** cr,
        long ts, sbyte* w, int* bias, int* mult, int* left, int* rpos, int* rneg) where TReq : struct, IRequant4 where TDp16 : struct, IFlag
    {
        long srcStep = gather.TileStep, cStep = GemmPlan.MR * (long)cout;
        sbyte* tile = ar[0];
        ar[1] = tile + ts; ar[2] = tile + 2 * ts; ar[3] = tile + 3 * ts;
        for (int i = 0; i < tiles; i++, src += srcStep, c += cStep)
        {
            gather.Copy4(src, ar[0], ts);
            cr[0] = c; cr[1] = c + cout; cr[2] = c + 2 * cout; cr[3] = c + 3 * cout;
            if (TDp16.Value) Int8Gemm.TileDp16<Yes, TReq>(p, ar, cr, GemmPlan.MR, w, bias, mult, left, rpos, rneg);
            else Int8Gemm.RunTile(p, ar, cr, GemmPlan.MR, w, bias, mult, left, rpos, rneg);
        }
    }
}

/// <summary>
/// The optimized FullyConnected (a GEMM over the batch rows), bit-identical to <see cref="FullyConnectedReference"/>.
/// For threads its output channels are split into parts (multiples of <see cref="GemmPlan.NR"/>), each packed
/// as its own plan at load: a batch-1 layer has one row, so channels are what there is to share.
/// </summary>
public sealed unsafe class FullyConnectedOptimized
{
    private readonly GemmPlan[] _plans;
    private readonly int[] _n0;
    private readonly FullyConnectedShape _s;

    public KernelIsa Isa { get; }
    public int ScratchBytes { get; }

    /// <summary>The channel parts <see cref="Run(ReadOnlySpan{sbyte}, Span{sbyte}, Span{byte}, int)"/> takes.</summary>
    public int Parts => _plans.Length;

    /// <summary>Multiply-accumulates of one inference.</summary>
    public long Macs => (long)_s.Batch * _s.InputChannels * _s.OutputChannels;

    private FullyConnectedOptimized(KernelIsa isa, in FullyConnectedShape s, ReadOnlySpan<sbyte> weights, ReadOnlySpan<int> bias,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, int inZp, int outZp, int actMin, int actMax, int parts)
    {
        Isa = isa;
        _s = s;
        int groups = (s.OutputChannels + GemmPlan.NR - 1) / GemmPlan.NR;
        parts = Math.Clamp(parts, 1, groups);
        _plans = new GemmPlan[parts];
        _n0 = new int[parts];
        int k = s.InputChannels;
        for (int i = 0; i < parts; i++)
        {
            int n0 = Math.Min(s.OutputChannels, (int)((long)groups * i / parts) * GemmPlan.NR);
            int n1 = Math.Min(s.OutputChannels, (int)((long)groups * (i + 1) / parts) * GemmPlan.NR);
            _n0[i] = n0;
            _plans[i] = new GemmPlan(isa, n1 - n0, k, weights.Slice(n0 * k, (n1 - n0) * k), bias.IsEmpty ? bias : bias.Slice(n0, n1 - n0),
                multipliers.Slice(n0, n1 - n0), shifts.Slice(n0, n1 - n0), inZp, outZp, actMin, actMax, oneRow: s.Batch == 1);
        }
        ScratchBytes = Int8Gemm.RowsScratchBytes(_plans[0]);
    }

    /// <summary>Prepares the optimized kernel, or returns null for the Scalar ISA.</summary>
    /// <param name="parts">Output channel parts to pack separately (for threads; clamped to the channel groups).</param>
    public static FullyConnectedOptimized? TryCreate(KernelIsa isa, in FullyConnectedShape s, ReadOnlySpan<sbyte> weights, ReadOnlySpan<int> bias,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, int inZp, int outZp, int actMin, int actMax, int parts = 1)
    {
        isa = KernelSelector.Resolve(isa);
        if (isa == KernelIsa.Scalar) return null;
        return new FullyConnectedOptimized(isa, s, weights, bias, multipliers, shifts, inZp, outZp, actMin, actMax, parts);
    }

    /// <summary>Same contract as <see cref="FullyConnectedReference.Run"/>.</summary>
    public void Run(ReadOnlySpan<sbyte> input, Span<sbyte> output, Span<byte> scratch)
    {
        for (int i = 0; i < _plans.Length; i++) Run(input, output, scratch, i);
    }

    /// <summary>The output channels of part <paramref name="part"/>, for every batch row.</summary>
    public void Run(ReadOnlySpan<sbyte> input, Span<sbyte> output, Span<byte> scratch, int part)
    {
        fixed (sbyte* x = input)
        fixed (sbyte* y = output)
        fixed (byte* t = scratch)
            Int8Gemm.RunRows(_plans[part], x, _s.InputChannels, _s.Batch, y + _n0[part], _s.OutputChannels, (sbyte*)t);
    }
}
