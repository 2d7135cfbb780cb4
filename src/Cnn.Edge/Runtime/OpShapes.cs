namespace Cnn.Edge;

/// <summary>
/// Shape rules of every op: validates an op's parameter slots, input count, types, ranks and
/// shapes, and returns its output shapes. The loader calls it on every op of a file (the file is
/// untrusted) and the builder calls it to infer shapes. Every bound needed so that kernels cannot
/// overflow int32 index arithmetic is checked here. Failures throw <see cref="ModelFormatException"/>
/// in section "ops" at the op's record offset, with a hint naming the op and the slot.
/// </summary>
public static class OpShapes
{
    /// <summary>Kernel area cap for average pooling: |sum| ≤ KH*KW*128 stays far inside int32.</summary>
    public const int MaxPoolWindow = 1 << 23;
    /// <summary>H*W cap for global average pooling: |Σ (q - zp)| ≤ H*W*255 ≤ int.MaxValue.</summary>
    public const int MaxGlobalPoolArea = int.MaxValue / 255;
    /// <summary>Cap on any padding, stride, dilation or kernel size: keeps every window coordinate in int32.</summary>
    public const int MaxGeometry = 1 << 20;
    public const int MaxConcatInputs = 64;

    /// <summary>Validates <paramref name="op"/> against its input tensors and returns the shape of each output.</summary>
    /// <exception cref="ModelFormatException">anything about the op is invalid.</exception>
    public static int[][] InferOutputShapes(OpInfo op, IReadOnlyList<TensorInfo> tensors)
    {
        ArgumentNullException.ThrowIfNull(op);
        ArgumentNullException.ThrowIfNull(tensors);
        if (op.Outputs is null || op.Outputs.Length != 1)
            throw Fail(op, "1 output", $"{op.Outputs?.Length ?? 0} outputs", "outputs");
        if (op.Inputs is null || op.Params is null)
            throw Fail(op, "inputs and params", "missing", "record");
        int[] shape = op.Code switch
        {
            OpCode.Conv2D => Conv2D(op, tensors),
            OpCode.FullyConnected => FullyConnected(op, tensors),
            OpCode.MaxPool2D or OpCode.AveragePool2D => Pool2D(op, tensors),
            OpCode.GlobalAveragePool or OpCode.GlobalMaxPool => GlobalPool(op, tensors),
            OpCode.Add => Add(op, tensors),
            OpCode.Concat => Concat(op, tensors),
            OpCode.Reshape => Reshape(op, tensors),
            OpCode.ChannelShuffle => ChannelShuffle(op, tensors),
            OpCode.TransposeConv2D => TransposeConv2D(op, tensors),
            OpCode.Softmax => Softmax(op, tensors),
            OpCode.Quantize => Elementwise(op, tensors, TensorType.Float32, TensorType.Int8),
            OpCode.Dequantize => Elementwise(op, tensors, TensorType.Int8, TensorType.Float32),
            OpCode.LeakyRelu => LeakyRelu(op, tensors),
            OpCode.Pad2D => Pad2D(op, tensors),
            _ => throw Fail(op, "a known op code", ((int)op.Code).ToString(), "code"),
        };
        // Softmax, Dequantize and Reshape check their own output types; every other op writes int8.
        if (op.Code is not (OpCode.Softmax or OpCode.Dequantize or OpCode.Reshape))
        {
            var o = OutputTensor(op, tensors);
            if (o is not null && o.Type != TensorType.Int8)
                throw Fail(op, "an Int8 output", $"{o.Type} tensor '{o.Name}'", "output 0 type");
        }
        return [shape];
    }

