using Cnn.Onnx;
using Cnn.Quantize.Graph;

namespace Cnn.Quantize.Import;

/// <summary>The graph uses operators or forms the importer does not support; every problem is listed at once.</summary>
public sealed class UnsupportedModelException : Exception
{
    public UnsupportedModelException(IReadOnlyList<string> problems)
        : base($"{problems.Count} unsupported construct(s) in the model:\n  " + string.Join("\n  ", problems) +
               "\nSupported: Conv, ConvTranspose, BatchNormalization, Relu, Clip, LeakyRelu, MaxPool, AveragePool, " +
               "GlobalAveragePool, GlobalMaxPool, Gemm (transA, transB), MatMul+Add, Add (broadcasting one rank), Concat (channels), Flatten (axis 1), Reshape (constant shape), " +
               "Reshape-Transpose-Reshape channel shuffle, Softmax, Identity, Dropout, Constant, Pad (H and W; constant, reflect, edge), " +
               "Add/Sub/Mul/Div by a scalar or per-channel constant. " +
               "Re-export with these ops (e.g. torch.onnx.export with opset 13 and do_constant_folding=True).")
    {
        Problems = problems;
    }

    public IReadOnlyList<string> Problems { get; }
}

/// <summary>
/// Converts an ONNX <see cref="FloatGraph"/> (NCHW) to the quantizer's <see cref="QGraph"/> (NHWC):
/// constants and shape computations are folded, Identity and Dropout removed, weights transposed to
/// edge layouts, Flatten before a fully connected layer absorbed into its weight order, and the
/// Reshape-Transpose-Reshape pattern turned into a channel shuffle. Graph passes (BN folding,
/// activation fusion, Pad folding) run afterwards in <see cref="Passes.GraphPasses"/>.
/// </summary>
public static class OnnxImporter
{
    private static readonly HashSet<string> Supported =
    [
        "Conv", "ConvTranspose", "BatchNormalization", "Relu", "Clip", "LeakyRelu", "MaxPool", "AveragePool",
        "GlobalAveragePool", "GlobalMaxPool", "Gemm", "MatMul", "Add", "Concat", "Flatten", "Reshape", "Transpose",
        "Softmax", "Identity", "Dropout", "Constant", "Pad",
        // Folded when their inputs are constant (shape computations of exporters):
        "Shape", "Gather", "Unsqueeze", "Squeeze", "Cast", "Mul", "Div", "Sub",
        // ReduceMean over H and W is a global average pool.
        "ReduceMean",
    ];

    public static QGraph Import(FloatGraph onnx)
    {
        var ctx = new Context(onnx);
        ctx.Run();
        return ctx.Result;
    }

    private sealed class Context(FloatGraph onnx)
    {
        private readonly Dictionary<string, OnnxTensor> _const = new(onnx.Initializers);
        /// <summary>NCHW (ONNX order) shapes of runtime values.</summary>
        private readonly Dictionary<string, int[]> _shape = [];
        /// <summary>Value renames from removed nodes (Identity, Dropout).</summary>
        private readonly Dictionary<string, string> _alias = [];
        /// <summary>Values that are NCHW-flattened [N, C*H*W] of a spatial tensor: (C, H, W) to permute the next FC's weights.</summary>
        private readonly Dictionary<string, (int C, int H, int W)> _flattenedFrom = [];
        private readonly List<string> _problems = [];
        private readonly HashSet<OnnxNode> _consumed = [];
        /// <summary>5-D views of a channel shuffle in progress: source tensor, groups, source shape, and whether transposed yet.</summary>
        private readonly Dictionary<string, (string Input, int Groups, int[] Shape, string Origin, bool Transposed)> _shuffle = [];
        public QGraph Result { get; private set; } = null!;

        public void Run()
        {
            var unsupported = onnx.Nodes.Where(n => !Supported.Contains(n.OpType) || (n.Domain is not ("" or "ai.onnx")))
                .Select(n => $"{n.Describe()}: operator {(n.Domain is "" or "ai.onnx" ? "" : n.Domain + ".")}{n.OpType} is not supported")
                .ToList();
            if (onnx.Inputs.Count != 1)
                unsupported.Add($"graph has {onnx.Inputs.Count} runtime inputs ({string.Join(", ", onnx.Inputs.Select(i => i.Name))}); exactly one image input is supported");
            if (unsupported.Count > 0) throw new UnsupportedModelException(unsupported);

            var input = onnx.Inputs[0];
            if (input.Shape == null || input.Shape.Length is < 1 or > 4)
                throw new UnsupportedModelException([$"graph input '{input.Name}' must have a declared 4-D [N,C,H,W] (or 1- to 3-D) shape, has {(input.Shape == null ? "none" : "[" + string.Join(",", input.Shape) + "]")}"]);
            var inShape = input.Shape.Select((d, i) => d < 0 ? (i == 0 ? 1 : -1) : d).ToArray();
            if (inShape.Any(d => d <= 0))
                throw new UnsupportedModelException([$"graph input '{input.Name}' has symbolic dimensions other than the batch: [{string.Join(",", input.Shape)}]; export with a fixed input size"]);
            _shape[input.Name] = inShape;

            Result = new QGraph { InputName = input.Name };
            Result.Shapes[input.Name] = ToNhwc(inShape);
            foreach (var (k, v) in onnx.Metadata) Result.Metadata[k] = v;

            foreach (var node in onnx.Nodes)
            {
                if (_consumed.Contains(node)) continue;
                try
                {
                    Convert(node);
                }
                catch (OnnxFormatException e)
                {
                    _problems.Add($"{node.Describe()}: {e.Problem}");
                }
            }
            foreach (var n in Result.Nodes)
            {
                foreach (var i in n.Inputs.Where(i => !Result.Shapes.ContainsKey(i)))
                    _problems.Add($"node '{n.Origin}' reads '{i}', a 5-D view of an incomplete channel shuffle pattern");
            }
            foreach (var o in onnx.Outputs)
            {
                string name = Resolve(o.Name);
                if (_const.ContainsKey(name)) _problems.Add($"graph output '{o.Name}' is a constant");
                else Result.Outputs.Add(name);
            }
            if (_problems.Count > 0) throw new UnsupportedModelException(_problems);
        }

        private string Resolve(string name)
        {
            while (_alias.TryGetValue(name, out var a)) name = a;
            return name;
        }

        private OnnxTensor? Const(string name) => name.Length == 0 ? null : _const.GetValueOrDefault(Resolve(name));

