using Cnn.Edge;
using Cnn.Quantize.Calibration;
using Cnn.Quantize.Graph;
using Cnn.Quantize.Import;

namespace Cnn.Quantize.Conversion;

/// <summary>
/// Writes the int8 edge model of a folded, fused, calibrated <see cref="QGraph"/> with
/// <see cref="ModelBuilder"/>: weights symmetric per output channel, biases int32 at
/// input scale × weight scale, activations asymmetric from the calibrated ranges, fused
/// activations as act_min/act_max in output units. Ops that must keep their input's
/// quantization (pools, reshape, shuffle) do.
/// </summary>
internal sealed class EdgeConverter
{
    private readonly QGraph _g;
    private readonly IReadOnlyDictionary<string, (float Min, float Max)> _ranges;
    private readonly ModelBuilder _b = new();
    private readonly Dictionary<string, int> _tensor = [];
    private readonly Dictionary<string, (float Scale, int Zp)> _q = [];

    public EdgeConverter(QGraph g, IReadOnlyDictionary<string, (float Min, float Max)> ranges)
    {
        _g = g;
        _ranges = ranges;
    }

    /// <summary>Edge op index → the float graph value that op's output corresponds to (for per-layer SQNR).</summary>
    public Dictionary<int, string> OpToValue { get; } = [];

    public (float Scale, int ZeroPoint) InputQuantization => _q[_g.InputName];

    public static IReadOnlyList<string> Int8Problems(QGraph g)
    {
        var problems = new List<string>();
        foreach (var n in g.Nodes)
        {
            string? p = n.Kind switch
            {
                NodeKind.BatchNorm => "BatchNormalization on a 2-D tensor that does not follow Gemm/MatMul has no int8 edge op",
                NodeKind.Conv or NodeKind.ConvTranspose when g.Shapes[n.Output].Length != 4 => "needs a 4-D tensor",
                _ => null,
            };
            if (p != null) problems.Add($"node '{n.Origin}' ({n.Kind}): {p}");
        }
        return problems;
    }

    private bool _floatOutput;

    public byte[] Build(IEnumerable<KeyValuePair<string, string>> metadata, bool floatOutput)
    {
        _floatOutput = floatOutput;
        var problems = Int8Problems(_g);
        if (problems.Count > 0) throw new UnsupportedModelException(problems);

        var inShape = _g.InputShape;
        var inQ = Q(_g.InputName);
        _tensor[_g.InputName] = _b.AddInput(_g.InputName, TensorType.Int8, inShape, inQ.Scale, inQ.Zp);
        _q[_g.InputName] = inQ;

        foreach (var n in _g.Nodes)
        {
            int before = _b.OpCount;
            int t = Convert(n);
            _tensor[n.Output] = t;
            for (int op = before; op < _b.OpCount; op++) OpToValue[op] = n.Output;
        }
        foreach (var o in _g.Outputs)
        {
            int t = _tensor[o];
            var producer = _g.Producer(o);
            if (floatOutput && producer?.Kind != NodeKind.Softmax)
            {
                int before = _b.OpCount;
                t = _b.Dequantize(o + ".float", t);
                OpToValue[before] = o;
            }
            _b.MarkOutput(t);
        }
        foreach (var (k, v) in metadata) _b.SetMetadata(k, v);
        return _b.Build();
    }

    private (float Scale, int Zp) Q(string value)
    {
        if (_q.TryGetValue(value, out var q)) return q;
        var (lo, hi) = _ranges.TryGetValue(value, out var r) ? r : throw new InvalidOperationException($"no calibration range for '{value}'");
        var p = QuantParams.FromRange(lo, hi);
        q = (p.Scale, p.ZeroPoint);
        _q[value] = q;
        return q;
    }

    private (int Min, int Max) Act(QNode n, (float Scale, int Zp) q)
    {
        int lo = float.IsNegativeInfinity(n.ActMin) ? -128 : (int)Math.Clamp(Math.Round(n.ActMin / q.Scale) + q.Zp, -128, 127);
        int hi = float.IsPositiveInfinity(n.ActMax) ? 127 : (int)Math.Clamp(Math.Round(n.ActMax / q.Scale) + q.Zp, -128, 127);
        return (lo, hi);
    }

