using Cnn.Trainer.Data;
using Cnn.Trainer.Optim;

namespace Cnn.Trainer.Training;

/// <summary>Everything that shapes a training run. Defaults are the recipe: batch 64, SGD momentum 0.9, lr 0.05 cosine.</summary>
public sealed record TrainOptions
{
    public int Epochs { get; init; } = 3;
    public int BatchSize { get; init; } = 64;
    /// <summary>
    /// Skip each epoch's last, partial batch (PyTorch's <c>drop_last</c>, as in the reference recipe's loop); a training
    /// set smaller than one batch still trains on its one partial batch.
    /// </summary>
    public bool DropLast { get; init; } = true;
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Sgd;
    public float LearningRate { get; init; } = 0.05f;
    public float Momentum { get; init; } = 0.9f;
    public bool Nesterov { get; init; }
    public float WeightDecay { get; init; }
    public ScheduleKind Schedule { get; init; } = ScheduleKind.Cosine;
    /// <summary>Linear warm-up length in epochs (fractions allowed).</summary>
    public float WarmupEpochs { get; init; }
    public float MinLearningRate { get; init; }
    public int StepEpochs { get; init; } = 10;
    public float StepGamma { get; init; } = 0.1f;
    public int PlateauPatience { get; init; } = 2;
    public float LabelSmoothing { get; init; }
    /// <summary>Mixup Beta(α, α) parameter; 0 = off.</summary>
    public float MixupAlpha { get; init; }
    public Augmentation Augmentation { get; init; } = new();
    /// <summary>Input normalisation; null = from the data set kind (MNIST stats are not assumed), i.e. measured on the training set.</summary>
    public Preprocessing? Preprocessing { get; init; }
    public int Seed { get; init; }
    public int Threads { get; init; } = Math.Max(1, Environment.ProcessorCount);
    /// <summary>Stop when validation accuracy has not improved for this many epochs (0 = never).</summary>
    public int EarlyStoppingPatience { get; init; }
    /// <summary>Loss weight for each auxiliary output (Network.Outputs[1..]).</summary>
    public float[] AuxiliaryLossWeights { get; init; } = [];
    /// <summary>Written atomically after every epoch when set.</summary>
    public string? CheckpointPath { get; init; }
    /// <summary>Continue from CheckpointPath if it exists.</summary>
    public bool Resume { get; init; }

    /// <summary>Optimizer steps per epoch for a training set of <paramref name="count"/> images.</summary>
    public int BatchesPerEpoch(int count) => DropLast && count >= BatchSize ? count / BatchSize : (count + BatchSize - 1) / BatchSize;
}

public sealed record EpochReport(int Epoch, int Epochs, double TrainLoss, double TrainAccuracy, double? ValidationLoss,
    double? ValidationAccuracy, float LearningRate, double Seconds, double ImagesPerSecond);

/// <summary>Per-batch progress (a struct: reporting allocates nothing).</summary>
public readonly record struct BatchReport(int Epoch, int Epochs, int Batch, int Batches, double Loss, double Accuracy, double ImagesPerSecond, double EpochSecondsSoFar);

public sealed record TrainHistory(IReadOnlyList<EpochReport> Epochs, Preprocessing Preprocessing, bool StoppedEarly)
{
    public EpochReport Last => Epochs[^1];
    public double SecondsPerEpoch => Epochs.Count == 0 ? 0 : Epochs.Average(e => e.Seconds);
}
