namespace Cnn.Trainer.Kernels;

/// <summary>Work split into chunks: <paramref name="op"/> selects what to run (forward, backward, ...), [start, end) the items.</summary>
internal interface IChunked
{
    void RunChunk(int op, int chunk, int start, int end);
}

/// <summary>
/// Fixed partition of a batch into chunks, one per thread, so reductions happen in chunk order and the result
/// does not depend on which thread ran a chunk. The caller and persistent worker threads claim chunks from a
/// shared counter: a worker the OS schedules late (a loaded machine) finds its chunk done by the caller
/// instead of stalling the region. Nothing is allocated per call (no closures, no Parallel.For tasks). A
/// region started while another runs (nested, or a second trainer in the process) runs its chunks serially.
/// </summary>
internal static class Par
{
    private static readonly object Gate = new();
    private static readonly ManualResetEventSlim Done = new(false);
    private static Worker[] _workers = [];
    [ThreadStatic] private static bool t_inRegion;
    // Region state: generation (bits 40+), chunk count (bits 20..39), next unclaimed chunk (bits 0..19).
    // Fields below are written before the state is published and stay fixed until every chunk is done.
    private static long _state;
    private static IChunked? _body;
    private static int _op, _count, _remaining;
    private static Exception? _error;

    public static int Chunks(int count, int threads) => Math.Max(1, Math.Min(threads, count));

    /// <summary>Threads worth waking for <paramref name="work"/> (multiply-adds or elements): 1 below ~100 µs of work.</summary>
    public static int ThreadsFor(int threads, long work) => work < 1 << 18 ? 1 : threads;

    private static int Start(int chunk, int count, int chunks) => (int)((long)count * chunk / chunks);

    public static void ForChunks(int count, int threads, IChunked body, int op = 0)
    {
        int chunks = Chunks(count, threads);
        if (chunks == 1 || t_inRegion || !Monitor.TryEnter(Gate))
        {
            for (int c = 0; c < chunks; c++) body.RunChunk(op, c, Start(c, count, chunks), Start(c + 1, count, chunks));
            return;
        }
        t_inRegion = true;
        try
        {
            if (_workers.Length < chunks - 1)
            {
                var more = new Worker[chunks - 1];
                _workers.CopyTo(more, 0);
                for (int w = _workers.Length; w < more.Length; w++) more[w] = new Worker(w + 1);
                _workers = more;
            }
            _body = body; _op = op; _count = count; _error = null;
            _remaining = chunks;
            Done.Reset();
            long generation = (Volatile.Read(ref _state) >> 40) + 1;
            Volatile.Write(ref _state, generation << 40 | (long)chunks << 20);
            // Dekker with the worker's going to sleep (full fences on both sides): either it sees the new generation
            // before it blocks, or this sees it asleep and wakes it. A spinning worker needs no semaphore call.
            for (int w = 0; w < chunks - 1; w++)
                if (Interlocked.CompareExchange(ref _workers[w].Sleeping, 0, 1) == 1) _workers[w].Go.Release();
            ClaimAndRun();
            SpinUntil(static () => Volatile.Read(ref _remaining) == 0);
            Done.Wait();
            if (_error is { } error) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
        }
        finally
        {
            t_inRegion = false;
            Monitor.Exit(Gate);
        }
    }

    /// <summary>Runs unclaimed chunks of the current region until none is left.</summary>
    private static void ClaimAndRun()
    {
        while (true)
        {
            long s = Volatile.Read(ref _state);
            int next = (int)(s & 0xFFFFF), chunks = (int)(s >> 20 & 0xFFFFF);
            if (next >= chunks) return;
            if (Interlocked.CompareExchange(ref _state, s + 1, s) != s) continue;
            // Claimed: the region cannot finish (nor its fields change) before this chunk is done.
            try { _body!.RunChunk(_op, next, Start(next, _count, chunks), Start(next + 1, _count, chunks)); }
            catch (Exception e) { Interlocked.CompareExchange(ref _error, e, null); }
            if (Interlocked.Decrement(ref _remaining) == 0) Done.Set();
        }
    }

    /// <summary>
    /// How long a worker keeps polling for the next region, and the caller for the last chunk, before blocking. Regions
    /// of a training step follow each other within microseconds, and waking a blocked thread costs tens of them (more on
    /// a loaded machine), which for small layers is the whole region; the bound keeps an idle trainer off the CPU.
    /// </summary>
    private static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency * SpinMicroseconds() / 1_000_000;

    /// <summary>CNN_PAR_SPIN_US=N overrides the 50 µs (0: block at once, as a loaded machine may prefer; benchmarks).</summary>
    private static int SpinMicroseconds() =>
        int.TryParse(Environment.GetEnvironmentVariable("CNN_PAR_SPIN_US"), out int us) && us is >= 0 and <= 10_000 ? us : 50;

    /// <summary>Polls <paramref name="done"/> for up to <see cref="SpinTicks"/>; true when it came true.</summary>
    private static bool SpinUntil(Func<bool> done)
    {
        long end = System.Diagnostics.Stopwatch.GetTimestamp() + SpinTicks;
        do
        {
            if (done()) return true;
            Thread.SpinWait(20);
        }
        while (System.Diagnostics.Stopwatch.GetTimestamp() < end);
        return done();
    }

    private static long Generation => Volatile.Read(ref _state) >> 40;

    private sealed class Worker
    {
        public readonly SemaphoreSlim Go = new(0);
        /// <summary>1 while the worker is (about to be) blocked on <see cref="Go"/>: the next region must release it.</summary>
        public int Sleeping;
        private long _seen;
        private readonly Func<bool> _newRegion;

        public Worker(int index)
        {
            _newRegion = NewRegion;
            new Thread(Loop) { IsBackground = true, Name = $"Cnn.Trainer worker {index}" }.Start();
        }

        private bool NewRegion() => Generation != _seen;

        private void Loop()
        {
            t_inRegion = true;
            while (true)
            {
                if (!SpinUntil(_newRegion))
                {
                    Interlocked.Exchange(ref Sleeping, 1);
                    // A region published before the fence above is seen here; one published after it finds Sleeping = 1.
                    if (!NewRegion() || Interlocked.CompareExchange(ref Sleeping, 0, 1) != 1) Go.Wait();
                }
                _seen = Generation;
                ClaimAndRun();
            }
        }
    }
}
