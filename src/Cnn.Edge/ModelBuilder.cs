using System.Runtime.InteropServices;
using Cnn.Edge.Format;
using Cnn.Edge.Kernels;
using Cnn.Edge.Runtime;

namespace Cnn.Edge;

/// <summary>
/// Builds int8 edge models in code (tests, the quantizer). Add tensors and ops in execution order, mark
/// outputs, then <see cref="Build"/>: it plans the arena, writes the file and verifies it by loading it,
/// so a model the builder returns is one the device accepts. Typed helpers (Conv2D, Add, ...) create the
/// output tensor with the shape <see cref="OpShapes.InferOutputShapes"/> gives, named after the op.
/// </summary>
public sealed class ModelBuilder
{
    private sealed class Tensor
    {
        public required string Name;
        public required TensorType Type;
        public required int[] Shape;
        public float Scale;
        public int ZeroPoint;
        public float[]? ChannelScales;
        public byte[]? Data;
    }

    private readonly List<Tensor> _tensors = [];
    private readonly List<OpInfo> _ops = [];
    private readonly List<int> _inputs = [];
    private readonly List<int> _outputs = [];
    private readonly List<KeyValuePair<string, string>> _metadata = [];

    public int TensorCount => _tensors.Count;
    public int OpCount => _ops.Count;

    /// <summary>Shape of a tensor added so far (e.g. the output of a typed helper).</summary>
    public int[] ShapeOf(int tensor) => (int[])Get(tensor).Shape.Clone();

    public int AddInput(string name, TensorType type, int[] shape, float scale = 0, int zeroPoint = 0)
    {
        int t = AddActivation(name, type, shape, scale, zeroPoint);
        _inputs.Add(t);
        return t;
    }

    public int AddActivation(string name, TensorType type, int[] shape, float scale = 0, int zeroPoint = 0)
    {
        CheckShape(name, shape);
        if (type == TensorType.Int8)
        {
            if (!(float.IsFinite(scale) && scale > 0)) throw new ArgumentOutOfRangeException(nameof(scale), scale, $"int8 tensor '{name}' needs a positive finite scale");
            if (zeroPoint is < -128 or > 127) throw new ArgumentOutOfRangeException(nameof(zeroPoint), zeroPoint, $"int8 tensor '{name}': zero point outside [-128, 127]");
        }
        else if (scale != 0 || zeroPoint != 0)
            throw new ArgumentException($"{type} tensor '{name}' is not quantized: scale and zero point must be 0");
        _tensors.Add(new Tensor { Name = name, Type = type, Shape = (int[])shape.Clone(), Scale = scale, ZeroPoint = zeroPoint });
        return _tensors.Count - 1;
    }

    /// <summary>Int8 weights, symmetric (zero point 0, values in [-127, 127]), one positive scale per output channel (shape[0]).</summary>
    public int AddConstantInt8(string name, int[] shape, ReadOnlySpan<sbyte> data, float[] channelScales)
    {
        long n = CheckShape(name, shape);
        if (data.Length != n) throw new ArgumentException($"constant '{name}' of shape [{string.Join(',', shape)}] needs {n} values, got {data.Length}");
        if (channelScales.Length != shape[0]) throw new ArgumentException($"constant '{name}' needs {shape[0]} channel scales (shape[0]), got {channelScales.Length}");
        int bad = MemoryMarshal.AsBytes(data).IndexOf((byte)0x80);
        if (bad >= 0) throw new ArgumentOutOfRangeException(nameof(data), -128, $"constant '{name}' element {bad}: symmetric int8 weights are in [-127, 127]");
        foreach (float s in channelScales)
            if (!(float.IsFinite(s) && s > 0)) throw new ArgumentOutOfRangeException(nameof(channelScales), s, $"constant '{name}': channel scales must be positive and finite");
        _tensors.Add(new Tensor
        {
            Name = name, Type = TensorType.Int8, Shape = (int[])shape.Clone(),
            ChannelScales = (float[])channelScales.Clone(), Data = MemoryMarshal.AsBytes(data).ToArray(),
        });
        return _tensors.Count - 1;
    }