        private int[] ShapeOf(OnnxNode node, int input)
        {
            string name = Resolve(node.Input(input));
            if (_shape.TryGetValue(name, out var s)) return s;
            if (_const.TryGetValue(name, out var c)) return c.Dims;
            throw new OnnxFormatException(node.Describe(), $"shape of input '{name}' is unknown (it comes from an unsupported node)");
        }

        private string Runtime(OnnxNode node, int input)
        {
            string name = Resolve(node.Input(input));
            if (_const.ContainsKey(name))
                throw new OnnxFormatException(node.Describe(), $"input {input} ('{name}') is a constant where a runtime tensor is expected");
            return name;
        }

        private OnnxTensor RequireConst(OnnxNode node, int input, string what)
        {
            return Const(node.Input(input))
                ?? throw new OnnxFormatException(node.Describe(), $"{what} (input {input}, '{node.Input(input)}') must be a constant initializer");
        }

        private void Add(QNode n, int[] nchwShape)
        {
            n.Origin = n.Origin.Length > 0 ? n.Origin : n.Name;
            _shape[n.Output] = nchwShape;
            Result.Shapes[n.Output] = ToNhwc(nchwShape);
            Result.Nodes.Add(n);
        }

        private static int[] ToNhwc(int[] s) => s.Length == 4 ? [s[0], s[2], s[3], s[1]] : s;

        private void Convert(OnnxNode node)
        {
            bool allConst = node.Inputs.Where(i => i.Length > 0).All(i => Const(i) != null);
            switch (node.OpType)
            {
                case "Identity":
                case "Dropout":
                    _alias[node.Outputs[0]] = Resolve(node.Input(0));
                    if (Const(node.Input(0)) is { } c0) _const[node.Outputs[0]] = c0;
                    return;
                case "Constant":
                    {
                        var t = node.GetTensor("value")
                            ?? (node.Attributes.TryGetValue("value_float", out var vf) ? new OnnxTensor(node.Outputs[0], [], [vf.Float])
                            : node.Attributes.TryGetValue("value_int", out var vi) ? new OnnxTensor(node.Outputs[0], [], [vi.Int])
                            : node.Attributes.TryGetValue("value_ints", out var vis) ? new OnnxTensor(node.Outputs[0], [vis.Ints.Length], vis.Ints)
                            : node.Attributes.TryGetValue("value_floats", out var vfs) ? new OnnxTensor(node.Outputs[0], [vfs.Floats.Length], vfs.Floats)
                            : throw new OnnxFormatException(node.Describe(), "Constant without a supported value attribute"));
                        _const[node.Outputs[0]] = t;
                        return;
                    }
                case "Shape":
                    {
                        var s = ShapeOf(node, 0);
                        _const[node.Outputs[0]] = new OnnxTensor(node.Outputs[0], [s.Length], s.Select(d => (long)d).ToArray());
                        return;
                    }
                case "Gather" when allConst: FoldGather(node); return;
                case "Unsqueeze" when allConst: FoldUnsqueeze(node, true); return;
                case "Squeeze" when allConst: FoldUnsqueeze(node, false); return;
                case "Cast" when allConst:
                    {
                        var t = RequireConst(node, 0, "data");
                        long to = node.GetInt("to", 1);
                        _const[node.Outputs[0]] = to is 1 or 10 or 11
                            ? new OnnxTensor(node.Outputs[0], t.Dims, t.Floats ?? t.Ints!.Select(v => (float)v).ToArray())
                            : new OnnxTensor(node.Outputs[0], t.Dims, t.Ints ?? t.Floats!.Select(v => (long)v).ToArray());
                        return;
                    }
                case "Concat" when allConst:
                    {
                        var parts = node.Inputs.Select((_, i) => RequireConst(node, i, "part")).ToList();
                        if (parts.Any(p => p.Dims.Length != 1))
                            throw new OnnxFormatException(node.Describe(), "constant Concat is only folded for 1-D tensors");
                        var data = parts.SelectMany(p => p.Ints ?? p.Floats!.Select(f => (long)f)).ToArray();
                        _const[node.Outputs[0]] = new OnnxTensor(node.Outputs[0], [data.Length], data);
                        return;
                    }
                case "Reshape" when allConst:
                    {
                        var t = RequireConst(node, 0, "data");
                        var dims = ReshapeDims(node, t.Dims, RequireConst(node, 1, "shape").RequireInts());
                        _const[node.Outputs[0]] = t.Floats != null ? new OnnxTensor(node.Outputs[0], dims, t.Floats) : new OnnxTensor(node.Outputs[0], dims, t.Ints!);
                        return;
                    }
                case "Mul" or "Div" or "Sub" or "Add" when allConst: FoldArithmetic(node); return;
                case "Mul" or "Div" or "Sub" or "Add" when node.Inputs.Count == 2 && (Const(node.Input(0)) != null || Const(node.Input(1)) != null):
                    ConvertAffineConst(node);
                    return;
                case "ReduceMean": ConvertReduceMean(node); return;
                case "Transpose" when allConst: FoldTranspose(node); return;
                case "Shape" or "Gather" or "Unsqueeze" or "Squeeze" or "Cast" or "Mul" or "Div" or "Sub":
                    throw new OnnxFormatException(node.Describe(), $"{node.OpType} on a runtime tensor is not supported (only shape computations on constants, " +
                                                                   "and Add/Sub/Mul/Div of a runtime tensor by a scalar or per-channel constant)");
                case "Conv": ConvertConv(node); return;
                case "ConvTranspose": ConvertConvTranspose(node); return;
                case "BatchNormalization": ConvertBatchNorm(node); return;
                case "Relu": AddClamp(node, 0, float.PositiveInfinity); return;
                case "Clip": ConvertClip(node); return;
                case "LeakyRelu":
                    Add(new QNode { Kind = NodeKind.LeakyRelu, Name = node.Name, Inputs = [Runtime(node, 0)], Output = node.Outputs[0], Alpha = node.GetFloat("alpha", 0.01f) }, ShapeOf(node, 0));
                    return;
                case "MaxPool":
                case "AveragePool": ConvertPool(node); return;
                case "GlobalAveragePool":
                case "GlobalMaxPool":
                    {
                        var s = ShapeOf(node, 0);
                        Require4D(node, s);
                        Add(new QNode
                        {
                            Kind = node.OpType == "GlobalAveragePool" ? NodeKind.GlobalAveragePool : NodeKind.GlobalMaxPool,
                            Name = node.Name, Inputs = [Runtime(node, 0)], Output = node.Outputs[0],
                        }, [s[0], s[1], 1, 1]);
                        return;
                    }
                case "Gemm": ConvertGemm(node); return;
                case "MatMul": ConvertMatMul(node); return;
                case "Add": ConvertAdd(node); return;
                case "Concat": ConvertConcat(node); return;
                case "Flatten":
                    {
                        var s = ShapeOf(node, 0);
                        long axis = node.GetInt("axis", 1);
                        if (axis < 0) axis += s.Length;
                        if (axis != 1) throw new OnnxFormatException(node.Describe(), $"Flatten axis {axis} is not supported (only 1)");
                        ConvertFlatten(node, s);
                        return;
                    }
                case "Reshape": ConvertReshape(node); return;
                case "Transpose": ConvertTranspose(node); return;
                case "Softmax":
                    {
                        var s = ShapeOf(node, 0);
                        long axis = node.GetInt("axis", onnx.OpsetVersion >= 13 ? -1 : 1);
                        if (axis < 0) axis += s.Length;
                        bool lastAxis = axis == s.Length - 1 || (s.Length == 4 && axis == 1 && s[2] == 1 && s[3] == 1);
                        if (!lastAxis) throw new OnnxFormatException(node.Describe(), $"Softmax over axis {axis} of a [{string.Join(",", s)}] tensor is not supported (only over channels)");
                        Add(new QNode { Kind = NodeKind.Softmax, Name = node.Name, Inputs = [Runtime(node, 0)], Output = node.Outputs[0] }, s);
                        return;
                    }
                case "Pad": ConvertPad(node); return;
                default:
                    throw new OnnxFormatException(node.Describe(), $"operator {node.OpType} is not supported here");
            }
        }

