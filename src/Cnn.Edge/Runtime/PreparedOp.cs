namespace Cnn.Edge.Runtime;

/// <summary>
/// An op after Prepare: parameters validated, requantization multipliers and packed weights
/// precomputed. Invoke only runs: it allocates nothing, asserts nothing, throws nothing.
/// <para>Threads: an op whose work can be split overrides <see cref="PlanChunks"/> and <see cref="InvokeChunk"/>.
/// Chunks write disjoint parts of the output and each output byte is computed by the same code whatever the
/// split, so the result does not depend on the thread count.</para>
/// </summary>
public abstract class PreparedOp
{
    /// <summary>Reads inputs and writes outputs at their arena offsets; constants were captured at prepare.</summary>
    /// <param name="arena">The activation arena (the plan's offsets index it).</param>
    /// <param name="scratch">Per-op temporary memory of at least <see cref="ScratchBytes"/> bytes.</param>
    public abstract void Invoke(Span<byte> arena, Span<byte> scratch);

    /// <summary>Temporary bytes this op needs during Invoke, and during each chunk (the interpreter allocates the maximum once per thread).</summary>
    public virtual int ScratchBytes => 0;

    /// <summary>
    /// Called once at load: into how many chunks Invoke splits for <paramref name="threads"/> threads (1 = not split).
    /// An op splits only when each chunk gets at least <paramref name="minWorkPerChunk"/> units of work
    /// (multiply-accumulates, or elements for elementwise ops), so small layers stay on one thread.
    /// Ops may prepare per-chunk data here.
    /// </summary>
    public virtual int PlanChunks(int threads, int minWorkPerChunk) => 1;

    /// <summary>Runs chunk <paramref name="chunk"/> of <paramref name="chunks"/> (the value <see cref="PlanChunks"/> returned); scratch is this thread's.</summary>
    public virtual void InvokeChunk(int chunk, int chunks, Span<byte> arena, Span<byte> scratch) => Invoke(arena, scratch);

    /// <summary>How many chunks <paramref name="work"/> units split into: at most <paramref name="units"/> (the indivisible
    /// pieces) and 4 per thread (the extra chunks balance threads that the OS delays), at least <paramref name="minWork"/> each.</summary>
    protected static int ChunkCount(long work, long units, int threads, int minWork)
    {
        if (threads <= 1) return 1;
        long byWork = work / Math.Max(1, minWork);
        return (int)Math.Max(1, Math.Min(Math.Min(byWork, units), 4L * threads));
    }

    /// <summary>Units [start, end) of chunk <paramref name="chunk"/> when <paramref name="units"/> are split evenly into <paramref name="chunks"/>.</summary>
    protected static (int Start, int End) ChunkRange(int units, int chunk, int chunks)
        => ((int)((long)units * chunk / chunks), (int)((long)units * (chunk + 1) / chunks));
}
