using Cnn.Edge;
using Cnn.Onnx;
using Cnn.Quantize.Calibration;
using Cnn.Quantize.Float;
using Cnn.Quantize.Graph;
using Cnn.Quantize.Import;
using Cnn.Quantize.Passes;

namespace Cnn.Quantize.Tests;

public class PassesAndApiTests
{
    [Theory]
    [InlineData("dwsep_bn", 7)]
    [InlineData("resnet_block_bn", 6)]
    public void FoldedBatchNormMatchesUnfoldedGraph(string name, int batchNorms)
    {
        var onnx = FloatGraph.Load(Fixtures.Path(name + ".onnx"));
        Assert.Equal(batchNorms, onnx.Nodes.Count(n => n.OpType == "BatchNormalization"));
        var unfolded = OnnxImporter.Import(onnx);
        var folded = unfolded.Clone();
        var log = GraphPasses.Run(folded);
        Assert.Equal(batchNorms, log.FoldedBatchNorms);
        Assert.DoesNotContain(folded.Nodes, n => n.Kind is NodeKind.BatchNorm or NodeKind.Clamp);
        Assert.True(folded.Nodes.Count < unfolded.Nodes.Count);
        var a = new FloatEvaluator(unfolded);
        var b = new FloatEvaluator(folded);
        foreach (var x in Fixtures.RandomInputs(Fixtures.InputShape(onnx), 3, 5))
        {
            var nhwc = Quantizer.ToGraphInput(unfolded, x);
            var ya = a.Run(nhwc)[unfolded.Outputs[0]];
            var yb = b.Run(nhwc)[folded.Outputs[0]];
            double scale = ya.Max(v => Math.Abs(v));
            for (int i = 0; i < ya.Length; i++)
                Assert.True(Math.Abs(ya[i] - yb[i]) <= 1e-5 * scale, $"[{i}] unfolded {ya[i]}, folded {yb[i]}");
        }
    }

    [Fact]
    public void UnsupportedOperatorsAreAllListedWithNodeNames()
    {
        var g = new FloatGraph();
        g.AddInput("x", [1, 3, 8, 8]);
        g.AddNode("Sigmoid", "gate", ["x"], ["s"]);
        g.AddNode("Relu", "ok", ["s"], ["r"]);
        g.AddNode("Tanh", "squash", ["r"], ["t"]);
        g.AddOutput("t");
        var e = Assert.Throws<UnsupportedModelException>(() => Quantizer.Prepare(g, out _));
        Assert.Equal(2, e.Problems.Count);
        Assert.Contains("'gate' (Sigmoid)", e.Message);
        Assert.Contains("'squash' (Tanh)", e.Message);
        Assert.Contains("Supported:", e.Message);
    }

    [Fact]
    public void BudgetTooSmallNamesThePeakOpAndMissingBytes()
    {
        var onnx = FloatGraph.Load(Fixtures.Path("lenet5.onnx"));
        var calib = Fixtures.RandomInputs(Fixtures.InputShape(onnx), 2, 3);
        var ok = Quantizer.Quantize(onnx, calib);
        int arena = ok.Report.ArenaBytes;
        Assert.True(arena > 0);
        Assert.NotNull(Quantizer.Quantize(onnx, calib, new QuantizeOptions { BudgetBytes = arena + 4096 }).EdgeModel);
        var e = Assert.Throws<ArenaBudgetException>(() => Quantizer.Quantize(onnx, calib, new QuantizeOptions { BudgetBytes = 1000 }));
        Assert.True(e.MissingBytes > 0);
        Assert.False(string.IsNullOrEmpty(e.PeakOpName));
    }