        private static void Require4D(OnnxNode node, int[] s)
        {
            if (s.Length != 4) throw new OnnxFormatException(node.Describe(), $"expects a 4-D NCHW input, got [{string.Join(",", s)}]");
        }

        /// <summary>Integer shape arithmetic of exporters (e.g. channels / 2), elementwise with scalar broadcast.</summary>
        private void FoldArithmetic(OnnxNode node)
        {
            var a = RequireConst(node, 0, "A");
            var b = RequireConst(node, 1, "B");
            if (a.Ints == null || b.Ints == null || (a.Count != b.Count && b.Count != 1))
                throw new OnnxFormatException(node.Describe(), $"{node.OpType} of constants is only folded for integer tensors of one size (or a scalar B)");
            var r = new long[a.Count];
            for (int i = 0; i < r.Length; i++)
            {
                long x = a.Ints[i], y = b.Ints[b.Count == 1 ? 0 : i];
                r[i] = node.OpType switch
                {
                    "Mul" => x * y,
                    "Div" => y == 0 ? throw new OnnxFormatException(node.Describe(), "division by zero") : x / y,
                    "Sub" => x - y,
                    _ => x + y,
                };
            }
            _const[node.Outputs[0]] = new OnnxTensor(node.Outputs[0], a.Dims, r);
        }

        /// <summary>Transpose of a constant (e.g. a Linear weight exported as Transpose + MatMul).</summary>
        private void FoldTranspose(OnnxNode node)
        {
            var t = RequireConst(node, 0, "data");
            int r = t.Dims.Length;
            var perm = node.GetInts("perm")?.Select(v => (int)v).ToArray() ?? Enumerable.Range(0, r).Reverse().ToArray();
            if (perm.Length != r || perm.Order().Where((v, i) => v != i).Any())
                throw new OnnxFormatException(node.Describe(), $"perm [{string.Join(",", perm)}] is not a permutation of {r} axes");
            var outDims = perm.Select(p => t.Dims[p]).ToArray();
            var inStrides = new long[r];
            for (int i = r - 1, st = 1; i >= 0; st *= t.Dims[i], i--) inStrides[i] = st;
            long n = t.Count;
            var idx = new int[r];
            var f = t.Floats != null ? new float[n] : null;
            var l = t.Ints != null ? new long[n] : null;
            for (long o = 0; o < n; o++)
            {
                long src = 0;
                for (int a = 0; a < r; a++) src += idx[a] * inStrides[perm[a]];
                if (f != null) f[o] = t.Floats![src];
                else l![o] = t.Ints![src];
                for (int a = r - 1; a >= 0; a--)
                {
                    if (++idx[a] < outDims[a]) break;
                    idx[a] = 0;
                }
            }
            _const[node.Outputs[0]] = f != null ? new OnnxTensor(node.Outputs[0], outDims, f) : new OnnxTensor(node.Outputs[0], outDims, l!);
        }

        private void ConvertReduceMean(OnnxNode node)
        {
            var s = ShapeOf(node, 0);
            long[] axes = node.GetInts("axes") ?? Const(node.Input(1))?.RequireInts() ?? [];
            var norm = axes.Select(a => a < 0 ? a + s.Length : a).Order().ToArray();
            if (s.Length != 4 || !norm.SequenceEqual([2L, 3L]))
                throw new OnnxFormatException(node.Describe(), $"ReduceMean over axes [{string.Join(",", axes)}] is not supported (only over H and W of a 4-D tensor)");
            string input = Runtime(node, 0);
            bool keep = node.GetInt("keepdims", 1) != 0;
            string pooled = keep ? node.Outputs[0] : node.Outputs[0] + ".pooled";
            Add(new QNode { Kind = NodeKind.GlobalAveragePool, Name = node.Name, Inputs = [input], Output = pooled }, [s[0], s[1], 1, 1]);
            if (!keep)
                Add(new QNode { Kind = NodeKind.Reshape, Name = node.Name + ".squeeze", Inputs = [pooled], Output = node.Outputs[0], Origin = node.Name }, [s[0], s[1]]);
        }

        private void FoldGather(OnnxNode node)
        {
            var data = RequireConst(node, 0, "data");
            var idx = RequireConst(node, 1, "indices").RequireInts();
            long axis = node.GetInt("axis", 0);
            if (data.Dims.Length != 1 || axis != 0) throw new OnnxFormatException(node.Describe(), "constant Gather is only folded on 1-D data");
            var src = data.RequireInts();
            var vals = idx.Select(i => src[i < 0 ? i + src.Length : i]).ToArray();
            var t = new OnnxTensor(node.Outputs[0], RequireConst(node, 1, "indices").Dims, vals);
            _const[node.Outputs[0]] = t;
        }

