using System.Text.Json;
using System.Text.Json.Serialization;
using Cnn.Trainer.Layers;

namespace Cnn.Trainer.Models;

/// <summary>
/// A user-described network (JSON). Each layer reads the previous one unless "inputs" names earlier
/// layers ("input" = the network input). Optional "in" states the expected input channels (features
/// for linear); a mismatch is rejected before training, naming the layer. "out": 0 on a linear or
/// conv means the class count.
/// <code>
/// { "input": [1, 28, 28], "classes": 10, "layers": [
///   { "type": "conv", "name": "c1", "out": 16, "kernel": 3, "padding": 1 }, { "type": "bn" }, { "type": "relu" },
///   { "type": "dwsep", "out": 32, "stride": 2 }, { "type": "gap" }, { "type": "flatten" }, { "type": "linear", "out": 0 } ] }
/// </code>
/// Types: conv, convtranspose, bn, relu, relu6, leakyrelu, maxpool, avgpool, gap, gmp, flatten, linear,
/// dropout, add, concat, shuffle, and blocks dwsep, basic, bottleneck, inception, dense, shuffleunit.
/// </summary>
public sealed class ModelSpec
{
    public string? Name { get; set; }
    public int[] Input { get; set; } = [];
    public int Classes { get; set; }
    public List<LayerSpec> Layers { get; set; } = [];
    /// <summary>Names of output layers; default the last layer. Extra outputs are auxiliary heads.</summary>
    public string[]? Outputs { get; set; }

