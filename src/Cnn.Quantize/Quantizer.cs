using Cnn.Edge;
using Cnn.Edge.Kernels;
using Cnn.Onnx;
using Cnn.Quantize.Calibration;
using Cnn.Quantize.Conversion;
using Cnn.Quantize.Float;
using Cnn.Quantize.Graph;
using Cnn.Quantize.Import;
using Cnn.Quantize.Passes;

namespace Cnn.Quantize;

public sealed class QuantizeOptions
{
    public CalibrationMethod Method { get; init; } = CalibrationMethod.MinMax;
    /// <summary>Upper percentile for <see cref="CalibrationMethod.Percentile"/> (the lower one is 100 minus it).</summary>
    public float Percentile { get; init; } = 99.99f;
    /// <summary>Weight of each new sample in <see cref="CalibrationMethod.MovingAverageMinMax"/>.</summary>
    public float MovingAverageMomentum { get; init; } = 0.01f;
    /// <summary>Shift each Conv/FC bias by the mean output error its int8 weights cause on the calibration set.</summary>
    public bool BiasCorrection { get; init; }
    /// <summary>Overrides the model's input.mean / input.std metadata (per channel, or one value).</summary>
    public float[]? Mean { get; init; }
    public float[]? Std { get; init; }
    public float? PixelScale { get; init; }
    public string? Layout { get; init; }
    public string[]? Labels { get; init; }
    /// <summary>Refuse a model whose arena plan needs more bytes (<see cref="ArenaBudgetException"/>).</summary>
    public long? BudgetBytes { get; init; }
    /// <summary>Model output in float32 (a Dequantize, or a float Softmax, at the end). Otherwise int8.</summary>
    public bool FloatOutput { get; init; } = true;
    /// <summary>Values kept per tensor for percentile and MSE ranges.</summary>
    public int ReservoirSize { get; init; } = 1 << 15;
}

/// <summary>One activation of the int8 model: its float range and quantization.</summary>
public sealed record LayerQuantization(string Name, string Kind, string Origin, int[] Shape, float Min, float Max, float Scale, int ZeroPoint);

public sealed class QuantizeReport
{
    public required IReadOnlyList<string> Passes { get; init; }
    public int FoldedBatchNorms { get; init; }
    public int FusedActivations { get; init; }
    public required IReadOnlyList<LayerQuantization> Layers { get; init; }
    public int CalibrationSamples { get; init; }
    public CalibrationMethod Method { get; init; }
    public int ArenaBytes { get; init; }
    public string PeakOpName { get; init; } = "";
    public long ConstantBytes { get; init; }
    public int ModelBytes { get; init; }
    public required Preprocessing Preprocessing { get; init; }
}

public sealed class QuantizeResult
{
    /// <summary>The edge model file (write it with <see cref="ModelBuilder.WriteFileAtomically"/>).</summary>
    public required byte[] EdgeModel { get; init; }
    public required QuantizeReport Report { get; init; }
    /// <summary>The folded, fused float graph that was quantized: the float reference for <see cref="AccuracyEvaluator"/>.</summary>
    public required QGraph FloatGraph { get; init; }
}

/// <summary>
/// Float ONNX → int8 edge model: import, fold BN, fuse activations, calibrate, convert.
/// Calibration samples are model inputs in ONNX order (NCHW, already normalized, batch 1):
/// use <see cref="Preprocessing.ToTensor"/> to make them from pixels.
/// </summary>
public static class Quantizer
{
    public static QuantizeResult Quantize(string onnxPath, IEnumerable<float[]> calibration, QuantizeOptions? options = null) =>
        Quantize(Onnx.FloatGraph.Load(onnxPath), calibration, options);

