using System.Globalization;
using Cnn.Onnx;
using Cnn.Trainer.Data;
using Cnn.Trainer.Kernels;
using Cnn.Trainer.Layers;

namespace Cnn.Trainer.Onnx;

/// <summary>
/// Loads an NCHW float ONNX classifier (ours, or PyTorch's export) into a trainable <see cref="Network"/>
/// for transfer learning. Supported: Conv, ConvTranspose, BatchNormalization, Relu, Clip(0,6), LeakyRelu,
/// MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool, Flatten, Reshape to [N,-1], Gemm, Add, Concat
/// (channels), Dropout/Identity, and the Reshape→Transpose→Reshape channel shuffle. Anything else is
/// refused naming the node.
/// </summary>
public static class OnnxImport
{
    public sealed record Result(Network Network, Preprocessing Preprocessing);

    public static Result Load(string path, int seed = 0) => FromGraph(FloatGraph.Load(path), seed);

    public static Result FromGraph(FloatGraph g, int seed = 0)
    {
        if (g.Inputs.Count != 1) throw new OnnxFormatException("graph", $"expected one image input, found {g.Inputs.Count}");
        var ishape = g.Inputs[0].Shape;
        if (ishape is not { Length: 4 } || ishape[1] <= 0 || ishape[2] <= 0 || ishape[3] <= 0)
            throw new OnnxFormatException($"input '{g.Inputs[0].Name}'", "expected a static NCHW shape [N, C, H, W]");
        var b = new NetworkBuilder(new Shape(ishape[1], ishape[2], ishape[3]), seed);
        var handle = new Dictionary<string, int> { [g.Inputs[0].Name] = NetworkBuilder.Input };
        var names = new HashSet<string>();
        var consumed = new HashSet<OnnxNode>();

        float[] Init(OnnxNode n, int i) => n.Inputs.Count > i && g.Initializers.TryGetValue(n.Inputs[i], out var t) ? t.RequireFloats()
            : throw new OnnxFormatException(n.ToString(), $"input {i} must be a constant initializer");
        int H(OnnxNode n, int i = 0) => handle.TryGetValue(n.Inputs[i], out int h) ? h
            : throw new OnnxFormatException(n.ToString(), $"input '{n.Inputs[i]}' is not produced by a supported node");
        long[] Ints(OnnxNode n, string a, params long[] dflt) => n.Attributes.TryGetValue(a, out var v) ? v.Ints : dflt;
        long Int(OnnxNode n, string a, long dflt) => n.Attributes.TryGetValue(a, out var v) ? v.Int : dflt;
        string Name(OnnxNode n)
        {
            string s = string.IsNullOrEmpty(n.Name) ? n.Outputs[0] : n.Name;
            while (!names.Add(s)) s += "_";
            return s;
        }
        ConvGeometry Geometry(OnnxNode n, long[] k)
        {
            if (n.Attributes.TryGetValue("auto_pad", out var ap) && ap.String is not ("" or "NOTSET"))
                throw new OnnxFormatException(n.ToString(), $"auto_pad {ap.String} is not supported; export with explicit pads");
            var s = Ints(n, "strides", 1, 1); var d = Ints(n, "dilations", 1, 1); var p = Ints(n, "pads", 0, 0, 0, 0);
            if (k.Length != 2 || p.Length != 4 || p[0] != p[2] || p[1] != p[3])
                throw new OnnxFormatException(n.ToString(), "only 2-D kernels with symmetric pads are supported");
            return new ConvGeometry((int)k[0], (int)k[1], (int)s[0], (int)s[1], (int)p[0], (int)p[1], (int)d[0], (int)d[1]);
        }

        foreach (var n in g.Nodes)
        {
            if (consumed.Contains(n)) continue;
            string name = Name(n);
            int h;
            switch (n.OpType)
            {
                case "Conv":
                {
                    var wt = g.Initializers[n.Inputs[1]];
                    int cout = wt.Dims[0], groups = (int)Int(n, "group", 1), cin = wt.Dims[1] * groups;
                    var geo = Geometry(n, Ints(n, "kernel_shape", wt.Dims[2], wt.Dims[3]));
                    bool bias = n.Inputs.Count > 2 && n.Inputs[2] != "";
                    var conv = new Conv2d(cin, cout, geo, groups, bias, b.Rng) { Name = name };
                    Init(n, 1).CopyTo(conv.Weight.Value, 0);
                    if (bias) Init(n, 2).CopyTo(conv.Bias!.Value, 0);
                    h = b.Add(conv, H(n));
                    break;
                }
                case "ConvTranspose":
                {
                    var wt = g.Initializers[n.Inputs[1]];
                    int groups = (int)Int(n, "group", 1), cin = wt.Dims[0], cout = wt.Dims[1] * groups;
                    var geo = Geometry(n, Ints(n, "kernel_shape", wt.Dims[2], wt.Dims[3]));
                    var op = Ints(n, "output_padding", 0, 0);
                    if (geo.KH != geo.KW || geo.StrideH != geo.StrideW || geo.PadH != geo.PadW || op[0] != op[^1])
                        throw new OnnxFormatException(n.ToString(), "only square transposed convolutions are supported");
                    bool bias = n.Inputs.Count > 2 && n.Inputs[2] != "";
                    var ct = new ConvTranspose2d(cin, cout, geo.KH, geo.StrideH, geo.PadH, (int)op[0], geo.DilH, groups, bias, b.Rng) { Name = name };
                    Init(n, 1).CopyTo(ct.Weight.Value, 0);
                    if (bias) Init(n, 2).CopyTo(ct.Bias!.Value, 0);
                    h = b.Add(ct, H(n));
                    break;
                }
                case "BatchNormalization":
                {
                    float eps = n.Attributes.TryGetValue("epsilon", out var e) ? e.Float : 1e-5f;
                    float mom = n.Attributes.TryGetValue("momentum", out var m) ? 1 - m.Float : 0.1f;
                    var scale = Init(n, 1);
                    var bn = new BatchNorm2d(scale.Length, mom, eps) { Name = name };
                    scale.CopyTo(bn.Gamma.Value, 0); Init(n, 2).CopyTo(bn.Beta.Value, 0);
                    Init(n, 3).CopyTo(bn.RunningMean, 0); Init(n, 4).CopyTo(bn.RunningVar, 0);
                    h = b.Add(bn, H(n));
                    break;
                }
                case "Relu": h = b.Relu(H(n), name); break;
                case "LeakyRelu": h = b.LeakyRelu(H(n), n.Attributes.TryGetValue("alpha", out var al) ? al.Float : 0.01f, name); break;
                case "Clip":
                {
                    float lo = n.Inputs.Count > 1 && n.Inputs[1] != "" ? Init(n, 1)[0] : n.Attributes.TryGetValue("min", out var mi) ? mi.Float : float.MinValue;
                    float hi = n.Inputs.Count > 2 && n.Inputs[2] != "" ? Init(n, 2)[0] : n.Attributes.TryGetValue("max", out var ma) ? ma.Float : float.MaxValue;
                    if (lo != 0 || hi != 6) throw new OnnxFormatException(n.ToString(), $"only Clip(0, 6) (ReLU6) is supported, got ({lo}, {hi})");
                    h = b.Relu6(H(n), name);
                    break;
                }
                case "MaxPool" or "AveragePool":
                {
                    var geo = Geometry(n, Ints(n, "kernel_shape"));
                    if (geo.KH != geo.KW || geo.StrideH != geo.StrideW || geo.PadH != geo.PadW || Int(n, "ceil_mode", 0) != 0)
                        throw new OnnxFormatException(n.ToString(), "only square pools without ceil_mode are supported");
                    if (n.OpType == "AveragePool" && geo.PadH > 0 && Int(n, "count_include_pad", 0) == 0)
                        throw new OnnxFormatException(n.ToString(), "padded AveragePool must have count_include_pad=1");
                    h = n.OpType == "MaxPool" ? b.MaxPool(H(n), geo.KH, geo.StrideH, geo.PadH, name) : b.AvgPool(H(n), geo.KH, geo.StrideH, geo.PadH, name);
                    break;
                }
                case "GlobalAveragePool": h = b.GlobalAvgPool(H(n), name); break;
                case "GlobalMaxPool": h = b.GlobalMaxPool(H(n), name); break;
                case "Flatten":
                    if (Int(n, "axis", 1) != 1) throw new OnnxFormatException(n.ToString(), "only Flatten(axis=1) is supported");
                    h = b.Flatten(H(n), name);
                    break;
                case "Reshape" when g.Initializers.TryGetValue(n.Inputs[1], out var st) && st.RequireInts() is { Length: 2 } two && two[1] == -1:
                    h = b.Flatten(H(n), name);
                    break;
                case "Reshape" when g.Initializers.TryGetValue(n.Inputs[1], out var st5) && st5.RequireInts() is { Length: 5 } five
                                   && g.Consumers(n.Outputs[0]).SingleOrDefault() is { OpType: "Transpose" } tr
                                   && g.Consumers(tr.Outputs[0]).SingleOrDefault() is { OpType: "Reshape" } back:
                {
                    // Reshape [N, G, C/G, H, W] → Transpose(0,2,1,3,4) → Reshape back: channel shuffle with G groups
                    if (!Ints(tr, "perm").SequenceEqual(new long[] { 0, 2, 1, 3, 4 }))
                        throw new OnnxFormatException(tr.ToString(), "only the channel-shuffle transpose (0,2,1,3,4) is supported");
                    consumed.Add(tr); consumed.Add(back);
                    h = b.Shuffle(H(n), (int)five[1], name);
                    handle[back.Outputs[0]] = h;
                    continue;
                }
                case "Gemm":
                {
                    var wt = g.Initializers[n.Inputs[1]];
                    bool transB = Int(n, "transB", 0) != 0;
                    if (Int(n, "transA", 0) != 0 || (n.Attributes.TryGetValue("alpha", out var ga) && ga.Float != 1) || (n.Attributes.TryGetValue("beta", out var gb) && gb.Float != 1))
                        throw new OnnxFormatException(n.ToString(), "only Gemm with transA=0, alpha=beta=1 is supported");
                    int outF = transB ? wt.Dims[0] : wt.Dims[1], inF = transB ? wt.Dims[1] : wt.Dims[0];
                    bool bias = n.Inputs.Count > 2 && n.Inputs[2] != "";
                    var lin = new Linear(inF, outF, bias, b.Rng) { Name = name };
                    var w = Init(n, 1);
                    if (transB) w.CopyTo(lin.Weight.Value, 0);
                    else for (int i = 0; i < inF; i++) for (int o = 0; o < outF; o++) lin.Weight.Value[o * inF + i] = w[i * outF + o];
                    if (bias)
                    {
                        var bv = Init(n, 2);
                        if (bv.Length != outF) throw new OnnxFormatException(n.ToString(), "bias must have one value per output");
                        bv.CopyTo(lin.Bias!.Value, 0);
                    }
                    h = b.Add(lin, H(n));
                    break;
                }
                case "Add": h = b.Sum(H(n, 0), H(n, 1), name); break;
                case "Concat":
                    if (Int(n, "axis", 1) != 1) throw new OnnxFormatException(n.ToString(), "only channel Concat (axis=1) is supported");
                    h = b.Concat(n.Inputs.Select((_, i) => H(n, i)).ToArray(), name);
                    break;
                case "Dropout" or "Identity":
                    handle[n.Outputs[0]] = H(n);
                    continue;
                default:
                    throw new OnnxFormatException(n.ToString(), $"operator {n.OpType} is not supported by the trainer's importer");
            }
            handle[n.Outputs[0]] = h;
        }
        if (g.Outputs.Count == 0 || !handle.TryGetValue(g.Outputs[0].Name, out int head) || head < 0)
            throw new OnnxFormatException("graph", "the first output is not produced by an imported node");
        var net = b.Build(head);
        var md = g.Metadata;
        if (md.TryGetValue("labels", out var labels)) net.Labels = labels.Split(',');
        int c = net.InputShape.C;
        float[] Floats(string key, float dflt) => md.TryGetValue(key, out var v)
            ? v.Split(',').Select(x => float.Parse(x, CultureInfo.InvariantCulture)).ToArray() : Enumerable.Repeat(dflt, c).ToArray();
        var pre = new Preprocessing(md.TryGetValue("input.pixel_scale", out var ps) ? float.Parse(ps, CultureInfo.InvariantCulture) : 1f / 255f,
            Floats("input.mean", 0f), Floats("input.std", 1f));
        return new Result(net, pre);
    }
}

