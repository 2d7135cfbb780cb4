using System.Runtime.CompilerServices;
using Cnn.Trainer.Kernels;

namespace Cnn.Trainer.Layers;

/// <summary>
/// Batch normalisation over (N, H, W) per channel; PyTorch semantics: biased variance normalises,
/// the running variance takes the unbiased one, running = (1 - momentum)·running + momentum·batch.
/// Channels run in parallel, each reduced in a fixed order (double accumulation), so it is deterministic.
/// Keeps its input (not x̂) for backward: one stream less to write per batch.
/// A network fuses the activation that alone consumes this layer's output (<see cref="FusedActivation"/>): the
/// affine and the activation then run in one pass each way, the activation's mask recomputed from x. The graph,
/// and so the ONNX export, still has both nodes; the fused results equal the unfused ones bit for bit.
/// The per-plane sums of both reductions can also come from the neighbouring convolutions, computed while each
/// sample is still in their cache (<see cref="InputStats"/>, <see cref="GradientSums"/>): the same function on the
/// same plane, reduced here in the same order, so the results do not change, and the pass over memory goes;
/// and they can write this layer's output and dx sample by sample as they read them (<see cref="Output"/>,
/// <see cref="InputGradient"/>), inside <see cref="Network"/> runs only.
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
    private readonly float[] _mean, _invStd, _scale, _shift;
    // dx = α·g + β·x + γ per channel (backward), kept for a deferred dx; _dxPending: dx not written yet.
    private readonly float[] _ka, _kb, _kc;
    private Tensor? _dxPending, _yPending;
    private bool _trainedForward;
    // Per (sample, channel) plane: Σx, Σx² (forward) and Σg, Σg·(x − mean) (backward), when a producer supplied
    // them for the tensor in _statsFor / _sumsFor (cleared once used).
    private float[] _ps = [], _ps2 = [], _gs = [], _gd = [];
    private Tensor? _statsFor, _sumsFor;
    private bool _statsProduced, _sumsProduced;

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
        _scale = new float[channels];
        _shift = new float[channels];
        _ka = new float[channels]; _kb = new float[channels]; _kc = new float[channels];
        InputStats = new StatsObserver(this);
        GradientSums = new SumsObserver(this);
        InputGradient = new Deferred(this, output: false);
        Output = new Deferred(this, output: true);
    }

    /// <summary>
    /// Writes dx sample by sample, while <see cref="IDeferredTensor.Active"/>, for the convolution that writes this
    /// layer's input and alone reads dx, just before it reads each sample: dx does not go to memory and back.
    /// </summary>
    internal IDeferredTensor InputGradient { get; }

    /// <summary>Writes y sample by sample, while active, for the convolution that alone reads it (through the fused activation).</summary>
    internal IDeferredTensor Output { get; }

    /// <summary>Takes this layer's batch statistics (per-plane Σx, Σx²) from the convolution that writes its input.</summary>
    internal ISampleObserver InputStats { get; }

    /// <summary>Takes this layer's gradient sums (per-plane Σg, Σg·(x − mean)) from the convolution that writes its output gradient.</summary>
    internal ISampleObserver GradientSums { get; }

    private sealed class StatsObserver(BatchNorm2d bn) : ISampleObserver
    {
        public bool Begin(Tensor t, RunContext ctx)
        {
            bn._statsFor = null;
            if (!ctx.InNetwork || !ctx.Training || (bn.Gamma.Frozen && bn.Beta.Frozen) || t.C != bn.Channels) return false;
            if (bn._ps.Length < t.N * t.C) { bn._ps = new float[t.N * t.C]; bn._ps2 = new float[t.N * t.C]; }
            return true;
        }

        public void Sample(int n, ReadOnlySpan<float> sample)
        {
            int plane = sample.Length / bn.Channels;
            for (int c = 0, o = n * bn.Channels; c < bn.Channels; c++)
                (bn._ps[o + c], bn._ps2[o + c]) = Vec.SumAndSquares(sample.Slice(c * plane, plane));
        }

        public void End(Tensor t) => bn._statsFor = t;
    }

    private sealed class SumsObserver(BatchNorm2d bn) : ISampleObserver
    {
        public bool Begin(Tensor t, RunContext ctx)
        {
            bn._sumsFor = null;
            if (!ctx.InNetwork || bn._x is not { } x || !x.SameShape(t)) return false;
            if (bn._gs.Length < t.N * t.C) { bn._gs = new float[t.N * t.C]; bn._gd = new float[t.N * t.C]; }
            return true;
        }

        public void Sample(int n, ReadOnlySpan<float> sample)
        {
            var x = bn._x!;
            int plane = x.Plane;
            var xs = x.Sample(n);
            for (int c = 0, o = n * bn.Channels; c < bn.Channels; c++)
                (bn._gs[o + c], bn._gd[o + c]) = bn.PlaneSums(c, sample.Slice(c * plane, plane), xs.Slice(c * plane, plane));
        }

        public void End(Tensor t) => bn._sumsFor = t;
    }

    /// <summary>(Σg, Σg·(x − mean)) of one plane, g = dy behind the fused activation's mask (or dy).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private (float Sum, float Dot) PlaneSums(int c, ReadOnlySpan<float> dy, ReadOnlySpan<float> x)
    {
        var act = FusedActivation;
        return act is null
            ? Vec.SumAndCenteredDot(dy, x, _mean[c])
            : Vec.MaskedSumAndCenteredDot(dy, x, _mean[c], _scale[c], _shift[c], act.Slope0, act.High);
    }

    /// <summary>The activation applied inside this layer's passes (set by <see cref="Network"/>); it then passes values through.</summary>
    internal Activation? FusedActivation { get; private set; }

    /// <summary>Fuses <paramref name="act"/> (which must consume only this layer's output) or, with null, unfuses.</summary>
    internal void Fuse(Activation? act)
    {
        if (FusedActivation is { } old) old.FusedInto = null;
        FusedActivation = act;
        if (act is not null) act.FusedInto = this;
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
        _statsProduced = batchStats && ReferenceEquals(_statsFor, x);
        _statsFor = null;
        // Channels split in fixed chunks; each channel is reduced alone, in sample order, so results do not depend on threads.
        _yPending = Output.Active && ctx.InNetwork ? y : null;
        // With the statistics produced (or the running ones) and y deferred only per-channel arithmetic is left.
        Par.ForChunks(Channels, _yPending is not null && (_statsProduced || !batchStats) ? 1 : ctx.Threads, this, OpForward);
        return y;
    }

    public override Tensor?[] Backward(Tensor dy, bool[] need, RunContext ctx)
    {
        var x = _x!;
        var dx = Tensor.Ensure(ref _dx, x.N, x.C, x.H, x.W);
        _dy = dy; _needDx = need[0];
        _sumsProduced = ReferenceEquals(_sumsFor, dy);
        _sumsFor = null;
        _dxPending = InputGradient.Active && need[0] && ctx.InNetwork ? dx : null;
        // With the sums produced and dx deferred only per-channel arithmetic is left: not worth a second thread.
        Par.ForChunks(Channels, _sumsProduced && (_dxPending is not null || !need[0]) ? 1 : ctx.Threads, this, OpBackward);
        _grads[0] = need[0] ? dx : null;
        return _grads;
    }

    private const int OpForward = 0, OpBackward = 1;

    void IChunked.RunChunk(int op, int chunk, int c0, int c1)
    {
        if (op == OpForward) ForwardChunk(c0, c1);
        else BackwardChunk(c0, c1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ForwardChunk(int c0, int c1)
    {
        var x = _x!;
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
                    var (ps, ps2) = _statsProduced ? (_ps[i * Channels + c], _ps2[i * Channels + c]) : Vec.SumAndSquares(x.Data.AsSpan(i * cs + c * plane, plane));
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
            _scale[c] = scale; _shift[c] = shift;
            if (_yPending is not null) continue;
            for (int i = 0; i < n; i++) WriteOutputPlane(i, c);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void BackwardChunk(int c0, int c1)
    {
        var x = _x!; var dy = _dy!; var dx = _dx!;
        int plane = x.Plane, n = x.N, cs = x.SampleSize;
        bool train = _trainedForward;
        for (int c = c0; c < c1; c++)
        {
            float mean = _mean[c], inv = _invStd[c];
            double sdy = 0, sdxc = 0;
            // Fused: dy is the activation's output gradient; its mask comes from x·scale + shift, as in forward.
            for (int i = 0; i < n; i++)
            {
                int o = i * cs + c * plane;
                var (a, d) = _sumsProduced ? (_gs[i * Channels + c], _gd[i * Channels + c]) : PlaneSums(c, dy.Data.AsSpan(o, plane), x.Data.AsSpan(o, plane));
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
            _ka[c] = (float)k1; _kb[c] = (float)beta; _kc[c] = (float)gamma;
            if (_dxPending is not null) continue;
            for (int i = 0; i < n; i++) WritePlane(i, c);
        }
    }

    /// <summary>dx of one plane from the coefficients of <see cref="BackwardChunk"/>: α·g + β·x + γ.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WritePlane(int i, int c)
    {
        var x = _x!; var dy = _dy!; var dx = _dx!;
        int plane = x.Plane, o = i * x.SampleSize + c * plane;
        var act = FusedActivation;
        if (act is null) Vec.Affine2(dy.Data.AsSpan(o, plane), x.Data.AsSpan(o, plane), dx.Data.AsSpan(o, plane), _ka[c], _kb[c], _kc[c]);
        else Vec.MaskedAffine2(dy.Data.AsSpan(o, plane), x.Data.AsSpan(o, plane), dx.Data.AsSpan(o, plane), _ka[c], _kb[c], _kc[c], _scale[c], _shift[c], act.Slope0, act.High);
    }

    /// <summary>y of one plane from the forward's scale and shift: act(x·scale + shift).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WriteOutputPlane(int i, int c)
    {
        var x = _x!; var y = _y!;
        int plane = x.Plane, o = i * x.SampleSize + c * plane;
        var act = FusedActivation;
        if (act is null) Vec.Affine(x.Data.AsSpan(o, plane), y.Data.AsSpan(o, plane), _scale[c], _shift[c]);
        else Vec.AffineActivate(x.Data.AsSpan(o, plane), y.Data.AsSpan(o, plane), _scale[c], _shift[c], act.Slope0, act.High);
    }

    /// <summary>Writes y or dx sample by sample for the convolution that alone reads it, just before it reads each.</summary>
    private sealed class Deferred(BatchNorm2d bn, bool output) : IDeferredTensor
    {
        public bool Active { get; set; }

        public bool IsPending(Tensor t) => ReferenceEquals(output ? bn._yPending : bn._dxPending, t);

        public void WriteSample(int n)
        {
            for (int c = 0; c < bn.Channels; c++)
                if (output) bn.WriteOutputPlane(n, c);
                else bn.WritePlane(n, c);
        }

        public void Complete()
        {
            if (output) bn._yPending = null;
            else bn._dxPending = null;
        }
    }
}
