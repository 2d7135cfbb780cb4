using Cnn.Edge.Kernels;

namespace Cnn.Edge.Runtime.Ops;

internal sealed class MaxPool2DOp(PoolShape shape, TensorView input, TensorView output, int actMin, int actMax) : PreparedOp
{
    public override void Invoke(Span<byte> arena, Span<byte> scratch)
        => MaxPool2DReference.Run(shape, input.Int8(arena), actMin, actMax, output.OutInt8(arena));
}

internal sealed class AveragePool2DOp(PoolShape shape, bool countIncludePad, TensorView input, TensorView output,
    int zeroPoint, int actMin, int actMax) : PreparedOp
{
    public override void Invoke(Span<byte> arena, Span<byte> scratch)
        => AveragePool2DReference.Run(shape, countIncludePad, input.Int8(arena), zeroPoint, actMin, actMax, output.OutInt8(arena));
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