/// <summary>Transfer learning: new classifier head, frozen or slowly trained backbone.</summary>
public static class Transfer
{
    /// <summary>
    /// Returns a network sharing every layer (and its weights) with <paramref name="net"/> except the final
    /// Linear, replaced by a fresh one with <paramref name="classes"/> outputs named like the old head.
    /// </summary>
    public static Network ReplaceHead(Network net, int classes, string[]? labels = null, int seed = 0)
    {
        int headIdx = net.Outputs[0];
        if (net.Nodes[headIdx].Layer is not Linear old)
            throw new ModelSpecException(net.Nodes[headIdx].Layer.Name, "the classifier head must be a Linear (Gemm) layer to be replaced");
        var b = new NetworkBuilder(net.InputShape, seed);
        for (int i = 0; i < net.Nodes.Count; i++)
        {
            var n = net.Nodes[i];
            var layer = i == headIdx ? new Linear(old.InFeatures, classes, old.Bias is not null, new Random(seed)) { Name = old.Name } : n.Layer;
            b.Add(layer, n.Inputs);
        }
        var result = b.Build(net.Outputs);
        result.Labels = labels;
        return result;
    }

    /// <summary>Freezes every parameter except the head (lrScale = 0), or trains the backbone at lrScale × the rate.</summary>
    public static void FreezeBackbone(Network net, float lrScale = 0f)
    {
        var head = net.Nodes[net.Outputs[0]].Layer;
        foreach (var n in net.Nodes)
        {
            if (ReferenceEquals(n.Layer, head)) continue;
            foreach (var p in n.Layer.Parameters)
            {
                p.Frozen = lrScale == 0;
                p.LrScale = lrScale == 0 ? 1 : lrScale;
            }
        }
    }
}
