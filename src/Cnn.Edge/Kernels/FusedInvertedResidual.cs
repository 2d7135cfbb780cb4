using Cnn.Edge.Kernels;

namespace Cnn.Edge.Runtime.Ops;

/// <summary>
/// A MobileNetV2 inverted-residual block as one op: 1x1 expand → depthwise KxK → 1x1 project [→ Add with a residual],
/// streamed over output rows so that neither the expanded tensor (e.g. 112x112x96 int8, 1.2 MB) nor the depthwise output
/// is ever written to the arena (<see cref="BlockFusion"/> finds the blocks and plans the arena without them).
/// <para>Per step of <see cref="_rowsPerStep"/> output rows: the expand output rows the depthwise windows need go into a strip
/// of scratch (rows in padded coordinates: the rows of vertical padding hold the depthwise input zero point, the real value 0,
/// exactly what the depthwise kernel reads for padding taps); the depthwise runs on the strip into a row buffer; the project
/// GEMM runs on that buffer into the output rows (or into a buffer that the Add then sums with the residual rows). When the
/// strip is full, its last KH - stride rows move to its top (one memmove, in cache) and the expand fills the rest.</para>
/// <para>Every byte is what the three (four) ops compute one after another: the same kernels (the pointwise GEMM of
/// <see cref="Conv2DOptimized"/> on rows of pixels, <see cref="DepthwiseConv"/> prepared for the strip's shape with the layer's
/// weights and requantization, <see cref="AddOptimized"/>), the same int32 sums, and each op's own requantization and clamp
/// to int8 in between. Threads: chunks of output rows, each recomputing the expand rows of its halo (KH - stride rows).</para>
/// </summary>
internal sealed unsafe class FusedInvertedResidualOp : PreparedOp
{
    /// <summary>Output pixels per step at least (see <see cref="RowsPerStep"/>): one tile. More rows per step cost scratch (a stride-2 step
    /// of g rows holds 2g + 1 expanded rows) and gained nothing measurable: 32 pixels per step gave the same instruction count on Cortex-A76
    /// (62.2 M for MobileNetV2 1.0) with 109 KB of scratch per thread instead of 86 KB.</summary>
    private const int MinPixelsPerStep = TilePixels;
    /// <summary>Bytes of expand rows the strip holds at least (fewer refills, each moving KH - stride rows in cache), before
    /// <see cref="FitStrip"/> grows it into the scratch the threads have anyway. 32 KB to 1 GB made no measurable difference on x64
    /// (MobileNetV2 1.0 224 and 0.35 96); 32 KB to 128 KB saved 0.4 % of the instructions on Cortex-A76 (fewer row moves). It is per
    /// thread, so it stays small. Tests set 0 (one step's rows, not grown: a refill every step) to run the refills of small planes.</summary>
    internal static int StripBudgetBytes = DefaultStripBudgetBytes;
    internal const int DefaultStripBudgetBytes = 16 * 1024;
    /// <summary>Bytes after each scratch buffer: the kernels' 16-byte loads of a channel tail may read past a row's last pixel.</summary>
    private const int Slack = 64;

    private readonly Conv2DOptimized _expand, _project;
    /// <summary>The depthwise layer's weights and requantization, prepared for a strip of <see cref="_windowRows"/> + (rows per step - 1) · stride rows, no vertical padding.</summary>
    private readonly DepthwiseConv _strip;
    /// <summary>The depthwise layer's shape.</summary>
    private readonly Conv2DShape _s;
    private readonly int _inputChannels, _outputChannels;
    private readonly TensorView _input, _output, _residual;
    private readonly bool _hasAdd, _projectIsA;
    private readonly KernelIsa _addIsa;
    private readonly AddParams _add;
    private readonly byte[]? _addTables;
    private readonly sbyte _zeroPoint;
    /// <summary>Input rows a depthwise window spans ((KH - 1) · dilation + 1); output rows per step; padded input rows of the image.</summary>
    private readonly int _windowRows, _rowsPerStep, _paddedRows;
    /// <summary>Strip capacity in rows (grown by <see cref="FitStrip"/>); the strip is the last buffer of the scratch.</summary>
    private int _stripRows, _scratchBytes;
    private readonly int _dwAt, _sumAt, _gemmAt, _stripAt;
    private readonly long _rowBytes;

