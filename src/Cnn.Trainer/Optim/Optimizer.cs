namespace Cnn.Trainer.Optim;

public enum OptimizerKind { Sgd, Adam, AdamW }

/// <summary>
/// PyTorch-equivalent update rules. SGD: g += wd·w; v = μ·v + g; w −= lr·(nesterov ? g + μ·v : v).
/// Adam: L2 decay added to g; AdamW: decoupled w −= lr·wd·w. Frozen parameters are skipped;
/// Parameter.LrScale multiplies the rate; Parameter.Decay=false (biases, BN) skips weight decay.
/// </summary>
public sealed class Optimizer
{
    private readonly Parameter[] _params;
    private readonly float[][] _m, _v;
    private long _step;

    public Optimizer(IEnumerable<Parameter> parameters, OptimizerKind kind, float momentum = 0.9f, bool nesterov = false,
        float weightDecay = 0f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f)
    {
        _params = parameters.ToArray();
        Kind = kind; Momentum = momentum; Nesterov = nesterov; WeightDecay = weightDecay; Beta1 = beta1; Beta2 = beta2; Eps = eps;
        _m = _params.Select(p => new float[p.Value.Length]).ToArray();
        _v = kind == OptimizerKind.Sgd ? [] : _params.Select(p => new float[p.Value.Length]).ToArray();
    }

    public OptimizerKind Kind { get; }
    public float Momentum { get; }
    public bool Nesterov { get; }
    public float WeightDecay { get; }
    public float Beta1 { get; }
    public float Beta2 { get; }
    public float Eps { get; }
    public long StepCount => _step;

    public void Step(float lr)
    {
        _step++;
        float bc1 = 1 - MathF.Pow(Beta1, _step), bc2 = 1 - MathF.Pow(Beta2, _step);
        for (int k = 0; k < _params.Length; k++)
        {
            var p = _params[k];
            if (p.Frozen) continue;
            float rate = lr * p.LrScale, wd = p.Decay ? WeightDecay : 0f;
            var w = p.Value; var g = p.Grad; var m = _m[k];
            switch (Kind)
            {
                case OptimizerKind.Sgd:
                    for (int i = 0; i < w.Length; i++)
                    {
                        float gi = g[i] + wd * w[i];
                        if (Momentum != 0)
                        {
                            // PyTorch: the first step initialises the buffer to the gradient
                            m[i] = _step == 1 ? gi : Momentum * m[i] + gi;
                            gi = Nesterov ? gi + Momentum * m[i] : m[i];
                        }
                        w[i] -= rate * gi;
                    }
                    break;
                default:
                    var v = _v[k];
                    bool decoupled = Kind == OptimizerKind.AdamW;
                    for (int i = 0; i < w.Length; i++)
                    {
                        float gi = g[i];
                        if (decoupled) w[i] -= rate * wd * w[i];
                        else gi += wd * w[i];
                        m[i] = Beta1 * m[i] + (1 - Beta1) * gi;
                        v[i] = Beta2 * v[i] + (1 - Beta2) * gi * gi;
                        w[i] -= rate * (m[i] / bc1) / (MathF.Sqrt(v[i] / bc2) + Eps);
                    }
                    break;
            }
        }
    }

    /// <summary>State for checkpoints: step count and moment buffers, in parameter order.</summary>
    internal (long Step, float[][] M, float[][] V) State => (_step, _m, _v);
    internal void Restore(long step) => _step = step;
}
