using System.Runtime.InteropServices;
using Cnn.Edge.Kernels;
using Cnn.Edge.Runtime.Ops;

namespace Cnn.Edge.Runtime;

/// <summary>
/// Prepare step of every op: validates shapes (<see cref="OpShapes"/>) and quantization, precomputes
/// requantization multipliers and tables, and returns the <see cref="PreparedOp"/> that runs the op.
/// Runs once per op at interpreter construction; everything it rejects is a
/// <see cref="ModelFormatException"/> in section "ops" naming the op.
/// <para>Kernel choice happens in one place per op (<c>Select*</c> methods below): optimized kernels
/// plug in there, keyed by <see cref="KernelIsa"/>, and receive the same prepared data as the reference.</para>
/// </summary>
public static class OpFactory
{
    public static PreparedOp Prepare(OpInfo op, IReadOnlyList<TensorInfo> tensors, KernelIsa isa)
    {
        int[][] shapes = OpShapes.InferOutputShapes(op, tensors);
        var output = tensors[op.Outputs[0]];
        if (!shapes[0].AsSpan().SequenceEqual(output.Shape))
            throw Fail(op, $"output shape [{string.Join(",", shapes[0])}]", $"[{string.Join(",", output.Shape)}] ('{output.Name}')", "output 0 shape does not follow from the inputs and params");
        if (output.IsConstant || output.ArenaOffset < 0)
            throw Fail(op, "an activation output with an arena offset", output.IsConstant ? "a constant" : $"arena offset {output.ArenaOffset}", $"output 0 '{output.Name}'");
        for (int i = 0; i < op.Inputs.Length; i++)
        {
            if (op.Inputs[i] < 0) continue;
            var x = tensors[op.Inputs[i]];
            if (x.IsConstant ? x.Data.Length < x.ByteLength : x.ArenaOffset < 0)
                throw Fail(op, x.IsConstant ? $"{x.ByteLength} bytes of constant data" : "an arena offset ≥ 0",
                    x.IsConstant ? $"{x.Data.Length} bytes" : x.ArenaOffset.ToString(), $"input {i} '{x.Name}'");
        }

        return op.Code switch
        {
            OpCode.Conv2D => SelectConv2D(PrepareConv2D(op, tensors), isa),
            OpCode.FullyConnected => SelectFullyConnected(PrepareFullyConnected(op, tensors), isa),
            OpCode.TransposeConv2D => new TransposeConv2DReferenceOp(PrepareTransposeConv2D(op, tensors)),
            OpCode.MaxPool2D or OpCode.AveragePool2D => PreparePool2D(op, tensors, isa),
            OpCode.GlobalAveragePool => PrepareGlobalAveragePool(op, tensors, isa),
            OpCode.GlobalMaxPool => PrepareGlobalMaxPool(op, tensors, isa),
            OpCode.Add => PrepareAdd(op, tensors) switch
            {
                AddOp same => OptimizedOps.Add(same, op, tensors, isa), // simd hook (inputs of one shape)
                var broadcast => broadcast,
            },
            OpCode.Concat => PrepareConcat(op, tensors),
            OpCode.Reshape => PrepareReshape(op, tensors),
            OpCode.ChannelShuffle => PrepareChannelShuffle(op, tensors),
            OpCode.Softmax => PrepareSoftmax(op, tensors),
            OpCode.Quantize => PrepareQuantize(op, tensors),
            OpCode.Dequantize => PrepareDequantize(op, tensors),
            OpCode.LeakyRelu => PrepareLeakyRelu(op, tensors),
            OpCode.Pad2D => PreparePad2D(op, tensors),
            _ => throw Fail(op, "a known op code", ((int)op.Code).ToString(), "code"),
        };
    }

    // ---- kernel selection: the one place where an ISA picks a kernel ----

    /// <summary>Picks the Conv2D kernel. Optimized kernels must be bit-identical to <see cref="Conv2DReference"/>.</summary>
    internal static PreparedOp SelectConv2D(Conv2DData d, KernelIsa isa)
        => OptimizedOps.TryConv2D(d, isa) ?? new Conv2DReferenceOp(d); // simd hook: null for KernelIsa.Scalar

    /// <summary>Picks the FullyConnected kernel. Optimized kernels must be bit-identical to <see cref="FullyConnectedReference"/>.</summary>
    internal static PreparedOp SelectFullyConnected(FullyConnectedData d, KernelIsa isa)
        => OptimizedOps.TryFullyConnected(d, isa) ?? new FullyConnectedReferenceOp(d); // simd hook: null for KernelIsa.Scalar

