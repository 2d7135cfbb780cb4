namespace Cnn.Trainer.Kernels;

/// <summary>Work split into chunks: <paramref name="op"/> selects what to run (forward, backward, ...), [start, end) the items.</summary>
internal interface IChunked
{
    void RunChunk(int op, int chunk, int start, int end);
}

/// <summary>
/// Fixed partition of a batch into chunks, one per thread, so reductions happen in chunk order and the result
/// does not depend on which thread ran a chunk. Chunk 0 runs on the caller, the others on persistent worker
/// threads woken per region: nothing is allocated per call (no closures, no Parallel.For tasks). A region
/// started while another runs (nested, or a second trainer in the process) runs its chunks serially, in order.
/// </summary>
internal static class Par
{
    private static readonly object Gate = new();
    private static readonly ManualResetEventSlim Done = new(false);
    private static Worker[] _workers = [];
    [ThreadStatic] private static bool t_inRegion;
    private static IChunked? _body;
    private static int _op, _count, _chunks, _pending;
    private static Exception? _error;

    public static int Chunks(int count, int threads) => Math.Max(1, Math.Min(threads, count));

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
            _body = body; _op = op; _count = count; _chunks = chunks; _error = null;
            _pending = chunks - 1;
            Done.Reset();
            for (int w = 0; w < chunks - 1; w++) _workers[w].Go.Release();
            try { body.RunChunk(op, 0, 0, Start(1, count, chunks)); }
            catch (Exception e) { Interlocked.CompareExchange(ref _error, e, null); }
            Done.Wait();
            if (_error is { } error) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
        }
        finally
        {
            _body = null;
            t_inRegion = false;
            Monitor.Exit(Gate);
        }
    }

    private sealed class Worker
    {
        public readonly SemaphoreSlim Go = new(0);
        private readonly int _chunk;

        public Worker(int chunk)
        {
            _chunk = chunk;
            new Thread(Loop) { IsBackground = true, Name = $"Cnn.Trainer worker {chunk}" }.Start();
        }

        private void Loop()
        {
            t_inRegion = true;
            while (true)
            {
                Go.Wait();
                try { _body!.RunChunk(_op, _chunk, Start(_chunk, _count, _chunks), Start(_chunk + 1, _count, _chunks)); }
                catch (Exception e) { Interlocked.CompareExchange(ref _error, e, null); }
                if (Interlocked.Decrement(ref _pending) == 0) Done.Set();
            }
        }
    }
}
