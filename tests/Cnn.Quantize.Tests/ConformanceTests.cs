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
                if (c.Unsupported) rejected++;
                else failures.Add($"{c.Name}: rejected: {e.Message.Split('\n')[1]}");
            }
        }
        output.WriteLine($"conformance: {cases.Count} cases, {passed} passed (float), {rejected} rejected as listed");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.True(passed >= 90, $"only {passed} cases ran and passed");
    }
}
