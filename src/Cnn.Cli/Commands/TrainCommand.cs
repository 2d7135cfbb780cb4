using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Cnn.Cli.Demo;
using Cnn.Cli.Report;
using Cnn.Trainer;
using Cnn.Trainer.Data;
using Cnn.Trainer.Layers;
using Cnn.Trainer.Models;
using Cnn.Trainer.Onnx;
using Cnn.Trainer.Optim;
using Cnn.Trainer.Training;
using Spectre.Console;

namespace Cnn.Cli.Commands;

/// <summary>
/// `cnn train`: a named or described (JSON) network, or an ONNX model for transfer learning, trained on
/// a data set with the full recipe; writes the ONNX model, a checkpoint every epoch (--resume continues
/// from it) and the training curves (MODEL.curves.svg) beside the model.
/// </summary>
public static class TrainCommand
{
    private static readonly string[] Optimizers = ["sgd", "nesterov", "adam", "adamw"];
    private static readonly string[] Schedules = ["cosine", "step", "plateau", "constant"];

    public static Command Create()
    {
        var data = new Option<string>("--data", "-d")
        {
            Description = "Data set: 'embedded' (the MNIST subset inside the SDK), 'fashion' (its Fashion-MNIST subset), 'digits' (generated), or a folder with MNIST IDX files (.gz or not)",
            DefaultValueFactory = _ => "embedded",
        };
        var model = new Option<string>("--model", "-m", "--arch", "-a")
        {
            Description = $"Network: a name ({string.Join(", ", Zoo.Names)}), a JSON description (SPEC.json), or an ONNX model to fine-tune (its head is replaced when the classes differ)",
            DefaultValueFactory = _ => "lenet5",
        };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training set", DefaultValueFactory = _ => 5 };
        var batch = new Option<int>("--batch") { Description = "Mini-batch size", DefaultValueFactory = _ => 64 };
        var keepLast = new Option<bool>("--keep-last") { Description = "Also train on each epoch's last, partial batch (default: dropped, like PyTorch's drop_last=True)" };
        var lr = new Option<float>("--lr") { Description = "Peak learning rate", DefaultValueFactory = _ => 0.05f };
        var optimizer = new Option<string>("--optimizer") { Description = "sgd (momentum 0.9), nesterov, adam or adamw", DefaultValueFactory = _ => "sgd" };
        optimizer.AcceptOnlyFromAmong(Optimizers);
        var weightDecay = new Option<float>("--weight-decay") { Description = "L2 weight decay (decoupled for adamw); not applied to biases and BatchNorm", DefaultValueFactory = _ => 0f };
        var schedule = new Option<string>("--schedule") { Description = "Learning-rate schedule: cosine, step (÷10 every 10 epochs), plateau (÷10 when test loss stalls) or constant", DefaultValueFactory = _ => "cosine" };
        schedule.AcceptOnlyFromAmong(Schedules);
        var warmup = new Option<float>("--warmup") { Description = "Linear warm-up, in epochs", DefaultValueFactory = _ => 0f };
        var augment = new Option<string>("--augment") { Description = "Augmentation: 'none' or a list such as crop:2,flip,affine:10", DefaultValueFactory = _ => "none" };
        var smoothing = new Option<float>("--label-smoothing") { Description = "Label smoothing ε in [0, 1)", DefaultValueFactory = _ => 0f };
        var mixup = new Option<float>("--mixup") { Description = "Mixup Beta(α, α) parameter; 0 = off", DefaultValueFactory = _ => 0f };
        var freeze = new Option<bool>("--freeze") { Description = "With an ONNX --model: train only the new head, keep the rest frozen" };
        var limit = new Option<int>("--train-size") { Description = "Use only the first N training images (0: all)", DefaultValueFactory = _ => 0 };
        var seed = new Option<int>("--seed") { Description = "Seed for initialisation, shuffling and augmentation (same seed and threads: same weights)", DefaultValueFactory = _ => 1 };
        var threads = new Option<int>("--threads") { Description = "Worker threads", DefaultValueFactory = _ => Math.Max(1, Environment.ProcessorCount) };
        var outFile = new Option<FileInfo>("--out", "-o") { Description = "ONNX file to write", DefaultValueFactory = _ => new FileInfo("model.onnx") };
        var checkpoint = new Option<FileInfo?>("--checkpoint") { Description = "Checkpoint written atomically after every epoch (default: OUT.ckpt)" };
        var resume = new Option<bool>("--resume") { Description = "Continue from the checkpoint when it exists (the epochs already done are kept)" };
        var json = CliRunner.JsonOption();
        var cmd = new Command("train", "Train a CNN in float32 and export it as ONNX (the quantizer's input).")
        {
            data, model, epochs, batch, keepLast, lr, optimizer, weightDecay, schedule, warmup, augment, smoothing, mixup, freeze,
            limit, seed, threads, outFile, checkpoint, resume, json,
        };
        cmd.WithExamples(
            "cnn train --out model.onnx",
            "cnn train --data ../shared/data/mnist --model lenet5 --epochs 3 --out mnist.onnx",
            "cnn train --data fashion --model mobilenet --augment crop:2,flip --label-smoothing 0.1 --epochs 2 --json",
            "cnn train --data ../shared/data/fashion-mnist --model mnist.onnx --freeze --epochs 1 --out fashion.onnx",
            "cnn train --data ../shared/data/mnist --epochs 10 --out m.onnx --resume   # after an interruption");
        cmd.SetGuardedAction(json, (pr, ctx) =>
        {
            var o = new Settings(
                pr.GetValue(data)!, pr.GetValue(model)!, pr.GetValue(epochs), pr.GetValue(batch), pr.GetValue(keepLast), pr.GetValue(lr), pr.GetValue(optimizer)!,
                pr.GetValue(weightDecay), pr.GetValue(schedule)!, pr.GetValue(warmup), pr.GetValue(augment)!, pr.GetValue(smoothing),
                pr.GetValue(mixup), pr.GetValue(freeze), pr.GetValue(limit), pr.GetValue(seed), pr.GetValue(threads),
                pr.GetValue(outFile)!.FullName, pr.GetValue(checkpoint)?.FullName, pr.GetValue(resume));
            return Run(o, ctx);
        });
        return cmd;
    }

