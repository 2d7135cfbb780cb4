namespace Cnn.Trainer.Layers;

/// <summary>
/// Batch normalisation over (N, H, W) per channel; PyTorch semantics: biased variance normalises,
/// the running variance takes the unbiased one, running = (1 - momentum)·running + momentum·batch.
/// Channels run in parallel, each reduced in a fixed order (double accumulation), so it is deterministic.
/// </summary>
public sealed class BatchNorm2d : Layer
{
    public int Channels { get; }
    public float Momentum { get; }
    public float Eps { get; }
    public Parameter Gamma { get; }
    public Parameter Beta { get; }
    public float[] RunningMean { get; }
    public float[] RunningVar { get; }
    public override string Kind => "BatchNorm2d";

    private Tensor? _y, _dx, _xhat;
    private readonly float[] _invStd;
    private bool _trainedForward;

    public BatchNorm2d(int channels, float momentum = 0.1f, float eps = 1e-5f)
    {
        Channels = channels; Momentum = momentum; Eps = eps;
        Gamma = new Parameter("weight", [channels]) { Decay = false };
        Beta = new Parameter("bias", [channels]) { Decay = false };
        Array.Fill(Gamma.Value, 1f);
        RunningMean = new float[channels];
        RunningVar = new float[channels];
        Array.Fill(RunningVar, 1f);
        _invStd = new float[channels];
    }

    public override IReadOnlyList<Parameter> Parameters => [Gamma, Beta];
    public override IReadOnlyList<(string Name, float[] Value)> Buffers => [("running_mean", RunningMean), ("running_var", RunningVar)];

    public override Shape OutputShape(Shape[] inputs)
    {
        ExpectArity(inputs);
        if (inputs[0].C != Channels) throw Bad($"expects {Channels} channels, got {inputs[0].C} (input {inputs[0]})");
        return inputs[0];
    }

    public override Tensor Forward(Tensor[] inputs, RunContext ctx)
    {
        var x = inputs[0];
        var y = Tensor.Ensure(ref _y, x.N, x.C, x.H, x.W);
        var xhat = Tensor.Ensure(ref _xhat, x.N, x.C, x.H, x.W);
        int plane = x.Plane, n = x.N, cs = x.SampleSize;
        // A frozen BN (transfer learning) keeps its running statistics: normalise with them, do not update them.
        bool batchStats = ctx.Training && !(Gamma.Frozen && Beta.Frozen);
        _trainedForward = batchStats;
        Parallel.For(0, Channels, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, ctx.Threads) }, c =>
        {
            float mean, invStd;
            if (batchStats)
            {
                double s = 0, s2 = 0;
                for (int i = 0; i < n; i++)
                {
                    var (ps, ps2) = Kernels.Vec.SumAndSquares(x.Data.AsSpan(i * cs + c * plane, plane));
                    s += ps; s2 += ps2;
                }
                long m = (long)n * plane;
                double mu = s / m, var = Math.Max(0, s2 / m - mu * mu);
                mean = (float)mu;
                invStd = (float)(1.0 / Math.Sqrt(var + Eps));
                double unbiased = m > 1 ? var * m / (m - 1) : var;
                RunningMean[c] = (1 - Momentum) * RunningMean[c] + Momentum * (float)mu;
                RunningVar[c] = (1 - Momentum) * RunningVar[c] + Momentum * (float)unbiased;
            }
            else
            {
                mean = RunningMean[c];
                invStd = 1f / MathF.Sqrt(RunningVar[c] + Eps);
            }
            _invStd[c] = invStd;
            float g = Gamma.Value[c], b = Beta.Value[c];
            for (int i = 0; i < n; i++)
            {
                int o = i * cs + c * plane;
                Kernels.Vec.Normalize(x.Data.AsSpan(o, plane), xhat.Data.AsSpan(o, plane), y.Data.AsSpan(o, plane), mean, invStd, g, b);
            }
        });
        return y;
    }

    public override Tensor?[] Backward(Tensor dy, bool[] need, RunContext ctx)
    {
        var xhat = _xhat!;
        int plane = xhat.Plane, n = xhat.N, cs = xhat.SampleSize;
        var dx = Tensor.Ensure(ref _dx, n, xhat.C, xhat.H, xhat.W);
        bool train = _trainedForward;
        Parallel.For(0, Channels, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, ctx.Threads) }, c =>
        {
            double sdy = 0, sdyx = 0;
            for (int i = 0; i < n; i++)
            {
                int o = i * cs + c * plane;
                var (a, d) = Kernels.Vec.SumAndDot(dy.Data.AsSpan(o, plane), xhat.Data.AsSpan(o, plane));
                sdy += a; sdyx += d;
            }
            Gamma.Grad[c] += (float)sdyx;
            Beta.Grad[c] += (float)sdy;
            if (!need[0]) return;
            float g = Gamma.Value[c], inv = _invStd[c];
            long m = (long)n * plane;
            // train: dx = g·inv/m · (m·dy − Σdy − x̂·Σ(dy·x̂)); eval: statistics are constants
            float k1 = g * inv;
            float mdy = train ? (float)(sdy / m) : 0f, mdyx = train ? (float)(sdyx / m) : 0f;
            for (int i = 0; i < n; i++)
            {
                int o = i * cs + c * plane;
                Kernels.Vec.BnBackward(dy.Data.AsSpan(o, plane), xhat.Data.AsSpan(o, plane), dx.Data.AsSpan(o, plane), k1, mdy, mdyx);
            }
        });
        return [need[0] ? dx : null];
    }
}