    /// <param name="add">The Add that sums the project output with <paramref name="residual"/>, or null.</param>
    /// <param name="projectIsA">The project output is the Add's first input (the Add's parameters are not symmetric).</param>
    public FusedInvertedResidualOp(Conv2DOptimizedOp expand, DepthwiseOptimizedOp depthwise, Conv2DOptimizedOp project,
        AddOptimizedOp? add, TensorView residual, bool projectIsA, TensorView output)
    {
        if (!expand.Kernel.IsPointwise || !project.Kernel.IsPointwise || expand.Kernel.ChannelParts != 1 || project.Kernel.ChannelParts != 1)
            throw new InvalidOperationException("a fused block needs the pointwise GEMM path for its expand and project layers");
        Conv2DData d = depthwise.Data;
        _s = d.Shape;
        _expand = expand.Kernel;
        _project = project.Kernel;
        _inputChannels = expand.Data.Shape.InputChannels;
        _outputChannels = project.Data.Shape.OutputChannels;
        _input = expand.Data.Input;
        _output = output;
        _residual = residual;
        _hasAdd = add is not null;
        _projectIsA = projectIsA;
        if (add is not null) (_addIsa, _add, _addTables) = add.Kernel;
        _zeroPoint = (sbyte)d.InputZeroPoint;

        ref readonly Conv2DShape s = ref _s;
        int c = s.InputChannels;
        long rowBytes = (long)s.InputWidth * c;
        _windowRows = (s.KernelHeight - 1) * s.DilationH + 1;
        // Steps of few rows keep the scratch small. Running a small block's whole image in one step, each layer's weights read for
        // all its rows as unfused, won back the 5-12 % that MobileNetV2 1.0's 7x7 blocks lose on x64 when streamed (the expand and
        // project weights, 460 KB, take turns in the cache), but took 115 KB of scratch per thread instead of 86 KB: not done.
        _rowsPerStep = RowsPerStep(s.OutputHeight, s.OutputWidth);
        int stepRows = (_rowsPerStep - 1) * s.StrideH + _windowRows;
        _paddedRows = (s.OutputHeight - 1) * s.StrideH + _windowRows;
        _rowBytes = rowBytes;
        _stripRows = (int)Math.Clamp(StripBudgetBytes / rowBytes, stepRows, Math.Max(stepRows, _paddedRows));
        _strip = new DepthwiseConv(_expand.Isa, new Conv2DShape(1, stepRows, s.InputWidth, c, _rowsPerStep, s.OutputWidth, c,
                s.KernelHeight, s.KernelWidth, s.StrideH, s.StrideW, s.DilationH, s.DilationW, 0, s.PadLeft, c),
            d.WeightsSpan, d.BiasSpan, d.Multipliers, d.Shifts, d.InputZeroPoint, d.OutputZeroPoint, d.ActMin, d.ActMax);

        long stepPixels = (long)_rowsPerStep * s.OutputWidth;
        long at = 0;
        _dwAt = Take(stepPixels * c);
        _sumAt = _hasAdd ? Take(stepPixels * _outputChannels) : 0;
        _gemmAt = Take(Math.Max(_expand.ScratchBytes, _project.ScratchBytes));
        _stripAt = checked((int)at);
        _scratchBytes = checked(_stripAt + (int)(_stripRows * rowBytes) + Slack);

        int Take(long bytes)
        {
            long start = at;
            at = (at + bytes + Slack + 63) & ~63L;
            return checked((int)start);
        }
    }

    /// <summary>
    /// Output rows per step: the fewest, from <see cref="MinPixelsPerStep"/> pixels on, whose steps cost the project GEMM no more
    /// 8-pixel tiles than the whole layer (14x14: 4 rows, 56 pixels, 25 tiles as unfused; 3 rows would run 28), else the image.
    /// </summary>
    private static int RowsPerStep(int height, int width)
    {
        static long Tiles(long pixels) => (pixels + TilePixels - 1) / TilePixels;
        long whole = Tiles((long)height * width);
        for (int g = Math.Clamp((MinPixelsPerStep + width - 1) / width, 1, height); g < height; g++)
            if (height / g * Tiles((long)g * width) + Tiles((long)(height % g) * width) == whole) return g;
        return height;
    }

    /// <summary>Pixels per tile of the x86 GEMM (<see cref="Avx2Gemm.MR"/>; a multiple of the others' 4).</summary>
    private const int TilePixels = 8;

