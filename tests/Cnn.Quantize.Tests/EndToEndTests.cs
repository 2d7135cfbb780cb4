using Cnn.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace Cnn.Quantize.Tests;

public class EndToEndTests(ITestOutputHelper output)
{
    public static TheoryData<string> Models => new()
    {
        "lenet5", "dwsep_bn", "resnet_block_bn", "squeezenet_block", "shufflenet_block", "googlenet_block", "mobilenet_v2_035_96",
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void FloatEvaluatorMatchesOnnxRuntime(string name)
    {
        var path = Fixtures.Path(name + ".onnx");
        var onnx = FloatGraph.Load(path);
        var shape = Fixtures.InputShape(onnx);
        var g = Quantizer.Prepare(onnx, out _);
        var eval = new Float.FloatEvaluator(g);
        using var session = new InferenceSession(path);
        foreach (var x in Fixtures.RandomInputs(shape, 3, 7))
        {
            var expected = Fixtures.RunOrt(session, x, shape);
            var actual = eval.Run(Quantizer.ToGraphInput(g, x))[g.Outputs[0]];
            Assert.Equal(expected.Length, actual.Length);
            double scale = expected.Max(v => Math.Abs(v));
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4 * scale + 1e-6, $"{name}[{i}]: ORT {expected[i]}, ours {actual[i]}");
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Int8ModelAgreesWithFloat(string name)
    {
        var path = Fixtures.Path(name + ".onnx");
        var onnx = FloatGraph.Load(path);
        var shape = Fixtures.InputShape(onnx);
        // MobileNetV2 is ~1 s per int8 run with the Debug reference kernels on a loaded machine: fewer samples.
        bool big = name.StartsWith("mobilenet", StringComparison.Ordinal);
        var calib = Fixtures.RandomInputs(shape, big ? 8 : 24, 1);
        var result = Quantizer.Quantize(onnx, calib, new QuantizeOptions());
        var test = Fixtures.RandomInputs(shape, big ? 5 : 40, 2);
        var report = AccuracyEvaluator.Evaluate(result.FloatGraph, result.EdgeModel, test.Select(x => (x, -1)));
        output.WriteLine($"{name}: agreement {report.Top1Agreement:P1}, output SQNR {report.OutputSqnrDb:F1} dB, max |err| {report.MaxAbsOutputError:G3}, worst layer {report.WorstLayer}");
        foreach (var l in report.Layers) output.WriteLine($"  {l.Name,-40} {l.Kind,-18} {l.SqnrDb,6:F1} dB");
        Assert.True(report.OutputSqnrDb > 15, $"{name}: output SQNR {report.OutputSqnrDb:F1} dB");
    }
}
