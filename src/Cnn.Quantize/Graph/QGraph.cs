namespace Cnn.Quantize.Graph;

/// <summary>Operators of the quantizer's float graph (after import: NHWC, weights in edge layouts).</summary>
public enum NodeKind
{
    /// <summary>x [N,H,W,Cin], weights [Cout,KH,KW,Cin/groups], bias [Cout].</summary>
    Conv,
    /// <summary>x [N,H,W,Cin], weights [Cout,KH,KW,Cin], bias [Cout].</summary>
    ConvTranspose,
    /// <summary>x [N,K] (or [N,1,1,K]), weights [Cout,K], bias [Cout].</summary>
    FullyConnected,
    /// <summary>Per-channel affine y = x*scale + shift on the last axis (unfolded BatchNormalization).</summary>
    BatchNorm,
    MaxPool,
    AveragePool,
    GlobalAveragePool,
    GlobalMaxPool,
    /// <summary>Two inputs of one shape.</summary>
    Add,
    /// <summary>Concatenation on the channel (last) axis.</summary>
    Concat,
    /// <summary>Same data, other shape (NHWC element order is kept).</summary>
    Reshape,
    /// <summary>ShuffleNet channel shuffle with <see cref="QNode.Groups"/> groups on the last axis.</summary>
    ChannelShuffle,
    /// <summary>Softmax over the last axis.</summary>
    Softmax,
    /// <summary>A standalone clamp [ActMin, ActMax] (ReLU/Clip whose producer could not take it).</summary>
    Clamp,
    /// <summary>y = x &gt;= 0 ? x : Alpha*x.</summary>
    LeakyRelu,
    /// <summary>Padding of H and W (pads in PadTop..PadRight; <see cref="QNode.PadMode"/>, fill <see cref="QNode.PadValue"/>); a zero Pad read only by a Conv is folded into it.</summary>
    Pad,
}

/// <summary>One node of the float graph. Fields are used per <see cref="Kind"/>.</summary>
public sealed class QNode
{
    public required NodeKind Kind { get; set; }
    public required string Name { get; set; }
    public required string[] Inputs { get; set; }
    public required string Output { get; set; }

    public float[]? Weights { get; set; }
    public int[]? WeightShape { get; set; }
    public float[]? Bias { get; set; }

    public int KernelH { get; set; } = 1;
    public int KernelW { get; set; } = 1;
    public int StrideH { get; set; } = 1;
    public int StrideW { get; set; } = 1;
    public int DilationH { get; set; } = 1;
    public int DilationW { get; set; } = 1;
    public int PadTop { get; set; }
    public int PadLeft { get; set; }
    public int PadBottom { get; set; }
    public int PadRight { get; set; }
    public int OutputPadH { get; set; }
    public int OutputPadW { get; set; }
    public int Groups { get; set; } = 1;
    public bool CeilMode { get; set; }
    public bool CountIncludePad { get; set; }

    /// <summary>Fused output clamp (ReLU: [0, inf), ReLU6: [0, 6]); infinite when none.</summary>
    public float ActMin { get; set; } = float.NegativeInfinity;
    public float ActMax { get; set; } = float.PositiveInfinity;

    /// <summary>LeakyRelu slope.</summary>
    public float Alpha { get; set; }
    /// <summary>Pad fill value (constant mode).</summary>
    public float PadValue { get; set; }
    /// <summary>Pad mode: constant (<see cref="PadValue"/>), reflect or edge.</summary>
    public Cnn.Edge.Kernels.PadMode PadMode { get; set; }
    /// <summary>BatchNorm per-channel multiplier and offset.</summary>
    public float[]? Scale { get; set; }
    public float[]? Shift { get; set; }
    /// <summary>The ONNX node(s) this node came from, for reports.</summary>
    public string Origin { get; set; } = "";

    public bool HasActivation => !float.IsNegativeInfinity(ActMin) || !float.IsPositiveInfinity(ActMax);

    public override string ToString() => $"{Kind} '{Name}' ({string.Join(", ", Inputs)}) -> {Output}";
}

/// <summary>
/// The quantizer's float graph: one float input (NHWC, or [N,K]), nodes in execution order, outputs,
/// every value's shape, and the model metadata (preprocessing, labels) carried to the edge model.
/// </summary>
public sealed class QGraph
{
    public required string InputName { get; set; }
    public List<QNode> Nodes { get; } = [];
    public List<string> Outputs { get; } = [];
    /// <summary>Shape of every value (input and node outputs): NHWC for 4-D tensors.</summary>
    public Dictionary<string, int[]> Shapes { get; } = [];
    public Dictionary<string, string> Metadata { get; } = [];

    public int[] InputShape => Shapes[InputName];

    public IEnumerable<QNode> Consumers(string value) => Nodes.Where(n => n.Inputs.Contains(value));

    public QNode? Producer(string value) => Nodes.FirstOrDefault(n => n.Output == value);

    public QGraph Clone()
    {
        var g = new QGraph { InputName = InputName };
        foreach (var n in Nodes)
        {
            g.Nodes.Add(new QNode
            {
                Kind = n.Kind, Name = n.Name, Inputs = [.. n.Inputs], Output = n.Output,
                Weights = n.Weights is null ? null : [.. n.Weights], WeightShape = n.WeightShape, Bias = n.Bias is null ? null : [.. n.Bias],
                KernelH = n.KernelH, KernelW = n.KernelW, StrideH = n.StrideH, StrideW = n.StrideW,
                DilationH = n.DilationH, DilationW = n.DilationW, PadTop = n.PadTop, PadLeft = n.PadLeft,
                PadBottom = n.PadBottom, PadRight = n.PadRight, OutputPadH = n.OutputPadH, OutputPadW = n.OutputPadW,
                Groups = n.Groups, CeilMode = n.CeilMode, CountIncludePad = n.CountIncludePad,
                ActMin = n.ActMin, ActMax = n.ActMax, Alpha = n.Alpha, PadValue = n.PadValue, PadMode = n.PadMode,
                Scale = n.Scale is null ? null : [.. n.Scale], Shift = n.Shift is null ? null : [.. n.Shift], Origin = n.Origin,
            });
        }
        g.Outputs.AddRange(Outputs);
        foreach (var (k, v) in Shapes) g.Shapes[k] = v;
        foreach (var (k, v) in Metadata) g.Metadata[k] = v;
        return g;
    }
}