        private void FoldUnsqueeze(OnnxNode node, bool unsqueeze)
        {
            var data = RequireConst(node, 0, "data");
            long[] axes = node.GetInts("axes") ?? Const(node.Input(1))?.RequireInts() ?? [];
            var dims = data.Dims.ToList();
            if (unsqueeze)
            {
                int rank = dims.Count + axes.Length;
                foreach (long a in axes.Select(a => a < 0 ? a + rank : a).Order()) dims.Insert((int)a, 1);
            }
            else
            {
                var drop = axes.Length == 0 ? Enumerable.Range(0, dims.Count).Where(i => dims[i] == 1).ToHashSet()
                    : axes.Select(a => (int)(a < 0 ? a + dims.Count : a)).ToHashSet();
                dims = dims.Where((_, i) => !drop.Contains(i)).ToList();
            }
            _const[node.Outputs[0]] = data.Floats != null
                ? new OnnxTensor(node.Outputs[0], [.. dims], data.Floats)
                : new OnnxTensor(node.Outputs[0], [.. dims], data.Ints!);
        }

        private static int[] ReshapeDims(OnnxNode node, int[] inDims, long[] shape)
        {
            long total = OnnxTensor.ElementCount(inDims);
            var dims = new int[shape.Length];
            int minusOne = -1;
            long known = 1;
            for (int i = 0; i < shape.Length; i++)
            {
                long d = shape[i];
                if (d == 0 && node.GetInt("allowzero", 0) == 0)
                {
                    if (i >= inDims.Length) throw new OnnxFormatException(node.Describe(), "shape copies a dimension the input does not have");
                    d = inDims[i];
                }
                if (d == -1)
                {
                    if (minusOne >= 0) throw new OnnxFormatException(node.Describe(), "shape has more than one -1");
                    minusOne = i;
                    continue;
                }
                if (d < 0) throw new OnnxFormatException(node.Describe(), $"shape has a negative dimension {d}");
                dims[i] = (int)d;
                known *= d;
            }
            if (minusOne >= 0)
            {
                if (known == 0 || total % known != 0) throw new OnnxFormatException(node.Describe(), $"cannot reshape {total} elements to [{string.Join(",", shape)}]");
                dims[minusOne] = (int)(total / known);
            }
            if (OnnxTensor.ElementCount(dims) != total)
                throw new OnnxFormatException(node.Describe(), $"cannot reshape [{string.Join(",", inDims)}] to [{string.Join(",", shape)}]");
            return dims;
        }

        private (int T, int L, int B, int R) Pads(OnnxNode node, int[] s, int kh, int kw, int sh, int sw, int dh, int dw)
        {
            string autoPad = node.GetString("auto_pad", "NOTSET");
            if (autoPad is "SAME_UPPER" or "SAME_LOWER")
            {
                int oh = (s[2] + sh - 1) / sh, ow = (s[3] + sw - 1) / sw;
                int ph = Math.Max(0, (oh - 1) * sh + (kh - 1) * dh + 1 - s[2]);
                int pw = Math.Max(0, (ow - 1) * sw + (kw - 1) * dw + 1 - s[3]);
                return autoPad == "SAME_UPPER" ? (ph / 2, pw / 2, ph - ph / 2, pw - pw / 2) : (ph - ph / 2, pw - pw / 2, ph / 2, pw / 2);
            }
            if (autoPad == "VALID") return (0, 0, 0, 0);
            var p = node.GetInts("pads") ?? [0, 0, 0, 0];
            if (p.Length != 4) throw new OnnxFormatException(node.Describe(), $"pads must have 4 values for 2-D, has {p.Length}");
            if (p.Any(v => v < 0 || v > 1024)) throw new OnnxFormatException(node.Describe(), $"pads [{string.Join(",", p)}] out of range 0..1024");
            return ((int)p[0], (int)p[1], (int)p[2], (int)p[3]);
        }

        private static (int, int) Pair(OnnxNode node, string name, int fallback)
        {
            var v = node.GetInts(name);
            if (v == null) return (fallback, fallback);
            if (v.Length != 2) throw new OnnxFormatException(node.Describe(), $"{name} must have 2 values (2-D), has {v.Length}");
            if (v.Any(x => x < 1 || x > 4096)) throw new OnnxFormatException(node.Describe(), $"{name} [{string.Join(",", v)}] out of range 1..4096");
            return ((int)v[0], (int)v[1]);
        }

        private void ConvertConv(OnnxNode node)
        {
            var s = ShapeOf(node, 0);
            Require4D(node, s);
            var w = RequireConst(node, 1, "weight");
            if (w.Dims.Length != 4) throw new OnnxFormatException(node.Describe(), $"weight must be 4-D [Cout,Cin/g,KH,KW], is [{string.Join(",", w.Dims)}]");
            int cout = w.Dims[0], cinG = w.Dims[1], kh = w.Dims[2], kw = w.Dims[3];
            int groups = (int)node.GetInt("group", 1);
            if (groups < 1 || s[1] != cinG * groups || cout % groups != 0)
                throw new OnnxFormatException(node.Describe(), $"input has {s[1]} channels, weight [{string.Join(",", w.Dims)}] with group={groups} does not match");
            var (sh, sw) = Pair(node, "strides", 1);
            var (dh, dw) = Pair(node, "dilations", 1);
            var (pt, pl, pb, pr) = Pads(node, s, kh, kw, sh, sw, dh, dw);
            int oh = (s[2] + pt + pb - dh * (kh - 1) - 1) / sh + 1;
            int ow = (s[3] + pl + pr - dw * (kw - 1) - 1) / sw + 1;
            if (oh < 1 || ow < 1) throw new OnnxFormatException(node.Describe(), $"output would be {oh}x{ow}");
            var bias = node.Input(2).Length > 0 ? RequireConst(node, 2, "bias").RequireFloats() : new float[cout];
            Add(new QNode
            {
                Kind = NodeKind.Conv, Name = node.Name, Inputs = [Runtime(node, 0)], Output = node.Outputs[0],
                Weights = OihwToOhwi(w.RequireFloats(), cout, cinG, kh, kw), WeightShape = [cout, kh, kw, cinG], Bias = [.. bias],
                KernelH = kh, KernelW = kw, StrideH = sh, StrideW = sw, DilationH = dh, DilationW = dw,
                PadTop = pt, PadLeft = pl, PadBottom = pb, PadRight = pr, Groups = groups,
            }, [s[0], cout, oh, ow]);
        }