    /// <summary>Int32 constant (biases: scale = input scale x weight scale[c], zero point 0; stored little-endian).</summary>
    public int AddConstantInt32(string name, int[] shape, ReadOnlySpan<int> data)
    {
        long n = CheckShape(name, shape);
        if (data.Length != n) throw new ArgumentException($"constant '{name}' of shape [{string.Join(',', shape)}] needs {n} values, got {data.Length}");
        // The file is little-endian and kernels read it in place; every target of this SDK is little-endian.
        _tensors.Add(new Tensor { Name = name, Type = TensorType.Int32, Shape = (int[])shape.Clone(), Data = MemoryMarshal.AsBytes(data).ToArray() });
        return _tensors.Count - 1;
    }

    /// <summary>Adds an op with explicit output tensors (parameter slots as in <see cref="OpCode"/>). No shape inference here: Build verifies.</summary>
    public int AddOp(OpCode code, string name, int[] inputs, int[] outputs, int[] parameters)
    {
        foreach (int t in inputs)
            if (t < -1 || t >= _tensors.Count) throw new ArgumentOutOfRangeException(nameof(inputs), t, $"op '{name}': no tensor {t}");
        foreach (int t in outputs)
            if (t < 0 || t >= _tensors.Count) throw new ArgumentOutOfRangeException(nameof(outputs), t, $"op '{name}': no tensor {t}");
        _ops.Add(new OpInfo
        {
            Index = _ops.Count, Name = name, Code = code,
            Inputs = (int[])inputs.Clone(), Outputs = (int[])outputs.Clone(), Params = (int[])parameters.Clone(),
        });
        return _ops.Count - 1;
    }

    public void MarkOutput(int tensor)
    {
        Get(tensor);
        if (!_outputs.Contains(tensor)) _outputs.Add(tensor);
    }

    public void SetMetadata(string key, string value)
    {
        int i = _metadata.FindIndex(kv => kv.Key == key);
        if (i >= 0) _metadata[i] = new(key, value);
        else _metadata.Add(new(key, value));
    }

    /// <summary>Plans the arena, writes the file and loads it back (throws ModelFormatException naming the op if the model is invalid).</summary>
    public byte[] Build()
    {
        if (_inputs.Count == 0) throw new InvalidOperationException("the model has no input: use AddInput");
        if (_outputs.Count == 0) throw new InvalidOperationException("the model has no output: use MarkOutput");
        if (_ops.Count == 0) throw new InvalidOperationException("the model has no op");
        TensorInfo[] unplanned = Infos(null);
        int[] inputs = [.. _inputs], outputs = [.. _outputs];
        var (first, last) = Lifetimes.Compute(unplanned, _ops, inputs, outputs);
        var slot = new int[unplanned.Length];
        for (int t = 0; t < slot.Length; t++) slot[t] = Lifetimes.SlotBytes(unplanned[t]);
        ArenaPlanner.Result r = ArenaPlanner.Plan(slot, first, last, _ops.Count);
        var plan = new ArenaPlan
        {
            ArenaBytes = r.ArenaBytes, LowerBoundBytes = r.LowerBound, PeakOpIndex = r.PeakOp,
            LiveBytesPerOp = r.LiveBytes, FirstOp = first, LastOp = last,
        };
        byte[] file = ModelWriter.Write(Infos(r.Offsets), _ops, inputs, outputs, plan, _metadata);
        EdgeModel.Load(file);
        return file;
    }

    /// <summary>Builds and writes the model to <paramref name="path"/> atomically (temp file + rename).</summary>
    public void BuildToFile(string path) => WriteFileAtomically(path, Build());

