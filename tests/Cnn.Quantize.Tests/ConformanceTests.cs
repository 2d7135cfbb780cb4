using Cnn.Onnx;
using Cnn.Onnx.Proto;
using Cnn.Quantize.Float;
using Cnn.Quantize.Import;

namespace Cnn.Quantize.Tests;

/// <summary>
/// ONNX operator conformance (Debian libonnx-testdata 1.12 node/, pytorch-converted/, pytorch-operator/
/// cases, copied into tests/fixtures/onnx/conformance by make_fixtures.py): one-node models with
/// reference inputs and outputs. Input 0 is the runtime tensor; further inputs (weights, shapes, clip
/// bounds) become initializers, as they are in exported CNNs.
/// </summary>
public class ConformanceTests(ITestOutputHelper output)
{
    internal sealed record Case(string Name, bool Unsupported);

    internal static List<Case> Cases()
    {
        string list = Path.Combine(Fixtures.Dir, "..", "conformance_cases.txt");
        return File.ReadAllLines(list)
            .Select(l => l.Split('#')[0].Trim())
            .Where(l => l.Length > 0)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(p => new Case(p[0], p.Length > 1 && p[1] == "unsupported"))
            .ToList();
    }

    internal static (FloatGraph Graph, float[] Input, int[] InputShape, float[] Expected, int[] ExpectedShape) Load(string name)
    {
        string dir = Path.Combine(Fixtures.Dir, "conformance", name);
        var g = FloatGraph.Load(Path.Combine(dir, "model.onnx"));
        string data = Path.Combine(dir, "test_data_set_0");
        var inputs = Directory.GetFiles(data, "input_*.pb").Order().Select(f => OnnxTensor.FromProto(OnnxProtoReader.ReadTensor(File.ReadAllBytes(f)), OnnxReadLimits.Default)).ToList();
        // Runtime inputs in order; those past the first become constants under their graph input names.
        for (int i = 1; i < inputs.Count && g.Inputs.Count > 1; i++)
        {
            var vi = g.Inputs[1];
            var t = inputs[i];
            g.Initializers[vi.Name] = t.Floats != null ? new OnnxTensor(vi.Name, t.Dims, t.Floats) : new OnnxTensor(vi.Name, t.Dims, t.Ints!);
            g.Inputs.RemoveAt(1);
        }
        var x = inputs[0];
        g.Inputs[0].Shape = x.Dims;
        var y = OnnxTensor.FromProto(OnnxProtoReader.ReadTensor(File.ReadAllBytes(Path.Combine(data, "output_0.pb"))), OnnxReadLimits.Default);
        return (g, x.RequireFloats(), x.Dims, y.RequireFloats(), y.Dims);
    }

    [Fact]
    public void FloatPathMatchesReferenceOutputs()
    {
        var cases = Cases();
        int passed = 0, rejected = 0;
        var failures = new List<string>();
        foreach (var c in cases)
        {
            var (g, x, xs, expected, ys) = Load(c.Name);
            try
            {
                var q = Quantizer.Prepare(g, out _);
                if (c.Unsupported)
                {
                    failures.Add($"{c.Name}: imported, but it is listed as unsupported");
                    continue;
                }
                var y = new FloatEvaluator(q).Run(Quantizer.ToGraphInput(q, x))[q.Outputs[0]];
                if (ys.Length == 4) y = FloatEvaluator.ToNchw(y, q.Shapes[q.Outputs[0]]);
                if (y.Length != expected.Length)
                {
                    failures.Add($"{c.Name}: {y.Length} values, expected {expected.Length}");
                    continue;
                }
                double scale = expected.Max(v => Math.Abs(v));
                int bad = Enumerable.Range(0, y.Length).Count(i => !(Math.Abs(y[i] - expected[i]) <= 1e-4 * scale + 1e-5));
                if (bad > 0) failures.Add($"{c.Name}: {bad} of {y.Length} values differ");
                else passed++;
            }
            catch (UnsupportedModelException e)
            {
                if (c.Unsupported)
                {
                    rejected++;
                    output.WriteLine($"rejected as listed: {c.Name}: {e.Problems[0]}");
                }
                else failures.Add($"{c.Name}: rejected: {e.Message.Split('\n')[1]}");
            }
        }
        output.WriteLine($"conformance: {cases.Count} cases, {passed} passed (float), {rejected} rejected as listed");
        Figures($"conformance float: {cases.Count} cases, {passed} passed, {rejected} rejected as listed, {failures.Count} failed");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.True(passed >= 90, $"only {passed} cases ran and passed");
    }