        /// <summary>[O,I,KH,KW] → [O,KH,KW,I].</summary>
        private static float[] OihwToOhwi(float[] w, int o, int i, int kh, int kw)
        {
            var r = new float[w.Length];
            for (int a = 0; a < o; a++)
                for (int b = 0; b < i; b++)
                    for (int y = 0; y < kh; y++)
                        for (int x = 0; x < kw; x++)
                            r[((a * kh + y) * kw + x) * i + b] = w[((a * i + b) * kh + y) * kw + x];
            return r;
        }

        private void ConvertConvTranspose(OnnxNode node)
        {
            var s = ShapeOf(node, 0);
            Require4D(node, s);
            var w = RequireConst(node, 1, "weight");
            // ONNX ConvTranspose weight: [Cin, Cout/group, KH, KW].
            if (w.Dims.Length != 4 || w.Dims[0] != s[1]) throw new OnnxFormatException(node.Describe(), $"weight [{string.Join(",", w.Dims)}] does not match {s[1]} input channels");
            if (node.GetInt("group", 1) != 1) throw new OnnxFormatException(node.Describe(), "grouped ConvTranspose is not supported");
            if (node.GetInts("output_shape") != null) throw new OnnxFormatException(node.Describe(), "output_shape is not supported; export with explicit pads/output_padding");
            int cin = w.Dims[0], cout = w.Dims[1], kh = w.Dims[2], kw = w.Dims[3];
            var (sh, sw) = Pair(node, "strides", 1);
            var (dh, dw) = Pair(node, "dilations", 1);
            if (node.GetString("auto_pad", "NOTSET") is not ("NOTSET" or "VALID")) throw new OnnxFormatException(node.Describe(), "auto_pad SAME is not supported for ConvTranspose");
            var p = node.GetInts("pads") ?? [0, 0, 0, 0];
            var op = node.GetInts("output_padding") ?? [0, 0];
            int oh = (s[2] - 1) * sh - (int)p[0] - (int)p[2] + dh * (kh - 1) + (int)op[0] + 1;
            int ow = (s[3] - 1) * sw - (int)p[1] - (int)p[3] + dw * (kw - 1) + (int)op[1] + 1;
            // [Cin,Cout,KH,KW] → [Cout,KH,KW,Cin]
            var src = w.RequireFloats();
            var r = new float[src.Length];
            for (int ci = 0; ci < cin; ci++)
                for (int co = 0; co < cout; co++)
                    for (int y = 0; y < kh; y++)
                        for (int x = 0; x < kw; x++)
                            r[((co * kh + y) * kw + x) * cin + ci] = src[((ci * cout + co) * kh + y) * kw + x];
            var bias = node.Input(2).Length > 0 ? RequireConst(node, 2, "bias").RequireFloats() : new float[cout];
            Add(new QNode
            {
                Kind = NodeKind.ConvTranspose, Name = node.Name, Inputs = [Runtime(node, 0)], Output = node.Outputs[0],
                Weights = r, WeightShape = [cout, kh, kw, cin], Bias = [.. bias], KernelH = kh, KernelW = kw,
                StrideH = sh, StrideW = sw, DilationH = dh, DilationW = dw,
                PadTop = (int)p[0], PadLeft = (int)p[1], PadBottom = (int)p[2], PadRight = (int)p[3],
                OutputPadH = (int)op[0], OutputPadW = (int)op[1],
            }, [s[0], cout, oh, ow]);
        }

        private void ConvertBatchNorm(OnnxNode node)
        {
            var s = ShapeOf(node, 0);
            int c = s[1];
            var gamma = RequireConst(node, 1, "scale").RequireFloats();
            var beta = RequireConst(node, 2, "B").RequireFloats();
            var mean = RequireConst(node, 3, "mean").RequireFloats();
            var var = RequireConst(node, 4, "var").RequireFloats();
            if (gamma.Length != c || beta.Length != c || mean.Length != c || var.Length != c)
                throw new OnnxFormatException(node.Describe(), $"statistics must have {c} values");
            if (node.GetInt("training_mode", 0) != 0) throw new OnnxFormatException(node.Describe(), "training_mode=1 BatchNormalization cannot be inferred; export the model in eval mode");
            float eps = node.GetFloat("epsilon", 1e-5f);
            var scale = new float[c];
            var shift = new float[c];
            for (int i = 0; i < c; i++)
            {
                // y = gamma*(x-mean)/sqrt(var+eps) + beta, in double so folding stays within 1e-5 relative.
                double k = gamma[i] / Math.Sqrt(var[i] + (double)eps);
                scale[i] = (float)k;
                shift[i] = (float)(beta[i] - mean[i] * k);
            }
            Add(new QNode { Kind = NodeKind.BatchNorm, Name = node.Name, Inputs = [Runtime(node, 0)], Output = node.Outputs[0], Scale = scale, Shift = shift }, s);
        }

        private void ConvertClip(OnnxNode node)
        {
            float lo = float.NegativeInfinity, hi = float.PositiveInfinity;
            if (node.Attributes.ContainsKey("min") || node.Attributes.ContainsKey("max"))
            {
                lo = node.GetFloat("min", float.NegativeInfinity);
                hi = node.GetFloat("max", float.PositiveInfinity);
            }
            if (node.Input(1).Length > 0) lo = RequireConst(node, 1, "min").RequireFloats()[0];
            if (node.Input(2).Length > 0) hi = RequireConst(node, 2, "max").RequireFloats()[0];
            AddClamp(node, lo, hi);
        }

        private void AddClamp(OnnxNode node, float lo, float hi)
        {
            Add(new QNode { Kind = NodeKind.Clamp, Name = node.Name, Inputs = [Runtime(node, 0)], Output = node.Outputs[0], ActMin = lo, ActMax = hi }, ShapeOf(node, 0));
        }

