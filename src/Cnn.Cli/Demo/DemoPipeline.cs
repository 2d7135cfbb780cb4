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

        var trained = Step("train", () =>
        {
            var t = Steps.Train(data, options.Architecture, options.Epochs, options.Seed, progress ?? NoProgress.Instance, log);
            Report.Training = new TrainingSection(options.Architecture, t.Net.ParameterCount,
                [.. t.History.Epochs.Select(e => new EpochRecord(e.Epoch, e.TrainLoss, e.TrainAccuracy, e.ValidationLoss ?? double.NaN, e.ValidationAccuracy ?? double.NaN, e.Seconds))]);
            return (t, $"{options.Architecture}, {t.Net.ParameterCount:N0} parameters, {t.History.Epochs.Count} epochs, test accuracy {t.History.Last.ValidationAccuracy:P2}");
        });
        var (net, history) = (trained.Net, trained.History);

        var floatEval = Step("evaluate float", () =>
        {
            var ev = FloatTrainer.Evaluate(net, data.Test, history.Preprocessing, threads: Math.Max(1, Environment.ProcessorCount));
            Report.Accuracy = new AccuracySection(data.Test.Labels, ev.Confusion, null, ev.Accuracy, null, null, data.Test.Count);
            Report.FirstConv = FloatInsight.FirstConv(net, data.Test, 0, history.Preprocessing);
            if (Report.FirstConv is null) Report.Missing["conv1-filters"] = Report.Missing["conv1-feature-maps"] = "the model has no convolution fed by the input";
            return (ev, $"float32 test accuracy {ev.Accuracy:P2} on {data.Test.Count} images");
        });

        string framesDir = Step("frames", () =>
        {
            // The device loop reads these as a camera would; the label in each name lets the report score it.
            string dir = Path.Combine(options.OutDir, "frames");
            Directory.CreateDirectory(dir);
            foreach (string old in Directory.GetFiles(dir, "frame-*.pgm")) File.Delete(old);
            int n = Math.Min(options.Frames, data.Test.Count);
            var px = new byte[data.Test.Channels * data.Test.Height * data.Test.Width];
            for (int i = 0; i < n; i++)
            {
                data.Test.GetPixels(i, px);
                var f = Array.ConvertAll(px[..(data.Test.Height * data.Test.Width)], b => b / 255f);
                ReportWriter.WriteAtomic(Path.Combine(dir, $"frame-{i:D3}-label-{data.Test.Label(i)}.pgm"),
                    SyntheticDigits.ToPgm(f, data.Test.Height, data.Test.Width));
            }
            return (dir, $"{n} test images written as PGM frames to {dir}");
        });

        string onnxPath = Path.Combine(options.OutDir, "model.onnx");
        Step("export onnx", () =>
        {
            Steps.ExportOnnx(trained, onnxPath);
            return (0, $"{onnxPath} ({new FileInfo(onnxPath).Length:N0} bytes)");
        });

        string edgePath = Path.Combine(options.OutDir, "model.cnnq");
        var quantized = Step("quantize", () =>
        {
            var q = Steps.Quantize(onnxPath, data.Train, options.CalibrationCount, data.Test, options.BudgetBytes, progress ?? NoProgress.Instance);
            ReportWriter.WriteAtomic(edgePath, q.Result.EdgeModel);
            Report.Sqnr = [.. q.Accuracy.Layers.Select(l => new LayerSqnr(l.Name, l.SqnrDb))];
            var r = q.Result.Report;
            return (q, $"{r.FoldedBatchNorms} BN folded, {r.FusedActivations} activations fused, {r.CalibrationSamples} calibration images, " +
                       $"{r.ModelBytes:N0}-byte model, worst layer {q.Accuracy.WorstLayer?.Name} {q.Accuracy.WorstLayer?.SqnrDb:0.0} dB");
        });

        var edge = Cnn.Edge.EdgeModel.Load(quantized.Result.EdgeModel);
        Step("evaluate int8", () =>
        {
            var ev = EdgeEval.Evaluate(edge, data.Test);
            var acc = quantized.Accuracy;
            Report.Accuracy = Report.Accuracy! with { Int8Confusion = ev.Confusion, Int8Accuracy = ev.Accuracy, Agreement = acc.Top1Agreement };
            return (ev, $"int8 test accuracy {ev.Accuracy:P2} (float {floatEval.Accuracy:P2}), top-1 agreement {acc.Top1Agreement:P2}, median {ev.MedianMs:0.000} ms per image");
        });

        Step("plan memory", () =>
        {
            Report.Taper = EdgeInsight.Taper(edge, options.BudgetBytes);
            var t = Report.Taper;
            return (0, $"arena {t.ArenaBytes:N0} B (lower bound {t.LowerBoundBytes:N0} B), peak at op {t.OpNames[t.PeakOpIndex]}, weights {t.WeightBytes:N0} B");
        });

        Step("device loop", () =>
        {
            using var source = new Cnn.Edge.Devices.Frames.ImageFolderSource(framesDir, loop: false);
            var run = DeviceRun.Run(edgePath, source, DeviceRun.DemoPins, options.BudgetBytes ?? 0, 0, intervalMs: 0);
            // Frame files are named frame-NNN-label-L.pgm: the label scores the loop's decisions.
            static string? Truth(string? file) => file is not null && file.LastIndexOf("-label-", StringComparison.Ordinal) is int i and >= 0
                ? Path.GetFileNameWithoutExtension(file)[(i + 7)..] : null;
            Report.Device = new DeviceSection($"{framesDir} (ImageFolderSource), simulated GPIO",
                [.. run.Frames.Select(f => new DeviceFrame(f.File ?? "", f.Class, f.Score, Truth(f.File)))],
                [.. run.Pins.Select(p => $"GPIO{p.Number} = {p.Class}")],
                [.. run.Pins.Select((_, i) => run.Frames.Select(f => f.PinLevels[i]).ToArray())],
                run.Log, Commands.RunCommand.Median(run.Frames.Select(f => f.LatencyMs)));
            int right = run.Frames.Count(f => Truth(f.File) == f.Class);
            int switches = 0;
            for (int i = 1; i < run.Frames.Count; i++)
                for (int k = 0; k < run.Pins.Count; k++)
                    if (run.Frames[i].PinLevels[k] != run.Frames[i - 1].PinLevels[k]) switches++;
            return (run, $"{run.Summary.Frames} frames, {right} classified as labelled, {run.Summary.Decisions} decisions, {switches} pin changes; stopped: {run.Summary.StopReason}");
        });

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

public sealed record DemoOptions(string OutDir, int TrainCount = 0, int TestCount = 0, int Epochs = 3, int Frames = 40, int Seed = 1,
    string Data = "embedded", string Architecture = "lenet5", int CalibrationCount = 200, long? BudgetBytes = null);