    /// <summary>Writes to a temp file beside <paramref name="path"/> and renames it, so a reader never sees half a model.</summary>
    public static void WriteFileAtomically(string path, ReadOnlySpan<byte> bytes)
    {
        string full = Path.GetFullPath(path);
        string temp = Path.Combine(Path.GetDirectoryName(full) ?? ".", $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    // ---- typed helpers: output tensor named after the op, shape inferred by OpShapes ----

    public int Conv2D(string name, int input, int weights, int bias, ConvParams p, float outputScale, int outputZeroPoint) =>
        Infer(OpCode.Conv2D, name, [input, weights, bias], Slots(p), TensorType.Int8, outputScale, outputZeroPoint);

    /// <summary>Conv2D with groups = input channels (weights [Cin*multiplier, KH, KW, 1]); p.Groups is ignored.</summary>
    public int DepthwiseConv2D(string name, int input, int weights, int bias, ConvParams p, float outputScale, int outputZeroPoint) =>
        Conv2D(name, input, weights, bias, p with { Groups = Get(input).Shape[^1] }, outputScale, outputZeroPoint);

    public int FullyConnected(string name, int input, int weights, int bias, float outputScale, int outputZeroPoint, int actMin = -128, int actMax = 127) =>
        Infer(OpCode.FullyConnected, name, [input, weights, bias], [actMin, actMax], TensorType.Int8, outputScale, outputZeroPoint);

    public int MaxPool2D(string name, int input, PoolParams p) =>
        Infer(OpCode.MaxPool2D, name, [input], Slots(p), TensorType.Int8, Get(input).Scale, Get(input).ZeroPoint);

    public int AveragePool2D(string name, int input, PoolParams p) =>
        Infer(OpCode.AveragePool2D, name, [input], Slots(p), TensorType.Int8, Get(input).Scale, Get(input).ZeroPoint);

    public int GlobalAveragePool(string name, int input, float outputScale, int outputZeroPoint, int actMin = -128, int actMax = 127) =>
        Infer(OpCode.GlobalAveragePool, name, [input], [actMin, actMax], TensorType.Int8, outputScale, outputZeroPoint);

    public int GlobalMaxPool(string name, int input) =>
        Infer(OpCode.GlobalMaxPool, name, [input], [], TensorType.Int8, Get(input).Scale, Get(input).ZeroPoint);

    public int Add(string name, int a, int b, float outputScale, int outputZeroPoint, int actMin = -128, int actMax = 127) =>
        Infer(OpCode.Add, name, [a, b], [actMin, actMax], TensorType.Int8, outputScale, outputZeroPoint);

    public int Concat(string name, int[] inputs, float outputScale, int outputZeroPoint, int actMin = -128, int actMax = 127) =>
        Infer(OpCode.Concat, name, inputs, [actMin, actMax], TensorType.Int8, outputScale, outputZeroPoint);

    /// <summary>Same data and quantization, new shape (same element count).</summary>
    public int Reshape(string name, int input, int[] shape) =>
        Infer(OpCode.Reshape, name, [input], [], Get(input).Type, Get(input).Scale, Get(input).ZeroPoint, shape);

    public int ChannelShuffle(string name, int input, int groups) =>
        Infer(OpCode.ChannelShuffle, name, [input], [groups], TensorType.Int8, Get(input).Scale, Get(input).ZeroPoint);

    public int TransposeConv2D(string name, int input, int weights, int bias, TransposeConvParams p, float outputScale, int outputZeroPoint) =>
        Infer(OpCode.TransposeConv2D, name, [input, weights, bias], Slots(p), TensorType.Int8, outputScale, outputZeroPoint);

    /// <summary>Softmax over the last axis, to float32 or to int8 (scale 1/256, zero point -128).</summary>
    public int Softmax(string name, int input, TensorType outputType = TensorType.Float32, float beta = 1f) =>
        outputType == TensorType.Int8
            ? Infer(OpCode.Softmax, name, [input], [BitConverter.SingleToInt32Bits(beta)], TensorType.Int8, 1f / 256, -128)
            : Infer(OpCode.Softmax, name, [input], [BitConverter.SingleToInt32Bits(beta)], TensorType.Float32, 0, 0);

    public int Quantize(string name, int input, float scale, int zeroPoint) =>
        Infer(OpCode.Quantize, name, [input], [], TensorType.Int8, scale, zeroPoint);

    public int Dequantize(string name, int input) =>
        Infer(OpCode.Dequantize, name, [input], [], TensorType.Float32, 0, 0);

    /// <summary>y = x ≥ 0 ? x : alpha·x, requantized to (outputScale, outputZeroPoint).</summary>
    public int LeakyRelu(string name, int input, float alpha, float outputScale, int outputZeroPoint) =>
        Infer(OpCode.LeakyRelu, name, [input], [BitConverter.SingleToInt32Bits(alpha)], TensorType.Int8, outputScale, outputZeroPoint);

    /// <summary>Padding of H and W: constant with the int8 <paramref name="value"/> (the input's zero point pads with 0.0), reflect or edge.</summary>
    public int Pad2D(string name, int input, int padTop, int padLeft, int padBottom, int padRight, int value, PadMode mode = PadMode.Constant) =>
        Infer(OpCode.Pad2D, name, [input], [padTop, padLeft, padBottom, padRight, value, (int)mode], TensorType.Int8, Get(input).Scale, Get(input).ZeroPoint);

    public static int[] Slots(ConvParams p) =>
        [p.StrideH, p.StrideW, p.DilationH, p.DilationW, p.PadTop, p.PadLeft, p.PadBottom, p.PadRight, p.Groups, p.ActMin, p.ActMax];

    public static int[] Slots(PoolParams p) =>
        [p.KernelH, p.KernelW, p.StrideH, p.StrideW, p.PadTop, p.PadLeft, p.PadBottom, p.PadRight, p.CeilMode ? 1 : 0, p.CountIncludePad ? 1 : 0, p.ActMin, p.ActMax];

    public static int[] Slots(TransposeConvParams p) =>
        [p.StrideH, p.StrideW, p.DilationH, p.DilationW, p.PadTop, p.PadLeft, p.PadBottom, p.PadRight, p.OutputPadH, p.OutputPadW, p.ActMin, p.ActMax];

    /// <summary>
    /// Adds the output tensor (with the requested shape, or the first input's as a placeholder), asks
    /// OpShapes for the real shape, then adds the op. A rejected op leaves the builder unchanged.
    /// </summary>
    private int Infer(OpCode code, string name, int[] inputs, int[] parameters, TensorType outType, float outScale, int outZeroPoint, int[]? shape = null)
    {
        foreach (int t in inputs)
            if (t < -1 || t >= _tensors.Count) throw new ArgumentOutOfRangeException(nameof(inputs), t, $"op '{name}': no tensor {t}");
        int output = AddActivation(name, outType, shape ?? Get(inputs[0]).Shape, outScale, outZeroPoint);
        var op = new OpInfo { Index = _ops.Count, Name = name, Code = code, Inputs = (int[])inputs.Clone(), Outputs = [output], Params = parameters };
        try
        {
            if (!OpArity.TryGet((ushort)code, out OpArity arity) || inputs.Length < arity.MinInputs || inputs.Length > arity.MaxInputs || parameters.Length != arity.Params)
                throw new ArgumentException($"op '{name}' {code}: wrong number of inputs ({inputs.Length}) or parameters ({parameters.Length})");
            int[][] shapes = OpShapes.InferOutputShapes(op, Infos(null));
            if (shape is not null && !shapes[0].AsSpan().SequenceEqual(shape))
                throw new ArgumentException($"op '{name}' {code}: output shape [{string.Join(',', shape)}] does not follow from its input (expected [{string.Join(',', shapes[0])}])");
            _tensors[output].Shape = shapes[0];
        }
        catch
        {
            _tensors.RemoveAt(output);
            throw;
        }
        _ops.Add(op);
        return output;
    }

    private Tensor Get(int tensor) =>
        tensor >= 0 && tensor < _tensors.Count ? _tensors[tensor] : throw new ArgumentOutOfRangeException(nameof(tensor), tensor, "no such tensor");

    private static long CheckShape(string name, int[] shape)
    {
        if (shape.Length is < 1 or > ModelLayout.MaxRank) throw new ArgumentException($"tensor '{name}': rank {shape.Length} outside [1, {ModelLayout.MaxRank}]");
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 1) throw new ArgumentException($"tensor '{name}': dimension {d} < 1");
            n *= d;
            if (n > ModelLayout.MaxElements) throw new ArgumentException($"tensor '{name}': more than {ModelLayout.MaxElements} elements");
        }
        return n;
    }

    /// <summary>The tensors as the loader would see them; arena offsets from <paramref name="offsets"/> when planned.</summary>
    private TensorInfo[] Infos(int[]? offsets)
    {
        var infos = new TensorInfo[_tensors.Count];
        for (int i = 0; i < infos.Length; i++)
        {
            Tensor t = _tensors[i];
            infos[i] = new TensorInfo
            {
                Index = i, Name = t.Name, Type = t.Type, Shape = t.Shape, Scale = t.Scale, ZeroPoint = t.ZeroPoint,
                ChannelScales = t.ChannelScales, IsConstant = t.Data is not null,
                ArenaOffset = t.Data is not null ? -1 : offsets?[i] ?? -1,
                Data = t.Data,
            };
        }
        return infos;
    }
}
