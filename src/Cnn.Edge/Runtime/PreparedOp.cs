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
    /// (multiply-accumulates of a pointwise convolution, or their equivalent in cost on the op's ISA: <see cref="ChunkCosts"/>), so small
    /// layers stay on one thread.
    /// Ops may prepare per-chunk data here.
    /// </summary>
    public virtual int PlanChunks(int threads, int minWorkPerChunk) => 1;

    /// <summary>Runs chunk <paramref name="chunk"/> of <paramref name="chunks"/> (the value <see cref="PlanChunks"/> returned); scratch is this thread's.</summary>
    public virtual void InvokeChunk(int chunk, int chunks, Span<byte> arena, Span<byte> scratch) => Invoke(arena, scratch);

    /// <summary>
    /// How many chunks <paramref name="work"/> (in multiply-accumulates of a pointwise convolution, or their equivalent)
    /// splits into over <paramref name="units"/> indivisible pieces of equal cost: at most <paramref name="units"/>,
    /// 4 per thread (the extra chunks balance threads that the OS delays) and work / <paramref name="minWork"/>.
    /// Of those counts, the one whose busiest thread gets the fewest units when the chunks (<see cref="ChunkRange"/>) are
    /// handed out in order to whichever thread is free first, as the pool does; on a tie the most chunks. E.g. 56 rows
    /// on 4 threads: 16 chunks of 3 or 4 rows leave one thread 15 or 16 rows; 8 chunks of 7 give every thread 14.
    /// The chunk count never changes the output bytes (chunks write disjoint parts, each byte by the same code).
    /// With <paramref name="costBefore"/> (the cost of units [0, u)), units of unequal cost: the busiest thread's cost decides.
    /// </summary>
    protected static int ChunkCount(long work, long units, int threads, int minWork, Func<int, long>? costBefore = null)
    {
        if (threads <= 1) return 1;
        long byWork = work / Math.Max(1, minWork);
        int max = (int)Math.Max(1, Math.Min(Math.Min(byWork, units), 4L * threads));
        if (max <= 2 || threads > 64) return max; // the search below costs c · log(threads) per count c: skip it for many threads
        int best = max;
        long bestSpan = long.MaxValue;
        var free = new PriorityQueue<int, (long Load, int Thread)>(threads);
        for (int c = max; c >= 2; c--)
        {
            long span = BusiestThreadUnits((int)units, c, threads, free, costBefore);
            if (span < bestSpan) (best, bestSpan) = (c, span);
        }
        return best;
    }

    /// <summary>
    /// The units of the busiest thread when <paramref name="units"/> split into <paramref name="chunks"/> (<see cref="ChunkRange"/>)
    /// are handed out in order to whichever of <paramref name="threads"/> threads is free first; one chunk runs on the calling thread.
    /// With <paramref name="costBefore"/> (the cost of units [0, u)), units of unequal cost: the busiest thread's cost.
    /// </summary>
    protected static long BusiestThreadUnits(int units, int chunks, int threads, PriorityQueue<int, (long Load, int Thread)>? free = null,
        Func<int, long>? costBefore = null)
    {
        if (chunks <= 1) return costBefore is null ? units : costBefore(units) - costBefore(0);
        free ??= new PriorityQueue<int, (long Load, int Thread)>(threads);
        free.Clear();
        for (int t = 0; t < threads; t++) free.Enqueue(t, (0, t));
        long span = 0;
        for (int i = 0; i < chunks; i++)
        {
            free.TryDequeue(out int t, out var p);
            var (u0, u1) = ChunkRange(units, i, chunks);
            long load = p.Load + (costBefore is null ? u1 - u0 : costBefore(u1) - costBefore(u0));
            span = Math.Max(span, load);
            free.Enqueue(t, (load, t));
        }
        return span;
    }

    /// <summary>Units [start, end) of chunk <paramref name="chunk"/> when <paramref name="units"/> are split evenly into <paramref name="chunks"/>.</summary>
    protected static (int Start, int End) ChunkRange(int units, int chunk, int chunks)
        => ((int)((long)units * chunk / chunks), (int)((long)units * (chunk + 1) / chunks));
}