    /// <summary>The strip, the depthwise rows and (with an Add) the project rows of one step, the GEMMs' scratch: per thread.</summary>
    public override int ScratchBytes => _scratchBytes;

    private int Rows => _s.Batch * _s.OutputHeight;

    /// <summary>
    /// Grows the strip into <paramref name="scratchBytes"/> (the largest op's scratch, which each thread has anyway), up to the whole
    /// padded image: fewer refills, each moving KH - stride rows (a strip of one step's rows moved 2 rows of 56x56x144 per row computed,
    /// 1.8 % more instructions for MobileNetV2 1.0 on Cortex-A76 than unfused). Called once at load, after <see cref="PlanChunks"/>.
    /// Tests set <see cref="StripBudgetBytes"/> to 0 for the least strip, which this then keeps.
    /// </summary>
    internal void FitStrip(int scratchBytes)
    {
        if (StripBudgetBytes == 0) return;
        long rows = Math.Min(_paddedRows, (scratchBytes - _stripAt - Slack) / _rowBytes);
        if (rows <= _stripRows) return;
        _stripRows = (int)rows;
        _scratchBytes = checked(_stripAt + (int)(rows * _rowBytes) + Slack);
    }

    public override void Invoke(Span<byte> arena, Span<byte> scratch) => Run(arena, scratch, 0, Rows);

    public override void InvokeChunk(int chunk, int chunks, Span<byte> arena, Span<byte> scratch)
    {
        var (r0, r1) = ChunkRange(Rows, chunk, chunks);
        Run(arena, scratch, r0, r1);
    }

    /// <summary>
    /// Chunks of output rows. A chunk of r rows also computes the expand rows of its window halo, (r - 1) · stride + window rows
    /// in all, so the count is the one whose busiest thread has the least of that work (ties: fewer chunks, less halo), at most
    /// 4 per thread and the work over <paramref name="minWorkPerChunk"/>.
    /// </summary>
    public override int PlanChunks(int threads, int minWorkPerChunk)
    {
        ref readonly Conv2DShape s = ref _s;
        int rows = Rows, c = s.InputChannels;
        // The weights of the unfused layers (ChunkCosts).
        ChunkCosts w = ChunkCosts.For(_expand.Isa);
        long expandRow = (long)w.PointwiseMac * s.InputWidth * _inputChannels * c;
        long outRow = (long)s.OutputWidth * ((long)w.DepthwiseMac * c * s.KernelHeight * s.KernelWidth + (long)w.PointwiseMac * c * _outputChannels
            + (_hasAdd ? (long)w.AddElement * _outputChannels : 0));
        long work = rows * outRow + (long)s.Batch * s.InputHeight * expandRow;
        if (threads <= 1) return 1;
        int max = (int)Math.Max(1, Math.Min(Math.Min(work / Math.Max(1, minWorkPerChunk), rows), 4L * threads));
        var load = new long[threads];
        int best = 1;
        long bestSpan = long.MaxValue;
        for (int chunks = 1; chunks <= max; chunks++)
        {
            Array.Clear(load);
            long span = 0;
            for (int i = 0; i < chunks; i++)
            {
                var (r0, r1) = ChunkRange(rows, i, chunks);
                int t = 0;
                for (int k = 1; k < threads; k++) if (load[k] < load[t]) t = k;
                load[t] += (r1 - r0) * outRow + ((long)(r1 - r0 - 1) * s.StrideH + _windowRows) * expandRow;
                span = Math.Max(span, load[t]);
            }
            if (span < bestSpan) (best, bestSpan) = (chunks, span);
        }
        return best;
    }

    /// <summary>Output rows [row0, row1) of the flattened (n, oy) range.</summary>
    private void Run(Span<byte> arena, Span<byte> scratch, int row0, int row1)
    {
        fixed (byte* a = arena)
        fixed (byte* t = scratch)
        {
            for (int row = row0; row < row1;)
            {
                int n = row / _s.OutputHeight, oy = row - n * _s.OutputHeight;
                int oyEnd = Math.Min(_s.OutputHeight, row1 - n * _s.OutputHeight);
                RunImage(a, t, n, oy, oyEnd);
                row += oyEnd - oy;
            }
        }
    }

