namespace Cnn.Trainer.Layers;

/// <summary>Per-sample shape (channels, height, width); fully connected features are (F, 1, 1).</summary>
public readonly record struct Shape(int C, int H, int W)
{
    public int Size => C * H * W;
    public override string ToString() => $"{C}x{H}x{W}";
}

/// <summary>What a forward pass needs besides its inputs: mode, threads and the seeded random source.</summary>
public sealed class RunContext
{
    public bool Training { get; set; }
    public int Threads { get; set; } = 1;
    public Random Rng { get; set; } = new(0);

    /// <summary>
    /// True while a <see cref="Network"/> runs its nodes: only then may a layer leave work to its neighbours in the
    /// graph (a BatchNorm's passes to the convolutions beside it), since only then do they surely run next.
    /// A layer called on its own always does all of its work.
    /// </summary>
    internal bool InNetwork { get; set; }
}

/// <summary>Thrown when a network description is inconsistent; names the layer at fault.</summary>
public sealed class ModelSpecException(string layer, string message) : Exception($"layer '{layer}': {message}")
{
    public string Layer { get; } = layer;
}

/// <summary>
/// A layer of the graph: forward caches what backward needs; backward returns one gradient per
/// input (null where the caller said it is not needed). Output and gradient tensors are owned and
/// reused by the layer, so a steady-state batch allocates nothing.
/// </summary>
public abstract class Layer
{
    public string Name { get; set; } = "";
    public abstract string Kind { get; }
    public virtual int Arity => 1;
    public virtual IReadOnlyList<Parameter> Parameters => [];
    /// <summary>Non-trainable state saved with the model (BatchNorm running statistics).</summary>
    public virtual IReadOnlyList<(string Name, float[] Value)> Buffers => [];

    /// <summary>Validates input shapes and returns the output shape; throws <see cref="ModelSpecException"/> naming this layer.</summary>
    public abstract Shape OutputShape(Shape[] inputs);
    public abstract Tensor Forward(Tensor[] inputs, RunContext ctx);
    public abstract Tensor?[] Backward(Tensor gradOutput, bool[] needInputGrad, RunContext ctx);

    protected ModelSpecException Bad(string message) => new(Name, message);

    protected void ExpectArity(Shape[] inputs)
    {
        if (inputs.Length != Arity) throw Bad($"{Kind} takes {Arity} input(s), got {inputs.Length}");
    }
}

/// <summary>Deterministic initialisation matching PyTorch's defaults (Kaiming-uniform with a=√5 → bound 1/√fan_in).</summary>
internal static class Init
{
    public static void Uniform(float[] w, float bound, Random rng)
    {
        for (int i = 0; i < w.Length; i++) w[i] = (float)((rng.NextDouble() * 2 - 1) * bound);
    }

    public static void KaimingNormal(float[] w, int fanIn, Random rng)
    {
        double std = Math.Sqrt(2.0 / fanIn);
        for (int i = 0; i < w.Length; i++)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            w[i] = (float)(std * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
    }
}
