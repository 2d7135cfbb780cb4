using System.CommandLine;
using System.Text.Json.Nodes;
using Cnn.Cli.Demo;
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
            Description = "Calibration and test images: 'embedded', 'fashion', 'digits', or a folder with MNIST IDX files",
            DefaultValueFactory = _ => "embedded",
        };
        var count = new Option<int>("--calibration-size") { Description = "Images used to calibrate activation ranges", DefaultValueFactory = _ => 200 };
        var testSize = new Option<int>("--test-size") { Description = "Test images for the float vs int8 comparison (0: all)", DefaultValueFactory = _ => 0 };
        var outFile = new Option<FileInfo?>("--out", "-o") { Description = "Edge model to write (default: MODEL with extension .cnnq)" };
        var maxDrop = new Option<double?>("--max-drop") { Description = "Fail (exit 4) if int8 accuracy is more than this many points below float" };
        var budget = new Option<long?>("--budget") { Description = "Arena byte budget; refuse (exit 3) a model whose plan does not fit" };
        var json = CliRunner.JsonOption();
        var cmd = new Command("quantize", "Fold, fuse, calibrate and convert an ONNX CNN to an int8 edge model; report accuracy and per-layer SQNR.")
        {
            model, calib, count, testSize, outFile, maxDrop, budget, json,
        };
        cmd.WithExamples(
            "cnn quantize model.onnx                      # writes model.cnnq",
            "cnn quantize resnet.onnx --out r.cnnq --max-drop 1.0",
            "cnn quantize model.onnx --json | jq .sqnrDb");
        cmd.SetGuardedAction(json, (pr, ctx) =>
        {
            var file = CliRunner.ExistingFile(pr.GetValue(model), "model file");
            string outPath = pr.GetValue(outFile)?.FullName ?? Path.ChangeExtension(file.FullName, ".cnnq");
            var d = DataSets.Load(pr.GetValue(calib)!, 0, pr.GetValue(testSize), seed: 1);
            var q = Steps.Quantize(file.FullName, d.Train, Math.Max(1, pr.GetValue(count)), d.Test, pr.GetValue(budget), ctx);
            ReportWriter.WriteAtomic(outPath, q.Result.EdgeModel);
            var r = q.Result.Report;
            var a = q.Accuracy;
            double drop = (a.FloatAccuracy - a.Int8Accuracy) * 100;
            if (ctx.Json)
            {
                ctx.WriteJson(new JsonObject
                {
                    ["model"] = outPath, ["modelBytes"] = r.ModelBytes, ["arenaBytes"] = r.ArenaBytes, ["peakOp"] = r.PeakOpName,
                    ["weightBytes"] = r.ConstantBytes, ["foldedBatchNorms"] = r.FoldedBatchNorms, ["fusedActivations"] = r.FusedActivations,
                    ["calibrationImages"] = r.CalibrationSamples, ["testImages"] = a.Samples,
                    ["floatAccuracy"] = a.FloatAccuracy, ["int8Accuracy"] = a.Int8Accuracy, ["top1Agreement"] = a.Top1Agreement,
                    ["outputSqnrDb"] = Math.Round(a.OutputSqnrDb, 2),
                    ["sqnrDb"] = new JsonObject([.. a.Layers.Select(l => new KeyValuePair<string, JsonNode?>(l.Name, Math.Round(l.SqnrDb, 2)))]),
                });
            }
            else
            {
                var table = new Table().AddColumn("layer").AddColumn("kind").AddColumn(new TableColumn("SQNR dB").RightAligned());
                foreach (var l in a.Layers) table.AddRow(Markup.Escape(l.Name), l.Kind, $"{l.SqnrDb:0.0}");
                ctx.Console.Write(table);
                ctx.Console.MarkupLine($"float {a.FloatAccuracy:P2} → int8 {a.Int8Accuracy:P2} on {a.Samples} images (top-1 agreement {a.Top1Agreement:P2})");
                ctx.Console.MarkupLine($"[green]wrote[/] {Markup.Escape(outPath)}: {r.ModelBytes:N0} bytes, arena {r.ArenaBytes:N0} bytes (peak at {Markup.Escape(r.PeakOpName)})");
            }
            if (pr.GetValue(maxDrop) is double max && drop > max)
            {
                ctx.Err.WriteLine($"cnn: int8 accuracy is {drop:0.00} points below float, more than --max-drop {max:0.00}");
                return ExitCodes.GateFailed;
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
