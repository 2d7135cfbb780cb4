namespace Cnn.Edge.Runtime;

/// <summary>
/// An op after Prepare: parameters validated, requantization multipliers and packed weights
/// precomputed. Invoke only runs: it allocates nothing, asserts nothing, throws nothing.
/// </summary>
public abstract class PreparedOp
{
    /// <summary>Reads inputs and writes outputs at their arena offsets; constants were captured at prepare.</summary>
    /// <param name="arena">The activation arena (the plan's offsets index it).</param>
    /// <param name="scratch">Per-op temporary memory of at least <see cref="ScratchBytes"/> bytes.</param>
    public abstract void Invoke(Span<byte> arena, Span<byte> scratch);

    /// <summary>Temporary bytes this op needs during Invoke (the interpreter allocates the maximum once).</summary>
    public virtual int ScratchBytes => 0;
}