        private void ConvertPool(OnnxNode node)
        {
            var s = ShapeOf(node, 0);
            Require4D(node, s);
            var k = node.GetInts("kernel_shape");
            if (k is not { Length: 2 }) throw new OnnxFormatException(node.Describe(), "kernel_shape must have 2 values");
            int kh = (int)k[0], kw = (int)k[1];
            if (kh < 1 || kw < 1 || kh > 4096 || kw > 4096) throw new OnnxFormatException(node.Describe(), "kernel_shape out of range");
            var (sh, sw) = Pair(node, "strides", 1);
            var (dh, dw) = Pair(node, "dilations", 1);
            if (dh != 1 || dw != 1) throw new OnnxFormatException(node.Describe(), "pooling dilations other than 1 are not supported");
            if (node.OpType == "MaxPool" && node.Outputs.Count > 1 && node.Outputs[1].Length > 0)
                throw new OnnxFormatException(node.Describe(), "MaxPool indices output is not supported");
            var (pt, pl, pb, pr) = Pads(node, s, kh, kw, sh, sw, 1, 1);
            bool ceil = node.GetInt("ceil_mode", 0) != 0;
            int oh = PoolOut(s[2], kh, sh, pt, pb, ceil), ow = PoolOut(s[3], kw, sw, pl, pr, ceil);
            if (oh < 1 || ow < 1) throw new OnnxFormatException(node.Describe(), $"output would be {oh}x{ow}");
            Add(new QNode
            {
                Kind = node.OpType == "MaxPool" ? NodeKind.MaxPool : NodeKind.AveragePool,
                Name = node.Name, Inputs = [Runtime(node, 0)], Output = node.Outputs[0],
                KernelH = kh, KernelW = kw, StrideH = sh, StrideW = sw, PadTop = pt, PadLeft = pl, PadBottom = pb, PadRight = pr,
                CeilMode = ceil, CountIncludePad = node.GetInt("count_include_pad", 0) != 0,
            }, [s[0], s[1], oh, ow]);
        }

        /// <summary>Pool output size; with ceil mode the last window must start inside the input plus the leading pad (PyTorch rule).</summary>
        internal static int PoolOut(int size, int k, int stride, int padBegin, int padEnd, bool ceil)
        {
            int span = size + padBegin + padEnd - k;
            if (span < 0) return 0;
            int o = (ceil ? (span + stride - 1) / stride : span / stride) + 1;
            if (ceil && (o - 1) * stride >= size + padBegin) o--;
            return o;
        }

        private void ConvertGemm(OnnxNode node)
        {
            var a = ShapeOf(node, 0);
            var b = RequireConst(node, 1, "B");
            if (a.Length != 2 || b.Dims.Length != 2) throw new OnnxFormatException(node.Describe(), "Gemm expects 2-D A and B");
            string input = Runtime(node, 0);
            if (node.GetInt("transA", 0) != 0)
            {
                // Aᵀ without a transpose op: the [K, M] matrix as one row of K·M channels in K groups, channel-shuffled,
                // is its transpose flattened (output channel m·K + k takes input channel k·M + m).
                int rows = a[0], cols = a[1];
                string flat = node.Outputs[0] + ".a_flat", shuffled = node.Outputs[0] + ".a_shuffled", transposed = node.Outputs[0] + ".a_t";
                Add(new QNode { Kind = NodeKind.Reshape, Name = node.Name + ".a_flat", Inputs = [input], Output = flat, Origin = node.Name }, [1, rows * cols]);
                Add(new QNode { Kind = NodeKind.ChannelShuffle, Name = node.Name + ".transA", Inputs = [flat], Output = shuffled, Groups = rows, Origin = node.Name }, [1, rows * cols]);
                Add(new QNode { Kind = NodeKind.Reshape, Name = node.Name + ".a_t", Inputs = [shuffled], Output = transposed, Origin = node.Name }, [cols, rows]);
                input = transposed;
                a = [cols, rows];
            }
            bool transB = node.GetInt("transB", 0) != 0;
            int k = transB ? b.Dims[1] : b.Dims[0], n = transB ? b.Dims[0] : b.Dims[1];
            if (k != a[1]) throw new OnnxFormatException(node.Describe(), $"A has {a[1]} columns, B [{string.Join(",", b.Dims)}] (transB={transB}) expects {k}");
            float alpha = node.GetFloat("alpha", 1f), beta = node.GetFloat("beta", 1f);
            var bw = b.RequireFloats();
            var w = new float[n * k];
            for (int o = 0; o < n; o++)
                for (int i = 0; i < k; i++)
                    w[o * k + i] = alpha * (transB ? bw[o * k + i] : bw[i * n + o]);
            var bias = new float[n];
            if (node.Input(2).Length > 0)
            {
                var c = RequireConst(node, 2, "C").RequireFloats();
                if (c.Length != n && c.Length != 1) throw new OnnxFormatException(node.Describe(), $"C must broadcast to [{n}], has {c.Length} values");
                for (int o = 0; o < n; o++) bias[o] = beta * c[c.Length == 1 ? 0 : o];
            }
            AddFullyConnected(node, input, node.Outputs[0], w, bias, n, k, a[0]);
        }

        private void AddFullyConnected(OnnxNode node, string input, string output, float[] w, float[] bias, int n, int k, int batch)
        {
            if (_flattenedFrom.TryGetValue(input, out var chw) && chw.H * chw.W > 1)
            {
                // The ONNX input was flattened in C,H,W order; ours is H,W,C. Reorder the weight columns to match.
                var p = new float[w.Length];
                for (int o = 0; o < n; o++)
                    for (int c = 0; c < chw.C; c++)
                        for (int y = 0; y < chw.H; y++)
                            for (int x = 0; x < chw.W; x++)
                                p[o * k + (y * chw.W + x) * chw.C + c] = w[o * k + (c * chw.H + y) * chw.W + x];
                w = p;
            }
            Add(new QNode
            {
                Kind = NodeKind.FullyConnected, Name = node.Name, Inputs = [input], Output = output,
                Weights = w, WeightShape = [n, k], Bias = bias,
            }, [batch, n]);
        }

        private void ConvertMatMul(OnnxNode node)
        {
            var a = ShapeOf(node, 0);
            var b = RequireConst(node, 1, "B");
            if (a.Length != 2 || b.Dims.Length != 2 || b.Dims[0] != a[1])
                throw new OnnxFormatException(node.Describe(), $"MatMul of [{string.Join(",", a)}] by constant [{string.Join(",", b.Dims)}] is not supported (need 2-D x [N,K] by [K,M])");
            int k = b.Dims[0], n = b.Dims[1];
            var bw = b.RequireFloats();
            var w = new float[n * k];
            for (int o = 0; o < n; o++)
                for (int i = 0; i < k; i++)
                    w[o * k + i] = bw[i * n + o];
            var bias = new float[n];
            string output = node.Outputs[0];
            string name = node.Name;
            // MatMul followed by Add of a constant [N] vector is a fully connected layer with bias.
            var consumers = onnx.Nodes.Where(c => c.Inputs.Contains(output)).ToList();
            if (consumers is [{ OpType: "Add" } add])
            {
                int other = add.Inputs[0] == output ? 1 : 0;
                if (Const(add.Input(other)) is { } c && c.IsFloat && (c.Count == n || c.Count == 1))
                {
                    var cv = c.Floats!;
                    for (int o = 0; o < n; o++) bias[o] = cv[cv.Length == 1 ? 0 : o];
                    _consumed.Add(add);
                    output = add.Outputs[0];
                    name = $"{node.Name}+{add.Name}";
                }
            }
            AddFullyConnected(node, Runtime(node, 0), output, w, bias, n, k, a[0]);
            Result.Nodes[^1].Name = name;
        }

