using Cnn.Edge.Kernels;

namespace Cnn.Edge.Runtime.Ops;

/// <summary>
/// The hook between OpFactory's Select* methods and the optimized kernels: given the same prepared data
/// as the reference op, returns a PreparedOp running an optimized kernel, or null (Scalar ISA) so that
/// the reference runs. Weights are packed here, at load, never lazily at the first Invoke.
/// </summary>
internal static class OptimizedOps
{
    public static PreparedOp? TryConv2D(Conv2DData d, KernelIsa isa)
    {
        var k = Conv2DOptimized.TryCreate(isa, d.Shape, d.WeightsSpan, d.BiasSpan, d.Multipliers, d.Shifts,
            d.InputZeroPoint, d.OutputZeroPoint, d.ActMin, d.ActMax);
        if (k is null) return null;
        // Depthwise runs its kernel directly, so that its work splits over channel blocks as well as rows.
        return k.Depthwise is { } dw ? new DepthwiseOptimizedOp(d, dw, k.Isa) : new Conv2DOptimizedOp(d, k);
    }

    public static PreparedOp? TryFullyConnected(FullyConnectedData d, KernelIsa isa)
    {
        var k = FullyConnectedOptimized.TryCreate(isa, d.Shape, d.WeightsSpan, d.BiasSpan, d.Multipliers, d.Shifts,
            d.InputZeroPoint, d.OutputZeroPoint, d.ActMin, d.ActMax);
        return k is null ? null : new FullyConnectedOptimizedOp(d, k);
    }

    /// <summary>Add: OpFactory's PrepareAdd validates first; the same AddReference.ComputeParams then feeds the vectorized kernel.</summary>
    public static PreparedOp Add(PreparedOp reference, OpInfo op, IReadOnlyList<TensorInfo> t, KernelIsa isa)
    {
        isa = KernelSelector.Resolve(isa);
        if (isa == KernelIsa.Scalar) return reference;
        TensorInfo a = t[op.Inputs[0]], b = t[op.Inputs[1]], y = t[op.Outputs[0]];
        var p = AddReference.ComputeParams(a.Scale, a.ZeroPoint, b.Scale, b.ZeroPoint, y.Scale, y.ZeroPoint, op.Params[0], op.Params[1]);
        return new AddOptimizedOp(isa, p, new TensorView(a), new TensorView(b), new TensorView(y));
    }
}

/// <summary>Add split into ranges of whole 16-element vectors (the scalar tail goes with the last chunk).</summary>
internal sealed class AddOptimizedOp(KernelIsa isa, AddParams p, TensorView a, TensorView b, TensorView output) : PreparedOp
{
    private const int Vector = 16;
    private readonly byte[]? _tables = AddOptimized.PrepareTables(isa, p);

    /// <summary>What a fused block's Add runs on its rows (<see cref="FusedInvertedResidualOp"/>).</summary>
    internal (KernelIsa Isa, AddParams Params, byte[]? Tables) Kernel => (isa, p, _tables);

    public override void Invoke(Span<byte> arena, Span<byte> scratch)
        => AddOptimized.Run(isa, p, a.Int8(arena), b.Int8(arena), output.OutInt8(arena), AddOptimized.X86AddPath.Vbmi, _tables);

    // An element (three requantizations) weighs ChunkCosts.AddElement.
    public override int PlanChunks(int threads, int minWorkPerChunk)
        => ChunkCount(ChunkCosts.For(isa).AddElement * (long)output.ByteLength, output.ByteLength / Vector, threads, minWorkPerChunk);

    public override void InvokeChunk(int chunk, int chunks, Span<byte> arena, Span<byte> scratch)
    {
        int n = output.ByteLength, vectors = n / Vector;
        var (v0, v1) = ChunkRange(vectors, chunk, chunks);
        int i0 = v0 * Vector, i1 = chunk == chunks - 1 ? n : v1 * Vector;
        AddOptimized.Run(isa, p, a.Int8(arena)[i0..i1], b.Int8(arena)[i0..i1], output.OutInt8(arena)[i0..i1], AddOptimized.X86AddPath.Vbmi, _tables);
    }
}

/// <summary>Conv2D other than depthwise, split by tiles of output pixels (GEMM paths), and for layers of few pixels by output
/// channel parts too (repacked at load, as <see cref="FullyConnectedOptimizedOp"/>).</summary>
internal sealed class Conv2DOptimizedOp(Conv2DData d, Conv2DOptimized kernel) : PreparedOp
{
    private Conv2DOptimized kernel = kernel;

