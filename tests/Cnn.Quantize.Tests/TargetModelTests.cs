using System.IO.Compression;
using Cnn.Onnx;

namespace Cnn.Quantize.Tests;

/// <summary>
/// The target models, trained by tests/fixtures/train_targets.py (PyTorch, the full 3-epoch recipe): LeNet-5 on MNIST and
/// the depthwise-separable CNN with BN on Fashion-MNIST. Calibrated on 256 training images, evaluated on
/// the first 1,000 test images (all 10,000 with CNN_QUANTIZE_FULL=1). Needs ../shared/data.
/// </summary>
public class TargetModelTests(ITestOutputHelper output)
{
    private static string? DataDir()
    {
        for (var d = new DirectoryInfo(Fixtures.Dir); d != null; d = d.Parent)
        {
            string p = Path.Combine(d.FullName, "shared", "data");
            if (Directory.Exists(p)) return p;
        }
        return null;
    }

    /// <summary>IDX file (gzip or raw): images [n, 28*28] bytes or labels [n].</summary>
    internal static byte[][] ReadIdx(string pathWithoutGz, int limit)
    {
        using Stream raw = File.Exists(pathWithoutGz) ? File.OpenRead(pathWithoutGz) : new GZipStream(File.OpenRead(pathWithoutGz + ".gz"), CompressionMode.Decompress);
        using var r = new BinaryReader(raw);
        byte[] header = r.ReadBytes(4);
        int dims = header[3];
        var shape = Enumerable.Range(0, dims).Select(_ => System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(r.ReadBytes(4))).ToArray();
        int n = Math.Min(shape[0], limit), size = shape.Skip(1).Aggregate(1, (a, b) => a * b);
        return Enumerable.Range(0, n).Select(_ => r.ReadBytes(size)).ToArray();
    }

    [Theory]
    [InlineData("lenet5_mnist", "mnist")]
    [InlineData("dwsep_fashion", "fashion-mnist")]
    public void Int8KeepsTheTrainedAccuracy(string model, string dataset)
    {
        string? data = DataDir();
        if (data == null) Assert.Skip("../shared/data (MNIST, Fashion-MNIST) is not present in this checkout");
        string dir = Path.Combine(data, dataset);
        var onnx = FloatGraph.Load(Fixtures.Path(Path.Combine("trained", model + ".onnx")));
        var pre = Preprocessing.FromMetadata(onnx.Metadata, 1);
        Assert.NotEqual(0f, pre.Mean[0]); // the trained export carries its normalization

        var calib = ReadIdx(Path.Combine(dir, "train-images-idx3-ubyte"), 256).Select(px => pre.ToTensor(px));
        // CNN_QUANTIZE_METHOD=MinMax|Percentile|MovingAverageMinMax to compare observers (default Mse, the CLI's default;
        // on all 10,000 images every method meets both targets: src/Cnn.Quantize/README.md has the table).
        var method = Enum.TryParse<Calibration.CalibrationMethod>(Environment.GetEnvironmentVariable("CNN_QUANTIZE_METHOD"), out var m) ? m : Calibration.CalibrationMethod.Mse;
        var result = Quantizer.Quantize(onnx, calib, new QuantizeOptions { Method = method });

        int n = Environment.GetEnvironmentVariable("CNN_QUANTIZE_FULL") == "1" ? 10_000 : 1_000;
        var images = ReadIdx(Path.Combine(dir, "t10k-images-idx3-ubyte"), n);
        var labels = ReadIdx(Path.Combine(dir, "t10k-labels-idx1-ubyte"), n);
        var samples = images.Select((px, i) => (pre.ToTensor(px), (int)labels[i][0]));
        var report = AccuracyEvaluator.Evaluate(result.FloatGraph, result.EdgeModel, samples);

        string summary = $"{model} on {dataset} ({report.Samples} test images, {method}): float {report.FloatAccuracy:P2}, int8 {report.Int8Accuracy:P2}, " +
            $"agreement {report.Top1Agreement:P2}, output SQNR {report.OutputSqnrDb:F1} dB, worst layer {report.WorstLayer?.Name} {report.WorstLayer?.SqnrDb:F1} dB, " +
            $"arena {result.Report.ArenaBytes} B, model {result.Report.ModelBytes} B";
        output.WriteLine(summary);
        ConformanceTests.Figures(summary);
        Assert.True(report.Int8Accuracy >= report.FloatAccuracy - 0.003, summary);
        // The 99 % target is for the 10,000 images; on the 1,000-image subset one disagreement is 0.1 pp, so allow 98 %.
        Assert.True(report.Top1Agreement >= (n == 10_000 ? 0.99 : 0.98), summary);
    }
}
