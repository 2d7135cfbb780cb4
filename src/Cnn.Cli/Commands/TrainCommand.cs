using System.CommandLine;
using System.Text.Json.Nodes;
using Cnn.Cli.Demo;
using Cnn.Trainer.Models;
using Spectre.Console;

namespace Cnn.Cli.Commands;

public static class TrainCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data", "-d")
        {
            Description = "Data set: 'embedded' (the MNIST subset inside the SDK), 'fashion' (its Fashion-MNIST subset), 'digits' (generated), or a folder with MNIST IDX files (.gz or not)",
            DefaultValueFactory = _ => "embedded",
        };
        var arch = new Option<string>("--arch", "-a") { Description = "Architecture: " + string.Join(", ", Zoo.Names), DefaultValueFactory = _ => "lenet5" };
        arch.AcceptOnlyFromAmong(Zoo.Names);
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training set", DefaultValueFactory = _ => 5 };
        var batch = new Option<int>("--batch") { Description = "Mini-batch size", DefaultValueFactory = _ => 64 };
        var lr = new Option<float>("--lr") { Description = "Peak learning rate (cosine schedule)", DefaultValueFactory = _ => 0.05f };
        var limit = new Option<int>("--train-size") { Description = "Use only the first N training images (0: all)", DefaultValueFactory = _ => 0 };
        var seed = new Option<int>("--seed") { Description = "Seed for initialisation, shuffling and augmentation", DefaultValueFactory = _ => 1 };
        var outFile = new Option<FileInfo>("--out", "-o") { Description = "ONNX file to write", DefaultValueFactory = _ => new FileInfo("model.onnx") };
        var json = CliRunner.JsonOption();
        var cmd = new Command("train", "Train a small CNN in float32 and export it as ONNX (the quantizer's input).")
        {
            data, arch, epochs, batch, lr, limit, seed, outFile, json,
        };
        cmd.WithExamples(
            "cnn train --out model.onnx",
            "cnn train --data ../shared/data/mnist --epochs 3 --out mnist.onnx",
            "cnn train --data fashion --arch mobilenet --epochs 2 --json");
        cmd.SetGuardedAction(json, (pr, ctx) =>
        {
            int ep = pr.GetValue(epochs), bs = pr.GetValue(batch);
            if (ep is < 1 or > 1000) throw new CliException(ExitCodes.Usage, $"--epochs must be 1..1000, got {ep}");
            if (bs is < 1 or > 4096) throw new CliException(ExitCodes.Usage, $"--batch must be 1..4096, got {bs}");
            var d = DataSets.Load(pr.GetValue(data)!, pr.GetValue(limit), 0, pr.GetValue(seed));
            ctx.Info($"training [bold]{Markup.Escape(pr.GetValue(arch)!)}[/] on {Markup.Escape(d.Name)}: {d.Train.Count} images, {d.Test.Count} for validation");
            var t = Steps.Train(d, pr.GetValue(arch)!, ep, pr.GetValue(seed), ctx, line => ctx.Info(Markup.Escape(line)), bs, pr.GetValue(lr));
            string path = pr.GetValue(outFile)!.FullName;
            Steps.ExportOnnx(t, path);
            var last = t.History.Last;
            if (ctx.Json)
            {
                ctx.WriteJson(new JsonObject
                {
                    ["model"] = path, ["architecture"] = t.Architecture, ["parameters"] = t.Net.ParameterCount,
                    ["trainImages"] = d.Train.Count, ["testImages"] = d.Test.Count,
                    ["testAccuracy"] = last.ValidationAccuracy, ["seconds"] = Math.Round(t.History.Epochs.Sum(e => e.Seconds), 2),
                    ["epochs"] = new JsonArray([.. t.History.Epochs.Select(e => (JsonNode)new JsonObject
                    {
                        ["epoch"] = e.Epoch, ["trainLoss"] = e.TrainLoss, ["trainAccuracy"] = e.TrainAccuracy,
                        ["testLoss"] = e.ValidationLoss, ["testAccuracy"] = e.ValidationAccuracy, ["seconds"] = e.Seconds,
                    })]),
                });
            }
            else
            {
                ctx.Console.MarkupLine($"[green]wrote[/] {Markup.Escape(path)}: test accuracy {last.ValidationAccuracy:P2}, {t.Net.ParameterCount:N0} parameters");
                ctx.Console.MarkupLine($"next: cnn quantize {Markup.Escape(Path.GetFileName(path))}");
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
