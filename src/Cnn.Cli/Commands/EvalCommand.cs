using System.CommandLine;
using System.Text.Json.Nodes;
using Cnn.Cli.Demo;
using Cnn.Edge;
using Cnn.Onnx;
using Cnn.Quantize;
using Cnn.Trainer.Data;
using Spectre.Console;
using QPreprocessing = Cnn.Quantize.Preprocessing;

namespace Cnn.Cli.Commands;

public static class EvalCommand
{
    public static Command Create()
    {
        var model = new Argument<FileInfo>("model") { Description = "An int8 edge model (.cnnq), run by the device's interpreter, or a float ONNX model (.onnx)" };
        var data = new Option<string>("--data", "-d")
        {
            Description = "Test set: a folder of MNIST IDX files (t10k-* is used), an image folder (ROOT/CLASS/*.png, or ROOT/test), " +
                          "'embedded' (MNIST subset in the SDK), 'fashion' or 'digits' (generated)",
            DefaultValueFactory = _ => "embedded",
        };
        var reference = new Option<FileInfo?>("--reference", "-r")
        {
            Description = "The float ONNX model the edge model was quantized from: adds float_accuracy, top1_agreement and per-layer SQNR",
        };
        var limit = new Option<int>("--limit") { Description = "Evaluate only the first N test images (0: all)", DefaultValueFactory = _ => 0 };
        var minAcc = new Option<double?>("--min-accuracy") { Description = "Fail (exit 4) below this test accuracy, in percent" };
        var budget = CliRunner.BudgetOption("Arena budget; a model whose plan does not fit is refused (exit 3)");
        var mean = new Option<string?>("--mean") { Description = "For an .onnx model without metadata: per-channel mean after pixel scaling" };
        var std = new Option<string?>("--std") { Description = "For an .onnx model without metadata: per-channel standard deviation" };
        var json = CliRunner.JsonOption();
        var cmd = new Command("eval", "Test accuracy of an int8 model, run by the same interpreter as on the device; with --reference, float vs int8 layer by layer.")
        {
            model, data, reference, limit, minAcc, budget, mean, std, json,
        };
        cmd.WithExamples(
            "cnn eval model.cnnq --data ../shared/data/mnist --reference model.onnx",
            "cnn eval model.onnx --data ../shared/data/mnist          # float accuracy of the ONNX model",
            "cnn eval model.cnnq --data ../shared/data/mnist --min-accuracy 98",
            "cnn eval model.cnnq --reference model.onnx --json | jq '.accuracy, .float_accuracy, .top1_agreement'");
        cmd.SetGuardedAction(json, (pr, ctx) =>
        {
            var file = CliRunner.ExistingFile(pr.GetValue(model), "model file");
            var refFile = pr.GetValue(reference) is { } rf ? CliRunner.ExistingFile(rf, "reference model") : null;
            bool onnx = file.Extension.Equals(".onnx", StringComparison.OrdinalIgnoreCase);
            if (onnx && refFile is not null)
                throw new CliException(ExitCodes.Usage, "--reference compares an int8 edge model with its float ONNX model; MODEL is already the float model");
            if (!onnx && (pr.GetValue(mean) ?? pr.GetValue(std)) is not null)
                throw new CliException(ExitCodes.Usage, "--mean/--std apply to an .onnx model; an edge model carries its preprocessing (set it at `cnn quantize`)");
            string spec = pr.GetValue(data)!;
            var result = new JsonObject { ["model"] = file.FullName, ["data"] = spec };
            double accuracy;
            if (onnx)
            {
                var graph = FloatGraph.Load(file.FullName);
                var g = Quantizer.Prepare(graph, out _);
                int channels = g.InputShape is [_, _, _, var c] ? c : 1;
                var md = QPreprocessing.FromMetadata(graph.Metadata, channels);
                var pre = new QPreprocessing
                {
                    Layout = md.Layout, PixelScale = md.PixelScale, Labels = md.Labels,
                    Mean = QuantizeCommand.Floats(pr.GetValue(mean), "--mean") ?? md.Mean,
                    Std = QuantizeCommand.Floats(pr.GetValue(std), "--std") ?? md.Std,
                };
                var set = DataSets.LoadSplit(spec, train: false, pr.GetValue(limit), channels);
                var a = ctx.WithProgress("float", 1, _ => AccuracyEvaluator.EvaluateFloat(g, Samples(set, pre)));
                accuracy = a.FloatAccuracy;
                result["images"] = a.Samples;
                result["accuracy"] = AccuracyJson.Number(a.FloatAccuracy, 6);
                result["float_accuracy"] = AccuracyJson.Number(a.FloatAccuracy, 6);
                result["labels"] = Labels(set);
                result["confusion"] = AccuracyJson.Confusion(set, a.FloatPredictions, set.Labels.Length);
                if (!ctx.Json) AccuracyJson.Print(ctx.Console, a);
            }
            else
            {
                byte[] bytes = File.ReadAllBytes(file.FullName);
                var edge = EdgeModel.Load(bytes);
                var options = new InterpreterOptions { BudgetBytes = pr.GetValue(budget) };
                int channels = edge.Tensors[edge.Inputs[0]].Shape is [_, _, _, var c] ? c : 1;
                var set = DataSets.LoadSplit(spec, train: false, pr.GetValue(limit), channels);
                // The device run: accuracy, confusion and timing, with the model's own preprocessing.
                var run = ctx.WithProgress("evaluating", set.Count, set1 => EdgeEval.Evaluate(edge, set, options, set1));
                accuracy = run.Accuracy;
                result["images"] = set.Count;
                result["accuracy"] = Math.Round(run.Accuracy, 6);
                result["median_inference_ms"] = Math.Round(run.MedianMs, 4);
                result["arena_bytes"] = edge.Plan.ArenaBytes;
                if (refFile is not null)
                {
                    var g = Quantizer.Prepare(FloatGraph.Load(refFile.FullName), out _);
                    var (pixelScale, m, s) = EdgeEval.Preprocessing(edge, channels);
                    var pre = new QPreprocessing { Layout = channels == 3 ? "rgb" : "grey", PixelScale = pixelScale, Mean = m, Std = s };
                    var a = ctx.WithProgress("float vs int8", 1, _ => AccuracyEvaluator.Evaluate(g, bytes, Samples(set, pre), options));
                    AccuracyJson.Write(result, a);
                    // Both runs use the device's kernels and input rounding, so they agree on every image.
                    result["accuracy"] = Math.Round(run.Accuracy, 6);
                    if (!ctx.Json) AccuracyJson.Print(ctx.Console, a);
                }
                result["labels"] = Labels(set);
                result["confusion"] = AccuracyJson.Confusion(set, run.Predictions, edge.Tensors[edge.Outputs[0]].ElementCount);
                if (!ctx.Json)
                {
                    var table = new Table().AddColumn("model").AddColumn("images").AddColumn("accuracy").AddColumn("median inference");
                    table.AddRow(Markup.Escape(file.Name), set.Count.ToString(), $"{run.Accuracy * 100:0.00} %", $"{run.MedianMs:0.000} ms");
                    ctx.Console.Write(table);
                }
            }
            if (ctx.Json) ctx.WriteJson(result);
            double pct = accuracy * 100;
            if (pr.GetValue(minAcc) is double min && !(pct >= min))
            {
                ctx.Err.WriteLine($"cnn: accuracy {pct:0.00} % is below --min-accuracy {min:0.00} %");
                return ExitCodes.GateFailed;
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static JsonArray Labels(IDataset set) => new([.. set.Labels.Select(l => (JsonNode)l)]);

    /// <summary>Test images as normalized NCHW tensors with their labels, decoded one at a time.</summary>
    private static IEnumerable<(float[], int)> Samples(IDataset set, QPreprocessing pre)
    {
        var px = new byte[set.Channels * set.Height * set.Width];
        for (int i = 0; i < set.Count; i++)
        {
            set.GetPixels(i, px);
            yield return (pre.ToTensor(px), set.Label(i));
        }
    }
}