    /// <summary>Output rows [oy0, oy1) of image n. The strip holds padded rows [s0, s0 + have) (padded row p = input row p - PadTop).</summary>
    private void RunImage(byte* arena, byte* scratch, int n, int oy0, int oy1)
    {
        ref readonly Conv2DShape s = ref _s;
        int c = s.InputChannels, cout = _outputChannels, stride = s.StrideH;
        long rowBytes = (long)s.InputWidth * c;
        sbyte* strip = (sbyte*)(scratch + _stripAt), dw = (sbyte*)(scratch + _dwAt), sum = (sbyte*)(scratch + _sumAt);
        byte* gemm = scratch + _gemmAt;
        sbyte* x = (sbyte*)(arena + _input.ArenaOffset) + (long)n * s.InputHeight * s.InputWidth * _inputChannels;
        sbyte* y = (sbyte*)(arena + _output.ArenaOffset);
        int end = (oy1 - 1) * stride + _windowRows; // padded rows the range needs
        int s0 = 0, have = 0;
        for (int oy = oy0; oy < oy1;)
        {
            int g = Math.Min(_rowsPerStep, oy1 - oy);
            int need0 = oy * stride, need1 = (oy + g - 1) * stride + _windowRows;
            if (need1 > s0 + have)
            {
                // Keep the rows this step shares with the last (KH - stride of them), then expand as many new rows as fit.
                int keep = Math.Max(0, s0 + have - need0);
                if (keep > 0 && need0 > s0)
                    Buffer.MemoryCopy(strip + (need0 - s0) * rowBytes, strip, keep * rowBytes, keep * rowBytes);
                s0 = need0;
                have = keep;
                int fill = Math.Min(s0 + _stripRows, end);
                Expand(x, strip + have * rowBytes, s0 + have, fill, gemm);
                have = fill - s0;
            }
            int windowRows = (g - 1) * stride + _windowRows;
            _strip.Run(new ReadOnlySpan<sbyte>(strip + (need0 - s0) * rowBytes, (int)(windowRows * rowBytes)),
                new Span<sbyte>(dw, g * s.OutputWidth * c), 0, g);
            int pixels = g * s.OutputWidth;
            long outAt = ((long)n * s.OutputHeight + oy) * s.OutputWidth * cout;
            if (!_hasAdd)
            {
                _project.RunPointwisePixels(dw, y + outAt, gemm, pixels);
            }
            else
            {
                _project.RunPointwisePixels(dw, sum, gemm, pixels);
                var q = new ReadOnlySpan<sbyte>(sum, pixels * cout);
                var r = new ReadOnlySpan<sbyte>((sbyte*)(arena + _residual.ArenaOffset) + outAt, pixels * cout);
                AddOptimized.Run(_addIsa, _add, _projectIsA ? q : r, _projectIsA ? r : q, new Span<sbyte>(y + outAt, pixels * cout),
                    AddOptimized.X86AddPath.Vbmi, _addTables);
            }
            oy += g;
        }
    }

    /// <summary>Padded rows [p0, p1) of the depthwise input into dst: the expand GEMM on the input rows, the zero point on padding rows.</summary>
    private void Expand(sbyte* x, sbyte* dst, int p0, int p1, byte* gemm)
    {
        ref readonly Conv2DShape s = ref _s;
        long rowBytes = (long)s.InputWidth * s.InputChannels;
        int iy0 = p0 - s.PadTop, iy1 = p1 - s.PadTop;
        int lo = Math.Clamp(iy0, 0, s.InputHeight), hi = Math.Clamp(iy1, lo, s.InputHeight);
        if (lo == hi) { ZeroPointRows(dst, p1 - p0, rowBytes); return; }
        ZeroPointRows(dst, lo - iy0, rowBytes);
        _expand.RunPointwisePixels(x + (long)lo * s.InputWidth * _inputChannels, dst + (lo - iy0) * rowBytes, gemm, (hi - lo) * s.InputWidth);
        ZeroPointRows(dst + (hi - iy0) * rowBytes, iy1 - hi, rowBytes);
    }

    private void ZeroPointRows(sbyte* dst, int rows, long rowBytes)
    {
        if (rows > 0) new Span<sbyte>(dst, (int)(rows * rowBytes)).Fill(_zeroPoint);
    }
}

/// <summary>An op whose work a fused block does (<see cref="FusedInvertedResidualOp"/>, at the index of the block's last op).</summary>
internal sealed class FusedAwayOp : PreparedOp
{
    public static readonly FusedAwayOp Instance = new();

    public override void Invoke(Span<byte> arena, Span<byte> scratch) { }
}
