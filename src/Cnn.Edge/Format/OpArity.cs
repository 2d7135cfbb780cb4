namespace Cnn.Edge.Format;

/// <summary>
/// Input, output and parameter counts of each op (the slot layouts in <see cref="OpCode"/>), checked by the
/// loader before any op code looks at a record. Weighted ops take (x activation, w int8 constant,
/// bias int32 constant or -1); every other input of every op is an activation in the arena.
/// </summary>
internal readonly record struct OpArity(int MinInputs, int MaxInputs, int Params, bool Weighted)
{
    public const int Outputs = 1;
    public const ushort MaxCode = (ushort)OpCode.Pad2D;

    public static bool TryGet(ushort code, out OpArity arity)
    {
        arity = (OpCode)code switch
        {
            OpCode.Conv2D => new(3, 3, ConvParams.SlotCount, true),
            OpCode.FullyConnected => new(3, 3, 2, true),
            OpCode.MaxPool2D => new(1, 1, PoolParams.SlotCount, false),
            OpCode.AveragePool2D => new(1, 1, PoolParams.SlotCount, false),
            OpCode.GlobalAveragePool => new(1, 1, 2, false),
            OpCode.GlobalMaxPool => new(1, 1, 0, false),
            OpCode.Add => new(2, 2, 2, false),
            OpCode.Concat => new(2, 64, 2, false),
            OpCode.Reshape => new(1, 1, 0, false),
            OpCode.ChannelShuffle => new(1, 1, 1, false),
            OpCode.TransposeConv2D => new(3, 3, TransposeConvParams.SlotCount, true),
            OpCode.Softmax => new(1, 1, 1, false),
            OpCode.Quantize => new(1, 1, 0, false),
            OpCode.Dequantize => new(1, 1, 0, false),
            OpCode.LeakyRelu => new(1, 1, 1, false),
            OpCode.Pad2D => new(1, 1, 6, false),
            _ => default,
        };
        return arity.MaxInputs > 0;
    }
}
