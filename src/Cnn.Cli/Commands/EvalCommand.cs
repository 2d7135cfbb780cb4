using System.CommandLine;
using System.Text.Json.Nodes;
using Cnn.Cli.Demo;
using Cnn.Edge;
using Spectre.Console;

namespace Cnn.Cli.Commands;

public static class EvalCommand
{
    public static Command Create()
    {
        var model = new Argument<FileInfo>("model") { Description = "An int8 edge model (.cnnq); float .onnx needs the quantizer's float evaluator" };
        var data = new Option<string>("--data", "-d")
        {
            Description = "Test set: 'embedded' (MNIST subset in the SDK), 'fashion', 'digits' (generated) or a folder with MNIST IDX files (t10k-* is used)",
            DefaultValueFactory = _ => "embedded",
        };
        var limit = new Option<int>("--limit") { Description = "Evaluate only the first N test images (0: all)", DefaultValueFactory = _ => 0 };
        var minAcc = new Option<double?>("--min-accuracy") { Description = "Fail (exit 4) below this test accuracy, in percent" };
        var budget = new Option<long?>("--budget") { Description = "Arena byte budget; a model whose plan does not fit is refused (exit 3)" };
        var json = CliRunner.JsonOption();
        var cmd = new Command("eval", "Test accuracy and confusion matrix of an int8 model, run by the same interpreter as on the device.")
        {
            model, data, limit, minAcc, budget, json,
        };
        cmd.WithExamples(
            "cnn eval model.cnnq",
            "cnn eval model.cnnq --data ../shared/data/mnist --min-accuracy 98",
            "cnn eval model.cnnq --json | jq .accuracy");
        cmd.SetGuardedAction(json, (pr, ctx) =>
        {
            var file = CliRunner.ExistingFile(pr.GetValue(model), "model file");
            if (file.Extension.Equals(".onnx", StringComparison.OrdinalIgnoreCase))
                throw CliException.NotInThisBuild("eval of a float .onnx", "the quantizer's float evaluator (src/Cnn.Quantize)");
            var edge = EdgeModel.LoadFile(file.FullName);
            var set = DataSets.Load(pr.GetValue(data)!, 1, pr.GetValue(limit), seed: 1).Test;
            var result = ctx.WithProgress("evaluating", set.Count, set1 =>
                EdgeEval.Evaluate(edge, set, new InterpreterOptions { BudgetBytes = pr.GetValue(budget) }, set1));
            double pct = result.Accuracy * 100;
            if (ctx.Json)
            {
                ctx.WriteJson(new JsonObject
                {
                    ["model"] = file.FullName, ["images"] = set.Count, ["accuracy"] = Math.Round(result.Accuracy, 6),
                    ["medianInferenceMs"] = Math.Round(result.MedianMs, 4), ["arenaBytes"] = edge.Plan.ArenaBytes,
                    ["labels"] = new JsonArray([.. set.Labels.Select(l => (JsonNode)l)]),
                    ["confusion"] = new JsonArray([.. Enumerable.Range(0, result.Confusion.GetLength(0)).Select(r =>
                        (JsonNode)new JsonArray([.. Enumerable.Range(0, result.Confusion.GetLength(1)).Select(c => (JsonNode)result.Confusion[r, c])]))]),
                });
            }
            else
            {
                var table = new Table().AddColumn("model").AddColumn("images").AddColumn("accuracy").AddColumn("median inference");
                table.AddRow(Markup.Escape(file.Name), set.Count.ToString(), $"{pct:0.00} %", $"{result.MedianMs:0.000} ms");
                ctx.Console.Write(table);
            }
            if (pr.GetValue(minAcc) is double min && pct < min)
            {
                ctx.Err.WriteLine($"cnn: accuracy {pct:0.00} % is below --min-accuracy {min:0.00} %");
                return ExitCodes.GateFailed;
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
