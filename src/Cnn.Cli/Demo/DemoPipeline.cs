using System.Diagnostics;
using Cnn.Cli.Report;

namespace Cnn.Cli.Demo;

/// <summary>
/// The whole path on embedded defaults: data → train → ONNX → int8 → evaluate → device loop over
/// a folder of frames with simulated GPIO → report. A step whose SDK part is not in this build is
/// recorded as missing (with the reason shown in the report), never faked.
/// </summary>
public sealed class DemoPipeline(DemoOptions options, Action<string> log)
{
    public ReportModel Report { get; } = new() { Title = "cnn demo: from data to a pin switching" };

    public ReportWriter.Written Run()
    {
        Report.Version = Program.Version;
        Directory.CreateDirectory(options.OutDir);

        var data = Step("data", () =>
        {
            var train = SyntheticDigits.Generate(options.TrainCount, seed: options.Seed);
            var test = SyntheticDigits.Generate(options.TestCount, seed: options.Seed + 1);
            Report.Data = new DataSection("generated seven-segment digits", "SyntheticDigits (in cnn, seed " + options.Seed + ")",
                SyntheticDigits.Labels, train.Length, test.Length, SyntheticDigits.Size, SyntheticDigits.Size,
                [.. train.GroupBy(s => s.Label).OrderBy(g => g.Key).SelectMany(g => g.Take(8))]);
            return ((train, test), $"{train.Length} train / {test.Length} test images, 28x28 grey, 10 classes");
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

        Missing("train", "the trainer (src/Cnn.Trainer: Trainer.Fit) is not in this build", "training-curves", "conv1-filters", "conv1-feature-maps");
        Missing("export onnx", "ONNX export (src/Cnn.Trainer + src/Cnn.Onnx) is not in this build");
        Missing("quantize", "the quantizer (src/Cnn.Quantize) is not in this build", "sqnr");
        Missing("evaluate", "evaluation needs a trained float model and its int8 version", "confusion-float", "confusion-int8");
        Missing("plan memory", "the edge runtime (src/Cnn.Edge: EdgeModel, arena plan) is not in this build", "memory-taper");
        Missing("device loop", "the classify loop (src/Cnn.Edge.Devices) and a quantized model are not in this build", "device-timeline");

        var written = Step("report", () =>
        {
            var w = ReportWriter.Write(Report, options.OutDir);
            return (w, $"{w.Pictures.Count} pictures, {w.MissingPictures.Count} missing → {w.HtmlPath}");
        });
        _ = data;
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

public sealed record DemoOptions(string OutDir, int TrainCount = 2000, int TestCount = 500, int Epochs = 4, int Frames = 40, int Seed = 1);