        /// <summary>
        /// x + c, x - c, c - x, x * c, x / c with a constant c that is a scalar or one value per channel (axis 1):
        /// a per-channel affine node (like an unfolded BatchNormalization), which the passes fold into the
        /// preceding Conv/Gemm or turn into a depthwise 1x1 convolution.
        /// </summary>
        private void ConvertAffineConst(OnnxNode node)
        {
            int ci = Const(node.Input(0)) != null ? 0 : 1;
            var s = ShapeOf(node, 1 - ci);
            var t = RequireConst(node, ci, "constant operand");
            var v = t.Floats ?? t.Ints!.Select(i => (float)i).ToArray();
            int c = s.Length >= 2 ? s[1] : 1;
            // Right-aligned broadcasting: every dimension of c is 1 except, at most, the one over axis 1 (channels).
            var dims = t.Dims.Length <= s.Length ? Enumerable.Repeat(1, s.Length - t.Dims.Length).Concat(t.Dims).ToArray() : t.Dims;
            bool scalar = v.Length == 1 && dims.Length <= s.Length;
            bool perChannel = dims.Length == s.Length && v.Length == c && dims.Select((d, i) => i == 1 ? d == c : d == 1).All(ok => ok);
            if (s.Length is not (2 or 4) || (!scalar && !perChannel))
                throw new OnnxFormatException(node.Describe(), $"{node.OpType} of a [{string.Join(",", s)}] tensor and a constant [{string.Join(",", t.Dims)}] is not supported " +
                                                               "(only a scalar or one value per channel)");
            var scale = new float[c];
            var shift = new float[c];
            for (int i = 0; i < c; i++)
            {
                float k = v[scalar ? 0 : i];
                (scale[i], shift[i]) = node.OpType switch
                {
                    "Add" => (1f, k),
                    "Sub" => ci == 1 ? (1f, -k) : (-1f, k),
                    "Mul" => (k, 0f),
                    _ when ci == 1 && k != 0 => (1f / k, 0f),
                    _ => throw new OnnxFormatException(node.Describe(), ci == 0 ? "division of a constant by a runtime tensor is not supported" : "division by zero"),
                };
            }
            Add(new QNode { Kind = NodeKind.BatchNorm, Name = node.Name, Inputs = [Runtime(node, 1 - ci)], Output = node.Outputs[0], Scale = scale, Shift = shift }, s);
        }

        private void ConvertAdd(OnnxNode node)
        {
            var a = ShapeOf(node, 0);
            var b = ShapeOf(node, 1);
            // Broadcasting of two runtime tensors: one rank (2 or 4), each dimension equal or 1 in one of them.
            bool broadcast = a.Length == b.Length && a.Length is 2 or 4 && a.Zip(b).All(d => d.First == d.Second || d.First == 1 || d.Second == 1);
            if (!a.SequenceEqual(b) && !broadcast)
                throw new OnnxFormatException(node.Describe(), $"Add of [{string.Join(",", a)}] and [{string.Join(",", b)}] is not supported " +
                                                               "(broadcasting needs one rank, 2 or 4, with each dimension equal or 1 in one of them)");
            Add(new QNode { Kind = NodeKind.Add, Name = node.Name, Inputs = [Runtime(node, 0), Runtime(node, 1)], Output = node.Outputs[0] },
                a.Zip(b, Math.Max).ToArray());
        }

        private void ConvertConcat(OnnxNode node)
        {
            var shapes = node.Inputs.Select((_, i) => ShapeOf(node, i)).ToList();
            long axis = node.GetInt("axis", 1);
            int rank = shapes[0].Length;
            if (axis < 0) axis += rank;
            if (axis != 1 || rank is not (2 or 4)) throw new OnnxFormatException(node.Describe(), $"Concat on axis {axis} of rank-{rank} tensors is not supported (only channels)");
            if (shapes.Any(s => s.Length != rank || s[0] != shapes[0][0] || (rank == 4 && (s[2] != shapes[0][2] || s[3] != shapes[0][3]))))
                throw new OnnxFormatException(node.Describe(), "inputs differ in shape outside the concatenation axis");
            if (node.Inputs.Count is < 2 or > 64) throw new OnnxFormatException(node.Describe(), $"Concat of {node.Inputs.Count} inputs (2..64 supported)");
            var outShape = (int[])shapes[0].Clone();
            outShape[1] = shapes.Sum(s => s[1]);
            Add(new QNode { Kind = NodeKind.Concat, Name = node.Name, Inputs = node.Inputs.Select((_, i) => Runtime(node, i)).ToArray(), Output = node.Outputs[0] }, outShape);
        }

        private void ConvertFlatten(OnnxNode node, int[] s)
        {
            string input = Runtime(node, 0);
            int k = s.Skip(1).Aggregate(1, (x, y) => x * y);
            int[] outShape = [s[0], k];
            bool spatial = s.Length == 4 && s[2] * s[3] > 1;
            var consumers = onnx.Nodes.Where(c => c.Inputs.Contains(node.Outputs[0])).ToList();
            bool isOutput = onnx.Outputs.Any(o => o.Name == node.Outputs[0]);
            if (spatial && (isOutput || consumers.Count == 0 || consumers.Any(c => c.OpType is not ("Gemm" or "MatMul"))))
            {
                // Our [N,H,W,C] flattens in H,W,C order, ONNX's in C,H,W: the [H·W, C] rows of each sample transposed,
                // which is a channel shuffle with H·W groups (output C·H·W index c·HW + p takes input p·C + c).
                string nhwc = node.Outputs[0] + ".nhwc";
                Add(new QNode { Kind = NodeKind.Reshape, Name = node.Name + ".nhwc", Inputs = [input], Output = nhwc, Origin = node.Name }, outShape);
                Add(new QNode { Kind = NodeKind.ChannelShuffle, Name = node.Name, Inputs = [nhwc], Output = node.Outputs[0], Groups = s[2] * s[3] }, outShape);
                return;
            }
            Add(new QNode { Kind = NodeKind.Reshape, Name = node.Name, Inputs = [input], Output = node.Outputs[0] }, outShape);
            // Only Gemm/MatMul read it: they absorb the NCHW→NHWC order change in their weight columns.
            if (spatial) _flattenedFrom[node.Outputs[0]] = (s[1], s[2], s[3]);
        }