    public static QuantizeResult Quantize(FloatGraph onnx, IEnumerable<float[]> calibration, QuantizeOptions? options = null)
    {
        options ??= new QuantizeOptions();
        var g = Prepare(onnx, out var log);
        var problems = EdgeConverter.Int8Problems(g);
        if (problems.Count > 0) throw new UnsupportedModelException(problems);

        var pre = ResolvePreprocessing(g, options);
        var observers = new Dictionary<string, RangeObserver> { [g.InputName] = new RangeObserver(options.ReservoirSize) };
        foreach (var n in g.Nodes) observers[n.Output] = new RangeObserver(options.ReservoirSize);
        var eval = new FloatEvaluator(g);
        var samples = new List<float[]>();
        foreach (var nchw in calibration)
        {
            var x = ToGraphInput(g, nchw);
            samples.Add(x);
            observers[g.InputName].Observe(x, options.MovingAverageMomentum);
            eval.Run(x, (n, y) => observers[n.Output].Observe(y, options.MovingAverageMomentum));
        }
        if (samples.Count == 0) throw new ArgumentException("the calibration set is empty", nameof(calibration));
        if (options.Method is CalibrationMethod.Percentile or CalibrationMethod.Mse)
        {
            // Second pass with every range known: exact histograms for the tail-sensitive methods.
            foreach (var x in samples)
                eval.Run(x, (n, y) => observers[n.Output].ObserveHistogram(y));
        }

        var ranges = new Dictionary<string, (float, float)>();
        foreach (var (name, obs) in observers)
        {
            // The input keeps its full range: clipping real pixels gains nothing.
            ranges[name] = obs.Range(name == g.InputName ? CalibrationMethod.MinMax : options.Method, options.Percentile);
        }
        foreach (var pad in g.Nodes.Where(n => n.Kind == NodeKind.Pad && n.PadMode == Cnn.Edge.Kernels.PadMode.Constant))
        {
            // Pad2D keeps its input's quantization: the fill value must be representable there.
            var (lo, hi) = ranges[pad.Inputs[0]];
            ranges[pad.Inputs[0]] = (Math.Min(lo, pad.PadValue), Math.Max(hi, pad.PadValue));
        }
        var toConvert = options.BiasCorrection ? CorrectBiases(g, samples) : g;

        var conv = new EdgeConverter(toConvert, ranges);
        var metadata = g.Metadata.Where(kv => !kv.Key.StartsWith("input.", StringComparison.Ordinal) && kv.Key != "labels")
            .Concat(pre.ToMetadata());
        byte[] file = conv.Build(metadata, options.FloatOutput);
        var model = EdgeModel.Load(file);
        if (options.BudgetBytes is long budget)
        {
            // The interpreter's load-time check: throws ArenaBudgetException naming the peak op and the missing bytes.
            // The budget is the device's, not this workstation's: scratch is sized as for the portable kernels on one
            // thread (x86 kernels keep wider int16 panels); the device checks again at load with its own ISA and threads.
            var isa = KernelSelector.IsSupported(KernelIsa.Vector128) ? KernelIsa.Vector128 : KernelIsa.Scalar;
            using var check = new Interpreter(model, new InterpreterOptions { BudgetBytes = budget, Isa = isa, Threads = 1 });
        }

        var layers = new List<LayerQuantization>();
        foreach (var t in model.Tensors.Where(t => !t.IsConstant && t.Type == TensorType.Int8))
        {
            var node = g.Nodes.FirstOrDefault(n => n.Name == t.Name);
            var r = ranges.GetValueOrDefault(node?.Output ?? t.Name, (float.NaN, float.NaN));
            layers.Add(new LayerQuantization(t.Name, node?.Kind.ToString() ?? (t.Name == g.InputName ? "Input" : "Reshape"), node?.Origin ?? t.Name,
                t.Shape, r.Item1, r.Item2, t.Scale, t.ZeroPoint));
        }
        var report = new QuantizeReport
        {
            Passes = log.Lines,
            FoldedBatchNorms = log.FoldedBatchNorms,
            FusedActivations = log.FusedActivations,
            Layers = layers,
            CalibrationSamples = samples.Count,
            Method = options.Method,
            ArenaBytes = model.Plan.ArenaBytes,
            PeakOpName = model.Plan.PeakOpIndex >= 0 && model.Plan.PeakOpIndex < model.Ops.Count ? model.Ops[model.Plan.PeakOpIndex].Name : "",
            ConstantBytes = model.Tensors.Where(t => t.IsConstant).Sum(t => (long)t.ByteLength),
            ModelBytes = file.Length,
            Preprocessing = pre,
        };
        return new QuantizeResult { EdgeModel = file, Report = report, FloatGraph = g };
    }

