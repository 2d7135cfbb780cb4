using Cnn.Edge;
using Cnn.Quantize.Float;
using Cnn.Quantize.Graph;

namespace Cnn.Quantize;

/// <summary>Signal-to-quantization-noise ratio of one int8 activation against its float counterpart.</summary>
public sealed record LayerSqnr(string Name, string Kind, double SqnrDb);

/// <summary>Float vs int8 on one data set. Accuracies are fractions in [0, 1] (NaN when no labels).</summary>
public sealed class AccuracyReport
{
    public int Samples { get; init; }
    public double FloatAccuracy { get; init; }
    public double Int8Accuracy { get; init; }
    /// <summary>Fraction of samples where the int8 and float top-1 classes agree.</summary>
    public double Top1Agreement { get; init; }
    /// <summary>Largest |int8 - float| over all output values (dequantized int8).</summary>
    public double MaxAbsOutputError { get; init; }
    /// <summary>SQNR of the model output (dB).</summary>
    public double OutputSqnrDb { get; init; }
    /// <summary>Per int8 activation, in execution order: 10·log10(Σ float² / Σ (float − dequantized int8)²).</summary>
    public required IReadOnlyList<LayerSqnr> Layers { get; init; }

    /// <summary>Top-1 class of the float graph and of the int8 model, per sample in order.</summary>
    public IReadOnlyList<int> FloatPredictions { get; init; } = [];
    public IReadOnlyList<int> Int8Predictions { get; init; } = [];

    public LayerSqnr? WorstLayer => Layers.Count == 0 ? null : Layers.MinBy(l => l.SqnrDb);
}

/// <summary>
/// Runs the int8 edge model with the edge runtime's own kernels (the <see cref="Interpreter"/>: what the
/// device computes, bit for bit) next to the float graph, and compares them per sample and per layer.
/// </summary>
public static class AccuracyEvaluator
{
    /// <param name="floatGraph">The float reference (<see cref="QuantizeResult.FloatGraph"/>, or <see cref="Quantizer.Prepare"/> of the ONNX file).</param>
    /// <param name="samples">Inputs in ONNX order (NCHW, normalized) with their label (-1 when unknown).</param>
    public static AccuracyReport Evaluate(QGraph floatGraph, byte[] edgeModel, IEnumerable<(float[] Input, int Label)> samples, InterpreterOptions? options = null)
    {
        var model = EdgeModel.Load(edgeModel);
        // Every layer is compared, so none may be fused away (the output bytes are the same either way).
        options ??= new InterpreterOptions();
        using var interp = new Interpreter(model, new InterpreterOptions
        {
            BudgetBytes = options.BudgetBytes, Isa = options.Isa, Threads = options.Threads, MinWorkPerChunk = options.MinWorkPerChunk,
            WarmUp = options.WarmUp, FuseBlocks = false,
        });
        var eval = new FloatEvaluator(floatGraph);
        var inInfo = model.Tensors[model.Inputs[0]];
        var outInfo = model.Tensors[model.Outputs[0]];

        // Edge op → float value: ops are named after the float graph's nodes.
        var nodeByName = floatGraph.Nodes.ToDictionary(n => n.Name);
        var layerOps = new List<(int Op, int Tensor, string Value, string Kind)>();
        for (int i = 0; i < model.Ops.Count; i++)
        {
            var op = model.Ops[i];
            int t = op.Outputs[0];
            if (model.Tensors[t].Type != TensorType.Int8) continue;
            string name = op.Name.EndsWith(".reshape", StringComparison.Ordinal) ? op.Name[..^8] : op.Name;
            if (nodeByName.TryGetValue(name, out var node)) layerOps.Add((i, t, node.Output, node.Kind.ToString()));
        }
        var byOp = layerOps.ToDictionary(l => l.Op);
        var signal = new double[layerOps.Count];
        var noise = new double[layerOps.Count];
        var index = layerOps.Select((l, i) => (l.Op, i)).ToDictionary(p => p.Op, p => p.i);

        int count = 0, floatCorrect = 0, int8Correct = 0, agree = 0, labeled = 0;
        double maxErr = 0, outSignal = 0, outNoise = 0;
        string outputValue = floatGraph.Outputs[0];
        Dictionary<string, float[]> values = [];
        var floatPreds = new List<int>();
        var int8Preds = new List<int>();
        foreach (var (nchw, label) in samples)
        {
            var x = Quantizer.ToGraphInput(floatGraph, nchw);
            values = eval.Run(x);
            var input = interp.InputInt8();
            if (input.Length != x.Length) throw new ArgumentException($"edge model input has {input.Length} values, the float graph {x.Length}");
            for (int i = 0; i < x.Length; i++) input[i] = Calibration.QuantParams.Quantize(x[i], inInfo.Scale, inInfo.ZeroPoint);
            interp.Invoke(op =>
            {
                if (!byOp.TryGetValue(op, out var l)) return;
                var info = model.Tensors[l.Tensor];
                var q = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(interp.TensorBytes(l.Tensor));
                var f = values[l.Value];
                int k = index[op];
                for (int i = 0; i < f.Length; i++)
                {
                    double d = (q[i] - info.ZeroPoint) * (double)info.Scale;
                    signal[k] += (double)f[i] * f[i];
                    noise[k] += (d - f[i]) * (d - f[i]);
                }
            });

            var fo = values[outputValue];
            float[] qo = outInfo.Type == TensorType.Float32
                ? interp.OutputFloat().ToArray()
                : interp.OutputInt8().ToArray().Select(v => (v - outInfo.ZeroPoint) * outInfo.Scale).ToArray();
            for (int i = 0; i < fo.Length; i++)
            {
                maxErr = Math.Max(maxErr, Math.Abs(qo[i] - fo[i]));
                outSignal += (double)fo[i] * fo[i];
                outNoise += (qo[i] - (double)fo[i]) * (qo[i] - fo[i]);
            }
            int fTop = ArgMax(fo), qTop = ArgMax(qo);
            floatPreds.Add(fTop);
            int8Preds.Add(qTop);
            if (fTop == qTop) agree++;
            if (label >= 0)
            {
                labeled++;
                if (fTop == label) floatCorrect++;
                if (qTop == label) int8Correct++;
            }
            count++;
        }
        if (count == 0) throw new ArgumentException("no evaluation samples", nameof(samples));
        return new AccuracyReport
        {
            Samples = count,
            FloatAccuracy = labeled > 0 ? floatCorrect / (double)labeled : double.NaN,
            Int8Accuracy = labeled > 0 ? int8Correct / (double)labeled : double.NaN,
            Top1Agreement = agree / (double)count,
            MaxAbsOutputError = maxErr,
            OutputSqnrDb = Sqnr(outSignal, outNoise),
            FloatPredictions = floatPreds,
            Int8Predictions = int8Preds,
            Layers = layerOps.Select((l, i) => new LayerSqnr(model.Ops[l.Op].Name, l.Kind, Sqnr(signal[i], noise[i]))).ToList(),
        };
    }

