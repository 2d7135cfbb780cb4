using System.CommandLine;
using System.Text.Json.Nodes;
using Cnn.Cli.Demo;
using Cnn.Edge.Runtime;
using Spectre.Console;

namespace Cnn.Cli.Commands;

public static class RunCommand
{
    public static Command Create()
    {
        var model = new Argument<FileInfo>("model") { Description = "Int8 edge model (.cnnq)" };
        var source = new Option<string>("--source", "-s")
        {
            Description = "Frames: folder:DIR (PGM/PPM/BMP/PNG images in name order), file:PATH (one image), or synthetic (generated scenes)",
            DefaultValueFactory = _ => "synthetic",
        };
        var frames = new Option<int>("--frames", "-n") { Description = "Stop after this many frames (0: until the source ends)", DefaultValueFactory = _ => 0 };
        var gpio = new Option<string>("--gpio") { Description = "GPIO driver: sim (simulated pins, in memory)", DefaultValueFactory = _ => "sim" };
        gpio.AcceptOnlyFromAmong("sim");
        var pins = new Option<string[]>("--pin")
        {
            Description = "Output pin per class as CLASS=PIN (BCM numbering), repeatable; default 0=17 1=27 7=22",
            AllowMultipleArgumentsPerToken = true,
        };
        var interval = new Option<int>("--interval-ms") { Description = "Trigger interval; 0 runs frames back to back on a simulated clock", DefaultValueFactory = _ => 0 };
        var budget = new Option<long?>("--budget") { Description = "Arena byte budget; a model whose plan does not fit is refused (exit 3)" };
        var json = CliRunner.JsonOption();
        var cmd = new Command("run", "Run the device loop on this machine: frames → int8 model → decision with hysteresis → simulated GPIO pins.")
        {
            model, source, frames, gpio, pins, interval, budget, json,
        };
        cmd.WithExamples(
            "cnn run model.cnnq --source folder:cnn-demo/frames",
            "cnn run model.cnnq --source folder:frames --pin 7=17 --pin 3=27 --budget 65536",
            "cnn run model.cnnq --source file:digit.pgm --json");
        cmd.SetGuardedAction(json, (pr, ctx) =>
        {
            var file = CliRunner.ExistingFile(pr.GetValue(model), "model file");
            string src = pr.GetValue(source)!;
            if (src.StartsWith("folder:", StringComparison.Ordinal) && !Directory.Exists(src[7..]))
                throw new CliException(ExitCodes.BadInput, $"frame folder not found: {Path.GetFullPath(src[7..])}");
            if (src.StartsWith("file:", StringComparison.Ordinal) && !File.Exists(src[5..]))
                throw new CliException(ExitCodes.BadInput, $"frame file not found: {Path.GetFullPath(src[5..])}");
            long? budgetBytes = pr.GetValue(budget);
            // Load and prepare first: a corrupt file (exit 2) or a plan over budget (exit 3) is refused
            // before any frame is read, as on the device.
            using (new Cnn.Edge.Interpreter(Cnn.Edge.EdgeModel.LoadFile(file.FullName), new Cnn.Edge.InterpreterOptions { BudgetBytes = budgetBytes })) { }
            var pinList = pr.GetValue(pins) is { Length: > 0 } p ? DeviceRun.ParsePins(p) : DeviceRun.DemoPins;
            using var frameSource = DeviceRun.Source(src);
            int max = pr.GetValue(frames);
            if (src == "synthetic" && max == 0) max = 100;
            var outcome = ctx.WithProgress("frames", max > 0 ? max : 1, set =>
                DeviceRun.Run(file.FullName, frameSource, pinList, budgetBytes ?? 0, max, pr.GetValue(interval), set));
            if (ctx.Json)
            {
                ctx.WriteJson(new JsonObject
                {
                    ["model"] = file.FullName, ["frames"] = outcome.Summary.Frames, ["decisions"] = outcome.Summary.Decisions,
                    ["bad_frames"] = outcome.Summary.BadFrames, ["stop"] = outcome.Summary.StopReason,
                    ["median_latency_ms"] = Median(outcome.Frames.Select(f => f.LatencyMs)),
                    ["pins"] = new JsonObject([.. outcome.Pins.Select(pn => new KeyValuePair<string, JsonNode?>(pn.Number.ToString(), pn.Class))]),
                    ["results"] = new JsonArray([.. outcome.Frames.Select(f => (JsonNode)new JsonObject
                    {
                        ["frame"] = f.Index, ["file"] = f.File, ["class"] = f.Class, ["score"] = Math.Round(f.Score, 4),
                        ["latency_ms"] = Math.Round(f.LatencyMs, 4),
                        ["high"] = new JsonArray([.. outcome.Pins.Where((_, i) => f.PinLevels[i]).Select(pn => (JsonNode)pn.Number)]),
                    })]),
                });
            }
            else
            {
                var table = new Table().AddColumn("frame").AddColumn("file").AddColumn("class").AddColumn(new TableColumn("score").RightAligned())
                    .AddColumn("pins high");
                foreach (var f in outcome.Frames.Take(200))
                    table.AddRow(f.Index.ToString(), Markup.Escape(f.File ?? "-"), Markup.Escape(f.Class), $"{f.Score:0.00}",
                        string.Join(" ", outcome.Pins.Where((_, i) => f.PinLevels[i]).Select(pn => $"GPIO{pn.Number}")));
                ctx.Console.Write(table);
                ctx.Console.MarkupLine($"{outcome.Summary.Frames} frames, {outcome.Summary.Decisions} decisions, {outcome.Summary.BadFrames} bad frames; " +
                    $"median inference {Median(outcome.Frames.Select(f => f.LatencyMs)):0.000} ms; stopped: {Markup.Escape(outcome.Summary.StopReason)}");
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }

    internal static double Median(IEnumerable<double> values)
    {
        double[] v = [.. values];
        return v.Length == 0 ? 0 : Math.Round(Latency.Median(v), 4);
    }
}