    /// <summary>
    /// The int8 path on the same cases: calibrate on the case's own input, run the edge Interpreter, and
    /// compare the dequantized output with the reference. Tolerance per case, from the scales: two output
    /// steps (requantization and output rounding), plus for weighted ops K·(max|w|·s_in/2 + max|x|·max s_w/2)
    /// (input and weight rounding over the K products of one output), else one input step.
    /// </summary>
    [Fact]
    public void Int8PathMatchesWithinScaleDerivedTolerance()
    {
        int passed = 0, floatOnly = 0;
        var failures = new List<string>();
        foreach (var c in Cases().Where(c => !c.Unsupported))
        {
            var (g, x, xs, expected, ys) = Load(c.Name);
            QuantizeResult r;
            try
            {
                r = Quantizer.Quantize(g, [x], new QuantizeOptions());
            }
            catch (UnsupportedModelException e)
            {
                floatOnly++;
                output.WriteLine($"float only: {c.Name}: {e.Problems[0]}");
                continue;
            }
            var model = Cnn.Edge.EdgeModel.Load(r.EdgeModel);
            using var interp = new Cnn.Edge.Interpreter(model);
            var inInfo = model.Tensors[model.Inputs[0]];
            var nhwc = Quantizer.ToGraphInput(r.FloatGraph, x);
            var input = interp.InputInt8();
            for (int i = 0; i < nhwc.Length; i++) input[i] = Calibration.QuantParams.Quantize(nhwc[i], inInfo.Scale, inInfo.ZeroPoint);
            interp.Invoke();
            var outInfo = model.Tensors[model.Outputs[0]];
            float[] y = outInfo.Type == Cnn.Edge.TensorType.Float32 ? interp.OutputFloat().ToArray()
                : interp.OutputInt8().ToArray().Select(v => (v - outInfo.ZeroPoint) * outInfo.Scale).ToArray();
            if (ys.Length == 4) y = FloatEvaluator.ToNchw(y, r.FloatGraph.Shapes[r.FloatGraph.Outputs[0]]);

            var lastInt8 = model.Ops[^1].Code == Cnn.Edge.OpCode.Dequantize ? model.Tensors[model.Ops[^1].Inputs[0]] : outInfo;
            double sOut = lastInt8.Type == Cnn.Edge.TensorType.Int8 ? lastInt8.Scale : 1.0 / 256;
            var weighted = r.FloatGraph.Nodes.FirstOrDefault(n => n.Weights != null);
            double tol = 2 * sOut;
            if (weighted != null)
            {
                int k = weighted.Weights!.Length / weighted.WeightShape![0];
                double maxW = weighted.Weights.Max(v => Math.Abs(v));
                var (_, ws) = Calibration.QuantParams.QuantizeWeights(weighted.Weights, weighted.WeightShape[0]);
                tol += k * (maxW * inInfo.Scale / 2 + x.Max(v => Math.Abs(v)) * ws.Max() / 2);
            }
            else
            {
                tol += inInfo.Scale;
            }
            double worst = Enumerable.Range(0, y.Length).Max(i => Math.Abs(y[i] - expected[i]));
            if (worst <= tol) passed++;
            else failures.Add($"{c.Name}: max error {worst:G3} > tolerance {tol:G3}");
        }
        output.WriteLine($"int8 conformance: {passed} passed, {floatOnly} float-only (no int8 edge op)");
        Figures($"conformance int8: {passed} passed, {floatOnly} float-only (no int8 edge op), {failures.Count} failed");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.True(passed >= 90, $"only {passed} int8 cases passed");
    }

    internal static void Figures(string line)
    {
        if (Environment.GetEnvironmentVariable("CNN_QUANTIZE_FIGURES") is { Length: > 0 } path) File.AppendAllText(path, line + "\n");
    }
}
