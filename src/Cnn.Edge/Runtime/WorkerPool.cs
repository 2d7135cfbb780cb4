using System.Runtime.ExceptionServices;

namespace Cnn.Edge.Runtime;

/// <summary>What a <see cref="WorkerPool"/> runs: chunk <paramref name="chunk"/> of the current job on worker <paramref name="worker"/> (0 = the caller).</summary>
internal interface IChunkWork
{
    void RunChunk(int chunk, int worker);
}

/// <summary>
/// A fixed set of worker threads, created once (at interpreter construction) and reused by every inference.
/// <see cref="Run"/> splits one job into chunks that the caller and the workers take in turn from one
/// atomic ticket, so a worker the OS has descheduled never holds the caller up: the caller takes its chunks.
/// Which thread runs a chunk never changes what the chunk writes, so results do not depend on the thread count.
/// <para>Between jobs a worker spins for <see cref="SpinTicks"/> (the next layer usually follows within
/// microseconds), then sleeps on a monitor until the next job. Nothing is allocated per job.</para>
/// <para>Workers hold only the <see cref="Core"/>; when the pool is disposed, or collected without Dispose,
/// they finish the chunk in hand and exit.</para>
/// </summary>
internal sealed class WorkerPool : IDisposable
{
    private readonly Core _core;
    private readonly Thread[] _threads;

    /// <param name="threads">Threads that run chunks, the caller included (so threads - 1 are started).</param>
    public WorkerPool(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        Threads = threads;
        _core = new Core();
        _threads = new Thread[threads - 1];
        for (int i = 0; i < _threads.Length; i++)
        {
            int worker = i + 1;
            var core = _core;
            _threads[i] = new Thread(() => core.WorkerLoop(worker)) { IsBackground = true, Name = $"Cnn.Edge worker {worker}" };
            _threads[i].Start();
        }
        // Ready at load: a thread's start-up (and, under NativeAOT, its first Monitor.Wait) allocates; a worker the OS
        // starts late would otherwise do that during an inference (the caller runs every chunk of a job the workers miss).
        _core.WaitUntilReady(_threads.Length);
    }

    /// <summary>Workers that have started and are waiting for jobs (all of them once the constructor has returned).</summary>
    internal int ReadyWorkers => _core.Ready;

    ~WorkerPool() => _core.Stop();

    /// <summary>Threads that run chunks, the caller included.</summary>
    public int Threads { get; }

    /// <summary>How long an idle worker spins before it sleeps (Stopwatch ticks; about 1 ms).</summary>
    internal static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 1000;

    /// <summary>
    /// Runs chunks 0..chunks-1 of <paramref name="work"/> across the pool and returns when all are done.
    /// An exception in any chunk is rethrown here (the first one; the other chunks still run).
    /// Not reentrant: one job at a time (the interpreter invokes from one thread).
    /// </summary>
    public void Run(IChunkWork work, int chunks)
    {
        if (chunks <= 1 || _threads.Length == 0)
        {
            for (int c = 0; c < chunks; c++) work.RunChunk(c, 0);
            return;
        }
        _core.Run(work, chunks);
    }

    public void Dispose()
    {
        _core.Stop();
        foreach (var t in _threads) t.Join();
        GC.SuppressFinalize(this);
    }

    /// <summary>The state shared with the worker threads.</summary>
    private sealed class Core
    {
        // Ticket = generation << 32 | chunk count << 16 | next chunk. A worker takes a chunk with a compare-exchange
        // that also checks the generation, so a worker that wakes late can never take a chunk of a later job.
        private long _ticket;
        private int _completed;
        private int _sleepers;
        private volatile bool _stopped;
        private IChunkWork? _work;
        private Exception? _error;
        private readonly object _gate = new();
        private int _ready;

        public int Ready => Volatile.Read(ref _ready);

        public void WaitUntilReady(int workers)
        {
            var spin = new SpinWait();
            while (Volatile.Read(ref _ready) < workers) spin.SpinOnce();
        }

        public void Run(IChunkWork work, int chunks)
        {
            if (chunks > 0xFFFF) throw new ArgumentOutOfRangeException(nameof(chunks), chunks, "at most 65535 chunks per job");
            _work = work;
            _error = null;
            _completed = 0;
            long gen = ((Volatile.Read(ref _ticket) >> 32) + 1) & int.MaxValue; // stays ≥ 0 (-1 means stopped)
            // Full fence: the job's fields are visible before the new ticket, and the ticket before _sleepers is read.
            Interlocked.Exchange(ref _ticket, gen << 32 | (long)chunks << 16);
            if (Volatile.Read(ref _sleepers) > 0)
                lock (_gate) Monitor.PulseAll(_gate);

            int myGen = (int)gen;
            while (TryTake(myGen, out int chunk)) Execute(chunk, 0);
            var spin = new SpinWait();
            while (Volatile.Read(ref _completed) < chunks) spin.SpinOnce(sleep1Threshold: -1);
            _work = null;
            if (_error is Exception e)
            {
                _error = null;
                ExceptionDispatchInfo.Throw(e);
            }
        }

        public void Stop()
        {
            _stopped = true;
            lock (_gate) Monitor.PulseAll(_gate);
        }

        public void WorkerLoop(int worker)
        {
            lock (_gate) Monitor.Wait(_gate, 0); // the thread's first wait: its waiter and event are created now, not in an inference
            Interlocked.Increment(ref _ready);
            int seen = 0;
            while (!_stopped)
            {
                int gen = WaitForJob(seen);
                if (gen < 0) return;
                seen = gen;
                while (!_stopped && TryTake(gen, out int chunk)) Execute(chunk, worker);
            }
        }

        /// <summary>The generation of the next job after <paramref name="seen"/>, or -1 once stopped.</summary>
        private int WaitForJob(int seen)
        {
            long until = System.Diagnostics.Stopwatch.GetTimestamp() + SpinTicks;
            var spin = new SpinWait();
            while (true)
            {
                int gen = (int)(Volatile.Read(ref _ticket) >> 32);
                if (gen != seen) return gen;
                if (_stopped) return -1;
                if (System.Diagnostics.Stopwatch.GetTimestamp() > until) break;
                spin.SpinOnce(sleep1Threshold: -1);
            }
            lock (_gate)
            {
                Interlocked.Increment(ref _sleepers); // full fence: pairs with the exchange in Run
                try
                {
                    while (true)
                    {
                        int gen = (int)(Volatile.Read(ref _ticket) >> 32);
                        if (gen != seen) return gen;
                        if (_stopped) return -1;
                        Monitor.Wait(_gate);
                    }
                }
                finally
                {
                    Interlocked.Decrement(ref _sleepers);
                }
            }
        }

        private bool TryTake(int gen, out int chunk)
        {
            while (true)
            {
                long t = Volatile.Read(ref _ticket);
                int next = (int)(t & 0xFFFF), count = (int)((t >> 16) & 0xFFFF);
                if ((int)(t >> 32) != gen || next >= count)
                {
                    chunk = -1;
                    return false;
                }
                if (Interlocked.CompareExchange(ref _ticket, t + 1, t) == t)
                {
                    chunk = next;
                    return true;
                }
            }
        }

        private void Execute(int chunk, int worker)
        {
            // The job cannot change while a chunk of it is outstanding (Run waits for every chunk).
            try
            {
                _work!.RunChunk(chunk, worker);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _error, e, null);
            }
            finally
            {
                Interlocked.Increment(ref _completed);
            }
        }
    }
}
