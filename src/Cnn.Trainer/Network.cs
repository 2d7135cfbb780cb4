using Cnn.Trainer.Layers;

namespace Cnn.Trainer;

/// <summary>One layer applied to earlier nodes' outputs (-1 = the network input).</summary>
public sealed class Node
{
    internal Node(Layer layer, int[] inputs, Shape shape) { Layer = layer; Inputs = inputs; Shape = shape; }
    public Layer Layer { get; }
    public int[] Inputs { get; }
    /// <summary>Per-sample output shape, checked when the node was added.</summary>
    public Shape Shape { get; }
}

/// <summary>
/// A directed acyclic graph of layers in topological order (nodes only reference earlier nodes).
/// Output 0 is the classifier; further outputs are auxiliary heads trained with extra loss terms.
/// </summary>
public sealed class Network
{
    private readonly List<Node> _nodes;
    private readonly Tensor?[] _outs, _grads, _gradOwned;
    private readonly int[] _consumers;
    private readonly bool[] _needGrad;
    private readonly Tensor[][] _inputScratch;
    private readonly bool[][] _needInput;

    internal Network(Shape inputShape, List<Node> nodes, int[] outputs)
    {
        if (nodes.Count == 0) throw new ModelSpecException("(network)", "has no layers");
        if (outputs.Length == 0) throw new ModelSpecException("(network)", "has no outputs");
        InputShape = inputShape; _nodes = nodes; Outputs = outputs;
        _outs = new Tensor?[nodes.Count]; _grads = new Tensor?[nodes.Count]; _gradOwned = new Tensor?[nodes.Count];
        _consumers = new int[nodes.Count];
        foreach (var n in nodes) foreach (int i in n.Inputs) if (i >= 0) _consumers[i]++;
        foreach (int o in outputs) _consumers[o]++;
        var seen = new HashSet<string>();
        foreach (var n in nodes)
            if (!seen.Add(n.Layer.Name)) throw new ModelSpecException(n.Layer.Name, "layer names must be unique");
        // A node needs a gradient when any trainable parameter lies upstream of it (inclusive).
        _needGrad = new bool[nodes.Count];
        _inputScratch = new Tensor[nodes.Count][];
        _needInput = new bool[nodes.Count][];
        for (int i = 0; i < nodes.Count; i++)
        {
            _inputScratch[i] = new Tensor[nodes[i].Inputs.Length];
            bool need = nodes[i].Layer.Parameters.Count > 0;
            foreach (int j in nodes[i].Inputs) if (j >= 0 && _needGrad[j]) need = true;
            _needGrad[i] = need;
            _needInput[i] = nodes[i].Inputs.Select(j => j >= 0 && _needGrad[j]).ToArray();
        }
        FuseBatchNormActivations = true;
    }

    private bool _fuse;

    /// <summary>
    /// Runs each BatchNorm2d → ReLU/ReLU6/LeakyReLU pair whose activation is the only consumer of the
    /// BatchNorm's output as one pass over memory each way (default). The nodes, their outputs and the ONNX
    /// export stay as they are, and the results are bit-identical; false runs the layers separately.
    /// A BatchNorm's per-plane statistics are then also reduced by the convolution that writes its input, and its
    /// gradient sums by the convolution that reads its output, each sample while it is still in cache.
    /// </summary>
    public bool FuseBatchNormActivations
    {
        get => _fuse;
        set
        {
            _fuse = value;
            // Layers may have been fused by another network built from them: reset every pair first.
            foreach (var n in _nodes)
                if (n.Layer is BatchNorm2d bn) { bn.Fuse(null); bn.InputGradient.Active = false; bn.Output.Active = false; }
                else if (n.Layer is Activation { FusedInto: { } owner }) owner.Fuse(null);
                else if (n.Layer is ISampleReader reader)
                {
                    if (reader.InputWriter is { } wx) wx.Active = false;
                    reader.InputWriter = null; reader.InputGradientObserver = null;
                    if (n.Layer is not Conv2d conv) continue;
                    if (conv.OutputGradientWriter is { } wd) wd.Active = false;
                    conv.OutputObserver = null; conv.OutputGradientWriter = null;
                }
            if (!value) return;
            var output = new int[_nodes.Count];
            for (int i = 0; i < _nodes.Count; i++) output[i] = i;
            for (int i = 0; i < _nodes.Count; i++)
                if (_nodes[i].Layer is Activation act && _nodes[i].Inputs is [int j] && j >= 0 && _consumers[j] == 1 && _nodes[j].Layer is BatchNorm2d bn)
                {
                    bn.Fuse(act);
                    output[j] = i;
                }
            // The statistics of a BatchNorm read from the convolution writing its input, which also writes the BatchNorm's
            // dx as it reads it; its gradient sums from the convolution (or global average pooling) that alone reads its
            // output (through the fused activation) and writes the gradient it gets, and which has each sample of the
            // BatchNorm's output written as it reads it.
            for (int j = 0; j < _nodes.Count; j++)
            {
                if (_nodes[j].Layer is not BatchNorm2d bn) continue;
                if (_nodes[j].Inputs is [int i] && i >= 0 && _consumers[i] == 1 && _nodes[i].Layer is Conv2d producer)
                {
                    producer.OutputObserver = bn.InputStats;
                    // The producer alone reads the BatchNorm's dx: it has each sample written as it reads it.
                    producer.OutputGradientWriter = bn.InputGradient;
                    bn.InputGradient.Active = true;
                }
                int o = output[j];
                if (_consumers[o] != 1) continue;
                for (int m = o + 1; m < _nodes.Count; m++)
                    if (_nodes[m].Inputs.Contains(o))
                    {
                        if (_nodes[m].Layer is not ISampleReader { ReadsSamples: true } consumer || _nodes[m].Inputs is not [_]) break;
                        consumer.InputWriter = bn.Output;
                        bn.Output.Active = true;
                        if (_needInput[m][0]) consumer.InputGradientObserver = bn.GradientSums;
                        break;
                    }
            }
        }
    }

