using System.CommandLine;
using System.Text.Json.Nodes;
using Cnn.Cli.Demo;
using Cnn.Onnx;
using Cnn.Quantize.Calibration;
using Cnn.Trainer.Data;
using Cnn.Cli.Report;
using Spectre.Console;

namespace Cnn.Cli.Commands;

public static class QuantizeCommand
{
    public static Command Create()
    {
        var model = new Argument<FileInfo>("model") { Description = "Float ONNX model (from cnn train, PyTorch or any exporter)" };
        var calib = new Option<string>("--calibration", "-c")
        {
            Description = "Calibration data: a folder of MNIST IDX files (its training split), an image folder (ROOT/CLASS/*.png, " +
                          "or ROOT/train), 'synthetic:N' (N random images, for speed benchmarks only), or 'embedded', 'fashion', 'digits'",
            DefaultValueFactory = _ => "embedded",
        };
        var method = new Option<string>("--method", "-m")
        {
            Description = "Activation range observer: mse (clipping range of least squared error), minmax, percentile, moving-average",
            DefaultValueFactory = _ => "mse",
        };
        method.AcceptOnlyFromAmong(Methods.Keys.ToArray());
        var percentile = new Option<float>("--percentile") { Description = "Upper percentile for --method percentile", DefaultValueFactory = _ => 99.99f };
        var biasCorrection = new Option<bool>("--bias-correction") { Description = "Shift each Conv/FC bias by the mean output error of its int8 weights on the calibration set" };
        var count = new Option<int>("--calibration-size") { Description = "Images used to calibrate activation ranges", DefaultValueFactory = _ => 256 };
        var testSize = new Option<int>("--test-size")
        {
            Description = "Test images for the float vs int8 comparison when the data has a test split (0: none; `cnn eval --reference` does all)",
            DefaultValueFactory = _ => 1000,
        };
        var outFile = new Option<FileInfo?>("--out", "-o") { Description = "Edge model to write (default: MODEL with extension .cnnq)" };
        var maxDrop = new Option<double?>("--max-drop") { Description = "Fail (exit 4) if int8 accuracy is more than this many points below float" };
        var budget = CliRunner.BudgetOption("Arena budget; refuse (exit 3) a model whose plan does not fit, naming the peak op");
        var mean = new Option<string?>("--mean") { Description = "Per-channel mean after pixel scaling, e.g. 0.1307 or 0.485,0.456,0.406 (default: the model's metadata)" };
        var std = new Option<string?>("--std") { Description = "Per-channel standard deviation, e.g. 0.3081 (default: the model's metadata)" };
        var pixelScale = new Option<float?>("--pixel-scale") { Description = "Pixel byte to float factor (default: metadata, else 1/255)" };
        var labels = new Option<string?>("--labels") { Description = "Comma-separated class names (default: metadata)" };
        var json = CliRunner.JsonOption();
        var cmd = new Command("quantize", "Fold, fuse, calibrate and convert an ONNX CNN to an int8 edge model; report accuracy and per-layer SQNR.")
        {
            model, calib, method, percentile, biasCorrection, count, testSize, outFile, maxDrop, budget, mean, std, pixelScale, labels, json,
        };
        cmd.WithExamples(
            "cnn quantize model.onnx --calibration ../shared/data/mnist --out model.cnnq",
            "cnn quantize torch.onnx --calibration images/ --mean 0.1307 --std 0.3081 --method percentile   # a PyTorch export without metadata",
            "cnn quantize mobilenet.onnx --calibration synthetic:16 --budget 512KB --out m.cnnq   # speed benchmarks only",
            "cnn quantize model.onnx --calibration ../shared/data/mnist --json | jq '.layers[] | [.name, .sqnr_db]'");
        cmd.SetGuardedAction(json, (pr, ctx) =>
        {
            var file = CliRunner.ExistingFile(pr.GetValue(model), "model file");
            string outPath = pr.GetValue(outFile)?.FullName ?? Path.ChangeExtension(file.FullName, ".cnnq");
            string spec = pr.GetValue(calib)!;
            int calibCount = pr.GetValue(count), tests = pr.GetValue(testSize);
            if (calibCount < 1) throw new CliException(ExitCodes.Usage, $"--calibration-size must be at least 1, got {calibCount}");
            if (tests < 0) throw new CliException(ExitCodes.Usage, $"--test-size must be 0 or more, got {tests}");
            var (calibration, test) = CalibrationData(spec, file.FullName, calibCount, tests);
            var overrides = new Steps.PreprocessingOverride(pr.GetValue(pixelScale), Floats(pr.GetValue(mean), "--mean"),
                Floats(pr.GetValue(std), "--std"), pr.GetValue(labels)?.Split(',', StringSplitOptions.TrimEntries));
            var settings = new Steps.CalibrationSettings(Methods[pr.GetValue(method)!], pr.GetValue(percentile), pr.GetValue(biasCorrection));
            if (settings.Percentile is < 50 or > 100) throw new CliException(ExitCodes.Usage, $"--percentile must be in 50..100, got {settings.Percentile}");
            var q = Steps.Quantize(file.FullName, calibration, calibCount, test, pr.GetValue(budget), ctx, overrides, settings);
            ReportWriter.WriteAtomic(outPath, q.Result.EdgeModel);
            var r = q.Result.Report;
            var a = q.Accuracy;
            if (ctx.Json)
            {
                var o = new JsonObject
                {
                    ["model"] = outPath, ["model_bytes"] = r.ModelBytes, ["arena_bytes"] = r.ArenaBytes, ["peak_op"] = r.PeakOpName,
                    ["weight_bytes"] = r.ConstantBytes, ["folded_batch_norms"] = r.FoldedBatchNorms, ["fused_activations"] = r.FusedActivations,
                    ["method"] = pr.GetValue(method), ["calibration"] = spec, ["calibration_images"] = r.CalibrationSamples,
                    ["quantization"] = new JsonArray([.. r.Layers.Select(l => (JsonNode)new JsonObject
                    {
                        ["name"] = l.Name, ["kind"] = l.Kind, ["min"] = AccuracyJson.Number(l.Min, 6), ["max"] = AccuracyJson.Number(l.Max, 6),
                        ["scale"] = l.Scale, ["zero_point"] = l.ZeroPoint,
                    })]),
                };
                if (test is not null) AccuracyJson.Write(o, a);
                ctx.WriteJson(o);
            }
            else
            {
                if (test is not null) AccuracyJson.Print(ctx.Console, a);
                else ctx.Console.MarkupLine($"{(tests == 0 ? "--test-size 0" : $"no test split in '{Markup.Escape(spec)}'")}: run [bold]cnn eval {Markup.Escape(Path.GetFileName(outPath))} --data DIR --reference {Markup.Escape(file.Name)}[/] for accuracy and per-layer SQNR");
                ctx.Console.MarkupLine($"[green]wrote[/] {Markup.Escape(outPath)}: {r.ModelBytes:N0} bytes, arena {r.ArenaBytes:N0} bytes (peak at {Markup.Escape(r.PeakOpName)}), " +
                                       $"{r.CalibrationSamples} calibration images, {pr.GetValue(method)} ranges");
            }
            double drop = (a.FloatAccuracy - a.Int8Accuracy) * 100;
            if (pr.GetValue(maxDrop) is double max && test is not null && drop > max)
            {
                ctx.Err.WriteLine($"cnn: int8 accuracy is {drop:0.00} points below float, more than --max-drop {max:0.00}");
                return ExitCodes.GateFailed;
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static readonly Dictionary<string, CalibrationMethod> Methods = new()
    {
        ["mse"] = CalibrationMethod.Mse, ["minmax"] = CalibrationMethod.MinMax,
        ["percentile"] = CalibrationMethod.Percentile, ["moving-average"] = CalibrationMethod.MovingAverageMinMax,
    };

    /// <summary>
    /// The calibration images and, when <paramref name="spec"/> has a test split (and <paramref name="testCount"/> &gt; 0),
    /// the test images of the float vs int8 comparison. `synthetic:N` makes N random images of the model's input shape.
    /// </summary>
    private static (IDataset Calibration, IDataset? Test) CalibrationData(string spec, string onnxPath, int calibCount, int testCount)
    {
        if (spec.StartsWith("synthetic:", StringComparison.Ordinal))
        {
            if (!int.TryParse(spec["synthetic:".Length..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n) || n is < 1 or > 100_000)
                throw new CliException(ExitCodes.Usage, $"--calibration '{spec}': N in synthetic:N must be 1..100000");
            var shape = FloatGraph.Load(onnxPath).Inputs[0].Shape;
            if (shape is not [_, var c and (1 or 3), var h and > 0, var w and > 0])
                throw new CliException(ExitCodes.BadInput, $"synthetic calibration needs an image input [N,1|3,H,W]; the model's is [{string.Join(",", shape ?? [])}]");
            return (DataSets.Synthetic(n, c, h, w, seed: 1), null);
        }
        var calibration = DataSets.LoadSplit(spec, train: true, calibCount);
        bool hasTestSplit = spec is "embedded" or "mnist" or "fashion" or "digits" ||
                            (Directory.Exists(spec) && (DataSets.IsIdxFolder(spec) || Directory.Exists(Path.Combine(spec, "test"))));
        var test = hasTestSplit && testCount > 0 ? DataSets.LoadSplit(spec, train: false, testCount, calibration.Channels) : null;
        return (calibration, test);
    }

    internal static float[]? Floats(string? text, string option)
    {
        if (text is null) return null;
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var values = new float[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!float.TryParse(parts[i], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out values[i]))
                throw new CliException(ExitCodes.Usage, $"{option} '{text}' is not a comma-separated list of numbers");
        return values;
    }
}
