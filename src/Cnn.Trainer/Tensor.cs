namespace Cnn.Trainer;

/// <summary>A dense float32 tensor in NCHW order. Fully connected activations use shape (N, F, 1, 1).</summary>
public sealed class Tensor
{
    public float[] Data;
    public int N, C, H, W;

    public Tensor(int n, int c, int h, int w)
    {
        N = n; C = c; H = h; W = w;
        Data = new float[checked(n * c * h * w)];
    }

    public int Length => N * C * H * W;
    public int SampleSize => C * H * W;
    public int Plane => H * W;
    public Span<float> Span => Data.AsSpan(0, Length);
    public Span<float> Sample(int n) => Data.AsSpan(n * SampleSize, SampleSize);

    public bool SameShape(Tensor o) => N == o.N && C == o.C && H == o.H && W == o.W;
    public override string ToString() => $"[{N},{C},{H},{W}]";

    /// <summary>Reuses <paramref name="t"/> when it has room, so steady-state batches allocate nothing.</summary>
    public static Tensor Ensure(ref Tensor? t, int n, int c, int h, int w)
    {
        int len = checked(n * c * h * w);
        if (t is null || t.Data.Length < len) t = new Tensor(n, c, h, w);
        else { t.N = n; t.C = c; t.H = h; t.W = w; }
        return t;
    }
}

/// <summary>A trainable array with its gradient; the optimizer keeps its own state per parameter.</summary>
public sealed class Parameter
{
    public Parameter(string name, int[] shape)
    {
        Name = name;
        Shape = shape;
        int len = 1;
        foreach (int s in shape) len = checked(len * s);
        Value = new float[len];
        Grad = new float[len];
    }

    public string Name { get; set; }
    public int[] Shape { get; }
    public float[] Value { get; }
    public float[] Grad { get; }
    /// <summary>A frozen parameter keeps its value (transfer learning); its gradient is still computed when needed downstream.</summary>
    public bool Frozen { get; set; }
    /// <summary>Multiplies the learning rate for this parameter (e.g. 0.1 to fine-tune a backbone slowly).</summary>
    public float LrScale { get; set; } = 1f;
    /// <summary>False for BatchNorm scale/shift and biases when the optimizer excludes them from weight decay.</summary>
    public bool Decay { get; set; } = true;
}