    private sealed record Settings(string Data, string Model, int Epochs, int Batch, bool KeepLast, float Lr, string Optimizer, float WeightDecay,
        string Schedule, float Warmup, string Augment, float LabelSmoothing, float Mixup, bool Freeze, int TrainSize, int Seed,
        int Threads, string Out, string? Checkpoint, bool Resume);

    private static int Run(Settings s, CliContext ctx)
    {
        var options = Options(s, out var augmentation);
        var d = DataSets.Load(s.Data, s.TrainSize, 0, s.Seed);
        var (net, name, pre) = BuildNetwork(s, d);
        string ckpt = s.Checkpoint ?? s.Out + ".ckpt";
        int resumedFrom = 0;
        if (s.Resume && File.Exists(ckpt))
        {
            resumedFrom = Checkpoint.Peek(ckpt);
            if (resumedFrom >= s.Epochs)
                throw new CliException(ExitCodes.Usage, $"the checkpoint {ckpt} already has {resumedFrom} epochs, --epochs is {s.Epochs}",
                    "raise --epochs to train further");
        }
        options = options with
        {
            Preprocessing = pre ?? d.Preprocessing, CheckpointPath = ckpt, Resume = s.Resume, Augmentation = augmentation,
        };
        ctx.Info($"training [bold]{Markup.Escape(name)}[/] ({net.ParameterCount:N0} parameters) on {Markup.Escape(d.Name)}: " +
                 $"{d.Train.Count} images, {d.Test.Count} for test; {s.Epochs} epochs, batch {s.Batch}, {s.Threads} threads" +
                 (resumedFrom > 0 ? $"; resuming after epoch {resumedFrom}" : ""));

        var history = Fit(net, d, options, ctx);
        OnnxExport.Save(net, s.Out, history.Preprocessing, name: name);
        string curves = Path.ChangeExtension(s.Out, null) + ".curves.svg";
        ReportWriter.WriteAtomic(curves, Encoding.UTF8.GetBytes(Curves(name, history)));
        var last = history.Last;
        double secondsPerEpoch = history.Epochs.Skip(resumedFrom).Select(e => e.Seconds).DefaultIfEmpty(0).Average();

        if (ctx.Json)
        {
            ctx.WriteJson(new JsonObject
            {
                ["model"] = s.Out, ["architecture"] = name, ["parameters"] = net.ParameterCount,
                ["train_images"] = d.Train.Count, ["test_images"] = d.Test.Count,
                ["test_accuracy"] = last.ValidationAccuracy, ["test_loss"] = last.ValidationLoss,
                ["epochs"] = history.Epochs.Count, ["seconds_per_epoch"] = Math.Round(secondsPerEpoch, 3),
                ["resumed_from_epoch"] = resumedFrom, ["stopped_early"] = history.StoppedEarly,
                ["threads"] = s.Threads, ["seed"] = s.Seed, ["checkpoint"] = ckpt, ["curves"] = curves,
                ["history"] = new JsonArray([.. history.Epochs.Select(e => (JsonNode)new JsonObject
                {
                    ["epoch"] = e.Epoch, ["train_loss"] = e.TrainLoss, ["train_accuracy"] = e.TrainAccuracy,
                    ["test_loss"] = e.ValidationLoss, ["test_accuracy"] = e.ValidationAccuracy, ["learning_rate"] = e.LearningRate,
                    ["seconds"] = e.Seconds, ["images_per_second"] = e.ImagesPerSecond,
                })]),
            });
            return ExitCodes.Ok;
        }
        ctx.Console.Write(Summary(history));
        ctx.Console.MarkupLine($"[green]wrote[/] {Markup.Escape(s.Out)}: test accuracy {last.ValidationAccuracy:P2}, {secondsPerEpoch:0.00} s per epoch");
        ctx.Console.MarkupLine($"curves {Markup.Escape(curves)}, checkpoint {Markup.Escape(ckpt)}");
        ctx.Console.MarkupLine($"next: cnn quantize {Markup.Escape(Path.GetFileName(s.Out))}");
        return ExitCodes.Ok;
    }

