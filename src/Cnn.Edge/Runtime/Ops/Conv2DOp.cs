using System.Runtime.InteropServices;
using Cnn.Edge.Kernels;

namespace Cnn.Edge.Runtime.Ops;

/// <summary>
/// What every op with int8 weights needs, computed once at prepare (OpFactory): tensor views, zero points,
/// weights and bias used in place from the model file, per-channel requantization and the fused clamp.
/// Optimized kernels take the same data (and may add packed weights of their own at prepare).
/// </summary>
internal abstract class WeightedOpData
{
    public required TensorView Input { get; init; }
    public required TensorView Output { get; init; }
    public required int InputZeroPoint { get; init; }
    public required int OutputZeroPoint { get; init; }
    /// <summary>Int8 weights, output channel first, in place in the model file.</summary>
    public required ReadOnlyMemory<byte> Weights { get; init; }
    /// <summary>[Cout] int32, in place in the model file; empty when the op has no bias.</summary>
    public required ReadOnlyMemory<byte> Bias { get; init; }
    public required int[] Multipliers { get; init; }
    public required int[] Shifts { get; init; }
    public required int ActMin { get; init; }
    public required int ActMax { get; init; }

    public ReadOnlySpan<sbyte> WeightsSpan => MemoryMarshal.Cast<byte, sbyte>(Weights.Span);
    public ReadOnlySpan<int> BiasSpan => MemoryMarshal.Cast<byte, int>(Bias.Span);
}

/// <summary>Conv2D: weights [Cout, KH, KW, Cin/groups].</summary>
internal sealed class Conv2DData : WeightedOpData
{
    public required Conv2DShape Shape { get; init; }
}

/// <summary>Conv2D through the scalar reference kernel (the specification).</summary>
internal sealed class Conv2DReferenceOp : PreparedOp
{
    private readonly Conv2DData _d;

    public Conv2DReferenceOp(Conv2DData d) => _d = d;

    public override void Invoke(Span<byte> arena, Span<byte> scratch)
        => Conv2DReference.Run(_d.Shape, _d.Input.Int8(arena), _d.InputZeroPoint, _d.WeightsSpan, _d.BiasSpan,
            _d.Multipliers, _d.Shifts, _d.OutputZeroPoint, _d.ActMin, _d.ActMax, _d.Output.OutInt8(arena));
}

/// <summary>Everything a TransposeConv2D kernel needs (weights [Cout, KH, KW, Cin]).</summary>
internal sealed class TransposeConv2DData : WeightedOpData
{
    public required TransposeConv2DShape Shape { get; init; }
}

internal sealed class TransposeConv2DReferenceOp : PreparedOp
{
    private readonly TransposeConv2DData _d;

    public TransposeConv2DReferenceOp(TransposeConv2DData d) => _d = d;

    public override void Invoke(Span<byte> arena, Span<byte> scratch)
        => TransposeConv2DReference.Run(_d.Shape, _d.Input.Int8(arena), _d.InputZeroPoint,
            _d.WeightsSpan, _d.BiasSpan,
            _d.Multipliers, _d.Shifts, _d.OutputZeroPoint, _d.ActMin, _d.ActMax, _d.Output.OutInt8(arena));
}
