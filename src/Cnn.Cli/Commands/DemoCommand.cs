using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Cnn.Cli.Demo;
using Spectre.Console;

namespace Cnn.Cli.Commands;

public static class DemoCommand
{
    public static Command Create()
    {
        var outDir = new Option<DirectoryInfo>("--out", "-o")
        {
            Description = "Folder for report.html, its pictures, the models and the frames",
            DefaultValueFactory = _ => new DirectoryInfo("cnn-demo"),
        };
        var epochs = new Option<int>("--epochs") { Description = "Training epochs", DefaultValueFactory = _ => 5 };
        var data = new Option<string>("--data", "-d")
        {
            Description = "'embedded' (MNIST subset inside the SDK), 'fashion' (Fashion-MNIST subset), 'digits' (generated) or an MNIST IDX folder",
            DefaultValueFactory = _ => "embedded",
        };
        var budget = new Option<long?>("--budget") { Description = "Arena byte budget for the int8 model (drawn on the memory taper; exit 3 if it does not fit)" };
        var seed = new Option<int>("--seed") { Description = "Seed for data, initialisation and shuffling", DefaultValueFactory = _ => 1 };
        var trainSize = new Option<int>("--train-size") { Description = "Use only the first N training images (0: all)", DefaultValueFactory = _ => 0 };
        var testSize = new Option<int>("--test-size") { Description = "Use only the first N test images (0: all)", DefaultValueFactory = _ => 0 };
        var frames = new Option<int>("--frames") { Description = "Frames for the device loop", DefaultValueFactory = _ => 40 };
        var json = CliRunner.JsonOption();
        var cmd = new Command("demo",
            "The whole path on embedded defaults, with no network, camera or GPIO hardware: train a small CNN, " +
            "export ONNX, quantize to int8, compare float and int8, run the device loop over a folder of frames " +
            "with simulated GPIO pins, and write report.html with pictures.")
        {
            outDir, data, epochs, trainSize, testSize, frames, budget, seed, json,
        };
        cmd.WithExamples(
            "cnn demo                           # writes ./cnn-demo/report.html",
            "cnn demo --out /tmp/r --epochs 2   # quicker",
            "cnn demo --json | jq .accuracy     # the figures as JSON");
        cmd.SetGuardedAction(json, (pr, ctx) =>
        {
            int ep = pr.GetValue(epochs);
            if (ep is < 1 or > 100) throw new CliException(ExitCodes.Usage, $"--epochs must be 1..100, got {ep}");
            int train = pr.GetValue(trainSize), test = pr.GetValue(testSize), nFrames = pr.GetValue(frames);
            if (train is > 0 and < 20 || test is > 0 and < 10 || nFrames < 1)
                throw new CliException(ExitCodes.Usage, $"need --train-size 0 or >= 20, --test-size 0 or >= 10 and --frames >= 1 (got {train}, {test}, {nFrames})");
            var options = new DemoOptions(pr.GetValue(outDir)!.FullName, train, test, ep, nFrames, pr.GetValue(seed),
                pr.GetValue(data)!, BudgetBytes: pr.GetValue(budget));
            var sw = Stopwatch.StartNew();
            // Step lines are the transcript: stdout for people, stderr in --json mode.
            var pipeline = new DemoPipeline(options, line => (ctx.Json ? ctx.Err : ctx.Out).WriteLine(line), ctx);
            var written = pipeline.Run();
            if (ctx.Json)
            {
                var doc = JsonNode.Parse(File.ReadAllText(written.JsonPath))!.AsObject();
                doc["report"] = written.HtmlPath;
                ctx.WriteJson(doc);
            }
            else
            {
                ctx.Console.MarkupLine($"[green]report:[/] {Markup.Escape(written.HtmlPath)}");
                if (written.MissingPictures.Count > 0)
                    ctx.Console.MarkupLine($"[yellow]not in this report (parts missing from this build):[/] {Markup.Escape(string.Join(", ", written.MissingPictures))}");
                ctx.Console.MarkupLine($"demo finished in {sw.Elapsed.TotalSeconds:0.0} s");
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
