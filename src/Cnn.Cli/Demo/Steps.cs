using Cnn.Onnx;
using Cnn.Quantize;
using Cnn.Quantize.Calibration;
using Cnn.Trainer;
using Cnn.Trainer.Data;
using Cnn.Trainer.Layers;
using Cnn.Trainer.Models;
using Cnn.Trainer.Onnx;
using Cnn.Trainer.Training;
using FloatTrainer = Cnn.Trainer.Training.NetworkTrainer;
using QPreprocessing = Cnn.Quantize.Preprocessing;

namespace Cnn.Cli.Demo;

/// <summary>The pipeline steps shared by the commands and the demo: train, export, quantize, compare.</summary>
public static class Steps
{
    public sealed record Trained(Network Net, TrainHistory History, string Architecture);

    public static Trained Train(DataSets.Loaded data, string architecture, int epochs, int seed, IProgressSink progress,
        Action<string> log, int batchSize = 64, float learningRate = 0.05f)
    {
        var net = Zoo.Create(architecture, new Shape(data.Train.Channels, data.Train.Height, data.Train.Width), data.Train.Labels.Length, seed);
        net.Labels = data.Train.Labels;
        var o = new TrainOptions
        {
            Epochs = epochs, BatchSize = batchSize, LearningRate = learningRate, Seed = seed,
            Preprocessing = data.Preprocessing, Threads = Math.Max(1, Environment.ProcessorCount),
        };
        int batches = (data.Train.Count + o.BatchSize - 1) / o.BatchSize;
        var history = progress.WithProgress("training", (double)batches * o.Epochs, set =>
            FloatTrainer.Fit(net, data.Train, data.Test, o,
                new SyncProgress<EpochReport>(e => log($"  epoch {e.Epoch}/{e.Epochs}: loss {e.TrainLoss:0.000}, train {e.TrainAccuracy:P1}, test {e.ValidationAccuracy:P1} ({e.Seconds:0.0} s)")),
                new SyncProgress<BatchReport>(b => set((b.Epoch - 1) * (double)b.Batches + b.Batch))));
        return new Trained(net, history, architecture);
    }

    public static void ExportOnnx(Trained t, string path) =>
        OnnxExport.Save(t.Net, path, t.History.Preprocessing, name: t.Architecture);

    public sealed record Quantized(QuantizeResult Result, AccuracyReport Accuracy);

    /// <summary>How activation ranges are chosen (--method, --percentile, --bias-correction).</summary>
    public sealed record CalibrationSettings(CalibrationMethod Method, float Percentile, bool BiasCorrection);

    /// <summary>Preprocessing given on the command line; null fields come from the ONNX metadata.</summary>
    public sealed record PreprocessingOverride(float? PixelScale, float[]? Mean, float[]? Std, string[]? Labels);

    /// <summary>
    /// Calibrates on the first <paramref name="calibrationCount"/> images of <paramref name="calibration"/>
    /// (pixels normalized as the ONNX metadata says), converts, then compares float and int8 on
    /// <paramref name="test"/> with the edge interpreter.
    /// </summary>
    public static Quantized Quantize(string onnxPath, IDataset calibration, int calibrationCount, IDataset? test, long? budget, IProgressSink progress,
        PreprocessingOverride? overrides = null, CalibrationSettings? calibrationSettings = null)
    {
        var cs = calibrationSettings ?? new CalibrationSettings(CalibrationMethod.MinMax, 99.99f, false);
        var graph = FloatGraph.Load(onnxPath);
        var md = QPreprocessing.FromMetadata(graph.Metadata, calibration.Channels);
        // Values given on the command line win over the model's metadata (PyTorch exports carry none).
        var pre = new QPreprocessing
        {
            Layout = md.Layout,
            PixelScale = overrides?.PixelScale ?? md.PixelScale,
            Mean = overrides?.Mean ?? md.Mean,
            Std = overrides?.Std ?? md.Std,
            Labels = overrides?.Labels ?? md.Labels,
        };
        var calib = Pixels(calibration, Math.Min(calibrationCount, calibration.Count)).Select(p => pre.ToTensor(p.Pixels)).ToList();
        var options = new QuantizeOptions
        {
            BudgetBytes = budget, PixelScale = overrides?.PixelScale, Mean = overrides?.Mean, Std = overrides?.Std, Labels = overrides?.Labels,
            Method = cs.Method, Percentile = cs.Percentile, BiasCorrection = cs.BiasCorrection,
        };
        var result = progress.WithProgress("calibrating", 1, _ => Quantizer.Quantize(graph, calib, options));
        AccuracyReport accuracy;
        if (test is not null)
        {
            var samples = Pixels(test, test.Count).Select(p => (pre.ToTensor(p.Pixels), p.Label)).ToList();
            accuracy = progress.WithProgress("float vs int8", 1, _ => AccuracyEvaluator.Evaluate(result.FloatGraph, result.EdgeModel, samples));
        }
        else
        {
            accuracy = new AccuracyReport { Layers = [], FloatAccuracy = double.NaN, Int8Accuracy = double.NaN };
        }
        return new Quantized(result, accuracy);
    }

    private static IEnumerable<(byte[] Pixels, int Label)> Pixels(IDataset data, int count)
    {
        for (int i = 0; i < count; i++)
        {
            var px = new byte[data.Channels * data.Height * data.Width];
            data.GetPixels(i, px);
            yield return (px, data.Label(i));
        }
    }

    /// <summary>IProgress that reports on the calling thread (Progress&lt;T&gt; posts to the thread pool, out of order).</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
