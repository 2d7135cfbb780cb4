namespace Cnn.Cli.Report;

/// <summary>
/// Everything the demo report shows, filled step by step by the pipeline. A null section means
/// the step did not run (or the SDK part is not in this build); <see cref="Missing"/> says why,
/// and the page shows that text instead of a picture.
/// </summary>
public sealed class ReportModel
{
    public string Title { get; set; } = "cnn demo";
    public string Version { get; set; } = "";
    public DateTimeOffset Started { get; set; } = DateTimeOffset.UtcNow;
    public List<StepRecord> Steps { get; } = [];
    /// <summary>Picture id → why it is absent.</summary>
    public Dictionary<string, string> Missing { get; } = [];

    public DataSection? Data { get; set; }
    public TrainingSection? Training { get; set; }
    public AccuracySection? Accuracy { get; set; }
    public FirstConvSection? FirstConv { get; set; }
    public TaperSection? Taper { get; set; }
    public IReadOnlyList<LayerSqnr>? Sqnr { get; set; }
    public DeviceSection? Device { get; set; }

    /// <summary>The pictures a complete report has, in page order (ids are stable: the browser check uses them).</summary>
    public static readonly (string Id, string Title)[] Pictures =
    [
        ("data-samples", "Training data: samples per class"),
        ("training-curves", "Training curves: loss and accuracy per epoch"),
        ("confusion-float", "Confusion matrix, float model (test set)"),
        ("confusion-int8", "Confusion matrix, int8 model (test set)"),
        ("conv1-filters", "First convolution: filters"),
        ("conv1-feature-maps", "First convolution: feature maps for one input"),
        ("memory-taper", "Memory taper: live arena bytes per layer"),
        ("sqnr", "Per-layer SQNR, int8 against float"),
        ("device-timeline", "Device loop: classes and simulated GPIO pins per frame"),
    ];
}

public enum StepStatus { Done, Missing, Failed }

public sealed record StepRecord(string Name, StepStatus Status, double Seconds, string Detail);

public sealed record DataSection(string Name, string Source, IReadOnlyList<string> Labels, int TrainCount, int TestCount,
    int Height, int Width, IReadOnlyList<(float[] Pixels, int Label)> Samples);

public sealed record EpochRecord(int Epoch, double TrainLoss, double TrainAccuracy, double TestLoss, double TestAccuracy, double Seconds);

public sealed record TrainingSection(string Architecture, long Parameters, IReadOnlyList<EpochRecord> Epochs);

public sealed record AccuracySection(IReadOnlyList<string> Labels, int[,] FloatConfusion, int[,]? Int8Confusion,
    double FloatAccuracy, double? Int8Accuracy, double? Agreement, int Samples)
{
    public static double AccuracyOf(int[,] confusion)
    {
        long total = 0, right = 0;
        for (int r = 0; r < confusion.GetLength(0); r++)
            for (int c = 0; c < confusion.GetLength(1); c++)
            {
                total += confusion[r, c];
                if (r == c) right += confusion[r, c];
            }
        return total == 0 ? 0 : right / (double)total;
    }
}

/// <summary>
/// First conv layer: weights as [Cout][KH*KW] (input channels averaged for RGB), and for one
/// input image its feature maps as [Cout][H*W] (after the fused activation).
/// </summary>
public sealed record FirstConvSection(string LayerName, int KernelH, int KernelW, IReadOnlyList<float[]> Filters,
    float[] Input, int InputH, int InputW, IReadOnlyList<float[]> FeatureMaps, int MapH, int MapW, string Source);

public sealed record TaperSection(IReadOnlyList<string> OpNames, IReadOnlyList<long> LiveBytes, int ArenaBytes,
    int LowerBoundBytes, int PeakOpIndex, long? BudgetBytes, long WeightBytes);

public sealed record LayerSqnr(string Layer, double Db);

public sealed record DeviceFrame(string File, string Predicted, double Score, string? Truth);

public sealed record DeviceSection(string Source, IReadOnlyList<DeviceFrame> Frames, IReadOnlyList<string> PinNames,
    IReadOnlyList<bool[]> PinLevels, IReadOnlyList<string> Log, double MedianInferenceMs);