    public Shape InputShape { get; }
    public IReadOnlyList<Node> Nodes => _nodes;
    public int[] Outputs { get; }
    public Shape OutputShape => _nodes[Outputs[0]].Shape;
    public int Classes => OutputShape.Size;

    /// <summary>Class names (used in exported metadata); defaults to "0".."K-1".</summary>
    public string[]? Labels { get; set; }

    public IEnumerable<Parameter> Parameters => _nodes.SelectMany(n => n.Layer.Parameters);
    public long ParameterCount => Parameters.Sum(p => (long)p.Value.Length);

    public Layer this[string name] => _nodes.FirstOrDefault(n => n.Layer.Name == name)?.Layer
        ?? throw new KeyNotFoundException($"no layer named '{name}'");

    public int IndexOf(string name)
    {
        for (int i = 0; i < _nodes.Count; i++) if (_nodes[i].Layer.Name == name) return i;
        throw new KeyNotFoundException($"no layer named '{name}'");
    }

    /// <summary>Runs every node; returns output 0 (logits [N, K, 1, 1]). Tensors are owned by the layers.</summary>
    public Tensor Forward(Tensor input, RunContext ctx)
    {
        if (input.C != InputShape.C || input.H != InputShape.H || input.W != InputShape.W)
            throw new ArgumentException($"input {input} does not match the network input {InputShape}");
        bool outer = ctx.InNetwork;
        ctx.InNetwork = true;
        try
        {
            for (int i = 0; i < _nodes.Count; i++)
            {
                var node = _nodes[i];
                var ins = _inputScratch[i];
                for (int k = 0; k < ins.Length; k++) ins[k] = node.Inputs[k] < 0 ? input : _outs[node.Inputs[k]]!;
                long t0 = Profile is null ? 0 : System.Diagnostics.Stopwatch.GetTimestamp();
                _outs[i] = node.Layer.Forward(ins, ctx);
                Profile?.Invoke(i, false, System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalSeconds);
            }
        }
        finally { ctx.InNetwork = outer; }
        return _outs[Outputs[0]]!;
    }

    /// <summary>Optional per-node timing hook (node index, backward?, seconds) for benchmarks.</summary>
    public Action<int, bool, double>? Profile { get; set; }

    public Tensor Output(int i) => _outs[Outputs[i]] ?? throw new InvalidOperationException("run Forward first");

    /// <summary>Back-propagates the given gradients of the outputs (null = output not in the loss).</summary>
    public void Backward(Tensor?[] outputGrads, RunContext ctx)
    {
        Array.Clear(_grads);
        for (int o = 0; o < Outputs.Length; o++)
            if (outputGrads[o] is { } g) Accumulate(Outputs[o], g);
        bool outer = ctx.InNetwork;
        ctx.InNetwork = true;
        try
        {
            for (int i = _nodes.Count - 1; i >= 0; i--)
            {
                var g = _grads[i];
                if (g is null) continue;
                var node = _nodes[i];
                var need = _needInput[i];
                long t0 = Profile is null ? 0 : System.Diagnostics.Stopwatch.GetTimestamp();
                var dins = node.Layer.Backward(g, need, ctx);
                Profile?.Invoke(i, true, System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalSeconds);
                for (int k = 0; k < need.Length; k++)
                    if (need[k] && dins[k] is { } d) Accumulate(node.Inputs[k], d);
            }
        }
        finally { ctx.InNetwork = outer; }
    }

    private void Accumulate(int node, Tensor g)
    {
        var cur = _grads[node];
        if (cur is null) { _grads[node] = g; return; }
        // Fan-out: sum into a buffer the network owns, never into a layer's reusable gradient tensor.
        if (!ReferenceEquals(cur, _gradOwned[node]))
        {
            var own = Tensor.Ensure(ref _gradOwned[node], cur.N, cur.C, cur.H, cur.W);
            cur.Span.CopyTo(own.Span);
            _grads[node] = cur = own;
        }
        var a = cur.Span; var b = g.Span;
        for (int i = 0; i < a.Length; i++) a[i] += b[i];
    }

    public void ZeroGrad()
    {
        foreach (var node in _nodes)
        {
            var ps = node.Layer.Parameters;
            for (int i = 0; i < ps.Count; i++) Array.Clear(ps[i].Grad);
        }
    }

    public string Summary()
    {
        var sb = new System.Text.StringBuilder();
        sb.AppendLine($"input {InputShape}");
        foreach (var n in _nodes)
            sb.AppendLine($"{n.Layer.Name,-16} {n.Layer.Kind,-16} -> {n.Shape,-12} params {n.Layer.Parameters.Sum(p => p.Value.Length)}");
        sb.Append($"total parameters {ParameterCount}");
        return sb.ToString();
    }
}
