namespace Cnn.Trainer.Optim;

public enum ScheduleKind { Constant, Step, Cosine, ReduceOnPlateau }

/// <summary>
/// Learning rate per optimizer step. Cosine: linear warm-up over WarmupSteps, then
/// lr·½(1+cos(π·t/T)) down to MinLr over the remaining steps. Step: ×Gamma every StepEpochs epochs.
/// ReduceOnPlateau: ×Gamma when the validation loss has not improved for Patience epochs.
/// </summary>
public sealed class LrSchedule
{
    public ScheduleKind Kind { get; init; } = ScheduleKind.Constant;
    public float BaseLr { get; init; } = 0.01f;
    public float MinLr { get; init; }
    public int WarmupSteps { get; init; }
    public int StepEpochs { get; init; } = 10;
    public float Gamma { get; init; } = 0.1f;
    public int Patience { get; init; } = 2;

    private float _plateauFactor = 1f;
    private double _best = double.PositiveInfinity;
    private int _bad;

    public float PlateauFactor { get => _plateauFactor; internal set => _plateauFactor = value; }

    public float At(long step, int epoch, long totalSteps, int stepsPerEpoch)
    {
        if (WarmupSteps > 0 && step < WarmupSteps) return BaseLr * (step + 1) / WarmupSteps;
        return Kind switch
        {
            ScheduleKind.Step => BaseLr * MathF.Pow(Gamma, epoch / Math.Max(1, StepEpochs)),
            ScheduleKind.Cosine => MinLr + (BaseLr - MinLr) * 0.5f * (1 + MathF.Cos(MathF.PI * Math.Min(1f, (float)(step - WarmupSteps) / Math.Max(1, totalSteps - WarmupSteps)))),
            ScheduleKind.ReduceOnPlateau => BaseLr * _plateauFactor,
            _ => BaseLr,
        };
    }

    /// <summary>Called after each epoch's validation.</summary>
    public void Observe(double validationLoss)
    {
        if (Kind != ScheduleKind.ReduceOnPlateau) return;
        if (validationLoss < _best - 1e-4) { _best = validationLoss; _bad = 0; return; }
        if (++_bad > Patience) { _plateauFactor *= Gamma; _bad = 0; }
    }
}
