using System.Diagnostics;
using Cnn.Cli.Report;
using Cnn.Trainer;
using Cnn.Trainer.Data;
using Cnn.Trainer.Layers;
using Cnn.Trainer.Models;
using Cnn.Trainer.Training;
using FloatTrainer = Cnn.Trainer.Training.NetworkTrainer;

namespace Cnn.Cli.Demo;

/// <summary>
/// The whole path on embedded defaults: data → train → ONNX → int8 → evaluate → device loop over
/// a folder of frames with simulated GPIO → report. A step whose SDK part is not in this build is
/// recorded as missing (with the reason shown in the report), never faked.
/// </summary>
public sealed class DemoPipeline(DemoOptions options, Action<string> log, IProgressSink? progress = null)
{
    public ReportModel Report { get; } = new() { Title = "cnn demo: from data to a pin switching" };

    public ReportWriter.Written Run()
    {
        Report.Version = Program.Version;
        Directory.CreateDirectory(options.OutDir);

        var data = Step("data", () =>
        {
            var d = DataSets.Load(options.Data, options.TrainCount, options.TestCount, options.Seed);
            var samples = new List<(float[], int)>();
            var perClass = new int[d.Train.Labels.Length];
            for (int i = 0; i < d.Train.Count && samples.Count < 8 * perClass.Length; i++)
                if (perClass[d.Train.Label(i)]++ < 8) samples.Add((DataSets.Picture(d.Train, i), d.Train.Label(i)));
            Report.Data = new DataSection(d.Name, d.Source, d.Train.Labels, d.Train.Count, d.Test.Count, d.Train.Height, d.Train.Width, samples);
            return (d, $"{d.Name}: {d.Train.Count} train / {d.Test.Count} test images, {d.Train.Height}x{d.Train.Width}x{d.Train.Channels}, {d.Train.Labels.Length} classes");
        });

        var (net, history) = Step("train", () =>
        {
            var n = Zoo.Create(options.Architecture, new Shape(data.Train.Channels, data.Train.Height, data.Train.Width), data.Train.Labels.Length, options.Seed);
            var o = new TrainOptions
            {
                Epochs = options.Epochs, BatchSize = 64, LearningRate = 0.05f, Seed = options.Seed,
                Preprocessing = data.Preprocessing, Threads = Math.Max(1, Environment.ProcessorCount),
            };
            int batches = (data.Train.Count + o.BatchSize - 1) / o.BatchSize;
            var h = (progress ?? NoProgress.Instance).WithProgress("training", (double)batches * o.Epochs, set =>
                FloatTrainer.Fit(n, data.Train, data.Test, o,
                    new Progress<EpochReport>(e => log($"  epoch {e.Epoch}/{e.Epochs}: loss {e.TrainLoss:0.000}, train {e.TrainAccuracy:P1}, test {e.ValidationAccuracy:P1} ({e.Seconds:0.0} s)")),
                    new Progress<BatchReport>(b => set((b.Epoch - 1) * (double)b.Batches + b.Batch))));
            Report.Training = new TrainingSection(options.Architecture, n.ParameterCount,
                [.. h.Epochs.Select(e => new EpochRecord(e.Epoch, e.TrainLoss, e.TrainAccuracy, e.ValidationLoss ?? double.NaN, e.ValidationAccuracy ?? double.NaN, e.Seconds))]);
            return ((n, h), $"{options.Architecture}, {n.ParameterCount:N0} parameters, {h.Epochs.Count} epochs, test accuracy {h.Last.ValidationAccuracy:P2}");
        });

        var floatEval = Step("evaluate float", () =>
        {
            var ev = FloatTrainer.Evaluate(net, data.Test, history.Preprocessing, threads: Math.Max(1, Environment.ProcessorCount));
            Report.Accuracy = new AccuracySection(data.Test.Labels, ev.Confusion, null, ev.Accuracy, null, null, data.Test.Count);
            Report.FirstConv = FloatInsight.FirstConv(net, data.Test, 0, history.Preprocessing);
            if (Report.FirstConv is null) Report.Missing["conv1-filters"] = Report.Missing["conv1-feature-maps"] = "the model has no convolution fed by the input";
            return (ev, $"float32 test accuracy {ev.Accuracy:P2} on {data.Test.Count} images");
        });

        Step("frames", () =>
        {
            // The device loop reads these as a camera would; labels in the names let the report score it.
            string dir = Path.Combine(options.OutDir, "frames");
            Directory.CreateDirectory(dir);
            var frames = SyntheticDigits.Generate(options.Frames, seed: options.Seed + 2);
            for (int i = 0; i < frames.Length; i++)
                ReportWriter.WriteAtomic(Path.Combine(dir, $"frame-{i:D3}-label-{frames[i].Label}.pgm"),
                    SyntheticDigits.ToPgm(frames[i].Pixels, SyntheticDigits.Size, SyntheticDigits.Size));
            return (dir, $"{frames.Length} frames written to {dir}");
        });

        Missing("export onnx", "ONNX export (src/Cnn.Trainer + src/Cnn.Onnx) is not in this build");
        Missing("quantize", "the quantizer (src/Cnn.Quantize) is not in this build", "sqnr");
        Missing("evaluate int8", "int8 evaluation needs the quantizer (src/Cnn.Quantize) and the edge interpreter (src/Cnn.Edge)", "confusion-int8");
        Missing("plan memory", "the edge runtime (src/Cnn.Edge: EdgeModel, arena plan) is not in this build", "memory-taper");
        Missing("device loop", "the classify loop (src/Cnn.Edge.Devices) and a quantized model are not in this build", "device-timeline");

        var written = Step("report", () =>
        {
            var w = ReportWriter.Write(Report, options.OutDir);
            return (w, $"{w.Pictures.Count} pictures, {w.MissingPictures.Count} missing → {w.HtmlPath}");
        });
        _ = floatEval;
        return written;
    }

    private T Step<T>(string name, Func<(T Result, string Detail)> body)
    {
        log($"[{name}] ...");
        var sw = Stopwatch.StartNew();
        try
        {
            var (result, detail) = body();
            Report.Steps.Add(new StepRecord(name, StepStatus.Done, sw.Elapsed.TotalSeconds, detail));
            log($"[{name}] done in {sw.Elapsed.TotalSeconds:0.0} s: {detail}");
            return result;
        }
        catch (Exception e)
        {
            Report.Steps.Add(new StepRecord(name, StepStatus.Failed, sw.Elapsed.TotalSeconds, e.Message));
            log($"[{name}] FAILED: {e.Message}");
            throw;
        }
    }

    private void Missing(string name, string reason, params string[] pictures)
    {
        Report.Steps.Add(new StepRecord(name, StepStatus.Missing, 0, reason));
        foreach (string p in pictures) Report.Missing.TryAdd(p, reason);
        log($"[{name}] skipped: {reason}");
    }
}

public sealed record DemoOptions(string OutDir, int TrainCount = 2000, int TestCount = 500, int Epochs = 4, int Frames = 40, int Seed = 1,
    string Data = "digits", string Architecture = "lenet5");