    public static ModelSpec Parse(string json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, ModelSpecJson.Default.ModelSpec) ?? throw new ModelSpecException("(spec)", "the JSON is null");
        }
        catch (JsonException e) { throw new ModelSpecException("(spec)", $"invalid JSON at {e.Path} line {e.LineNumber}: {e.Message}"); }
    }

    public static ModelSpec Load(string path) => Parse(File.ReadAllText(path));

    public string ToJson() => JsonSerializer.Serialize(this, ModelSpecJson.Default.ModelSpec);

    /// <summary>Builds and shape-checks the whole network; throws <see cref="ModelSpecException"/> naming the first bad layer.</summary>
    public Network Build(int seed = 0)
    {
        if (Input.Length != 3 || Input.Any(d => d <= 0)) throw new ModelSpecException("(input)", "\"input\" must be [channels, height, width] with positive sizes");
        if (Classes <= 0) throw new ModelSpecException("(spec)", "\"classes\" must be positive");
        if (Layers.Count == 0) throw new ModelSpecException("(spec)", "\"layers\" is empty");
        var b = new NetworkBuilder(new Shape(Input[0], Input[1], Input[2]), seed);
        var handles = new Dictionary<string, int> { ["input"] = NetworkBuilder.Input };
        int prev = NetworkBuilder.Input;
        for (int i = 0; i < Layers.Count; i++)
        {
            var l = Layers[i];
            string name = l.Name ?? $"{l.Type}{i + 1}";
            int[] ins = l.Inputs is { Length: > 0 }
                ? l.Inputs.Select(n => handles.TryGetValue(n, out int h) ? h : throw new ModelSpecException(name, $"input '{n}' is not an earlier layer")).ToArray()
                : [prev];
            var inShape = b.ShapeOf(ins[0]);
            if (l.In is { } expect)
            {
                int have = l.Type is "linear" ? inShape.Size : inShape.C;
                if (have != expect) throw new ModelSpecException(name, $"declares {expect} input {(l.Type is "linear" ? "features" : "channels")} but receives {have} (from {inShape})");
            }
            int Out() => l.Out is null ? throw new ModelSpecException(name, "needs \"out\"") : l.Out == 0 ? Classes : l.Out.Value;
            int Kernel() => l.Kernel ?? throw new ModelSpecException(name, "needs \"kernel\"");
            int One() => ins.Length == 1 ? ins[0] : throw new ModelSpecException(name, $"{l.Type} takes one input, got {ins.Length}");
            int stride = l.Stride ?? 1;
            try
            {
                prev = l.Type.ToLowerInvariant() switch
                {
                    "conv" => b.Conv(One(), Out(), Kernel(), stride, l.Padding ?? Kernel() / 2, l.Dilation ?? 1, l.Groups ?? 1, l.Bias ?? true, name),
                    "convtranspose" => b.ConvTranspose(One(), Out(), Kernel(), stride, l.Padding ?? 0, l.OutputPadding ?? 0, l.Bias ?? true, name),
                    "bn" or "batchnorm" => b.BatchNorm(One(), name),
                    "relu" => b.Relu(One(), name),
                    "relu6" => b.Relu6(One(), name),
                    "leakyrelu" => b.LeakyRelu(One(), l.Slope ?? 0.01f, name),
                    "maxpool" => b.MaxPool(One(), Kernel(), l.Stride, l.Padding ?? 0, name),
                    "avgpool" => b.AvgPool(One(), Kernel(), l.Stride, l.Padding ?? 0, name),
                    "gap" => b.GlobalAvgPool(One(), name),
                    "gmp" => b.GlobalMaxPool(One(), name),
                    "flatten" => b.Flatten(One(), name),
                    "linear" => b.Linear(One(), Out(), l.Bias ?? true, name),
                    "dropout" => b.Dropout(One(), l.P ?? 0.5f, name),
                    "add" => ins.Length == 2 ? b.Sum(ins[0], ins[1], name) : throw new ModelSpecException(name, "add takes exactly two \"inputs\""),
                    "concat" => b.Concat(ins, name),
                    "shuffle" => b.Shuffle(One(), l.Groups ?? throw new ModelSpecException(name, "needs \"groups\""), name),
                    "dwsep" => Zoo.DepthwiseSeparable(b, One(), Out(), stride, name, l.Activation ?? "relu"),
                    "basic" => Zoo.BasicBlock(b, One(), Out(), stride, name),
                    "bottleneck" => Zoo.BottleneckBlock(b, One(), Out(), stride, name),
                    "inception" => l.Branches is { Length: 6 } br ? Zoo.InceptionBlock(b, One(), br[0], br[1], br[2], br[3], br[4], br[5], name)
                        : throw new ModelSpecException(name, "inception needs \"branches\": [c1, c3reduce, c3, c5reduce, c5, poolproj]"),
                    "dense" => Zoo.DenseBlock(b, One(), l.Layers ?? 4, l.Growth ?? 12, name),
                    "shuffleunit" => Zoo.ShuffleUnit(b, One(), Out(), l.Groups ?? 3, stride, name),
                    _ => throw new ModelSpecException(name, $"unknown layer type '{l.Type}'"),
                };
            }
            catch (ArgumentException e) { throw new ModelSpecException(name, e.Message); }
            handles[name] = prev;
        }
        int[] outs = Outputs is { Length: > 0 }
            ? Outputs.Select(n => handles.TryGetValue(n, out int h) && h >= 0 ? h : throw new ModelSpecException(n, "is listed in \"outputs\" but is not a layer")).ToArray()
            : [prev];
        var net = b.Build(outs);
        if (net.Classes != Classes)
            throw new ModelSpecException(net.Nodes[outs[0]].Layer.Name, $"produces {net.Nodes[outs[0]].Shape} = {net.Classes} values but \"classes\" is {Classes}");
        return net;
    }
}

public sealed class LayerSpec
{
    public string Type { get; set; } = "";
    public string? Name { get; set; }
    public string[]? Inputs { get; set; }
    public int? In { get; set; }
    public int? Out { get; set; }
    public int? Kernel { get; set; }
    public int? Stride { get; set; }
    public int? Padding { get; set; }
    [JsonPropertyName("output_padding")] public int? OutputPadding { get; set; }
    public int? Dilation { get; set; }
    public int? Groups { get; set; }
    public bool? Bias { get; set; }
    public float? Slope { get; set; }
    public float? P { get; set; }
    public string? Activation { get; set; }
    public int[]? Branches { get; set; }
    public int? Layers { get; set; }
    public int? Growth { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow, WriteIndented = true)]
[JsonSerializable(typeof(ModelSpec))]
internal sealed partial class ModelSpecJson : JsonSerializerContext;
