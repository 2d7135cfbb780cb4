using Cnn.Edge.Kernels;

namespace Cnn.Edge.Runtime.Ops;

internal sealed class MaxPool2DOp(PoolShape shape, TensorView input, TensorView output, int actMin, int actMax)
    : RowSplitPoolOp(shape, input, output)
{
    protected override void Run(in PoolShape s, ReadOnlySpan<sbyte> x, Span<sbyte> y)
        => MaxPool2DReference.Run(s, x, actMin, actMax, y);
}

internal sealed class AveragePool2DOp(PoolShape shape, bool countIncludePad, TensorView input, TensorView output,
    int zeroPoint, int actMin, int actMax) : RowSplitPoolOp(shape, input, output)
{
    protected override void Run(in PoolShape s, ReadOnlySpan<sbyte> x, Span<sbyte> y)
        => AveragePool2DReference.Run(s, countIncludePad, x, zeroPoint, actMin, actMax, y);
}

/// <summary>A pooling whose kernel runs whole, or per chunk of output rows on the sub-windows of <see cref="PoolRows"/>.</summary>
internal abstract class RowSplitPoolOp(PoolShape shape, TensorView input, TensorView output) : PreparedOp
{
    protected abstract void Run(in PoolShape s, ReadOnlySpan<sbyte> x, Span<sbyte> y);

    public override void Invoke(Span<byte> arena, Span<byte> scratch) => Run(shape, input.Int8(arena), output.OutInt8(arena));

    public override int PlanChunks(int threads, int minWorkPerChunk)
        => ChunkCount(PoolRows.Work(shape), shape.Batch * shape.OutputHeight, threads, minWorkPerChunk);

    public override void InvokeChunk(int chunk, int chunks, Span<byte> arena, Span<byte> scratch)
    {
        ReadOnlySpan<sbyte> x = input.Int8(arena);
        Span<sbyte> y = output.OutInt8(arena);
        var (r0, r1) = ChunkRange(shape.Batch * shape.OutputHeight, chunk, chunks);
        for (int row = r0; row < r1;)
        {
            var w = PoolRows.Window(shape, row, r1);
            Run(w.Shape, x.Slice(w.InStart, w.InLength), y.Slice(w.OutStart, w.OutLength));
            row = w.NextRow;
        }
    }
}

/// <summary>
/// Splits a pooling over output rows without touching its kernel: output rows [oy0, oy1) of one image are the
/// whole output of the same pooling on the input rows they read, [r0, r1), with the top and bottom padding
/// moved so that every window keeps its place (PadTop' = PadTop + r0 - oy0*SH; PadBottom' = PadBottom + H - r1,
/// so the ceil-mode divisor of average pooling, which stops at H + PadBottom, is unchanged).
/// </summary>
internal static class PoolRows
{
    public readonly record struct Part(PoolShape Shape, int InStart, int InLength, int OutStart, int OutLength, int NextRow);

    /// <summary>Elements read: one unit each.</summary>
    public static long Work(in PoolShape s) => (long)s.Batch * s.OutputHeight * s.OutputWidth * s.Channels * s.KernelHeight * s.KernelWidth;

    /// <summary>The rows from flattened row <paramref name="row"/> (n, oy) up to <paramref name="end"/> or the end of image n.</summary>
    public static Part Window(in PoolShape s, int row, int end)
    {
        int n = row / s.OutputHeight, oy0 = row - n * s.OutputHeight;
        int oy1 = Math.Min(s.OutputHeight, oy0 + (end - row));
        int top = oy0 * s.StrideH - s.PadTop;
        int r0 = Math.Max(0, top);
        int r1 = Math.Min(s.InputHeight, (oy1 - 1) * s.StrideH - s.PadTop + s.KernelHeight);
        int rowBytes = s.InputWidth * s.Channels, outRowBytes = s.OutputWidth * s.Channels;
        var sub = s with
        {
            Batch = 1, InputHeight = r1 - r0, OutputHeight = oy1 - oy0,
            PadTop = r0 - top, PadBottom = s.PadBottom + s.InputHeight - r1,
        };
        return new Part(sub, (n * s.InputHeight + r0) * rowBytes, (r1 - r0) * rowBytes,
            (n * s.OutputHeight + oy0) * outRowBytes, (oy1 - oy0) * outRowBytes, row + (oy1 - oy0));
    }
}

internal sealed class GlobalAveragePoolOp(GlobalPoolShape shape, TensorView input, TensorView output, int inputZeroPoint,
    int multiplier, int shift, int outputZeroPoint, int actMin, int actMax) : PreparedOp
{
    public override void Invoke(Span<byte> arena, Span<byte> scratch)
        => GlobalAveragePoolReference.Run(shape, input.Int8(arena), inputZeroPoint, multiplier, shift, outputZeroPoint,
            actMin, actMax, output.OutInt8(arena));
}

internal sealed class GlobalMaxPoolOp(GlobalPoolShape shape, TensorView input, TensorView output) : PreparedOp
{
    public override void Invoke(Span<byte> arena, Span<byte> scratch)
        => GlobalMaxPoolReference.Run(shape, input.Int8(arena), output.OutInt8(arena));
}
