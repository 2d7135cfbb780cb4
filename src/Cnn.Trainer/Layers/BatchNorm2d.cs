using Cnn.Trainer.Kernels;

namespace Cnn.Trainer.Layers;

/// <summary>
/// Batch normalisation over (N, H, W) per channel; PyTorch semantics: biased variance normalises,
/// the running variance takes the unbiased one, running = (1 - momentum)·running + momentum·batch.
/// Channels run in parallel, each reduced in a fixed order (double accumulation), so it is deterministic.
/// Keeps its input (not x̂) for backward: one stream less to write per batch.
/// </summary>
public sealed class BatchNorm2d : Layer, IChunked
{
    public int Channels { get; }
    public float Momentum { get; }
    public float Eps { get; }
    public Parameter Gamma { get; }
    public Parameter Beta { get; }
    public float[] RunningMean { get; }
    public float[] RunningVar { get; }
    public override string Kind => "BatchNorm2d";

    private Tensor? _x, _y, _dx, _dy;
    private readonly Tensor?[] _grads = new Tensor?[1];
    private bool _needDx;
    private readonly float[] _mean, _invStd;
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
        _mean = new float[channels];
        _invStd = new float[channels];
    }

    public override IReadOnlyList<Parameter> Parameters => _params ??= [Gamma, Beta];
    public override IReadOnlyList<(string Name, float[] Value)> Buffers => [("running_mean", RunningMean), ("running_var", RunningVar)];
    private Parameter[]? _params;

    public override Shape OutputShape(Shape[] inputs)
    {
        ExpectArity(inputs);
        if (inputs[0].C != Channels) throw Bad($"expects {Channels} channels, got {inputs[0].C} (input {inputs[0]})");
        return inputs[0];
    }

    public override Tensor Forward(Tensor[] inputs, RunContext ctx)
    {
        var x = _x = inputs[0];
        var y = Tensor.Ensure(ref _y, x.N, x.C, x.H, x.W);
        // A frozen BN (transfer learning) keeps its running statistics: normalise with them, do not update them.
        bool batchStats = ctx.Training && !(Gamma.Frozen && Beta.Frozen);
        _trainedForward = batchStats;
        // Channels split in fixed chunks; each channel is reduced alone, in sample order, so results do not depend on threads.
        Par.ForChunks(Channels, ctx.Threads, this, OpForward);
        return y;
    }

    public override Tensor?[] Backward(Tensor dy, bool[] need, RunContext ctx)
    {
        var x = _x!;
        var dx = Tensor.Ensure(ref _dx, x.N, x.C, x.H, x.W);
        _dy = dy; _needDx = need[0];
        Par.ForChunks(Channels, ctx.Threads, this, OpBackward);
        _grads[0] = need[0] ? dx : null;
        return _grads;
    }

    private const int OpForward = 0, OpBackward = 1;

    void IChunked.RunChunk(int op, int chunk, int c0, int c1)
    {
        if (op == OpForward) ForwardChunk(c0, c1);
        else BackwardChunk(c0, c1);
    }

    private void ForwardChunk(int c0, int c1)
    {
        var x = _x!; var y = _y!;
        int plane = x.Plane, n = x.N, cs = x.SampleSize;
        bool batchStats = _trainedForward;
        for (int c = c0; c < c1; c++)
        {
            float mean, invStd;
            if (batchStats)
            {
                double s = 0, s2 = 0;
                for (int i = 0; i < n; i++)
                {
                    var (ps, ps2) = Vec.SumAndSquares(x.Data.AsSpan(i * cs + c * plane, plane));
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
            _mean[c] = mean; _invStd[c] = invStd;
            // y = (x − mean)·inv·g + b = x·scale + shift; x̂ is not stored, backward recomputes it from x.
            float scale = Gamma.Value[c] * invStd, shift = Beta.Value[c] - mean * scale;
            for (int i = 0; i < n; i++)
            {
                int o = i * cs + c * plane;
                Vec.Affine(x.Data.AsSpan(o, plane), y.Data.AsSpan(o, plane), scale, shift);
            }
        }
    }

    private void BackwardChunk(int c0, int c1)
    {
        var x = _x!; var dy = _dy!; var dx = _dx!;
        int plane = x.Plane, n = x.N, cs = x.SampleSize;
        bool train = _trainedForward;
        for (int c = c0; c < c1; c++)
        {
            float mean = _mean[c], inv = _invStd[c];
            double sdy = 0, sdxc = 0;
            for (int i = 0; i < n; i++)
            {
                int o = i * cs + c * plane;
                var (a, d) = Vec.SumAndCenteredDot(dy.Data.AsSpan(o, plane), x.Data.AsSpan(o, plane), mean);
                sdy += a; sdxc += d;
            }
            double sdyx = sdxc * inv;   // Σ dy·x̂
            Gamma.Grad[c] += (float)sdyx;
            Beta.Grad[c] += (float)sdy;
            if (!_needDx) continue;
            long m = (long)n * plane;
            // train: dx = g·inv·(dy − Σdy/m − x̂·Σ(dy·x̂)/m); eval: statistics are constants.
            // With x̂ = (x − mean)·inv: dx = α·dy + β·x + γ.
            double k1 = Gamma.Value[c] * (double)inv;
            double mdy = train ? sdy / m : 0, mdyx = train ? sdyx / m : 0;
            double beta = -k1 * mdyx * inv, gamma = -k1 * mdy - beta * mean;
            for (int i = 0; i < n; i++)
            {
                int o = i * cs + c * plane;
                Vec.Affine2(dy.Data.AsSpan(o, plane), x.Data.AsSpan(o, plane), dx.Data.AsSpan(o, plane), (float)k1, (float)beta, (float)gamma);
            }
        }
    }
}
