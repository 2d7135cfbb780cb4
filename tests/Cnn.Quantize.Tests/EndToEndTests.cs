using Cnn.Edge;
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

    /// <summary>
    /// Import, fold, calibrate (24 standard-normal inputs; 8 for MobileNetV2), convert, and run the int8
    /// model with the edge Interpreter on 40 other inputs (5 for MobileNetV2). The fixtures have random
    /// weights, so their logits are close together and top-1 is a harder test than on a trained model.
    /// Measured (Nov 2026): output SQNR 38-46 dB, agreement 95-100 %, |int8 - ORT| ≤ 0.8 % of the output
    /// range. Thresholds: SQNR ≥ 30 dB, agreement ≥ 90 % (random-weight logits are close together), and
    /// |int8 - ORT| ≤ 3 % of ORT's output range: the output's own step is 1/255 of its calibrated range
    /// (0.4 %), and each earlier layer adds up to half a step of rounding that the remaining layers carry.
    /// </summary>
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

        // Against ONNX Runtime directly: the dequantized int8 output vs ORT's float output of the same file.
        using var session = new InferenceSession(path);
        var model = EdgeModel.Load(result.EdgeModel);
        using var interp = new Interpreter(model);
        var inInfo = model.Tensors[model.Inputs[0]];
        double maxErr = 0, range = 0;
        foreach (var x in test.Take(5))
        {
            var ort = Fixtures.RunOrt(session, x, shape);
            var nhwc = Quantizer.ToGraphInput(result.FloatGraph, x);
            var input = interp.InputInt8();
            for (int i = 0; i < nhwc.Length; i++) input[i] = Calibration.QuantParams.Quantize(nhwc[i], inInfo.Scale, inInfo.ZeroPoint);
            interp.Invoke();
            var q = interp.OutputFloat();
            range = Math.Max(range, ort.Max() - ort.Min());
            for (int i = 0; i < ort.Length; i++) maxErr = Math.Max(maxErr, Math.Abs(q[i] - ort[i]));
        }

        string summary = $"{name}: top-1 agreement {report.Top1Agreement:P1} ({report.Samples} inputs), output SQNR {report.OutputSqnrDb:F1} dB, " +
            $"max |int8-ORT| {maxErr:G3} of output range {range:G3} ({maxErr / range:P1}), worst layer {report.WorstLayer?.Name} {report.WorstLayer?.SqnrDb:F1} dB, " +
            $"arena {result.Report.ArenaBytes} B, model {result.Report.ModelBytes} B";
        output.WriteLine(summary);
        foreach (var l in report.Layers) output.WriteLine($"  {l.Name,-50} {l.Kind,-18} {l.SqnrDb,6:F1} dB");
        if (Environment.GetEnvironmentVariable("CNN_QUANTIZE_FIGURES") is { Length: > 0 } figures)
            File.AppendAllText(figures, summary + "\n");

        Assert.True(report.OutputSqnrDb >= 30, summary);
        Assert.True(report.Top1Agreement >= 0.9, summary);
        Assert.True(maxErr <= 0.03 * range, summary);
    }
}
