using Cnn.Trainer.Kernels;

namespace Cnn.Trainer.Layers;

/// <summary>Fully connected: y[N, Out] = x[N, In] · Wᵀ + b, weight [Out, In] (ONNX Gemm with transB=1). Any input shape is read as flattened.</summary>
public sealed class Linear : Layer, IChunked
{
    public int InFeatures { get; }
    public int OutFeatures { get; }
    public Parameter Weight { get; }
    public Parameter? Bias { get; }
    public override string Kind => "Linear";
    private Tensor? _x, _y, _dx, _dy;
    private readonly Tensor?[] _grads = new Tensor?[1];

    public Linear(int inFeatures, int outFeatures, bool bias = true, Random? rng = null)
    {
        if (inFeatures <= 0 || outFeatures <= 0) throw new ArgumentException($"Linear: invalid sizes {inFeatures}->{outFeatures}");
        InFeatures = inFeatures; OutFeatures = outFeatures;
        rng ??= new Random(0);
        float bound = 1f / MathF.Sqrt(inFeatures);
        Weight = new Parameter("weight", [outFeatures, inFeatures]);
        Init.Uniform(Weight.Value, bound, rng);
        if (bias)
        {
            Bias = new Parameter("bias", [outFeatures]) { Decay = false };
            Init.Uniform(Bias.Value, bound, rng);
        }
    }

    public override IReadOnlyList<Parameter> Parameters => _params ??= Bias is null ? [Weight] : [Weight, Bias];
    private Parameter[]? _params;

    public override Shape OutputShape(Shape[] inputs)
    {
        ExpectArity(inputs);
        if (inputs[0].Size != InFeatures) throw Bad($"expects {InFeatures} input features, got {inputs[0].Size} (input {inputs[0]})");
        return new Shape(OutFeatures, 1, 1);
    }

    public override Tensor Forward(Tensor[] inputs, RunContext ctx)
    {
        var x = _x = inputs[0];
        var y = Tensor.Ensure(ref _y, x.N, OutFeatures, 1, 1);
        Par.ForChunks(x.N, Par.ThreadsFor(ctx.Threads, (long)x.N * InFeatures * OutFeatures), this, OpForward);
        return y;
    }

    public override Tensor?[] Backward(Tensor dy, bool[] need, RunContext ctx)
    {
        var x = _x!;
        _dy = dy;
        // dW[Out, In] += dYᵀ[Out, N] · x[N, In]: rows of W split across threads, each row summed over n in order.
        int threads = Par.ThreadsFor(ctx.Threads, (long)x.N * InFeatures * OutFeatures);
        Par.ForChunks(OutFeatures, threads, this, OpWeightGrad);
        if (Bias is not null)
            for (int i = 0; i < x.N; i++) Gemm.Axpy(1f, dy.Data.AsSpan(i * OutFeatures, OutFeatures), Bias.Grad);
        _grads[0] = null;
        if (!need[0]) return _grads;
        _grads[0] = Tensor.Ensure(ref _dx, x.N, x.C, x.H, x.W);
        Par.ForChunks(x.N, threads, this, OpInputGrad);
        return _grads;
    }

    private const int OpForward = 0, OpWeightGrad = 1, OpInputGrad = 2;

    void IChunked.RunChunk(int op, int chunk, int i0, int i1)
    {
        var x = _x!;
        switch (op)
        {
            case OpForward:
                var ys = _y!.Data.AsSpan(i0 * OutFeatures, (i1 - i0) * OutFeatures);
                for (int n = 0; n < i1 - i0; n++)
                    if (Bias is null) ys.Slice(n * OutFeatures, OutFeatures).Clear();
                    else Bias.Value.CopyTo(ys.Slice(n * OutFeatures, OutFeatures));
                Gemm.NT(i1 - i0, OutFeatures, InFeatures, x.Data.AsSpan(i0 * InFeatures), InFeatures, Weight.Value, InFeatures, ys, OutFeatures);
                break;
            case OpWeightGrad:
                Gemm.NN(i1 - i0, InFeatures, x.N, _dy!.Data.AsSpan(i0), 1, OutFeatures, x.Data, InFeatures, Weight.Grad.AsSpan(i0 * InFeatures), InFeatures);
                break;
            default:
                var d = _dx!.Data.AsSpan(i0 * InFeatures, (i1 - i0) * InFeatures);
                d.Clear();
                Gemm.NN(i1 - i0, InFeatures, OutFeatures, _dy!.Data.AsSpan(i0 * OutFeatures), OutFeatures, 1, Weight.Value, InFeatures, d, InFeatures);
                break;
        }
    }
}
