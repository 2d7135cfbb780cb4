using Cnn.Trainer.Kernels;

namespace Cnn.Trainer.Layers;

/// <summary>Fully connected: y[N, Out] = x[N, In] · Wᵀ + b, weight [Out, In] (ONNX Gemm with transB=1). Any input shape is read as flattened.</summary>
public sealed class Linear : Layer
{
    public int InFeatures { get; }
    public int OutFeatures { get; }
    public Parameter Weight { get; }
    public Parameter? Bias { get; }
    public override string Kind => "Linear";
    private Tensor? _x, _y, _dx;

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

    public override IReadOnlyList<Parameter> Parameters => Bias is null ? [Weight] : [Weight, Bias];

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
        Par.ForChunks(x.N, ctx.Threads, (_, n0, n1) =>
        {
            var ys = y.Data.AsSpan(n0 * OutFeatures, (n1 - n0) * OutFeatures);
            for (int n = 0; n < n1 - n0; n++)
                if (Bias is null) ys.Slice(n * OutFeatures, OutFeatures).Clear();
                else Bias.Value.CopyTo(ys.Slice(n * OutFeatures, OutFeatures));
            Gemm.NT(n1 - n0, OutFeatures, InFeatures, x.Data.AsSpan(n0 * InFeatures), InFeatures, Weight.Value, InFeatures, ys, OutFeatures);
        });
        return y;
    }

    public override Tensor?[] Backward(Tensor dy, bool[] need, RunContext ctx)
    {
        var x = _x!;
        int n = x.N;
        // dW[Out, In] += dYᵀ[Out, N] · x[N, In]: rows of W split across threads, each row summed over n in order.
        Par.ForChunks(OutFeatures, ctx.Threads, (_, o0, o1) =>
            Gemm.NN(o1 - o0, InFeatures, n, dy.Data.AsSpan(o0), 1, OutFeatures, x.Data, InFeatures, Weight.Grad.AsSpan(o0 * InFeatures), InFeatures));
        if (Bias is not null)
            for (int i = 0; i < n; i++) Gemm.Axpy(1f, dy.Data.AsSpan(i * OutFeatures, OutFeatures), Bias.Grad);
        if (!need[0]) return [null];
        var dx = Tensor.Ensure(ref _dx, x.N, x.C, x.H, x.W);
        Par.ForChunks(n, ctx.Threads, (_, n0, n1) =>
        {
            var d = dx.Data.AsSpan(n0 * InFeatures, (n1 - n0) * InFeatures);
            d.Clear();
            Gemm.NN(n1 - n0, InFeatures, OutFeatures, dy.Data.AsSpan(n0 * OutFeatures), OutFeatures, 1, Weight.Value, InFeatures, d, InFeatures);
        });
        return [dx];
    }
}
