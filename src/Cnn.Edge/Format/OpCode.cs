namespace Cnn.Edge;

/// <summary>
/// The operators of the edge model format. Values are stored in files: never renumber,
/// only append. Each op's inputs, outputs and int32 parameter slots are listed here and in
/// docs/model-format.md; the loader checks the counts and <see cref="OpShapes"/> checks shapes.
/// </summary>
public enum OpCode : ushort
{
    /// <summary>inputs: x [N,H,W,Cin] int8, w [Cout,KH,KW,Cin/groups] int8 (per-channel scales), bias [Cout] int32 (or -1).
    /// output: [N,OH,OW,Cout] int8. params: <see cref="ConvParams"/>.</summary>
    Conv2D = 1,
    /// <summary>inputs: x [N,...,Cin] int8 (flattened to [N,Cin]), w [Cout,Cin] int8, bias [Cout] int32 (or -1).
    /// output: [N,Cout] int8 (rank 2, or [N,1,1,Cout]). params: act_min, act_max.</summary>
    FullyConnected = 2,
    /// <summary>inputs: x [N,H,W,C] int8. output [N,OH,OW,C], same scale and zero point. params: <see cref="PoolParams"/>.</summary>
    MaxPool2D = 3,
    /// <summary>inputs: x [N,H,W,C] int8. output [N,OH,OW,C], same scale and zero point. params: <see cref="PoolParams"/>.</summary>
    AveragePool2D = 4,
    /// <summary>inputs: x [N,H,W,C] int8. output [N,1,1,C] int8, any scale. params: act_min, act_max.</summary>
    GlobalAveragePool = 5,
    /// <summary>inputs: x [N,H,W,C] int8. output [N,1,1,C], same scale and zero point. params: none.</summary>
    GlobalMaxPool = 6,
    /// <summary>inputs: a, b int8 of one shape, or of one rank ≤ 4 where each dimension is equal or 1 in one of them (broadcasting).
    /// output the (broadcast) shape, any scale. params: act_min, act_max.</summary>
    Add = 7,
    /// <summary>inputs: 2..64 int8 tensors [N,H,W,Ci]. output [N,H,W,sum Ci]. params: act_min, act_max.</summary>
    Concat = 8,
    /// <summary>inputs: x. output: same element count and type, other shape, same quantization. params: none.</summary>
    Reshape = 9,
    /// <summary>inputs: x [N,H,W,C] int8. output same shape and quantization. params: groups (C % groups == 0).</summary>
    ChannelShuffle = 10,
    /// <summary>inputs: x [N,H,W,Cin] int8, w [Cout,KH,KW,Cin] int8 (per-channel), bias [Cout] int32 (or -1).
    /// output [N,OH,OW,Cout] int8. params: <see cref="TransposeConvParams"/>.</summary>
    TransposeConv2D = 11,
    /// <summary>inputs: x int8 [..., C] (softmax over the last axis). output float32 or int8 (scale 1/256, zero point -128), same shape.
    /// params: beta as float bits.</summary>
    Softmax = 12,
    /// <summary>inputs: x float32. output int8 same shape. params: none.</summary>
    Quantize = 13,
    /// <summary>inputs: x int8. output float32 same shape. params: none.</summary>
    Dequantize = 14,
    /// <summary>inputs: x int8. output int8 same shape, any scale: y = x ≥ 0 ? x : alpha·x, in fixed point.
    /// params: alpha as float bits (finite).</summary>
    LeakyRelu = 15,
    /// <summary>inputs: x [N,H,W,C] int8. output [N,H+pad_top+pad_bottom,W+pad_left+pad_right,C], same scale and zero point.
    /// params: pad_top, pad_left, pad_bottom, pad_right, value (the int8 fill of mode 0: the zero point for zero padding),
    /// mode (0 constant, 1 reflect without repeating the edge: pads below H and W, 2 edge: the border repeated).</summary>
    Pad2D = 16,
}

/// <summary>Element type of a tensor. Stored in files.</summary>
public enum TensorType : byte
{
    Int8 = 1,
    Int32 = 2,
    Float32 = 3,
}

/// <summary>Padding is always stored explicitly (top, left, bottom, right): "same" is resolved by the writer.</summary>
/// <remarks>Conv2D params, in slot order:
/// stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left, pad_bottom, pad_right, groups, act_min, act_max.
/// Output size: OH = (H + pad_top + pad_bottom - dilation_h*(KH-1) - 1) / stride_h + 1.</remarks>
public readonly record struct ConvParams(
    int StrideH, int StrideW, int DilationH, int DilationW,
    int PadTop, int PadLeft, int PadBottom, int PadRight,
    int Groups, int ActMin, int ActMax)
{
    public const int SlotCount = 11;
}

/// <remarks>Pool params, in slot order:
/// kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right, ceil_mode (0/1),
/// count_include_pad (0/1, average only), act_min, act_max.
/// OH = floor_or_ceil((H + pt + pb - KH) / SH) + 1; with ceil mode the last window must start inside H + pt (PyTorch rule).</remarks>
public readonly record struct PoolParams(
    int KernelH, int KernelW, int StrideH, int StrideW,
    int PadTop, int PadLeft, int PadBottom, int PadRight,
    bool CeilMode, bool CountIncludePad, int ActMin, int ActMax)
{
    public const int SlotCount = 12;
}

/// <remarks>TransposeConv2D params, in slot order:
/// stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left, pad_bottom, pad_right, output_pad_h, output_pad_w, act_min, act_max.
/// OH = (H - 1)*stride_h - pad_top - pad_bottom + dilation_h*(KH - 1) + output_pad_h + 1 (ONNX/PyTorch rule).</remarks>
public readonly record struct TransposeConvParams(
    int StrideH, int StrideW, int DilationH, int DilationW,
    int PadTop, int PadLeft, int PadBottom, int PadRight,
    int OutputPadH, int OutputPadW, int ActMin, int ActMax)
{
    public const int SlotCount = 12;
}
