using Cnn.Onnx;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Cnn.Quantize.Tests;

internal static class Fixtures
{
    private static readonly Lazy<string> Root = new(() =>
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
        {
            string p = System.IO.Path.Combine(d.FullName, "tests", "fixtures", "onnx");
            if (Directory.Exists(p)) return p;
        }
        throw new DirectoryNotFoundException("tests/fixtures/onnx not found above " + AppContext.BaseDirectory);
    });

    public static string Dir => Root.Value;

    public static string Path(string name) => System.IO.Path.Combine(Dir, name);

    /// <summary>Standard-normal inputs (the fixtures have random weights, trained for nothing; this is the data they are exported with).</summary>
    public static List<float[]> RandomInputs(int[] shape, int count, int seed)
    {
        var rng = new Random(seed);
        int n = shape.Aggregate(1, (a, b) => a * b);
        var list = new List<float[]>();
        for (int s = 0; s < count; s++)
        {
            var x = new float[n];
            for (int i = 0; i < n; i++)
            {
                // Box-Muller
                double u1 = 1 - rng.NextDouble(), u2 = rng.NextDouble();
                x[i] = (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
            }
            list.Add(x);
        }
        return list;
    }

    /// <summary>ONNX Runtime's float output for one NCHW input.</summary>
    public static float[] RunOrt(InferenceSession session, float[] input, int[] shape)
    {
        string name = session.InputMetadata.Keys.First();
        var tensor = new DenseTensor<float>(input, shape);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(name, tensor)]);
        return results.First().AsEnumerable<float>().ToArray();
    }

    public static int[] InputShape(FloatGraph g) => g.Inputs[0].Shape!.Select(d => d < 0 ? 1 : d).ToArray();
}
