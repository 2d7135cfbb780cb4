using System.Runtime.InteropServices;
using Cnn.Edge.Kernels;

namespace Cnn.Edge.Runtime.Ops;

/// <summary>Everything a FullyConnected kernel needs, computed once at prepare.</summary>
internal sealed class FullyConnectedData
{
    public required FullyConnectedShape Shape { get; init; }
    public required TensorView Input { get; init; }
    public required TensorView Output { get; init; }
    public required int InputZeroPoint { get; init; }
    public required int OutputZeroPoint { get; init; }
    /// <summary>[Cout, Cin] int8 in place in the model file.</summary>
    public required ReadOnlyMemory<byte> Weights { get; init; }
    /// <summary>[Cout] int32 in place; empty when absent.</summary>
    public required ReadOnlyMemory<byte> Bias { get; init; }
    public required int[] Multipliers { get; init; }
    public required int[] Shifts { get; init; }
    public required int ActMin { get; init; }
    public required int ActMax { get; init; }

    public ReadOnlySpan<sbyte> WeightsSpan => MemoryMarshal.Cast<byte, sbyte>(Weights.Span);
    public ReadOnlySpan<int> BiasSpan => MemoryMarshal.Cast<byte, int>(Bias.Span);
}

internal sealed class FullyConnectedReferenceOp : PreparedOp
{
    private readonly FullyConnectedData _d;

    public FullyConnectedReferenceOp(FullyConnectedData d) => _d = d;

    public override void Invoke(Span<byte> arena, Span<byte> scratch)
        => FullyConnectedReference.Run(_d.Shape, _d.Input.Int8(arena), _d.InputZeroPoint, _d.WeightsSpan, _d.BiasSpan,
            _d.Multipliers, _d.Shifts, _d.OutputZeroPoint, _d.ActMin, _d.ActMax, _d.Output.OutInt8(arena));
}
