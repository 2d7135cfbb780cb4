using Cnn.Trainer.Kernels;
using Cnn.Trainer.Layers;

namespace Cnn.Trainer;

/// <summary>
/// Builds a <see cref="Network"/> node by node, inferring input channels from the shapes so far.
/// Every layer's shape is checked as it is added, so an inconsistent description fails before
/// training with a <see cref="ModelSpecException"/> naming the layer. Handles are node indices; <see cref="Input"/> is -1.
/// </summary>
public sealed class NetworkBuilder
{
    private readonly List<Node> _nodes = [];
    private readonly Dictionary<string, int> _counters = [];

    public NetworkBuilder(Shape input, int seed = 0)
    {
        if (input.C <= 0 || input.H <= 0 || input.W <= 0) throw new ArgumentException($"invalid input shape {input}");
        InputShape = input;
        Rng = new Random(seed);
    }

    public const int Input = -1;
    public Shape InputShape { get; }
    public Random Rng { get; }

    public Shape ShapeOf(int h) => h < 0 ? InputShape : _nodes[h].Shape;

    private string AutoName(string kind)
    {
        _counters[kind] = _counters.GetValueOrDefault(kind) + 1;
        return $"{kind}{_counters[kind]}";
    }

    /// <summary>Appends a layer reading the given handles; checks shapes; returns its handle.</summary>
    public int Add(Layer layer, params int[] inputs)
    {
        if (string.IsNullOrEmpty(layer.Name)) layer.Name = AutoName(layer.Kind.ToLowerInvariant());
        if (_nodes.Any(n => n.Layer.Name == layer.Name)) throw new ModelSpecException(layer.Name, "a layer with this name already exists");
        foreach (int i in inputs)
            if (i < -1 || i >= _nodes.Count) throw new ModelSpecException(layer.Name, $"input handle {i} does not refer to an earlier layer");
        var shape = layer.OutputShape(inputs.Select(ShapeOf).ToArray());
        _nodes.Add(new Node(layer, inputs, shape));
        return _nodes.Count - 1;
    }

    public int Conv(int x, int outChannels, int kernel, int stride = 1, int padding = 0, int dilation = 1, int groups = 1, bool bias = true, string? name = null)
    {
        int cin = ShapeOf(x).C;
        if (cin % groups != 0 || outChannels % groups != 0)
            throw new ModelSpecException(name ?? "conv", $"channels {cin}->{outChannels} are not divisible by groups {groups}");
        return Add(new Conv2d(cin, outChannels, new ConvGeometry(kernel, kernel, stride, stride, padding, padding, dilation, dilation), groups, bias, Rng) { Name = name ?? "" }, x);
    }

    public int ConvTranspose(int x, int outChannels, int kernel, int stride = 1, int padding = 0, int outputPadding = 0, bool bias = true, string? name = null)
        => Add(new ConvTranspose2d(ShapeOf(x).C, outChannels, kernel, stride, padding, outputPadding, 1, 1, bias, Rng) { Name = name ?? "" }, x);

    public int BatchNorm(int x, string? name = null) => Add(new BatchNorm2d(ShapeOf(x).C) { Name = name ?? "" }, x);
    public int Relu(int x, string? name = null) => Add(new Activation(Activation.Kinds.Relu) { Name = name ?? "" }, x);
    public int Relu6(int x, string? name = null) => Add(new Activation(Activation.Kinds.Relu6) { Name = name ?? "" }, x);
    public int LeakyRelu(int x, float slope = 0.01f, string? name = null) => Add(new Activation(Activation.Kinds.LeakyRelu, slope) { Name = name ?? "" }, x);
    public int MaxPool(int x, int kernel, int? stride = null, int padding = 0, string? name = null) => Add(Named(Pool2d.Max(kernel, stride, padding), name), x);
    public int AvgPool(int x, int kernel, int? stride = null, int padding = 0, string? name = null) => Add(Named(Pool2d.Avg(kernel, stride, padding), name), x);
    public int GlobalAvgPool(int x, string? name = null) => Add(Named(Pool2d.GlobalAvg(), name), x);
    public int GlobalMaxPool(int x, string? name = null) => Add(Named(Pool2d.GlobalMax(), name), x);
    public int Flatten(int x, string? name = null) => Add(new Flatten { Name = name ?? "" }, x);
    public int Linear(int x, int outFeatures, bool bias = true, string? name = null) => Add(new Linear(ShapeOf(x).Size, outFeatures, bias, Rng) { Name = name ?? "" }, x);
    public int Dropout(int x, float p, string? name = null) => Add(new Dropout(p) { Name = name ?? "" }, x);
    public int Sum(int a, int b, string? name = null) => Add(new Add { Name = name ?? "" }, a, b);
    public int Concat(int[] xs, string? name = null) => Add(new Concat(xs.Length) { Name = name ?? "" }, xs);
    public int Shuffle(int x, int groups, string? name = null) => Add(new ChannelShuffle(groups) { Name = name ?? "" }, x);

    /// <summary>conv → BN → activation ("relu", "relu6", "leaky" or "none").</summary>
    public int ConvBnAct(int x, int outChannels, int kernel, int stride = 1, int padding = -1, int groups = 1, string act = "relu", string? name = null)
    {
        if (padding < 0) padding = kernel / 2;
        string? p = name;
        x = Conv(x, outChannels, kernel, stride, padding, 1, groups, bias: false, name: p is null ? null : p + ".conv");
        x = BatchNorm(x, p is null ? null : p + ".bn");
        return act switch
        {
            "relu" => Relu(x, p is null ? null : p + ".relu"),
            "relu6" => Relu6(x, p is null ? null : p + ".relu6"),
            "leaky" => LeakyRelu(x, 0.01f, p is null ? null : p + ".leaky"),
            "none" => x,
            _ => throw new ModelSpecException(name ?? "conv", $"unknown activation '{act}'"),
        };
    }

    private static Layer Named(Layer l, string? name) { if (name is not null) l.Name = name; return l; }

    /// <summary>Finishes the graph; the first output is the classifier, the rest auxiliary heads.</summary>
    public Network Build(params int[] outputs)
    {
        if (outputs.Length == 0) outputs = [_nodes.Count - 1];
        foreach (int o in outputs)
            if (o < 0 || o >= _nodes.Count) throw new ModelSpecException("(network)", $"output handle {o} is not a layer");
        return new Network(InputShape, [.. _nodes], outputs);
    }
}
