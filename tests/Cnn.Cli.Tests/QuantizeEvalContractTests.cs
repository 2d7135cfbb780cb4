using System.Text.Json.Nodes;
using Cnn.Trainer.Data;

namespace Cnn.Cli.Tests;

/// <summary>
/// The contract of the quantizer issue, end to end through the command line:
/// <c>cnn quantize model.onnx --calibration DATA --out model.cnnq [--method minmax|percentile|mse] [--mean M --std S] [--budget 64KB] [--json]</c>
/// with DATA an image folder, an IDX folder (training split) or synthetic:N, and
/// <c>cnn eval MODEL --data DIR [--reference model.onnx] [--json]</c> whose JSON holds accuracy, float_accuracy,
/// top1_agreement and layers[] with name and sqnr_db. The model is the committed LeNet-5 fixture (PyTorch export).
/// </summary>
public class QuantizeEvalContractTests
{
    private static string Lenet()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
        {
            string p = Path.Combine(d.FullName, "tests", "fixtures", "onnx", "trained", "lenet5_mnist.onnx");
            if (File.Exists(p)) return p;
        }
        throw new FileNotFoundException("tests/fixtures/onnx/trained/lenet5_mnist.onnx not found above " + AppContext.BaseDirectory);
    }

    /// <summary>An IDX folder with the first images of the embedded MNIST subset: 64 training, 40 test.</summary>
    private static string IdxFolder()
    {
        string dir = CliHarness.TempDir();
        foreach (var (split, test, n) in new[] { ("train", false, 64), ("t10k", true, 40) })
        {
            var d = EmbeddedDatasets.MnistSubset(test).Take(n);
            var px = new byte[n * 28 * 28];
            for (int i = 0; i < n; i++) d.GetPixels(i, px.AsSpan(i * 784, 784));
            using (var f = File.Create(Path.Combine(dir, $"{split}-images-idx3-ubyte"))) Idx.Write(f, [n, 28, 28], px);
            using (var f = File.Create(Path.Combine(dir, $"{split}-labels-idx1-ubyte")))
                Idx.Write(f, [n], Enumerable.Range(0, n).Select(i => (byte)d.Label(i)).ToArray());
        }
        return dir;
    }

    private static JsonNode Json(CliHarness.Result r)
    {
        Assert.True(r.ExitCode == ExitCodes.Ok, $"exit {r.ExitCode}: {r.Err}");
        return JsonNode.Parse(r.Out)!;
    }

    [Fact]
    public void Quantize_from_an_idx_folder_then_eval_with_reference_reports_the_contract_keys()
    {
        string data = IdxFolder(), dir = CliHarness.TempDir(), edge = Path.Combine(dir, "m.cnnq");
        var q = Json(CliHarness.Run("quantize", Lenet(), "--calibration", data, "--out", edge, "--method", "percentile", "--budget", "64KB", "--json"));
        Assert.Equal(64, (int)q["calibration_images"]!);
        Assert.Equal("percentile", (string)q["method"]!);
        Assert.Equal(40, (int)q["images"]!); // the folder's t10k split
        Assert.True(File.Exists(edge));

        var e = Json(CliHarness.Run("eval", edge, "--data", data, "--reference", Lenet(), "--json"));
        Assert.Equal(40, (int)e["images"]!);
        double acc = (double)e["accuracy"]!, fl = (double)e["float_accuracy"]!, agree = (double)e["top1_agreement"]!;
        Assert.InRange(acc, 0.8, 1);   // a trained LeNet on MNIST digits
        Assert.InRange(fl, 0.8, 1);
        Assert.InRange(agree, 0.9, 1);
        var layers = e["layers"]!.AsArray();
        Assert.Equal(["/c1/Conv", "/MaxPool", "/c2/Conv", "/MaxPool_1", "/Reshape", "/f1/Gemm", "/f2/Gemm", "/f3/Gemm"], layers.Select(l => (string)l!["name"]!));
        Assert.All(layers, l => Assert.InRange((double)l!["sqnr_db"]!, 10, 80));
        // quantize measured the same 40 images with the same kernels.
        Assert.Equal((double)q["accuracy"]!, acc, 6);
        Assert.Equal((double)q["top1_agreement"]!, agree, 6);

        // Without --reference: the device run alone, the same accuracy; the float model alone: the same float accuracy.
        var plain = Json(CliHarness.Run("eval", edge, "--data", data, "--json"));
        Assert.Equal(acc, (double)plain["accuracy"]!, 6);
        Assert.Null(plain["float_accuracy"]);
        var onnx = Json(CliHarness.Run("eval", Lenet(), "--data", data, "--json"));
        Assert.Equal(fl, (double)onnx["accuracy"]!, 6);
        Assert.Equal(fl, (double)onnx["float_accuracy"]!, 6);
    }

    [Fact]
    public void Quantize_calibrates_from_an_image_folder_and_from_synthetic_inputs()
    {
        string images = CliHarness.TempDir();
        var d = EmbeddedDatasets.MnistSubset().Take(30);
        var px = new byte[784];
        for (int i = 0; i < d.Count; i++)
        {
            string cls = Path.Combine(images, d.Labels[d.Label(i)]);
            Directory.CreateDirectory(cls);
            d.GetPixels(i, px);
            File.WriteAllBytes(Path.Combine(cls, $"{i:D3}.pgm"), Demo.SyntheticDigits.ToPgm(px.Select(b => b / 255f).ToArray(), 28, 28));
        }
        string dir = CliHarness.TempDir();
        var q = Json(CliHarness.Run("quantize", Lenet(), "--calibration", images, "--out", Path.Combine(dir, "a.cnnq"), "--json"));
        Assert.Equal(30, (int)q["calibration_images"]!);
        Assert.Null(q["accuracy"]); // a flat image folder has no test split
        var e = Json(CliHarness.Run("eval", Path.Combine(dir, "a.cnnq"), "--data", images, "--reference", Lenet(), "--json"));
        Assert.Equal(30, (int)e["images"]!);
        Assert.True((double)e["top1_agreement"]! >= 0.9);

        var s = Json(CliHarness.Run("quantize", Lenet(), "--calibration", "synthetic:5", "--out", Path.Combine(dir, "s.cnnq"), "--method", "minmax", "--json"));
        Assert.Equal(5, (int)s["calibration_images"]!);
        Assert.True(s["quantization"]!.AsArray().Count >= 8);
    }

    [Fact]
    public void Budget_takes_units_and_a_model_over_it_exits_3_naming_the_peak()
    {
        string dir = CliHarness.TempDir();
        var r = CliHarness.Run("quantize", Lenet(), "--calibration", "synthetic:2", "--out", Path.Combine(dir, "m.cnnq"), "--budget", "1KB");
        Assert.Equal(ExitCodes.BudgetExceeded, r.ExitCode);
        Assert.Contains("budget is 1,024", r.Err);
        Assert.Contains("peak", r.Err);
        Assert.False(File.Exists(Path.Combine(dir, "m.cnnq")));

        Assert.Equal(ExitCodes.Usage, CliHarness.Run("quantize", Lenet(), "--budget", "lots").ExitCode);
        Assert.Equal(ExitCodes.Usage, CliHarness.Run("quantize", Lenet(), "--method", "entropy").ExitCode);
        Assert.Equal(ExitCodes.Usage, CliHarness.Run("quantize", Lenet(), "--calibration", "synthetic:zero").ExitCode);
        Assert.Equal(ExitCodes.BadInput, CliHarness.Run("quantize", Lenet(), "--calibration", Path.Combine(dir, "nothing-here")).ExitCode);
    }

    [Theory]
    [InlineData("65536", 65536L)]
    [InlineData("64KB", 65536L)]
    [InlineData("64k", 65536L)]
    [InlineData("64 KiB", 65536L)]
    [InlineData("1.5MB", 1572864L)]
    [InlineData("100B", 100L)]
    public void Byte_sizes_parse(string text, long bytes)
    {
        Assert.True(CliRunner.TryParseBytes(text, out long v));
        Assert.Equal(bytes, v);
    }

    [Theory]
    [InlineData("")]
    [InlineData("KB")]
    [InlineData("-5")]
    [InlineData("0")]
    [InlineData("12XB")]
    public void Bad_byte_sizes_are_refused(string text) => Assert.False(CliRunner.TryParseBytes(text, out _));

    [Fact]
    public void Eval_refuses_contradictory_options()
    {
        Assert.Equal(ExitCodes.Usage, CliHarness.Run("eval", Lenet(), "--reference", Lenet()).ExitCode);
        string dir = CliHarness.TempDir();
        string edge = Path.Combine(dir, "m.cnnq");
        File.WriteAllBytes(edge, TinyModels.Linear(28));
        Assert.Equal(ExitCodes.Usage, CliHarness.Run("eval", edge, "--mean", "0.5").ExitCode);
    }
}
