namespace Cnn.Trainer.Layers;

/// <summary>Elementwise activations: ReLU, ReLU6 (clip to [0,6]) and LeakyReLU(slope).</summary>
public sealed class Activation : Layer, Kernels.IChunked
{
    public enum Kinds { Relu, Relu6, LeakyRelu }
    public Kinds Function { get; }
    public float Slope { get; }
    public override string Kind => Function.ToString();

    private Tensor? _x, _y, _dx, _dy;
    private readonly Tensor?[] _grads = new Tensor?[1];

    public Activation(Kinds function, float slope = 0.01f) { Function = function; Slope = slope; }

    private float Slope0 => Function == Kinds.LeakyRelu ? Slope : 0f;
    private float High => Function == Kinds.Relu6 ? 6f : float.PositiveInfinity;

    public static Activation Relu() => new(Kinds.Relu);
    public static Activation Relu6() => new(Kinds.Relu6);
    public static Activation LeakyRelu(float slope = 0.01f) => new(Kinds.LeakyRelu, slope);

    public override Shape OutputShape(Shape[] inputs) { ExpectArity(inputs); return inputs[0]; }

    public override Tensor Forward(Tensor[] inputs, RunContext ctx)
    {
        var x = _x = inputs[0];
        var y = Tensor.Ensure(ref _y, x.N, x.C, x.H, x.W);
        Kernels.Par.ForChunks(x.Length, Math.Min(ctx.Threads, 1 + x.Length / 65536), this, 0);
        return y;
    }

    public override Tensor?[] Backward(Tensor dy, bool[] need, RunContext ctx)
    {
        var x = _x!;
        var dx = Tensor.Ensure(ref _dx, x.N, x.C, x.H, x.W);
        _dy = dy;
        Kernels.Par.ForChunks(x.Length, Math.Min(ctx.Threads, 1 + x.Length / 65536), this, 1);
        _grads[0] = dx;
        return _grads;
    }

    void Kernels.IChunked.RunChunk(int op, int chunk, int i0, int i1)
    {
        var x = _x!.Data.AsSpan(i0, i1 - i0);
        if (op == 0) Kernels.Vec.Activate(x, _y!.Data.AsSpan(i0, i1 - i0), Slope0, High);
        else Kernels.Vec.ActivateBackward(x, _dy!.Data.AsSpan(i0, i1 - i0), _dx!.Data.AsSpan(i0, i1 - i0), Slope0, High);
    }
}

/// <summary>Inverted dropout: scales kept units by 1/(1−p) in training, identity in evaluation.</summary>
public sealed class Dropout(float p) : Layer
{
    public float P { get; } = p is >= 0 and < 1 ? p : throw new ArgumentOutOfRangeException(nameof(p), "dropout probability must be in [0, 1)");
    public override string Kind => "Dropout";
    private Tensor? _y, _dx;
    private readonly Tensor?[] _grads = new Tensor?[1];
    private float[] _mask = [];
    private bool _train;

    public override Shape OutputShape(Shape[] inputs) { ExpectArity(inputs); return inputs[0]; }

    public override Tensor Forward(Tensor[] inputs, RunContext ctx)
    {
        var x = inputs[0];
        _train = ctx.Training && P > 0;
        var y = Tensor.Ensure(ref _y, x.N, x.C, x.H, x.W);
        if (!_train) { x.Span.CopyTo(y.Span); return y; }
        if (_mask.Length < x.Length) _mask = new float[x.Length];
        float keep = 1f / (1 - P);
        for (int i = 0; i < x.Length; i++)
        {
            _mask[i] = ctx.Rng.NextDouble() >= P ? keep : 0f;
            y.Data[i] = x.Data[i] * _mask[i];
        }
        return y;
    }

    public override Tensor?[] Backward(Tensor dy, bool[] need, RunContext ctx)
    {
        var dx = Tensor.Ensure(ref _dx, dy.N, dy.C, dy.H, dy.W);
        if (!_train) dy.Span.CopyTo(dx.Span);
        else for (int i = 0; i < dy.Length; i++) dx.Data[i] = dy.Data[i] * _mask[i];
        _grads[0] = dx;
        return _grads;
    }
}

/// <summary>(N, C, H, W) → (N, C·H·W, 1, 1).</summary>
public sealed class Flatten : Layer
{
    public override string Kind => "Flatten";
    private Tensor? _y, _dx;
    private readonly Tensor?[] _grads = new Tensor?[1];
    private Shape _in;

    public override Shape OutputShape(Shape[] inputs) { ExpectArity(inputs); return new Shape(inputs[0].Size, 1, 1); }

    public override Tensor Forward(Tensor[] inputs, RunContext ctx)
    {
        var x = inputs[0];
        _in = new Shape(x.C, x.H, x.W);
        var y = Tensor.Ensure(ref _y, x.N, x.SampleSize, 1, 1);
        x.Span.CopyTo(y.Span);
        return y;
    }

    public override Tensor?[] Backward(Tensor dy, bool[] need, RunContext ctx)
    {
        var dx = Tensor.Ensure(ref _dx, dy.N, _in.C, _in.H, _in.W);
        dy.Span.CopyTo(dx.Span);
        _grads[0] = dx;
        return _grads;
    }
}