    // ---- per-op preparation ----

    private static Conv2DData PrepareConv2D(OpInfo op, IReadOnlyList<TensorInfo> t)
    {
        var p = OpShapes.ReadConvParams(op.Params);
        var x = Activation(op, t, op.Inputs[0], "input 0");
        var w = t[op.Inputs[1]];
        var y = Activation(op, t, op.Outputs[0], "output 0");
        var b = BiasTensor(op, t);
        int cout = w.Shape[0];
        var (mult, shift) = ChannelMultipliers(op, x, w, b, y, cout);
        return new Conv2DData
        {
            Shape = new Conv2DShape(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], y.Shape[1], y.Shape[2], cout,
                w.Shape[1], w.Shape[2], p.StrideH, p.StrideW, p.DilationH, p.DilationW, p.PadTop, p.PadLeft, p.Groups),
            Input = new TensorView(x), Output = new TensorView(y),
            InputZeroPoint = x.ZeroPoint, OutputZeroPoint = y.ZeroPoint,
            Weights = w.Data[..w.ByteLength], Bias = b is null ? ReadOnlyMemory<byte>.Empty : b.Data[..b.ByteLength],
            Multipliers = mult, Shifts = shift, ActMin = p.ActMin, ActMax = p.ActMax,
        };
    }

    private static FullyConnectedData PrepareFullyConnected(OpInfo op, IReadOnlyList<TensorInfo> t)
    {
        var x = Activation(op, t, op.Inputs[0], "input 0");
        var w = t[op.Inputs[1]];
        var y = Activation(op, t, op.Outputs[0], "output 0");
        var b = BiasTensor(op, t);
        int cout = w.Shape[0], cin = w.Shape[1];
        var (mult, shift) = ChannelMultipliers(op, x, w, b, y, cout);
        return new FullyConnectedData
        {
            Shape = new FullyConnectedShape(x.Shape[0], cin, cout),
            Input = new TensorView(x), Output = new TensorView(y),
            InputZeroPoint = x.ZeroPoint, OutputZeroPoint = y.ZeroPoint,
            Weights = w.Data[..w.ByteLength], Bias = b is null ? ReadOnlyMemory<byte>.Empty : b.Data[..b.ByteLength],
            Multipliers = mult, Shifts = shift, ActMin = op.Params[0], ActMax = op.Params[1],
        };
    }

    private static TransposeConv2DData PrepareTransposeConv2D(OpInfo op, IReadOnlyList<TensorInfo> t)
    {
        var p = OpShapes.ReadTransposeConvParams(op.Params);
        var x = Activation(op, t, op.Inputs[0], "input 0");
        var w = t[op.Inputs[1]];
        var y = Activation(op, t, op.Outputs[0], "output 0");
        var b = BiasTensor(op, t);
        int cout = w.Shape[0];
        var (mult, shift) = ChannelMultipliers(op, x, w, b, y, cout);
        return new TransposeConv2DData
        {
            Shape = new TransposeConv2DShape(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], y.Shape[1], y.Shape[2], cout,
                w.Shape[1], w.Shape[2], p.StrideH, p.StrideW, p.DilationH, p.DilationW, p.PadTop, p.PadLeft),
            Input = new TensorView(x), Output = new TensorView(y),
            InputZeroPoint = x.ZeroPoint, OutputZeroPoint = y.ZeroPoint,
            Weights = w.Data[..w.ByteLength], Bias = b is null ? ReadOnlyMemory<byte>.Empty : b.Data[..b.ByteLength],
            Multipliers = mult, Shifts = shift, ActMin = p.ActMin, ActMax = p.ActMax,
        };
    }

    private static PreparedOp PreparePool2D(OpInfo op, IReadOnlyList<TensorInfo> t, KernelIsa isa)
    {
        var p = OpShapes.ReadPoolParams(op.Params);
        var x = Activation(op, t, op.Inputs[0], "input 0");
        var y = Activation(op, t, op.Outputs[0], "output 0");
        SameQuantization(op, x, y);
        var shape = new PoolShape(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], y.Shape[1], y.Shape[2],
            p.KernelH, p.KernelW, p.StrideH, p.StrideW, p.PadTop, p.PadLeft, p.PadBottom, p.PadRight);
        return OptimizedPools.Pool2D(isa, op.Code, shape, p.CountIncludePad, x.ZeroPoint, p.ActMin, p.ActMax, new TensorView(x), new TensorView(y)) // simd hook
            ?? (op.Code == OpCode.MaxPool2D
            ? new MaxPool2DOp(shape, new TensorView(x), new TensorView(y), p.ActMin, p.ActMax)
            : new AveragePool2DOp(shape, p.CountIncludePad, new TensorView(x), new TensorView(y), x.ZeroPoint, p.ActMin, p.ActMax));
    }

    private static PreparedOp PrepareGlobalAveragePool(OpInfo op, IReadOnlyList<TensorInfo> t, KernelIsa isa)
    {
        var x = Activation(op, t, op.Inputs[0], "input 0");
        var y = Activation(op, t, op.Outputs[0], "output 0");
        var shape = new GlobalPoolShape(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]);
        var (m, s) = Multiplier(op, (double)x.Scale / ((double)y.Scale * shape.Height * shape.Width), "in_scale / (out_scale * H * W)");
        return OptimizedPools.GlobalAverage(isa, shape, x.ZeroPoint, m, s, y.ZeroPoint, op.Params[0], op.Params[1], new TensorView(x), new TensorView(y)) // simd hook
            ?? new GlobalAveragePoolOp(shape, new TensorView(x), new TensorView(y), x.ZeroPoint, m, s, y.ZeroPoint, op.Params[0], op.Params[1]);
    }

    private static PreparedOp PrepareGlobalMaxPool(OpInfo op, IReadOnlyList<TensorInfo> t, KernelIsa isa)
    {
        var x = Activation(op, t, op.Inputs[0], "input 0");
        var y = Activation(op, t, op.Outputs[0], "output 0");
        SameQuantization(op, x, y);
        var shape = new GlobalPoolShape(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]);
        return OptimizedPools.GlobalMax(isa, shape, new TensorView(x), new TensorView(y)) ?? new GlobalMaxPoolOp(shape, new TensorView(x), new TensorView(y)); // simd hook
    }

    private static PreparedOp PrepareAdd(OpInfo op, IReadOnlyList<TensorInfo> t)
    {
        var a = Activation(op, t, op.Inputs[0], "input 0");
        var b = Activation(op, t, op.Inputs[1], "input 1");
        var y = Activation(op, t, op.Outputs[0], "output 0");
        AddParams p;
        try
        {
            p = AddReference.ComputeParams(a.Scale, a.ZeroPoint, b.Scale, b.ZeroPoint, y.Scale, y.ZeroPoint, op.Params[0], op.Params[1]);
        }
        catch (ArgumentOutOfRangeException)
        {
            throw Fail(op, "representable Add multipliers (output scale not below 2^-30 of the input scales)",
                $"scales a={a.Scale:R} b={b.Scale:R} out={y.Scale:R}", "quantization of inputs and output");
        }
        if (!a.Shape.AsSpan().SequenceEqual(b.Shape))
            return new AddBroadcastOp(p, AddReference.Broadcast(a.Shape, b.Shape, y.Shape), new TensorView(a), new TensorView(b), new TensorView(y));
        return new AddOp(p, new TensorView(a), new TensorView(b), new TensorView(y));
    }

    private static PreparedOp PrepareConcat(OpInfo op, IReadOnlyList<TensorInfo> t)
    {
        var y = Activation(op, t, op.Outputs[0], "output 0");
        int n = op.Inputs.Length;
        var views = new TensorView[n];
        var channels = new int[n];
        var zps = new int[n];
        var mult = new int[n];
        var shift = new int[n];
        for (int i = 0; i < n; i++)
        {
            var x = Activation(op, t, op.Inputs[i], $"input {i}");
            views[i] = new TensorView(x);
            channels[i] = x.Shape[^1];
            zps[i] = x.ZeroPoint;
            (mult[i], shift[i]) = Multiplier(op, (double)x.Scale / y.Scale, $"input {i} scale / output scale");
        }
        int outer = y.ElementCount / y.Shape[^1];
        return new ConcatOp(outer, views, channels, zps, mult, shift, new TensorView(y), y.Shape[^1], y.ZeroPoint, op.Params[0], op.Params[1]);
    }

    private static PreparedOp PrepareReshape(OpInfo op, IReadOnlyList<TensorInfo> t)
    {
        var x = t[op.Inputs[0]];
        var y = t[op.Outputs[0]];
        if (x.Type == TensorType.Int8)
        {
            Activation(op, t, op.Inputs[0], "input 0");
            Activation(op, t, op.Outputs[0], "output 0");
            SameQuantization(op, x, y);
        }
        return new ReshapeOp(new TensorView(x), new TensorView(y));
    }

    private static PreparedOp PrepareChannelShuffle(OpInfo op, IReadOnlyList<TensorInfo> t)
    {
        var x = Activation(op, t, op.Inputs[0], "input 0");
        var y = Activation(op, t, op.Outputs[0], "output 0");
        SameQuantization(op, x, y);
        int c = x.Shape[^1];
        return new ChannelShuffleOp(x.ElementCount / c, c, op.Params[0], new TensorView(x), new TensorView(y));
    }

    private static PreparedOp PrepareSoftmax(OpInfo op, IReadOnlyList<TensorInfo> t)
    {
        var x = Activation(op, t, op.Inputs[0], "input 0");
        var y = t[op.Outputs[0]];
        float beta = BitConverter.Int32BitsToSingle(op.Params[0]);
        int classes = x.Shape[^1];
        int outer = x.ElementCount / classes;
        int[] table = SoftmaxReference.BuildExpTable(beta, x.Scale);
        if (y.Type == TensorType.Float32)
            return new SoftmaxFloatOp(outer, classes, table, new TensorView(x), new TensorView(y));
        if (y.Scale != 1f / 256 || y.ZeroPoint != -128)
            throw Fail(op, "int8 softmax output with scale 1/256 (0.00390625) and zero point -128",
                $"scale {y.Scale:R}, zero point {y.ZeroPoint}", $"output 0 '{y.Name}' quantization");
        return new SoftmaxInt8Op(outer, classes, table, new TensorView(x), new TensorView(y));
    }

    private static PreparedOp PrepareQuantize(OpInfo op, IReadOnlyList<TensorInfo> t)
    {
        var y = Activation(op, t, op.Outputs[0], "output 0");
        return new QuantizeOp(y.Scale, y.ZeroPoint, new TensorView(t[op.Inputs[0]]), new TensorView(y));
    }

    private static PreparedOp PrepareDequantize(OpInfo op, IReadOnlyList<TensorInfo> t)
    {
        var x = Activation(op, t, op.Inputs[0], "input 0");
        return new DequantizeOp(x.Scale, x.ZeroPoint, new TensorView(x), new TensorView(t[op.Outputs[0]]));
    }

    private static PreparedOp PrepareLeakyRelu(OpInfo op, IReadOnlyList<TensorInfo> t)
    {
        var x = Activation(op, t, op.Inputs[0], "input 0");
        var y = Activation(op, t, op.Outputs[0], "output 0");
        float alpha = BitConverter.Int32BitsToSingle(op.Params[0]);
        try
        {
            var p = LeakyReluReference.ComputeParams(x.Scale, x.ZeroPoint, y.Scale, y.ZeroPoint, alpha);
            return new LeakyReluOp(p, new TensorView(x), new TensorView(y));
        }
        catch (ArgumentOutOfRangeException)
        {
            throw Fail(op, $"in_scale / out_scale and |alpha| · in_scale / out_scale below 2^22",
                $"scales in={x.Scale:R} out={y.Scale:R}, alpha {alpha:R}", "quantization of input and output");
        }
    }

    private static PreparedOp PreparePad2D(OpInfo op, IReadOnlyList<TensorInfo> t)
    {
        var x = Activation(op, t, op.Inputs[0], "input 0");
        var y = Activation(op, t, op.Outputs[0], "output 0");
        SameQuantization(op, x, y);
        var shape = new Pad2DShape(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], op.Params[0], op.Params[1], y.Shape[1], y.Shape[2]);
        return new Pad2DOp(shape, (PadMode)op.Params[5], (sbyte)op.Params[4], new TensorView(x), new TensorView(y));
    }

    // ---- quantization checks ----

    /// <summary>An int8 activation: scale finite and &gt; 0, zero point in [-128, 127].</summary>
    private static TensorInfo Activation(OpInfo op, IReadOnlyList<TensorInfo> t, int index, string slot)
    {
        var x = t[index];
        if (!float.IsFinite(x.Scale) || x.Scale <= 0)
            throw Fail(op, "scale finite and > 0", x.Scale.ToString("R"), $"{slot} '{x.Name}' quantization");
        if (x.ZeroPoint < sbyte.MinValue || x.ZeroPoint > sbyte.MaxValue)
            throw Fail(op, "zero point in [-128, 127]", x.ZeroPoint.ToString(), $"{slot} '{x.Name}' quantization");
        return x;
    }

    private static void SameQuantization(OpInfo op, TensorInfo x, TensorInfo y)
    {
        if (x.Scale != y.Scale || x.ZeroPoint != y.ZeroPoint)
            throw Fail(op, $"output quantization equal to the input's (scale {x.Scale:R}, zero point {x.ZeroPoint})",
                $"scale {y.Scale:R}, zero point {y.ZeroPoint}", $"output 0 '{y.Name}' quantization (this op does not requantize)");
    }

    private static TensorInfo? BiasTensor(OpInfo op, IReadOnlyList<TensorInfo> t)
    {
        if (op.Inputs.Length < 3 || op.Inputs[2] < 0) return null;
        var b = t[op.Inputs[2]];
        if (!b.IsConstant)
            throw Fail(op, "a constant bias", "an activation", $"input 2 '{b.Name}'");
        return b;
    }

    /// <summary>
    /// Per-output-channel multipliers in_scale * w_scale[c] / out_scale of Conv2D, FullyConnected and
    /// TransposeConv2D; also checks the weights (constant, symmetric, one positive scale per channel)
    /// and the exact int32 accumulator bound 255 * Σ|w[c,·]| + |bias[c]| ≤ int.MaxValue per channel.
    /// </summary>
    private static (int[] Multipliers, int[] Shifts) ChannelMultipliers(OpInfo op, TensorInfo x, TensorInfo w, TensorInfo? b, TensorInfo y, int cout)
    {
        if (!w.IsConstant)
            throw Fail(op, "constant weights", "an activation", $"input 1 '{w.Name}'");
        if (w.ZeroPoint != 0)
            throw Fail(op, "weight zero point 0 (symmetric)", w.ZeroPoint.ToString(), $"input 1 '{w.Name}' quantization");
        float[]? scales = w.ChannelScales;
        if (scales is not null && scales.Length != cout)
            throw Fail(op, $"{cout} per-channel weight scales", scales.Length.ToString(), $"input 1 '{w.Name}' channel scales");
        ReadOnlySpan<sbyte> weights = MemoryMarshal.Cast<byte, sbyte>(w.Data.Span[..w.ByteLength]);
        ReadOnlySpan<int> bias = b is null ? default : MemoryMarshal.Cast<byte, int>(b.Data.Span[..b.ByteLength]);
        int perChannel = weights.Length / cout;
        var mult = new int[cout];
        var shift = new int[cout];
        for (int c = 0; c < cout; c++)
        {
            float ws = scales is null ? w.Scale : scales[c];
            if (!float.IsFinite(ws) || ws <= 0)
                throw Fail(op, "weight scales finite and > 0", $"{ws:R} at channel {c}", $"input 1 '{w.Name}' quantization");
            (mult[c], shift[c]) = Multiplier(op, (double)x.Scale * ws / y.Scale, $"in_scale * w_scale[{c}] / out_scale");

            long bound = bias.IsEmpty ? 0 : Math.Abs((long)bias[c]);
            foreach (sbyte v in weights.Slice(c * perChannel, perChannel)) bound += 255L * Math.Abs((int)v);
            if (bound > int.MaxValue)
                throw Fail(op, "255 * Σ|w| + |bias| ≤ int.MaxValue (int32 accumulator)", $"{bound} at output channel {c}",
                    "weights/bias too large for an int32 accumulator; split the layer or re-quantize");
        }
        return (mult, shift);
    }

    private static (int Multiplier, int Shift) Multiplier(OpInfo op, double real, string what)
    {
        try
        {
            return Requantize.QuantizeMultiplier(real);
        }
        catch (ArgumentOutOfRangeException)
        {
            throw Fail(op, "a representable requantization multiplier (finite, < 2^30)", real.ToString("R"), what);
        }
    }

    private static ModelFormatException Fail(OpInfo op, string expected, string actual, string where)
        => new("ops", op.FileOffset, expected, actual, $"op #{op.Index} '{op.Name}' ({op.Code}): {where}.");
}