    [Fact]
    public void PreprocessingComesFromOnnxMetadataOrOptions()
    {
        var onnx = FloatGraph.Load(Fixtures.Path("lenet5.onnx"));
        Assert.Equal("0.1307", onnx.Metadata["input.mean"]);
        var calib = Fixtures.RandomInputs(Fixtures.InputShape(onnx), 2, 3);
        var fromFile = EdgeModel.Load(Quantizer.Quantize(onnx, calib).EdgeModel);
        Assert.Equal("grey", fromFile.Metadata["input.layout"]);
        Assert.Equal(0.1307f, float.Parse(fromFile.Metadata["input.mean"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(0.3081f, float.Parse(fromFile.Metadata["input.std"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("0,1,2,3,4,5,6,7,8,9", fromFile.Metadata["labels"]);

        var over = EdgeModel.Load(Quantizer.Quantize(onnx, calib, new QuantizeOptions { Mean = [0.5f], Std = [0.25f] }).EdgeModel);
        Assert.Equal("0.5", over.Metadata["input.mean"]);
        Assert.Equal("0.25", over.Metadata["input.std"]);

        Assert.Throws<FormatException>(() => Quantizer.Quantize(onnx, calib, new QuantizeOptions { Mean = [0.5f, 0.5f, 0.5f] }));
        Assert.Throws<FormatException>(() => Quantizer.Quantize(onnx, calib, new QuantizeOptions { Std = [0f] }));

        var pre = Preprocessing.FromMetadata(onnx.Metadata, 1);
        var t = pre.ToTensor([0, 255]);
        Assert.Equal((0 - 0.1307f) / 0.3081f, t[0], 5);
        Assert.Equal((1 - 0.1307f) / 0.3081f, t[1], 5);
    }

    [Fact]
    public void ObserversGiveTheExpectedRanges()
    {
        var values = Enumerable.Range(0, 10001).Select(i => i / 100f - 50f).ToArray(); // -50..50 uniform
        values[5000] = 1000f; // one outlier
        var obs = new RangeObserver(reservoirSize: 1 << 15);
        obs.Observe(values);
        Assert.Equal((-50f, 1000f), obs.Range(CalibrationMethod.MinMax));
        var (plo, phi) = obs.Range(CalibrationMethod.Percentile, 99.9f);
        Assert.InRange(phi, 49f, 50.01f);
        Assert.InRange(plo, -50f, -49f);
        var (_, mhi) = obs.Range(CalibrationMethod.Mse);
        Assert.True(mhi < 1000f, $"MSE range should clip the outlier, got {mhi}");

        // Moving average over batches of 32 samples: batch maxima 10 then 20, momentum 0.5.
        var avg = new RangeObserver();
        avg.Observe([0f, 3f]);
        Assert.Equal(3f, avg.Range(CalibrationMethod.MovingAverageMinMax).Max); // no full batch yet
        for (int i = 1; i < 32; i++) avg.Observe([0f, i == 7 ? 10f : 1f]);
        for (int i = 0; i < 32; i++) avg.Observe([-1f, i == 3 ? 20f : 1f], momentum: 0.5f);
        Assert.Equal((-0.5f, 15f), avg.Range(CalibrationMethod.MovingAverageMinMax));

        // The exact second-pass histogram: on a heavy tail (squared exponential) the MSE range matches a brute-force search over all values.
        var rng = new Random(3);
        var tail = Enumerable.Range(0, 40_000).Select(_ => rng.Next(3) == 0 ? 0f : (float)Math.Pow(-Math.Log(1 - rng.NextDouble()), 2)).ToArray();
        var exact = new RangeObserver(reservoirSize: 1024);
        exact.Observe(tail);
        exact.ObserveHistogram(tail);
        double Mse(float hi)
        {
            var (s, z) = QuantParams.FromRange(0, hi);
            double sum = 0;
            foreach (float v in tail) sum += (double)(QuantParams.FakeQuantize(v, s, z) - v) * (QuantParams.FakeQuantize(v, s, z) - v);
            return sum / tail.Length;
        }
        float best = Enumerable.Range(0, 81).Select(i => exact.Max * (1 - i * 0.01f)).MinBy(Mse);
        float chosen = exact.Range(CalibrationMethod.Mse).Max;
        Assert.True(Mse(chosen) <= Mse(best) * 1.05, $"MSE range {chosen} (error {Mse(chosen):G3}) vs best {best} ({Mse(best):G3})");
        Assert.True(chosen < exact.Max, $"a heavy tail is clipped, got {chosen} of max {exact.Max}");

        // A positive-only range still contains 0 exactly.
        var (scale, zp) = QuantParams.FromRange(2f, 6f);
        Assert.Equal(-128, zp);
        Assert.Equal(6f / 255, scale, 6);
        Assert.Equal(0f, QuantParams.FakeQuantize(0f, scale, zp));
    }

    [Fact]
    public void WeightsAreSymmetricPerOutputChannel()
    {
        float[] w = [1f, -0.5f, 0.25f, 0f, 0f, 0f, -4f, 2f, 1f];
        var (q, s) = QuantParams.QuantizeWeights(w, 3);
        Assert.Equal([1f / 127, 1f, 4f / 127], s);
        Assert.Equal([127, -64, 32, 0, 0, 0, -127, 64, 32], q.Select(v => (int)v));
    }

    [Theory]
    [InlineData(CalibrationMethod.MovingAverageMinMax, false)]
    [InlineData(CalibrationMethod.Percentile, false)]
    [InlineData(CalibrationMethod.Mse, true)]
    public void EveryCalibrationMethodProducesAnAccurateModel(CalibrationMethod method, bool biasCorrection)
    {
        var onnx = FloatGraph.Load(Fixtures.Path("dwsep_bn.onnx"));
        var shape = Fixtures.InputShape(onnx);
        var r = Quantizer.Quantize(onnx, Fixtures.RandomInputs(shape, 16, 1), new QuantizeOptions { Method = method, BiasCorrection = biasCorrection });
        Assert.Equal(method, r.Report.Method);
        var report = AccuracyEvaluator.Evaluate(r.FloatGraph, r.EdgeModel, Fixtures.RandomInputs(shape, 16, 2).Select(x => (x, -1)));
        Assert.True(report.OutputSqnrDb > 25, $"{method}: {report.OutputSqnrDb:F1} dB");
        Assert.All(report.Layers, l => Assert.True(l.SqnrDb > 15, $"{l.Name} {l.SqnrDb:F1} dB"));
    }
}