    /// <summary>The prepared kernel and data (a fused block runs the kernel on rows: <see cref="FusedInvertedResidualOp"/>).</summary>
    internal Conv2DOptimized Kernel => kernel;
    internal Conv2DData Data => d;

    public override int ScratchBytes => kernel.ScratchBytes;

    public override void Invoke(Span<byte> arena, Span<byte> scratch)
        => kernel.Run(d.Input.Int8(arena), d.Output.OutInt8(arena), scratch);

    /// <summary>Pixel tiles per thread below which a GEMM layer may also split its output channels.</summary>
    private const int TilesPerThread = 8;

    /// <summary>
    /// A GEMM layer of few tiles (7x7, 14x14, 3x3 outputs) also splits its output channels, into the fewest parts of equal
    /// panels that make (part, tile) units a multiple of the thread count and at least 2 per thread, but only when that cuts the busiest
    /// thread's share by more than 1/8 (each part costs a call and re-reads the inputs; a layer that the least work per
    /// chunk keeps in few chunks gains nothing).
    /// </summary>
    public override int PlanChunks(int threads, int minWorkPerChunk)
    {
        long work = ChunkCosts.For(kernel.Isa).PointwiseMac * kernel.Macs;
        int tiles = kernel.Tiles, parts = 1;
        if (kernel.CanSplitChannels && threads > 1 && tiles < TilesPerThread * threads)
        {
            int panels = (d.Shape.OutputChannels + Conv2DOptimized.ChannelPanel - 1) / Conv2DOptimized.ChannelPanel;
            // Parts of equal panels (uneven parts would leave the thread of a larger one busiest); the fewest that give at
            // least 2 units per thread, a multiple of the thread count if one exists.
            int p = 0;
            for (int q = Math.Max(2, (2 * threads + tiles - 1) / tiles); q <= panels; q++)
                if (panels % q == 0)
                {
                    if (p == 0) p = q;
                    if (tiles * q % threads == 0) { p = q; break; }
                }
            if (p > 1)
            {
                // In output pixels (times parts): the last tile may be short.
                long busiest1 = BusiestThreadUnits(tiles, ChunkCount(work, tiles, threads, minWorkPerChunk), threads, null, u => kernel.CostBefore(u, 1));
                long busiestP = BusiestThreadUnits(tiles * p, ChunkCount(work, (long)tiles * p, threads, minWorkPerChunk), threads, null,
                    u => kernel.CostBefore(u, p));
                if (busiestP * 8 < busiest1 * p * 7) parts = p; // under 7/8 of the busiest thread's share without parts
            }
        }
        if (parts != kernel.ChannelParts)
            kernel = Conv2DOptimized.TryCreate(kernel.Isa, d.Shape, d.WeightsSpan, d.BiasSpan, d.Multipliers, d.Shifts,
                d.InputZeroPoint, d.OutputZeroPoint, d.ActMin, d.ActMax, parts)!;
        if (kernel.IsWinograd) return ChunkCount(work, kernel.WorkUnits, threads, minWorkPerChunk);
        Conv2DOptimized k = kernel;
        return ChunkCount(work, k.WorkUnits, threads, minWorkPerChunk, u => k.CostBefore(u, k.ChannelParts));
    }

    public override void InvokeChunk(int chunk, int chunks, Span<byte> arena, Span<byte> scratch)
    {
        var (u0, u1) = ChunkRange(kernel.WorkUnits, chunk, chunks);
        kernel.Run(d.Input.Int8(arena), d.Output.OutInt8(arena), scratch, u0, u1);
    }
}

/// <summary>FullyConnected split by output channels: at load, the weights are packed once per chunk.</summary>
internal sealed class FullyConnectedOptimizedOp(FullyConnectedData d, FullyConnectedOptimized kernel) : PreparedOp
{
    private FullyConnectedOptimized _kernel = kernel;

    public override int ScratchBytes => _kernel.ScratchBytes;

    public override void Invoke(Span<byte> arena, Span<byte> scratch)
        => _kernel.Run(d.Input.Int8(arena), d.Output.OutInt8(arena), scratch);

