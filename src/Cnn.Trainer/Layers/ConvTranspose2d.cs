using Cnn.Trainer.Kernels;

namespace Cnn.Trainer.Layers;

/// <summary>
/// Transposed convolution, weight [Cin, Cout/groups, KH, KW] (ONNX/PyTorch layout). It is the adjoint of
/// Conv2d: per sample and group, col[Cout_g*KK, H*W] = W_gᵀ · x_g, then col2im into the output
/// of size (H−1)·s − 2p + d·(K−1) + outputPadding + 1.
/// </summary>
public sealed class ConvTranspose2d : Layer, IChunked
{
    public int InChannels { get; }
    public int OutChannels { get; }
    public int Groups { get; }
    public int OutputPadding { get; }
    public ConvGeometry Geometry { get; }
    public Parameter Weight { get; }
    public Parameter? Bias { get; }
    public override string Kind => "ConvTranspose2d";
    private Tensor? _x, _y, _dx, _dy, _dxOut;
    private readonly Tensor?[] _grads = new Tensor?[1];
    private float[][] _col = [];
    private readonly ChunkGradients _grad = new();

    public ConvTranspose2d(int inChannels, int outChannels, int kernel, int stride = 1, int padding = 0, int outputPadding = 0,
        int dilation = 1, int groups = 1, bool bias = true, Random? rng = null)
    {
        if (inChannels <= 0 || outChannels <= 0 || groups <= 0 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"ConvTranspose2d: channels {inChannels}->{outChannels} must be positive multiples of groups {groups}");
        if (outputPadding < 0 || outputPadding >= Math.Max(stride, dilation))
            throw new ArgumentException("ConvTranspose2d: output padding must be smaller than stride or dilation");
        InChannels = inChannels; OutChannels = outChannels; Groups = groups; OutputPadding = outputPadding;
        Geometry = new ConvGeometry(kernel, kernel, stride, stride, padding, padding, dilation, dilation);
        rng ??= new Random(0);
        // PyTorch computes fan_in from weight.size(1)·K·K = Cout/groups·K·K for transposed convs.
        float bound = 1f / MathF.Sqrt(outChannels / groups * kernel * kernel);
        Weight = new Parameter("weight", [inChannels, outChannels / groups, kernel, kernel]);
        Init.Uniform(Weight.Value, bound, rng);
        if (bias) { Bias = new Parameter("bias", [outChannels]) { Decay = false }; Init.Uniform(Bias.Value, bound, rng); }
    }

    public override IReadOnlyList<Parameter> Parameters => _params ??= Bias is null ? [Weight] : [Weight, Bias];
    private Parameter[]? _params;

    private int OutSize(int i) => (i - 1) * Geometry.StrideH - 2 * Geometry.PadH + Geometry.DilH * (Geometry.KH - 1) + OutputPadding + 1;

    public override Shape OutputShape(Shape[] inputs)
    {
        ExpectArity(inputs);
        var s = inputs[0];
        if (s.C != InChannels) throw Bad($"expects {InChannels} input channels, got {s.C} (input {s})");
        int oh = OutSize(s.H), ow = OutSize(s.W);
        if (oh <= 0 || ow <= 0) throw Bad($"output would be empty for input {s}");
        return new Shape(OutChannels, oh, ow);
    }

    private void Scratch(int chunks, int len)
    {
        if (_col.Length == chunks && _col[0].Length >= len) return;
        _col = new float[chunks][];
        for (int i = 0; i < chunks; i++) _col[i] = new float[len];
    }

    public override Tensor Forward(Tensor[] inputs, RunContext ctx)
    {
        var x = _x = inputs[0];
        var y = Tensor.Ensure(ref _y, x.N, OutChannels, OutSize(x.H), OutSize(x.W));
        Scratch(Par.Chunks(x.N, ctx.Threads), ColumnRows * x.Plane);
        Par.ForChunks(x.N, ctx.Threads, this, OpForward);
        return y;
    }

    public override Tensor?[] Backward(Tensor dy, bool[] need, RunContext ctx)
    {
        var x = _x!;
        int chunks = Par.Chunks(x.N, ctx.Threads);
        Scratch(chunks, ColumnRows * x.Plane);
        _dy = dy;
        _dxOut = need[0] ? Tensor.Ensure(ref _dx, x.N, x.C, x.H, x.W) : null;
        _grad.Run(this, OpBackward, x.N, ctx.Threads, Weight, Bias, OutChannels);
        _grads[0] = _dxOut;
        return _grads;
    }

    private const int OpForward = 0, OpBackward = 1;

    /// <summary>Rows of the column matrix: Cout/groups · KH · KW.</summary>
    private int ColumnRows => OutChannels / Groups * Geometry.KH * Geometry.KW;

    void IChunked.RunChunk(int op, int chunk, int n0, int n1)
    {
        var x = _x!;
        int hw = x.Plane;
        int cinG = InChannels / Groups, coutG = OutChannels / Groups, kk = ColumnRows;
        var col = _col[chunk].AsSpan(0, kk * hw);
        if (op == OpForward)
        {
            var y = _y!;
            int oh = y.H, ow = y.W;
            for (int n = n0; n < n1; n++)
            {
                var ys = y.Sample(n);
                for (int oc = 0; oc < OutChannels; oc++) ys.Slice(oc * oh * ow, oh * ow).Fill(Bias?.Value[oc] ?? 0f);
                for (int g = 0; g < Groups; g++)
                {
                    col.Clear();
                    // W_g is [cinG, kk]; col = W_gᵀ · x_g
                    Gemm.NN(kk, hw, cinG, Weight.Value.AsSpan(g * cinG * kk), 1, kk, x.Sample(n).Slice(g * cinG * hw), hw, col, hw);
                    Im2Col.Backward(col, coutG, oh, ow, Geometry, ys.Slice(g * coutG * oh * ow, coutG * oh * ow));
                }
            }
            return;
        }
        var dy = _dy!; var dx = _dxOut;
        int ohw = dy.Plane;
        var (dw, db) = _grad.Begin(chunk);
        for (int n = n0; n < n1; n++)
        {
            var dys = dy.Sample(n);
            if (Bias is not null)
                for (int oc = 0; oc < OutChannels; oc++) db[oc] += Vec.Sum(dys.Slice(oc * ohw, ohw));
            if (dx is not null) dx.Sample(n).Clear();
            for (int g = 0; g < Groups; g++)
            {
                Im2Col.Forward(dys.Slice(g * coutG * ohw, coutG * ohw), coutG, dy.H, dy.W, Geometry, col);
                var xg = x.Sample(n).Slice(g * cinG * hw, cinG * hw);
                // dW_g[cinG, kk] += x_g[cinG, hw] · colᵀ
                Gemm.NT(cinG, kk, hw, xg, hw, col, hw, dw.AsSpan(g * cinG * kk), kk);
                if (dx is not null)
                    Gemm.NN(cinG, hw, kk, Weight.Value.AsSpan(g * cinG * kk), kk, 1, col, hw, dx.Sample(n).Slice(g * cinG * hw), hw);
            }
        }
    }
}