    private int Convert(QNode n)
    {
        int x = _tensor[n.Inputs[0]];
        var xq = _q[n.Inputs[0]];
        switch (n.Kind)
        {
            case NodeKind.Conv:
            case NodeKind.ConvTranspose:
            case NodeKind.FullyConnected:
                {
                    var yq = Q(n.Output);
                    var (lo, hi) = Act(n, yq);
                    int cout = n.WeightShape![0];
                    var (wq, ws) = QuantParams.QuantizeWeights(n.Weights!, cout);
                    var bias = new int[cout];
                    for (int c = 0; c < cout; c++)
                    {
                        double b = Math.Round(n.Bias![c] / ((double)xq.Scale * ws[c]), MidpointRounding.AwayFromZero);
                        bias[c] = (int)Math.Clamp(b, int.MinValue, int.MaxValue);
                    }
                    int w = _b.AddConstantInt8(n.Name + ".weight", n.WeightShape, wq, ws);
                    int bt = _b.AddConstantInt32(n.Name + ".bias", [cout], bias);
                    if (n.Kind == NodeKind.Conv)
                    {
                        var p = new ConvParams(n.StrideH, n.StrideW, n.DilationH, n.DilationW, n.PadTop, n.PadLeft, n.PadBottom, n.PadRight, n.Groups, lo, hi);
                        return _b.Conv2D(n.Name, x, w, bt, p, yq.Scale, yq.Zp);
                    }
                    if (n.Kind == NodeKind.ConvTranspose)
                    {
                        var p = new TransposeConvParams(n.StrideH, n.StrideW, n.DilationH, n.DilationW, n.PadTop, n.PadLeft, n.PadBottom, n.PadRight, n.OutputPadH, n.OutputPadW, lo, hi);
                        return _b.TransposeConv2D(n.Name, x, w, bt, p, yq.Scale, yq.Zp);
                    }
                    int y = _b.FullyConnected(n.Name, x, w, bt, yq.Scale, yq.Zp, lo, hi);
                    return ShapeTo(n, y);
                }
            case NodeKind.MaxPool:
            case NodeKind.AveragePool:
                {
                    _q[n.Output] = xq;
                    var (lo, hi) = Act(n, xq);
                    var p = new PoolParams(n.KernelH, n.KernelW, n.StrideH, n.StrideW, n.PadTop, n.PadLeft, n.PadBottom, n.PadRight, n.CeilMode, n.CountIncludePad, lo, hi);
                    return n.Kind == NodeKind.MaxPool ? _b.MaxPool2D(n.Name, x, p) : _b.AveragePool2D(n.Name, x, p);
                }
            case NodeKind.Clamp:
                {
                    // A standalone ReLU/Clip: a 1x1 max pool (identity) with the clamp, keeping the input's quantization;
                    // a tensor of another rank is viewed as [1, 1, rows, last axis] around it.
                    _q[n.Output] = xq;
                    var (lo, hi) = Act(n, xq);
                    var shape = _g.Shapes[n.Output];
                    var clamp = new PoolParams(1, 1, 1, 1, 0, 0, 0, 0, false, false, lo, hi);
                    if (shape.Length == 4) return _b.MaxPool2D(n.Name, x, clamp);
                    int last = shape[^1], rows = (int)(shape.Aggregate(1L, (a, d) => a * d) / last);
                    int y = _b.MaxPool2D(n.Name, _b.Reshape(n.Name + ".4d", x, [1, 1, rows, last]), clamp);
                    return _b.Reshape(n.Name + ".reshape", y, shape);
                }
            case NodeKind.GlobalAveragePool:
                {
                    var yq = Q(n.Output);
                    var (lo, hi) = Act(n, yq);
                    return _b.GlobalAveragePool(n.Name, x, yq.Scale, yq.Zp, lo, hi);
                }
            case NodeKind.GlobalMaxPool:
                _q[n.Output] = xq;
                return _b.GlobalMaxPool(n.Name, x);
            case NodeKind.Add:
                {
                    var yq = Q(n.Output);
                    var (lo, hi) = Act(n, yq);
                    return _b.Add(n.Name, x, _tensor[n.Inputs[1]], yq.Scale, yq.Zp, lo, hi);
                }
            case NodeKind.Concat:
                {
                    var yq = Q(n.Output);
                    var (lo, hi) = Act(n, yq);
                    return _b.Concat(n.Name, n.Inputs.Select(i => _tensor[i]).ToArray(), yq.Scale, yq.Zp, lo, hi);
                }
            case NodeKind.LeakyRelu:
                {
                    var yq = Q(n.Output);
                    return _b.LeakyRelu(n.Name, x, n.Alpha, yq.Scale, yq.Zp);
                }
            case NodeKind.Pad:
                {
                    // The output keeps the input's quantization (Quantizer widens that range to hold the fill value).
                    _q[n.Output] = xq;
                    return _b.Pad2D(n.Name, x, n.PadTop, n.PadLeft, n.PadBottom, n.PadRight, QuantParams.Quantize(n.PadValue, xq.Scale, xq.Zp), n.PadMode);
                }
            case NodeKind.Reshape:
                _q[n.Output] = xq;
                return _b.Reshape(n.Name, x, _g.Shapes[n.Output]);
            case NodeKind.ChannelShuffle:
                _q[n.Output] = xq;
                return _b.ChannelShuffle(n.Name, x, n.Groups);
            case NodeKind.Softmax:
                {
                    bool isOutput = _floatOutput && _g.Outputs.Contains(n.Output);
                    _q[n.Output] = (1f / 256, -128);
                    return _b.Softmax(n.Name, x, isOutput ? TensorType.Float32 : TensorType.Int8);
                }
            default:
                throw new UnsupportedModelException([$"node '{n.Origin}' ({n.Kind}) has no int8 edge op"]);
        }
    }

    /// <summary>FullyConnected writes [N,Cout]; when the float graph has [N,1,1,Cout] there, reshape to it.</summary>
    private int ShapeTo(QNode n, int y)
    {
        var want = _g.Shapes[n.Output];
        var have = _b.ShapeOf(y);
        if (have.SequenceEqual(want)) return y;
        return _b.Reshape(n.Name + ".reshape", y, want);
    }
}