    /// <summary>Validates the numeric flags and maps the named ones; every error names its flag.</summary>
    private static TrainOptions Options(Settings s, out Augmentation augmentation)
    {
        if (s.Epochs is < 1 or > 1000) throw Usage($"--epochs must be 1..1000, got {s.Epochs}");
        if (s.Batch is < 1 or > 4096) throw Usage($"--batch must be 1..4096, got {s.Batch}");
        if (!(s.Lr > 0) || !float.IsFinite(s.Lr)) throw Usage($"--lr must be a positive number, got {s.Lr.ToString(CultureInfo.InvariantCulture)}");
        if (s.Threads is < 1 or > 256) throw Usage($"--threads must be 1..256, got {s.Threads}");
        if (s.LabelSmoothing is < 0 or >= 1) throw Usage($"--label-smoothing must be in [0, 1), got {s.LabelSmoothing.ToString(CultureInfo.InvariantCulture)}");
        if (s.Mixup < 0 || !float.IsFinite(s.Mixup)) throw Usage($"--mixup must be ≥ 0, got {s.Mixup.ToString(CultureInfo.InvariantCulture)}");
        if (s.Warmup < 0 || s.Warmup > s.Epochs) throw Usage($"--warmup must be 0..--epochs, got {s.Warmup.ToString(CultureInfo.InvariantCulture)}");
        if (s.WeightDecay < 0 || !float.IsFinite(s.WeightDecay)) throw Usage($"--weight-decay must be ≥ 0, got {s.WeightDecay.ToString(CultureInfo.InvariantCulture)}");
        if (s.TrainSize < 0) throw Usage($"--train-size must be ≥ 0, got {s.TrainSize}");
        try { augmentation = s.Augment is "none" or "" ? new Augmentation() : Augmentation.Parse(s.Augment); }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw Usage($"--augment '{s.Augment}': {e.Message}", "use 'none' or a list such as crop:2,flip,affine:10");
        }
        return new TrainOptions
        {
            Epochs = s.Epochs, BatchSize = s.Batch, DropLast = !s.KeepLast, LearningRate = s.Lr, Seed = s.Seed, Threads = s.Threads,
            Optimizer = s.Optimizer switch { "adam" => OptimizerKind.Adam, "adamw" => OptimizerKind.AdamW, _ => OptimizerKind.Sgd },
            Nesterov = s.Optimizer == "nesterov", WeightDecay = s.WeightDecay,
            Schedule = s.Schedule switch { "step" => ScheduleKind.Step, "plateau" => ScheduleKind.ReduceOnPlateau, "constant" => ScheduleKind.Constant, _ => ScheduleKind.Cosine },
            WarmupEpochs = s.Warmup, LabelSmoothing = s.LabelSmoothing, MixupAlpha = s.Mixup,
        };
    }

    private static CliException Usage(string message, string? hint = null) => new(ExitCodes.Usage, message, hint);

    /// <summary>The network from a zoo name, a JSON spec or an ONNX file; ONNX brings its own preprocessing.</summary>
    private static (Network Net, string Name, Preprocessing? Pre) BuildNetwork(Settings s, DataSets.Loaded d)
    {
        var input = new Shape(d.Train.Channels, d.Train.Height, d.Train.Width);
        int classes = d.Train.Labels.Length;
        string ext = Path.GetExtension(s.Model).ToLowerInvariant();
        if (s.Freeze && ext != ".onnx") throw Usage("--freeze needs a pretrained ONNX --model (it keeps all but the new head frozen)");
        if (ext == ".json")
        {
            if (!File.Exists(s.Model)) throw CliException.MissingFile("model description", Path.GetFullPath(s.Model));
            var net = ModelSpec.Load(s.Model).Build(s.Seed);
            net.Labels = d.Train.Labels;
            return (net, Path.GetFileNameWithoutExtension(s.Model), null);
        }
        if (ext == ".onnx")
        {
            if (!File.Exists(s.Model)) throw CliException.MissingFile("ONNX model", Path.GetFullPath(s.Model));
            var imported = OnnxImport.Load(s.Model, s.Seed);
            var net = imported.Network;
            if (net.Classes != classes) net = Transfer.ReplaceHead(net, classes, d.Train.Labels, s.Seed);
            net.Labels = d.Train.Labels;
            if (s.Freeze) Transfer.FreezeBackbone(net);
            return (net, Path.GetFileNameWithoutExtension(s.Model), imported.Preprocessing);
        }
        if (!Zoo.Names.Contains(s.Model))
            throw Usage($"--model '{s.Model}' is not a known network, a .json description or an .onnx file", $"known networks: {string.Join(", ", Zoo.Names)}");
        var zoo = Zoo.Create(s.Model, input, classes, s.Seed);
        zoo.Labels = d.Train.Labels;
        return (zoo, s.Model, null);
    }

    /// <summary>Trains with a progress bar (loss, accuracy, images/s, ETA) on a terminal, one line per epoch otherwise.</summary>
    private static TrainHistory Fit(Network net, DataSets.Loaded d, TrainOptions o, CliContext ctx)
    {
        var epochLine = new SyncProgress<EpochReport>(e => ctx.Info(Markup.Escape(
            $"  epoch {e.Epoch}/{e.Epochs}: loss {e.TrainLoss:0.000}, train {e.TrainAccuracy:P1}, test {e.ValidationAccuracy:P1}, {e.ImagesPerSecond:0} img/s ({e.Seconds:0.0} s)")));
        if (!ctx.Interactive) return NetworkTrainer.Fit(net, d.Train, d.Test, o, epochLine);
        int batches = o.BatchesPerEpoch(d.Train.Count);
        return ctx.Console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                     new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(p =>
            {
                var task = p.AddTask("training", maxValue: (double)batches * o.Epochs);
                var batchLine = new SyncProgress<BatchReport>(b =>
                {
                    task.Value = (b.Epoch - 1) * (double)b.Batches + b.Batch;
                    task.Description = $"epoch {b.Epoch}/{b.Epochs}  loss {b.Loss:0.000}  acc {b.Accuracy:P1}  {b.ImagesPerSecond:0} img/s";
                });
                var history = NetworkTrainer.Fit(net, d.Train, d.Test, o, epochLine, batchLine);
                task.Value = task.MaxValue;
                return history;
            });
    }

    private static Table Summary(TrainHistory h)
    {
        var t = new Table().Title("training summary");
        foreach (string c in new[] { "epoch", "train loss", "train acc", "test loss", "test acc", "lr", "seconds", "img/s" })
            t.AddColumn(new TableColumn(c).RightAligned());
        foreach (var e in h.Epochs)
            t.AddRow(e.Epoch.ToString(CultureInfo.InvariantCulture), e.TrainLoss.ToString("0.0000", CultureInfo.InvariantCulture),
                e.TrainAccuracy.ToString("P2", CultureInfo.InvariantCulture), e.ValidationLoss?.ToString("0.0000", CultureInfo.InvariantCulture) ?? "-",
                e.ValidationAccuracy?.ToString("P2", CultureInfo.InvariantCulture) ?? "-", e.LearningRate.ToString("0.#####", CultureInfo.InvariantCulture),
                e.Seconds.ToString("0.00", CultureInfo.InvariantCulture), e.ImagesPerSecond.ToString("0", CultureInfo.InvariantCulture));
        return t;
    }

    private static string Curves(string name, TrainHistory h) =>
        Svg.LineChart("training-curves", $"{name}: loss and accuracy per epoch", "epoch", "loss", "accuracy %",
        [
            new("train loss", h.Epochs.Select(e => e.TrainLoss).ToList(), Svg.Palette[0]),
            new("test loss", h.Epochs.Select(e => e.ValidationLoss ?? double.NaN).ToList(), Svg.Palette[3]),
            new("train acc", h.Epochs.Select(e => e.TrainAccuracy * 100).ToList(), Svg.Palette[2], RightAxis: true),
            new("test acc", h.Epochs.Select(e => (e.ValidationAccuracy ?? double.NaN) * 100).ToList(), Svg.Palette[1], RightAxis: true),
        ]);

    /// <summary>IProgress that reports on the training thread (Progress&lt;T&gt; posts to the thread pool, out of order).</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
