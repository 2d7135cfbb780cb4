using System.Globalization;
using Cnn.Onnx;
using Cnn.Trainer.Data;
using Cnn.Trainer.Layers;

namespace Cnn.Trainer.Onnx;

/// <summary>
/// Writes a trained network as an NCHW float ONNX model (opset 13) in eval semantics: BatchNorm kept
/// as BatchNormalization (the quantizer folds it), ReLU6 as Clip(0, 6), dropout dropped, a Flatten
/// inserted before Gemm when the input is still 4-D, ChannelShuffle as Reshape→Transpose→Reshape.
/// Only output 0 (the classifier) is exported; auxiliary heads are left out.
/// Metadata: input.layout (grey|rgb), input.pixel_scale, input.mean, input.std, labels.
/// </summary>
public static class OnnxExport
{
    public const string InputName = "input";
    public const string OutputName = "logits";

    /// <param name="batch">Batch dimension written in the input/output shapes; -1 = dynamic.</param>
    public static FloatGraph ToGraph(Network net, Preprocessing preprocessing, string name = "cnn", int batch = 1)
    {
        var s = net.InputShape;
        if (preprocessing.Mean.Length != s.C || preprocessing.Std.Length != s.C)
            throw new ArgumentException($"preprocessing has {preprocessing.Mean.Length} means for {s.C} input channels");
        if (s.C is not (1 or 3)) throw new ArgumentException($"ONNX export metadata supports grey (1) or RGB (3) input, the network has {s.C} channels");
        var g = new FloatGraph { Name = name, ProducerName = "Cnn.Trainer", OpsetVersion = 13 };
        g.AddInput(InputName, [batch, s.C, s.H, s.W]);

        // keep only nodes that feed the classifier
        var nodes = net.Nodes;
        var live = new bool[nodes.Count];
        var stack = new Stack<int>([net.Outputs[0]]);
        while (stack.Count > 0)
        {
            int i = stack.Pop();
            if (i < 0 || live[i]) continue;
            live[i] = true;
            foreach (int j in nodes[i].Inputs) stack.Push(j);
        }

        var value = new string[nodes.Count];
        var rank = new int[nodes.Count];
        string ValueOf(int i) => i < 0 ? InputName : value[i];
        int RankOf(int i) => i < 0 ? 4 : rank[i];
        for (int i = 0; i < nodes.Count; i++)
        {
            if (!live[i]) continue;
            var node = nodes[i];
            var l = node.Layer;
            string n = l.Name;
            string[] ins = node.Inputs.Select(ValueOf).ToArray();
            string outName = n;
            int outRank = node.Inputs.Length > 0 ? RankOf(node.Inputs[0]) : 4;
            switch (l)
            {
                case Conv2d c:
                {
                    var gm = c.Geometry;
                    g.AddInitializer($"{n}.weight", c.Weight.Shape, (float[])c.Weight.Value.Clone());
                    var cin = new List<string> { ins[0], $"{n}.weight" };
                    if (c.Bias is not null) { g.AddInitializer($"{n}.bias", c.Bias.Shape, (float[])c.Bias.Value.Clone()); cin.Add($"{n}.bias"); }
                    g.AddNode("Conv", n, [.. cin], [outName],
                        OnnxAttribute.IntList("kernel_shape", gm.KH, gm.KW), OnnxAttribute.IntList("strides", gm.StrideH, gm.StrideW),
                        OnnxAttribute.IntList("pads", gm.PadH, gm.PadW, gm.PadH, gm.PadW), OnnxAttribute.IntList("dilations", gm.DilH, gm.DilW),
                        OnnxAttribute.IntValue("group", c.Groups));
                    break;
                }
                case ConvTranspose2d c:
                {
                    var gm = c.Geometry;
                    g.AddInitializer($"{n}.weight", c.Weight.Shape, (float[])c.Weight.Value.Clone());
                    var cin = new List<string> { ins[0], $"{n}.weight" };
                    if (c.Bias is not null) { g.AddInitializer($"{n}.bias", c.Bias.Shape, (float[])c.Bias.Value.Clone()); cin.Add($"{n}.bias"); }
                    g.AddNode("ConvTranspose", n, [.. cin], [outName],
                        OnnxAttribute.IntList("kernel_shape", gm.KH, gm.KW), OnnxAttribute.IntList("strides", gm.StrideH, gm.StrideW),
                        OnnxAttribute.IntList("pads", gm.PadH, gm.PadW, gm.PadH, gm.PadW), OnnxAttribute.IntList("dilations", gm.DilH, gm.DilW),
                        OnnxAttribute.IntList("output_padding", c.OutputPadding, c.OutputPadding), OnnxAttribute.IntValue("group", c.Groups));
                    break;
                }
                case BatchNorm2d b:
                    g.AddInitializer($"{n}.weight", [b.Channels], (float[])b.Gamma.Value.Clone());
                    g.AddInitializer($"{n}.bias", [b.Channels], (float[])b.Beta.Value.Clone());
                    g.AddInitializer($"{n}.running_mean", [b.Channels], (float[])b.RunningMean.Clone());
                    g.AddInitializer($"{n}.running_var", [b.Channels], (float[])b.RunningVar.Clone());
                    // ONNX momentum weighs the old running value: 1 − PyTorch's momentum
                    g.AddNode("BatchNormalization", n, [ins[0], $"{n}.weight", $"{n}.bias", $"{n}.running_mean", $"{n}.running_var"], [outName],
                        OnnxAttribute.FloatValue("epsilon", b.Eps), OnnxAttribute.FloatValue("momentum", 1 - b.Momentum));
                    break;
                case Activation a when a.Function == Activation.Kinds.Relu:
                    g.AddNode("Relu", n, [ins[0]], [outName]);
                    break;
                case Activation a when a.Function == Activation.Kinds.Relu6:
                    g.AddInitializer($"{n}.min", [], [0f]);
                    g.AddInitializer($"{n}.max", [], [6f]);
                    g.AddNode("Clip", n, [ins[0], $"{n}.min", $"{n}.max"], [outName]);
                    break;
                case Activation a:
                    g.AddNode("LeakyRelu", n, [ins[0]], [outName], OnnxAttribute.FloatValue("alpha", a.Slope));
                    break;
                case Pool2d p when p.Global:
                    g.AddNode(p.IsMax ? "GlobalMaxPool" : "GlobalAveragePool", n, [ins[0]], [outName]);
                    break;
                case Pool2d p:
                {
                    var gm = p.Geometry;
                    var attrs = new List<OnnxAttribute>
                    {
                        OnnxAttribute.IntList("kernel_shape", gm.KH, gm.KW), OnnxAttribute.IntList("strides", gm.StrideH, gm.StrideW),
                        OnnxAttribute.IntList("pads", gm.PadH, gm.PadW, gm.PadH, gm.PadW),
                    };
                    if (!p.IsMax) attrs.Add(OnnxAttribute.IntValue("count_include_pad", 1));
                    g.AddNode(p.IsMax ? "MaxPool" : "AveragePool", n, [ins[0]], [outName], [.. attrs]);
                    break;
                }
                case Flatten:
                    g.AddNode("Flatten", n, [ins[0]], [outName], OnnxAttribute.IntValue("axis", 1));
                    outRank = 2;
                    break;
                case Linear lin:
                {
                    string x = ins[0];
                    if (RankOf(node.Inputs[0]) != 2)
                    {
                        g.AddNode("Flatten", $"{n}.flatten", [x], [$"{n}.flat"], OnnxAttribute.IntValue("axis", 1));
                        x = $"{n}.flat";
                    }
                    g.AddInitializer($"{n}.weight", lin.Weight.Shape, (float[])lin.Weight.Value.Clone());
                    var gin = new List<string> { x, $"{n}.weight" };
                    if (lin.Bias is not null) { g.AddInitializer($"{n}.bias", lin.Bias.Shape, (float[])lin.Bias.Value.Clone()); gin.Add($"{n}.bias"); }
                    g.AddNode("Gemm", n, [.. gin], [outName], OnnxAttribute.IntValue("transB", 1));
                    outRank = 2;
                    break;
                }
                case Dropout:
                    value[i] = ins[0];   // identity at inference
                    rank[i] = outRank;
                    continue;
                case Add:
                    if (RankOf(node.Inputs[0]) != RankOf(node.Inputs[1]))
                        throw new ModelSpecException(n, "cannot export an Add of a flattened and an unflattened tensor");
                    g.AddNode("Add", n, ins, [outName]);
                    break;
                case Concat:
                    g.AddNode("Concat", n, ins, [outName], OnnxAttribute.IntValue("axis", 1));
                    break;
                case ChannelShuffle cs:
                {
                    var sh = nodes[i].Shape;
                    g.AddInitializer($"{n}.shape5", [5], new long[] { 0, cs.Groups, sh.C / cs.Groups, sh.H, sh.W });
                    g.AddInitializer($"{n}.shape4", [4], new long[] { 0, sh.C, sh.H, sh.W });
                    g.AddNode("Reshape", $"{n}.split", [ins[0], $"{n}.shape5"], [$"{n}.g"]);
                    g.AddNode("Transpose", $"{n}.transpose", [$"{n}.g"], [$"{n}.t"], OnnxAttribute.IntList("perm", 0, 2, 1, 3, 4));
                    g.AddNode("Reshape", n, [$"{n}.t", $"{n}.shape4"], [outName]);
                    break;
                }
                default:
                    throw new ModelSpecException(n, $"{l.Kind} has no ONNX export");
            }
            value[i] = outName;
            rank[i] = outRank;
        }

        int head = net.Outputs[0];
        string last = ValueOf(head);
        if (RankOf(head) != 2)
        {
            g.AddNode("Flatten", "output.flatten", [last], [$"{last}.flat"], OnnxAttribute.IntValue("axis", 1));
            last = $"{last}.flat";
        }
        // rename the classifier's value to "logits" (no Identity node for importers to handle)
        foreach (var nd in g.Nodes)
        {
            for (int k = 0; k < nd.Inputs.Count; k++) if (nd.Inputs[k] == last) nd.Inputs[k] = OutputName;
            for (int k = 0; k < nd.Outputs.Count; k++) if (nd.Outputs[k] == last) nd.Outputs[k] = OutputName;
        }
        g.AddOutput(OutputName, [batch, net.Classes]);

        string F(float v) => v.ToString("R", CultureInfo.InvariantCulture);
        g.Metadata["input.layout"] = s.C == 1 ? "grey" : "rgb";
        g.Metadata["input.pixel_scale"] = F(preprocessing.PixelScale);
        g.Metadata["input.mean"] = string.Join(",", preprocessing.Mean.Select(F));
        g.Metadata["input.std"] = string.Join(",", preprocessing.Std.Select(F));
        var labels = net.Labels ?? Enumerable.Range(0, net.Classes).Select(k => k.ToString(CultureInfo.InvariantCulture)).ToArray();
        g.Metadata["labels"] = string.Join(",", labels.Select(x => x.Replace(',', ' ')));
        return g;
    }

    /// <summary>Exports and writes atomically (temporary file, then rename).</summary>
    public static void Save(Network net, string path, Preprocessing preprocessing, string? name = null, int batch = 1)
        => ToGraph(net, preprocessing, name ?? Path.GetFileNameWithoutExtension(path), batch).Save(path);
}