    public override int PlanChunks(int threads, int minWorkPerChunk)
    {
        int chunks = ChunkCount(ChunkCosts.For(_kernel.Isa).PointwiseMac * _kernel.Macs, (d.Shape.OutputChannels + GemmPlan.NR - 1) / GemmPlan.NR, threads, minWorkPerChunk);
        if (chunks != _kernel.Parts)
            _kernel = FullyConnectedOptimized.TryCreate(_kernel.Isa, d.Shape, d.WeightsSpan, d.BiasSpan, d.Multipliers, d.Shifts,
                d.InputZeroPoint, d.OutputZeroPoint, d.ActMin, d.ActMax, chunks)!;
        return _kernel.Parts;
    }

    public override void InvokeChunk(int chunk, int chunks, Span<byte> arena, Span<byte> scratch)
        => _kernel.Run(d.Input.Int8(arena), d.Output.OutInt8(arena), scratch, chunk);
}

/// <summary>
/// Depthwise Conv2D split by output rows, or by blocks of <see cref="DepthwiseConv.ChannelBlock"/> channels of each row too when
/// that balances the threads clearly better (layers of few rows: 7 rows on 4 threads leave the busiest 2, a share of 1.75):
/// work unit u is then block u mod B of row u / B (B blocks per row). Chosen at load; every split gives the same bytes.
/// </summary>
internal sealed class DepthwiseOptimizedOp(Conv2DData d, DepthwiseConv kernel, KernelIsa isa) : PreparedOp
{

    /// <summary>
    /// Blocks split rows only when the busiest thread's share of the layer drops by more than this: a row cut into blocks repeats
    /// its per-row work (border windows' tap pointers, the calls) per piece, up to 9 % more instructions in MobileNetV2 0.35's
    /// 6-row layers on Cortex-A76 (bench/arm64-threads.sh).
    /// </summary>
    internal const double BlockGain = 0.10;

    private int Rows => d.Shape.Batch * d.Shape.OutputHeight;

    /// <summary>The layer's data (a fused block prepares its own kernel for rows of scratch from it: <see cref="FusedInvertedResidualOp"/>).</summary>
    internal Conv2DData Data => d;

    /// <summary>Channel blocks per work unit row: all of them in one unit (1) unless <see cref="PlanChunks"/> chose to split rows.</summary>
    internal int BlocksPerRow { get; private set; } = 1;

    public override void Invoke(Span<byte> arena, Span<byte> scratch)
        => kernel.Run(d.Input.Int8(arena), d.Output.OutInt8(arena), 0, Rows);

    public override int PlanChunks(int threads, int minWorkPerChunk)
    {
        Conv2DShape s = d.Shape;
        int rows = Rows, blocks = kernel.ChannelBlocks;
        long work = ChunkCosts.For(isa).DepthwiseMac * (long)rows * s.OutputWidth * s.OutputChannels * s.KernelHeight * s.KernelWidth;
        int byRows = ChunkCount(work, rows, threads, minWorkPerChunk);
        BlocksPerRow = 1;
        if (blocks > 1 && threads > 1 && (long)rows * blocks <= int.MaxValue)
        {
            int units = rows * blocks, byBlocks = ChunkCount(work, units, threads, minWorkPerChunk);
            double rowShare = (double)BusiestThreadUnits(rows, byRows, threads) / rows;
            double blockShare = (double)BusiestThreadUnits(units, byBlocks, threads) / units;
            if (blockShare < rowShare * (1 - BlockGain))
            {
                BlocksPerRow = blocks;
                return byBlocks;
            }
        }
        return byRows;
    }

    public override void InvokeChunk(int chunk, int chunks, Span<byte> arena, Span<byte> scratch)
    {
        int blocks = BlocksPerRow;
        var (u0, u1) = ChunkRange(Rows * blocks, chunk, chunks);
        ReadOnlySpan<sbyte> x = d.Input.Int8(arena);
        Span<sbyte> y = d.Output.OutInt8(arena);
        while (u0 < u1)
        {
            // The part of one row in [u0, u1), or the whole rows that follow it in one call.
            int row = u0 / blocks, b0 = u0 - row * blocks;
            if (b0 == 0 && u1 - u0 >= blocks)
            {
                int rows = (u1 - u0) / blocks;
                kernel.Run(x, y, row, row + rows);
                u0 += rows * blocks;
            }
            else
            {
                int b1 = Math.Min(blocks, b0 + (u1 - u0));
                kernel.Run(x, y, row, row + 1, b0, b1);
                u0 += b1 - b0;
            }
        }
    }
}