    /// <summary>Import and run the graph passes: the float graph that the int8 model approximates.</summary>
    public static QGraph Prepare(FloatGraph onnx, out PassLog log)
    {
        var g = OnnxImporter.Import(onnx);
        log = GraphPasses.Run(g);
        return g;
    }

    /// <summary>An NCHW model input (as PyTorch and ONNX see it) in the graph's NHWC layout; checks the size.</summary>
    public static float[] ToGraphInput(QGraph g, float[] nchw)
    {
        var s = g.InputShape;
        long n = FloatEvaluator.Count(s);
        if (nchw.Length != n)
            throw new ArgumentException($"sample has {nchw.Length} values; the model input '{g.InputName}' needs {n} ([{string.Join(",", s)}] NHWC)");
        return s.Length == 4 ? FloatEvaluator.ToNhwc(nchw, [s[0], s[3], s[1], s[2]]) : nchw;
    }

    private static Preprocessing ResolvePreprocessing(QGraph g, QuantizeOptions o)
    {
        var s = g.InputShape;
        int channels = s.Length == 4 ? s[3] : 1;
        var md = Preprocessing.FromMetadata(g.Metadata, channels);
        var pre = new Preprocessing
        {
            Layout = o.Layout ?? md.Layout,
            PixelScale = o.PixelScale ?? md.PixelScale,
            Mean = o.Mean ?? md.Mean,
            Std = o.Std ?? md.Std,
            Labels = o.Labels ?? md.Labels,
        };
        pre.Validate();
        if (s.Length == 4 && pre.Layout != "tensor" && pre.Channels != channels)
            throw new FormatException($"input.layout '{pre.Layout}' has {pre.Channels} channel(s) but the model input has {channels}; pass --layout or fix the metadata");
        return pre;
    }

    /// <summary>
    /// Empirical bias correction (Nagel et al. 2019): run the graph with int8-rounded weights next to
    /// the float graph, and subtract from each Conv/FC bias the mean per-channel difference of its output.
    /// </summary>
    private static QGraph CorrectBiases(QGraph g, List<float[]> samples)
    {
        var fq = g.Clone();
        foreach (var n in fq.Nodes.Where(n => n.Weights != null))
        {
            var (q, sc) = QuantParams.QuantizeWeights(n.Weights!, n.WeightShape![0]);
            int per = q.Length / sc.Length;
            for (int i = 0; i < q.Length; i++) n.Weights![i] = q[i] * sc[i / per];
        }
        var targets = g.Nodes.Where(n => n.Weights != null).ToList();
        var sums = targets.ToDictionary(n => n.Output, n => new double[n.WeightShape![0]]);
        var counts = targets.ToDictionary(n => n.Output, _ => 0L);
        var fe = new FloatEvaluator(g);
        var qe = new FloatEvaluator(fq);
        foreach (var x in samples.Take(64))
        {
            var fv = fe.Run(x);
            var qv = qe.Run(x);
            foreach (var n in targets)
            {
                var a = fv[n.Output];
                var b = qv[n.Output];
                var s = sums[n.Output];
                int c = s.Length;
                for (int i = 0; i < a.Length; i++) s[i % c] += b[i] - a[i];
                counts[n.Output] += a.Length / c;
            }
        }
        var corrected = g.Clone();
        foreach (var n in corrected.Nodes.Where(n => n.Weights != null))
        {
            var s = sums[n.Output];
            for (int c = 0; c < s.Length; c++) n.Bias![c] -= (float)(s[c] / counts[n.Output]);
        }
        return corrected;
    }
}
