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
        return k is null ? null : new Conv2DOptimizedOp(d, k);
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

internal sealed class AddOptimizedOp(KernelIsa isa, AddParams p, TensorView a, TensorView b, TensorView output) : PreparedOp
{
    public override void Invoke(Span<byte> arena, Span<byte> scratch)
        => AddOptimized.Run(isa, p, a.Int8(arena), b.Int8(arena), output.OutInt8(arena));
}

internal sealed class Conv2DOptimizedOp(Conv2DData d, Conv2DOptimized kernel) : PreparedOp
{
    public override int ScratchBytes => kernel.ScratchBytes;

    public override void Invoke(Span<byte> arena, Span<byte> scratch)
        => kernel.Run(d.Input.Int8(arena), d.Output.OutInt8(arena), scratch);
}

internal sealed class FullyConnectedOptimizedOp(FullyConnectedData d, FullyConnectedOptimized kernel) : PreparedOp
{
    public override int ScratchBytes => kernel.ScratchBytes;

    public override void Invoke(Span<byte> arena, Span<byte> scratch)
        => kernel.Run(d.Input.Int8(arena), d.Output.OutInt8(arena), scratch);
}