    /// <summary>The float graph alone (`cnn eval model.onnx`): <see cref="AccuracyReport.FloatAccuracy"/> and
    /// <see cref="AccuracyReport.FloatPredictions"/>; the int8 figures are NaN and there are no layers.</summary>
    public static AccuracyReport EvaluateFloat(QGraph floatGraph, IEnumerable<(float[] Input, int Label)> samples)
    {
        var eval = new FloatEvaluator(floatGraph);
        string outputValue = floatGraph.Outputs[0];
        var preds = new List<int>();
        int correct = 0, labeled = 0;
        foreach (var (nchw, label) in samples)
        {
            int top = ArgMax(eval.Run(Quantizer.ToGraphInput(floatGraph, nchw))[outputValue]);
            preds.Add(top);
            if (label < 0) continue;
            labeled++;
            if (top == label) correct++;
        }
        if (preds.Count == 0) throw new ArgumentException("no evaluation samples", nameof(samples));
        return new AccuracyReport
        {
            Samples = preds.Count,
            FloatAccuracy = labeled > 0 ? correct / (double)labeled : double.NaN,
            Int8Accuracy = double.NaN,
            Top1Agreement = double.NaN,
            OutputSqnrDb = double.NaN,
            FloatPredictions = preds,
            Layers = [],
        };
    }

    private static double Sqnr(double signal, double noise) =>
        noise == 0 ? double.PositiveInfinity : 10 * Math.Log10(signal / noise);

    internal static int ArgMax(ReadOnlySpan<float> v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++)
        {
            if (v[i] > v[best]) best = i;
        }
        return best;
    }
}
