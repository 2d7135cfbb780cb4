using Cnn.Edge.Kernels;

namespace Cnn.Edge.Runtime.Ops;

internal sealed class AddOp(AddParams p, TensorView a, TensorView b, TensorView output) : PreparedOp
{
    public override void Invoke(Span<byte> arena, Span<byte> scratch)
        => AddReference.Run(p, a.Int8(arena), b.Int8(arena), output.OutInt8(arena));
}

internal sealed class AddBroadcastOp(AddParams p, AddBroadcast shape, TensorView a, TensorView b, TensorView output) : PreparedOp
{
    public override void Invoke(Span<byte> arena, Span<byte> scratch)
        => AddReference.RunBroadcast(p, shape, a.Int8(arena), b.Int8(arena), output.OutInt8(arena));
}

/// <summary>Concat along the last axis: each input requantized into its channel slice.</summary>
internal sealed class ConcatOp(int outer, TensorView[] inputs, int[] channels, int[] zeroPoints, int[] multipliers, int[] shifts,
    TensorView output, int outputChannels, int outputZeroPoint, int actMin, int actMax) : PreparedOp
{
    public override void Invoke(Span<byte> arena, Span<byte> scratch)
    {
        Span<sbyte> y = output.OutInt8(arena);
        int offset = 0;
        for (int i = 0; i < inputs.Length; i++)
        {
            ConcatReference.RunInput(outer, channels[i], outputChannels, offset, inputs[i].Int8(arena), zeroPoints[i],
                multipliers[i], shifts[i], outputZeroPoint, actMin, actMax, y);
            offset += channels[i];
        }
    }
}

/// <summary>Reshape/Flatten: the bytes do not change, only the shape; copied (memmove, so an aliased plan is fine).</summary>
internal sealed class ReshapeOp(TensorView input, TensorView output) : PreparedOp
{
    public override void Invoke(Span<byte> arena, Span<byte> scratch)
        => input.Bytes(arena).CopyTo(output.OutBytes(arena));
}

internal sealed class ChannelShuffleOp(int outer, int channels, int groups, TensorView input, TensorView output) : PreparedOp
{
    public override void Invoke(Span<byte> arena, Span<byte> scratch)
        => ChannelShuffleReference.Run(outer, channels, groups, input.Int8(arena), output.OutInt8(arena));
}

internal sealed class SoftmaxFloatOp(int outer, int classes, int[] table, TensorView input, TensorView output) : PreparedOp
{
    public override void Invoke(Span<byte> arena, Span<byte> scratch)
        => SoftmaxReference.RunFloat(outer, classes, input.Int8(arena), table, output.OutFloat(arena));
}

internal sealed class SoftmaxInt8Op(int outer, int classes, int[] table, TensorView input, TensorView output) : PreparedOp
{
    public override void Invoke(Span<byte> arena, Span<byte> scratch)
        => SoftmaxReference.RunInt8(outer, classes, input.Int8(arena), table, output.OutInt8(arena));
}

internal sealed class QuantizeOp(float scale, int zeroPoint, TensorView input, TensorView output) : PreparedOp
{
    public override void Invoke(Span<byte> arena, Span<byte> scratch)
        => QuantizeReference.Run(input.Float(arena), scale, zeroPoint, output.OutInt8(arena));
}

internal sealed class DequantizeOp(float scale, int zeroPoint, TensorView input, TensorView output) : PreparedOp
{
    public override void Invoke(Span<byte> arena, Span<byte> scratch)
        => DequantizeReference.Run(input.Int8(arena), scale, zeroPoint, output.OutFloat(arena));
}

internal sealed class LeakyReluOp(LeakyReluParams p, TensorView input, TensorView output) : PreparedOp
{
    public override void Invoke(Span<byte> arena, Span<byte> scratch)
        => LeakyReluReference.Run(p, input.Int8(arena), output.OutInt8(arena));
}

internal sealed class Pad2DOp(Pad2DShape shape, PadMode mode, sbyte value, TensorView input, TensorView output) : PreparedOp
{
    public override void Invoke(Span<byte> arena, Span<byte> scratch)
        => Pad2DReference.Run(shape, mode, input.Int8(arena), value, output.OutInt8(arena));
}
