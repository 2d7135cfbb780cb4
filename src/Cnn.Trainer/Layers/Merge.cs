namespace Cnn.Trainer.Layers;

/// <summary>Elementwise sum of two same-shaped inputs (residual connection).</summary>
public sealed class Add : Layer
{
    public override string Kind => "Add";
    public override int Arity => 2;
    private Tensor? _y, _d0, _d1;
    private readonly Tensor?[] _grads = new Tensor?[2];

    public override Shape OutputShape(Shape[] inputs)
    {
        ExpectArity(inputs);
        if (inputs[0] != inputs[1]) throw Bad($"inputs must have the same shape, got {inputs[0]} and {inputs[1]}");
        return inputs[0];
    }

    public override Tensor Forward(Tensor[] inputs, RunContext ctx)
    {
        var a = inputs[0]; var b = inputs[1];
        var y = Tensor.Ensure(ref _y, a.N, a.C, a.H, a.W);
        var sa = a.Span; var sb = b.Span; var sy = y.Span;
        for (int i = 0; i < sy.Length; i++) sy[i] = sa[i] + sb[i];
        return y;
    }

    public override Tensor?[] Backward(Tensor dy, bool[] need, RunContext ctx)
    {
        Tensor? d0 = null, d1 = null;
        if (need[0]) { d0 = Tensor.Ensure(ref _d0, dy.N, dy.C, dy.H, dy.W); dy.Span.CopyTo(d0.Span); }
        if (need[1]) { d1 = Tensor.Ensure(ref _d1, dy.N, dy.C, dy.H, dy.W); dy.Span.CopyTo(d1.Span); }
        _grads[0] = d0; _grads[1] = d1;
        return _grads;
    }
}

/// <summary>Concatenation along channels of N inputs with equal H and W (Inception, DenseNet).</summary>
public sealed class Concat(int arity) : Layer
{
    public override string Kind => "Concat";
    public override int Arity { get; } = arity >= 2 ? arity : throw new ArgumentException("Concat needs at least two inputs");
    private Tensor? _y;
    private Tensor?[] _d = new Tensor?[arity];
    private Tensor?[]? _grads;
    private int[] _channels = [];

    public override Shape OutputShape(Shape[] inputs)
    {
        ExpectArity(inputs);
        int c = 0;
        foreach (var s in inputs)
        {
            if (s.H != inputs[0].H || s.W != inputs[0].W) throw Bad($"inputs must share height and width, got {inputs[0]} and {s}");
            c += s.C;
        }
        return new Shape(c, inputs[0].H, inputs[0].W);
    }

    public override Tensor Forward(Tensor[] inputs, RunContext ctx)
    {
        int c = 0;
        if (_channels.Length != inputs.Length) _channels = new int[inputs.Length];
        for (int i = 0; i < inputs.Length; i++) { _channels[i] = inputs[i].C; c += inputs[i].C; }
        var x0 = inputs[0];
        var y = Tensor.Ensure(ref _y, x0.N, c, x0.H, x0.W);
        for (int n = 0; n < x0.N; n++)
        {
            int off = n * y.SampleSize;
            foreach (var x in inputs) { x.Sample(n).CopyTo(y.Data.AsSpan(off)); off += x.SampleSize; }
        }
        return y;
    }

    public override Tensor?[] Backward(Tensor dy, bool[] need, RunContext ctx)
    {
        var res = _grads ??= new Tensor?[Arity];
        Array.Clear(res);
        int coff = 0;
        for (int i = 0; i < Arity; i++)
        {
            int ci = _channels[i];
            if (need[i])
            {
                var d = Tensor.Ensure(ref _d[i], dy.N, ci, dy.H, dy.W);
                for (int n = 0; n < dy.N; n++)
                    dy.Data.AsSpan(n * dy.SampleSize + coff * dy.Plane, d.SampleSize).CopyTo(d.Sample(n));
                res[i] = d;
            }
            coff += ci;
        }
        return res;
    }
}

/// <summary>ShuffleNet channel shuffle: view C as [G, C/G], transpose to [C/G, G]. Exported as Reshape-Transpose-Reshape.</summary>
public sealed class ChannelShuffle(int groups) : Layer
{
    public int Groups { get; } = groups > 0 ? groups : throw new ArgumentException("groups must be positive");
    public override string Kind => "ChannelShuffle";
    private Tensor? _y, _dx;
    private readonly Tensor?[] _grads = new Tensor?[1];

    public override Shape OutputShape(Shape[] inputs)
    {
        ExpectArity(inputs);
        if (inputs[0].C % Groups != 0) throw Bad($"{inputs[0].C} channels are not divisible by {Groups} groups");
        return inputs[0];
    }

    // output channel o = j·G + g takes input channel g·(C/G) + j
    private static void Permute(Tensor src, Tensor dst, int groups, bool inverse)
    {
        int cpg = src.C / groups, plane = src.Plane;
        for (int n = 0; n < src.N; n++)
            for (int g = 0; g < groups; g++)
                for (int j = 0; j < cpg; j++)
                {
                    int ic = g * cpg + j, oc = j * groups + g;
                    if (inverse) (ic, oc) = (oc, ic);
                    src.Data.AsSpan(n * src.SampleSize + ic * plane, plane).CopyTo(dst.Data.AsSpan(n * dst.SampleSize + oc * plane, plane));
                }
    }

    public override Tensor Forward(Tensor[] inputs, RunContext ctx)
    {
        var x = inputs[0];
        var y = Tensor.Ensure(ref _y, x.N, x.C, x.H, x.W);
        Permute(x, y, Groups, false);
        return y;
    }

    public override Tensor?[] Backward(Tensor dy, bool[] need, RunContext ctx)
    {
        var dx = Tensor.Ensure(ref _dx, dy.N, dy.C, dy.H, dy.W);
        Permute(dy, dx, Groups, true);
        _grads[0] = dx;
        return _grads;
    }
}
