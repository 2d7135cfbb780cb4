namespace Cnn.Edge;

/// <summary>A tensor of a loaded model: shape (NHWC for 4-D activations), type and quantization.</summary>
public sealed class TensorInfo
{
    public required int Index { get; init; }
    public required string Name { get; init; }
    public required TensorType Type { get; init; }
    public required int[] Shape { get; init; }
    /// <summary>Per-tensor scale (activations, int32 bias may be 0 when per-channel).</summary>
    public float Scale { get; init; }
    public int ZeroPoint { get; init; }
    /// <summary>Per-output-channel scales of int8 weights (symmetric, zero point 0); null otherwise.</summary>
    public float[]? ChannelScales { get; init; }
    public bool IsConstant { get; init; }
    /// <summary>Offset of an activation in the arena; -1 for constants.</summary>
    public int ArenaOffset { get; init; } = -1;
    /// <summary>Constant data, used in place from the loaded file (empty for activations).</summary>
    public ReadOnlyMemory<byte> Data { get; init; }

    public int ElementCount
    {
        get
        {
            long n = 1;
            foreach (int d in Shape) n *= d;
            return (int)n;
        }
    }

    public int ByteLength => ElementCount * ElementSize(Type);

    public static int ElementSize(TensorType type) => type switch
    {
        TensorType.Int8 => 1,
        TensorType.Int32 => 4,
        TensorType.Float32 => 4,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown tensor type"),
    };

    public override string ToString() => $"{Name} {Type}[{string.Join('x', Shape)}]";
}

/// <summary>An operator of a loaded model: its inputs and outputs (tensor indices; -1 = absent optional input) and int32 parameter slots.</summary>
public sealed class OpInfo
{
    public required int Index { get; init; }
    public required string Name { get; init; }
    public required OpCode Code { get; init; }
    public required int[] Inputs { get; init; }
    public required int[] Outputs { get; init; }
    public required int[] Params { get; init; }
    /// <summary>Byte offset of this op's record in the file, for error messages.</summary>
    public long FileOffset { get; init; }

    public override string ToString() => $"#{Index} {Code} '{Name}'";
}

/// <summary>Kernel instruction set. Auto picks the best the CPU supports, once, at load.</summary>
public enum KernelIsa
{
    Auto,
    Scalar,
    Vector128,
    AdvSimd,
    AdvSimdDp,
    Avx2,
    AvxVnni,
}
