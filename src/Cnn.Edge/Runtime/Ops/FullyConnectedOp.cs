using Cnn.Edge.Kernels;

namespace Cnn.Edge.Runtime.Ops;

/// <summary>FullyConnected: weights [Cout, Cin].</summary>
internal sealed class FullyConnectedData : WeightedOpData
{
    public required FullyConnectedShape Shape { get; init; }
}

internal sealed class FullyConnectedReferenceOp : PreparedOp
{
    private readonly FullyConnectedData _d;

    public FullyConnectedReferenceOp(FullyConnectedData d) => _d = d;

    public override void Invoke(Span<byte> arena, Span<byte> scratch)
        => FullyConnectedReference.Run(_d.Shape, _d.Input.Int8(arena), _d.InputZeroPoint, _d.WeightsSpan, _d.BiasSpan,
            _d.Multipliers, _d.Shifts, _d.OutputZeroPoint, _d.ActMin, _d.ActMax, _d.Output.OutInt8(arena));
}