        private void ConvertReshape(OnnxNode node)
        {
            var s = ShapeOf(node, 0);
            var shapeT = Const(node.Input(1))
                ?? throw new OnnxFormatException(node.Describe(), "Reshape needs a constant shape (computed shapes from Shape/Gather/Concat on constants are folded; others are not supported)");
            var dims = ReshapeDims(node, s, shapeT.RequireInts());
            string input = Runtime(node, 0);
            if (_shuffle.TryGetValue(input, out var sh))
            {
                // Channel shuffle, step 3: back to [N,C,H,W].
                if (!sh.Transposed || !dims.SequenceEqual(sh.Shape))
                    throw new OnnxFormatException(node.Describe(), "incomplete channel shuffle pattern (expected Reshape [N,g,C/g,H,W], Transpose [0,2,1,3,4], Reshape [N,C,H,W])");
                Add(new QNode { Kind = NodeKind.ChannelShuffle, Name = node.Name, Inputs = [sh.Input], Output = node.Outputs[0], Groups = sh.Groups, Origin = sh.Origin + "+" + node.Name }, dims);
                return;
            }
            if (dims.Length == 5 && s.Length == 4 && TryChannelShuffle(node, s, dims, input)) return;
            if (s.Length == 4 && dims.Length == 2 && dims[0] == s[0])
            {
                ConvertFlatten(node, s);
                return;
            }
            bool spatialOne = (s.Length == 4 && s[2] == 1 && s[3] == 1) || s.Length == 2;
            bool toSpatialOne = (dims.Length == 4 && dims[2] == 1 && dims[3] == 1) || dims.Length == 2;
            if (spatialOne && toSpatialOne && dims[0] == s[0])
            {
                Add(new QNode { Kind = NodeKind.Reshape, Name = node.Name, Inputs = [input], Output = node.Outputs[0] }, dims);
                return;
            }
            if (s.Length != 4 && dims.Length != 4 && dims[0] == s[0])
            {
                // Neither side is an NCHW tensor that import turned NHWC: the element order is ONNX's on both.
                Add(new QNode { Kind = NodeKind.Reshape, Name = node.Name, Inputs = [input], Output = node.Outputs[0] }, dims);
                return;
            }
            throw new OnnxFormatException(node.Describe(), $"Reshape of [{string.Join(",", s)}] to [{string.Join(",", dims)}] is not supported (only flatten to [N,K], [N,C,1,1]↔[N,C], " +
                                                           "between shapes of rank other than 4, and the channel shuffle pattern)");
        }

        /// <summary>Channel shuffle, step 1: x [N,C,H,W] → Reshape [N,g,C/g,H,W]. Remembered until the Transpose and Reshape back.</summary>
        private bool TryChannelShuffle(OnnxNode reshape1, int[] s, int[] dims, string input)
        {
            if (dims[0] != s[0] || dims[1] * dims[2] != s[1] || dims[3] != s[2] || dims[4] != s[3]) return false;
            _shuffle[reshape1.Outputs[0]] = (input, dims[1], s, reshape1.Name, false);
            _shape[reshape1.Outputs[0]] = dims;
            return true;
        }

        /// <summary>Channel shuffle, step 2: Transpose perm [0,2,1,3,4] of the 5-D view.</summary>
        private void ConvertTranspose(OnnxNode node)
        {
            string x = Resolve(node.Input(0));
            var perm = node.GetInts("perm") ?? [];
            if (_shuffle.TryGetValue(x, out var sh) && !sh.Transposed && perm.SequenceEqual([0L, 2, 1, 3, 4]))
            {
                _shuffle[node.Outputs[0]] = sh with { Transposed = true, Origin = sh.Origin + "+" + node.Name };
                var d = _shape[x];
                _shape[node.Outputs[0]] = [d[0], d[2], d[1], d[3], d[4]];
                return;
            }
            throw new OnnxFormatException(node.Describe(), "Transpose is only supported inside the Reshape-Transpose-Reshape channel shuffle pattern");
        }

        private void ConvertPad(OnnxNode node)
        {
            var s = ShapeOf(node, 0);
            Require4D(node, s);
            var mode = node.GetString("mode", "constant") switch
            {
                "constant" => Cnn.Edge.Kernels.PadMode.Constant,
                "reflect" => Cnn.Edge.Kernels.PadMode.Reflect,
                "edge" => Cnn.Edge.Kernels.PadMode.Edge,
                var m => throw new OnnxFormatException(node.Describe(), $"Pad mode '{m}' is not supported (constant, reflect, edge)"),
            };
            long[] pads = node.GetInts("pads") ?? (node.Input(1).Length > 0 ? RequireConst(node, 1, "pads").RequireInts() : []);
            float value = node.GetFloat("value", 0f);
            if (node.Input(2).Length > 0) value = RequireConst(node, 2, "constant_value").RequireFloats()[0];
            if (pads.Length != 8 || pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0 || pads.Any(p => p < 0 || p > 1024))
                throw new OnnxFormatException(node.Describe(), $"pads [{string.Join(",", pads)}] must pad only H and W, non-negative");
            if (!float.IsFinite(value)) throw new OnnxFormatException(node.Describe(), $"Pad value {value} is not finite");
            if (mode == Cnn.Edge.Kernels.PadMode.Reflect && (Math.Max(pads[2], pads[6]) >= s[2] || Math.Max(pads[3], pads[7]) >= s[3]))
                throw new OnnxFormatException(node.Describe(), $"reflect pads [{string.Join(",", pads)}] must be smaller than the input's height {s[2]} and width {s[3]}");
            Add(new QNode
            {
                Kind = NodeKind.Pad, Name = node.Name, Inputs = [Runtime(node, 0)], Output = node.Outputs[0],
                PadTop = (int)pads[2], PadLeft = (int)pads[3], PadBottom = (int)pads[6], PadRight = (int)pads[7], PadValue = value, PadMode = mode,
            }, [s[0], s[1], s[2] + (int)(pads[2] + pads[6]), s[3] + (int)(pads[3] + pads[7])]);
        }
    }
}