    /// <summary>Reads the Conv2D parameter slots (count already validated by <see cref="InferOutputShapes"/>).</summary>
    public static ConvParams ReadConvParams(int[] p) => new(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10]);
    public static PoolParams ReadPoolParams(int[] p) => new(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8] != 0, p[9] != 0, p[10], p[11]);
    public static TransposeConvParams ReadTransposeConvParams(int[] p) => new(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11]);

    private static int[] Conv2D(OpInfo op, IReadOnlyList<TensorInfo> t)
    {
        ParamCount(op, ConvParams.SlotCount);
        InputCount(op, 2, 3);
        var x = Input(op, t, 0, TensorType.Int8, 4, "input");
        var w = Input(op, t, 1, TensorType.Int8, 4, "weights");
        var p = ReadConvParams(op.Params);
        AtLeast(op, p.StrideH, 1, "stride_h"); AtLeast(op, p.StrideW, 1, "stride_w");
        AtLeast(op, p.DilationH, 1, "dilation_h"); AtLeast(op, p.DilationW, 1, "dilation_w");
        Pad(op, p.PadTop, "pad_top"); Pad(op, p.PadLeft, "pad_left"); Pad(op, p.PadBottom, "pad_bottom"); Pad(op, p.PadRight, "pad_right");
        AtMost(op, p.StrideH, MaxGeometry, "stride_h"); AtMost(op, p.StrideW, MaxGeometry, "stride_w");
        AtMost(op, p.DilationH, MaxGeometry, "dilation_h"); AtMost(op, p.DilationW, MaxGeometry, "dilation_w");
        Activation(op, p.ActMin, p.ActMax, 9);
        int n = x.Shape[0], h = x.Shape[1], wd = x.Shape[2], cin = x.Shape[3];
        int cout = w.Shape[0], kh = w.Shape[1], kw = w.Shape[2], cg = w.Shape[3];
        AtLeast(op, p.Groups, 1, "groups");
        if (cin % p.Groups != 0 || cout % p.Groups != 0)
            throw Fail(op, $"groups dividing Cin={cin} and Cout={cout}", p.Groups.ToString(), "param groups (slot 8)");
        if (cg != cin / p.Groups)
            throw Fail(op, $"weights [Cout,KH,KW,Cin/groups={cin / p.Groups}]", ShapeText(w.Shape), "input 1 (weights) last dimension");
        AtMost(op, kh, MaxGeometry, "kernel height (weights dim 1)"); AtMost(op, kw, MaxGeometry, "kernel width (weights dim 2)");
        Bias(op, t, cout);
        int oh = ConvOutput(op, h, p.PadTop, p.PadBottom, kh, p.DilationH, p.StrideH, "height");
        int ow = ConvOutput(op, wd, p.PadLeft, p.PadRight, kw, p.DilationW, p.StrideW, "width");
        return Checked(op, [n, oh, ow, cout]);
    }

    private static int ConvOutput(OpInfo op, int size, int padBefore, int padAfter, int kernel, int dilation, int stride, string axis)
    {
        long effective = (long)dilation * (kernel - 1) + 1;
        long span = (long)size + padBefore + padAfter;
        if (effective > span)
            throw Fail(op, $"dilated kernel {axis} ≤ padded input {axis} {span}", effective.ToString(), $"kernel {axis} vs input {axis} + pads");
        return (int)((span - effective) / stride + 1);
    }

    private static int[] FullyConnected(OpInfo op, IReadOnlyList<TensorInfo> t)
    {
        ParamCount(op, 2);
        InputCount(op, 2, 3);
        var x = Input(op, t, 0, TensorType.Int8, -2, "input");
        var w = Input(op, t, 1, TensorType.Int8, 2, "weights");
        Activation(op, op.Params[0], op.Params[1], 0);
        int n = x.Shape[0];
        long cin = 1;
        for (int i = 1; i < x.Shape.Length; i++) cin *= x.Shape[i];
        int cout = w.Shape[0];
        if (w.Shape[1] != cin)
            throw Fail(op, $"weights [Cout, Cin={cin}] (input flattened per batch)", ShapeText(w.Shape), "input 1 (weights)");
        Bias(op, t, cout);
        // The output may be declared as [N, Cout] or [N, 1, 1, Cout]; both hold the same bytes.
        var o = OutputTensor(op, t);
        if (o is not null && o.Shape.Length == 4) return Checked(op, [n, 1, 1, cout]);
        return Checked(op, [n, cout]);
    }

    private static int[] Pool2D(OpInfo op, IReadOnlyList<TensorInfo> t)
    {
        ParamCount(op, PoolParams.SlotCount);
        InputCount(op, 1, 1);
        var x = Input(op, t, 0, TensorType.Int8, 4, "input");
        var p = ReadPoolParams(op.Params);
        AtLeast(op, p.KernelH, 1, "kernel_h"); AtLeast(op, p.KernelW, 1, "kernel_w");
        AtLeast(op, p.StrideH, 1, "stride_h"); AtLeast(op, p.StrideW, 1, "stride_w");
        AtMost(op, p.StrideH, MaxGeometry, "stride_h"); AtMost(op, p.StrideW, MaxGeometry, "stride_w");
        if ((long)p.KernelH * p.KernelW > MaxPoolWindow)
            throw Fail(op, $"kernel_h*kernel_w ≤ {MaxPoolWindow}", $"{(long)p.KernelH * p.KernelW}", "params kernel_h, kernel_w (slots 0, 1)");
        // A pad as large as the kernel would make windows of padding only (no input element).
        PoolPad(op, p.PadTop, p.KernelH, "pad_top"); PoolPad(op, p.PadBottom, p.KernelH, "pad_bottom");
        PoolPad(op, p.PadLeft, p.KernelW, "pad_left"); PoolPad(op, p.PadRight, p.KernelW, "pad_right");
        Flag(op, op.Params[8], "ceil_mode"); Flag(op, op.Params[9], "count_include_pad");
        Activation(op, p.ActMin, p.ActMax, 10);
        int oh = PoolOutput(op, x.Shape[1], p.PadTop, p.PadBottom, p.KernelH, p.StrideH, p.CeilMode, "height");
        int ow = PoolOutput(op, x.Shape[2], p.PadLeft, p.PadRight, p.KernelW, p.StrideW, p.CeilMode, "width");
        return Checked(op, [x.Shape[0], oh, ow, x.Shape[3]]);
    }

    /// <summary>PyTorch's pooling output size: floor or ceil of (size + pads - kernel) / stride + 1; in ceil mode the last window must start inside size + padBefore.</summary>
    public static int PoolOutputSize(int size, int padBefore, int padAfter, int kernel, int stride, bool ceilMode)
    {
        long num = (long)size + padBefore + padAfter - kernel;
        long o = (ceilMode ? (num + stride - 1) / stride : num / stride) + 1;
        if (ceilMode && (o - 1) * stride >= (long)size + padBefore) o--;
        return (int)o;
    }

    private static int PoolOutput(OpInfo op, int size, int padBefore, int padAfter, int kernel, int stride, bool ceil, string axis)
    {
        long span = (long)size + padBefore + padAfter;
        if (kernel > span)
            throw Fail(op, $"kernel {axis} ≤ padded input {axis} {span}", kernel.ToString(), $"kernel {axis} vs input {axis} + pads");
        return PoolOutputSize(size, padBefore, padAfter, kernel, stride, ceil);
    }

    private static int[] GlobalPool(OpInfo op, IReadOnlyList<TensorInfo> t)
    {
        ParamCount(op, op.Code == OpCode.GlobalAveragePool ? 2 : 0);
        InputCount(op, 1, 1);
        var x = Input(op, t, 0, TensorType.Int8, 4, "input");
        if (op.Code == OpCode.GlobalAveragePool)
        {
            Activation(op, op.Params[0], op.Params[1], 0);
            long area = (long)x.Shape[1] * x.Shape[2];
            if (area > MaxGlobalPoolArea)
                throw Fail(op, $"H*W ≤ {MaxGlobalPoolArea} (int32 sum)", area.ToString(), "input 0 height x width");
        }
        return Checked(op, [x.Shape[0], 1, 1, x.Shape[3]]);
    }

    private static int[] Add(OpInfo op, IReadOnlyList<TensorInfo> t)
    {
        ParamCount(op, 2);
        InputCount(op, 2, 2);
        var a = Input(op, t, 0, TensorType.Int8, -1, "a");
        var b = Input(op, t, 1, TensorType.Int8, -1, "b");
        Activation(op, op.Params[0], op.Params[1], 0);
        if (a.Shape.AsSpan().SequenceEqual(b.Shape)) return Checked(op, (int[])a.Shape.Clone());
        // Broadcasting: one rank ≤ 4, each dimension equal or 1 in one of them.
        if (a.Shape.Length != b.Shape.Length || a.Shape.Length > 4)
            throw Fail(op, $"b of a's shape {ShapeText(a.Shape)}, or of its rank (≤ 4) for broadcasting", ShapeText(b.Shape), "input 1");
        var shape = new int[a.Shape.Length];
        for (int d = 0; d < shape.Length; d++)
        {
            if (a.Shape[d] != b.Shape[d] && a.Shape[d] != 1 && b.Shape[d] != 1)
                throw Fail(op, $"b[{d}] equal to a[{d}] = {a.Shape[d]}, or 1 in either (broadcasting)", ShapeText(b.Shape), $"input 1 dimension {d}");
            shape[d] = Math.Max(a.Shape[d], b.Shape[d]);
        }
        return Checked(op, shape);
    }

    private static int[] Concat(OpInfo op, IReadOnlyList<TensorInfo> t)
    {
        ParamCount(op, 2);
        InputCount(op, 2, MaxConcatInputs);
        Activation(op, op.Params[0], op.Params[1], 0);
        var first = Input(op, t, 0, TensorType.Int8, -1, "input 0");
        int rank = first.Shape.Length;
        long channels = 0;
        for (int i = 0; i < op.Inputs.Length; i++)
        {
            var x = Input(op, t, i, TensorType.Int8, rank, $"input {i}");
            for (int d = 0; d < rank - 1; d++)
                if (x.Shape[d] != first.Shape[d])
                    throw Fail(op, $"all inputs equal to {ShapeText(first.Shape)} except the last axis", ShapeText(x.Shape), $"input {i} dimension {d}");
            channels += x.Shape[rank - 1];
        }
        if (channels > int.MaxValue)
            throw Fail(op, "total channels ≤ int.MaxValue", channels.ToString(), "inputs' last axis");
        var shape = (int[])first.Shape.Clone();
        shape[rank - 1] = (int)channels;
        return Checked(op, shape);
    }

    private static int[] Reshape(OpInfo op, IReadOnlyList<TensorInfo> t)
    {
        ParamCount(op, 0);
        InputCount(op, 1, 1);
        var x = Input(op, t, 0, null, -1, "input");
        var o = OutputTensor(op, t) ?? throw Fail(op, "an output tensor (it defines the new shape)", "none", "output 0");
        if (o.Type != x.Type)
            throw Fail(op, $"output type {x.Type}", o.Type.ToString(), "output 0 type");
        ValidShape(op, o.Shape, "output 0");
        if (Count(o.Shape) != Count(x.Shape))
            throw Fail(op, $"output element count {Count(x.Shape)}", $"{Count(o.Shape)} ({ShapeText(o.Shape)})", "output 0 shape");
        return (int[])o.Shape.Clone();
    }

    private static int[] ChannelShuffle(OpInfo op, IReadOnlyList<TensorInfo> t)
    {
        ParamCount(op, 1);
        InputCount(op, 1, 1);
        var x = Input(op, t, 0, TensorType.Int8, -1, "input");
        int groups = op.Params[0];
        int c = x.Shape[^1];
        AtLeast(op, groups, 1, "groups");
        if (c % groups != 0)
            throw Fail(op, $"groups dividing channels {c}", groups.ToString(), "param groups (slot 0)");
        return Checked(op, (int[])x.Shape.Clone());
    }

    private static int[] TransposeConv2D(OpInfo op, IReadOnlyList<TensorInfo> t)
    {
        ParamCount(op, TransposeConvParams.SlotCount);
        InputCount(op, 2, 3);
        var x = Input(op, t, 0, TensorType.Int8, 4, "input");
        var w = Input(op, t, 1, TensorType.Int8, 4, "weights");
        var p = ReadTransposeConvParams(op.Params);
        AtLeast(op, p.StrideH, 1, "stride_h"); AtLeast(op, p.StrideW, 1, "stride_w");
        AtLeast(op, p.DilationH, 1, "dilation_h"); AtLeast(op, p.DilationW, 1, "dilation_w");
        AtMost(op, p.StrideH, MaxGeometry, "stride_h"); AtMost(op, p.StrideW, MaxGeometry, "stride_w");
        AtMost(op, p.DilationH, MaxGeometry, "dilation_h"); AtMost(op, p.DilationW, MaxGeometry, "dilation_w");
        Pad(op, p.PadTop, "pad_top"); Pad(op, p.PadLeft, "pad_left"); Pad(op, p.PadBottom, "pad_bottom"); Pad(op, p.PadRight, "pad_right");
        // PyTorch's rule: output padding smaller than stride or dilation (it only disambiguates the size).
        if (p.OutputPadH < 0 || p.OutputPadH >= Math.Max(p.StrideH, p.DilationH))
            throw Fail(op, $"0 ≤ output_pad_h < max(stride_h, dilation_h) = {Math.Max(p.StrideH, p.DilationH)}", p.OutputPadH.ToString(), "param output_pad_h (slot 8)");
        if (p.OutputPadW < 0 || p.OutputPadW >= Math.Max(p.StrideW, p.DilationW))
            throw Fail(op, $"0 ≤ output_pad_w < max(stride_w, dilation_w) = {Math.Max(p.StrideW, p.DilationW)}", p.OutputPadW.ToString(), "param output_pad_w (slot 9)");
        Activation(op, p.ActMin, p.ActMax, 10);
        int cin = x.Shape[3], cout = w.Shape[0], kh = w.Shape[1], kw = w.Shape[2];
        if (w.Shape[3] != cin)
            throw Fail(op, $"weights [Cout,KH,KW,Cin={cin}]", ShapeText(w.Shape), "input 1 (weights) last dimension");
        AtMost(op, kh, MaxGeometry, "kernel height (weights dim 1)"); AtMost(op, kw, MaxGeometry, "kernel width (weights dim 2)");
        Bias(op, t, cout);
        int oh = TransposeOutput(op, x.Shape[1], p.StrideH, p.PadTop, p.PadBottom, p.DilationH, kh, p.OutputPadH, "height");
        int ow = TransposeOutput(op, x.Shape[2], p.StrideW, p.PadLeft, p.PadRight, p.DilationW, kw, p.OutputPadW, "width");
        return Checked(op, [x.Shape[0], oh, ow, cout]);
    }

    private static int TransposeOutput(OpInfo op, int size, int stride, int padBefore, int padAfter, int dilation, int kernel, int outputPad, string axis)
    {
        long full = (long)(size - 1) * stride + (long)dilation * (kernel - 1) + outputPad + 1; // before cropping by the pads
        long o = full - padBefore - padAfter;
        if (o < 1 || full + padBefore > int.MaxValue) // the gather loop computes oy + pad_top - ky*dilation_h in int32
            throw Fail(op, $"output {axis} in [1, int.MaxValue]", o.ToString(), $"pads and output_pad along {axis}");
        return (int)o;
    }

    private static int[] Softmax(OpInfo op, IReadOnlyList<TensorInfo> t)
    {
        ParamCount(op, 1);
        InputCount(op, 1, 1);
        var x = Input(op, t, 0, TensorType.Int8, -1, "input");
        float beta = BitConverter.Int32BitsToSingle(op.Params[0]);
        if (!float.IsFinite(beta) || beta <= 0)
            throw Fail(op, "beta finite and > 0", beta.ToString("R"), "param beta (slot 0, float bits)");
        var o = OutputTensor(op, t);
        if (o is not null && o.Type != TensorType.Int8 && o.Type != TensorType.Float32)
            throw Fail(op, "output type Int8 or Float32", o.Type.ToString(), "output 0 type");
        return Checked(op, (int[])x.Shape.Clone());
    }

    private static int[] LeakyRelu(OpInfo op, IReadOnlyList<TensorInfo> t)
    {
        ParamCount(op, 1);
        InputCount(op, 1, 1);
        var x = Input(op, t, 0, TensorType.Int8, -1, "input");
        float alpha = BitConverter.Int32BitsToSingle(op.Params[0]);
        if (!float.IsFinite(alpha))
            throw Fail(op, "alpha finite", alpha.ToString("R"), "param alpha (slot 0, float bits)");
        return Checked(op, (int[])x.Shape.Clone());
    }

    /// <summary>Pad2D params: pad_top, pad_left, pad_bottom, pad_right, value, mode.</summary>
    private static int[] Pad2D(OpInfo op, IReadOnlyList<TensorInfo> t)
    {
        ParamCount(op, 6);
        InputCount(op, 1, 1);
        var x = Input(op, t, 0, TensorType.Int8, 4, "input");
        string[] names = ["pad_top", "pad_left", "pad_bottom", "pad_right"];
        for (int i = 0; i < 4; i++)
        {
            if (op.Params[i] < 0 || op.Params[i] > MaxGeometry)
                throw Fail(op, $"0 ≤ {names[i]} ≤ {MaxGeometry}", op.Params[i].ToString(), $"param {names[i]} (slot {i})");
        }
        if (op.Params[4] < sbyte.MinValue || op.Params[4] > sbyte.MaxValue)
            throw Fail(op, "an int8 fill value in [-128, 127]", op.Params[4].ToString(), "param value (slot 4)");
        if (op.Params[5] is < 0 or > 2)
            throw Fail(op, "mode 0 (constant), 1 (reflect) or 2 (edge)", op.Params[5].ToString(), "param mode (slot 5)");
        if (op.Params[5] == 1 && (Math.Max(op.Params[0], op.Params[2]) >= x.Shape[1] || Math.Max(op.Params[1], op.Params[3]) >= x.Shape[2]))
            throw Fail(op, $"reflect pads below the input height {x.Shape[1]} and width {x.Shape[2]}", $"{op.Params[0]},{op.Params[1]},{op.Params[2]},{op.Params[3]}", "params pad_* (reflect mode)");
        long oh = (long)x.Shape[1] + op.Params[0] + op.Params[2], ow = (long)x.Shape[2] + op.Params[1] + op.Params[3];
        if (oh > int.MaxValue || ow > int.MaxValue)
            throw Fail(op, "padded height and width ≤ int.MaxValue", $"{oh}x{ow}", "params pad_*");
        return Checked(op, [x.Shape[0], (int)oh, (int)ow, x.Shape[3]]);
    }

    private static int[] Elementwise(OpInfo op, IReadOnlyList<TensorInfo> t, TensorType inType, TensorType outType)
    {
        ParamCount(op, 0);
        InputCount(op, 1, 1);
        var x = Input(op, t, 0, inType, -1, "input");
        var o = OutputTensor(op, t);
        if (o is not null && o.Type != outType)
            throw Fail(op, $"output type {outType}", o.Type.ToString(), "output 0 type");
        return Checked(op, (int[])x.Shape.Clone());
    }

    // ---- helpers ----

    private static ModelFormatException Fail(OpInfo op, string expected, string actual, string where)
        => new("ops", op.FileOffset, expected, actual, $"op #{op.Index} '{op.Name}' ({op.Code}): {where}.");

    private static void ParamCount(OpInfo op, int count)
    {
        if (op.Params.Length != count)
            throw Fail(op, $"{count} parameter slots", op.Params.Length.ToString(), "params");
    }

    private static void InputCount(OpInfo op, int min, int max)
    {
        if (op.Inputs.Length < min || op.Inputs.Length > max)
            throw Fail(op, min == max ? $"{min} inputs" : $"{min}..{max} inputs", op.Inputs.Length.ToString(), "inputs");
    }

    /// <param name="rank">Exact rank when ≥ 0; -r means "at least r" (-1: any rank ≥ 1).</param>
    private static TensorInfo Input(OpInfo op, IReadOnlyList<TensorInfo> t, int slot, TensorType? type, int rank, string what)
    {
        int index = op.Inputs[slot];
        if (index < 0 || index >= t.Count)
            throw Fail(op, $"a tensor index in [0, {t.Count})", index.ToString(), $"input {slot} ({what})");
        var x = t[index];
        if (type is { } tt && x.Type != tt)
            throw Fail(op, $"{tt} tensor", $"{x.Type} tensor '{x.Name}'", $"input {slot} ({what})");
        if (x.Shape is null || (rank >= 0 ? x.Shape.Length != rank : x.Shape.Length < -rank))
            throw Fail(op, rank >= 0 ? $"rank {rank}" : $"rank ≥ {-rank}", x.Shape is null ? "no shape" : $"rank {x.Shape.Length} {ShapeText(x.Shape)}", $"input {slot} ({what}) '{x.Name}'");
        ValidShape(op, x.Shape, $"input {slot} ({what}) '{x.Name}'");
        return x;
    }

    private static void ValidShape(OpInfo op, int[] shape, string where)
    {
        foreach (int d in shape)
            if (d < 1)
                throw Fail(op, "every dimension ≥ 1", ShapeText(shape), where);
        if (Count(shape) > int.MaxValue)
            throw Fail(op, "element count ≤ int.MaxValue", Count(shape).ToString(), where);
    }

    private static void Bias(OpInfo op, IReadOnlyList<TensorInfo> t, int cout)
    {
        if (op.Inputs.Length < 3 || op.Inputs[2] == -1) return;
        var b = Input(op, t, 2, TensorType.Int32, 1, "bias");
        if (b.Shape[0] != cout)
            throw Fail(op, $"bias [{cout}] (one per output channel)", ShapeText(b.Shape), "input 2 (bias)");
    }

    private static TensorInfo? OutputTensor(OpInfo op, IReadOnlyList<TensorInfo> t)
    {
        int index = op.Outputs[0];
        if (index < 0 || index >= t.Count)
            throw Fail(op, $"a tensor index in [0, {t.Count})", index.ToString(), "output 0");
        return t[index];
    }

    private static int[] Checked(OpInfo op, int[] shape)
    {
        ValidShape(op, shape, $"inferred output shape {ShapeText(shape)}");
        return shape;
    }

    private static void AtLeast(OpInfo op, int value, int min, string name)
    {
        if (value < min) throw Fail(op, $"{name} ≥ {min}", value.ToString(), $"param {name}");
    }

    private static void AtMost(OpInfo op, int value, int max, string name)
    {
        if (value > max) throw Fail(op, $"{name} ≤ {max}", value.ToString(), $"param {name}");
    }

    private static void Pad(OpInfo op, int value, string name)
    {
        AtLeast(op, value, 0, name);
        AtMost(op, value, MaxGeometry, name);
    }

    private static void PoolPad(OpInfo op, int value, int kernel, string name)
    {
        if (value < 0 || value >= kernel)
            throw Fail(op, $"0 ≤ {name} < kernel {kernel}", value.ToString(), $"param {name}");
    }

    private static void Flag(OpInfo op, int value, string name)
    {
        if (value is not (0 or 1)) throw Fail(op, $"{name} 0 or 1", value.ToString(), $"param {name}");
    }

    private static void Activation(OpInfo op, int min, int max, int slot)
    {
        if (min < sbyte.MinValue || max > sbyte.MaxValue || min > max)
            throw Fail(op, "-128 ≤ act_min ≤ act_max ≤ 127", $"[{min}, {max}]", $"params act_min, act_max (slots {slot}, {slot + 1})");
    }

    private static long Count(int[] shape)
    {
        // Saturates just above int.MaxValue so a hostile shape cannot overflow the long product.
        long n = 1;
        foreach (int d in shape)
        {
            n *= Math.Max(d, 0);
            if (n > int.MaxValue) return int.MaxValue + 1L;
        }
        return n;
    }

    private static string ShapeText(int[] shape) => "[" + string.Join(",", shape) + "]";
}
