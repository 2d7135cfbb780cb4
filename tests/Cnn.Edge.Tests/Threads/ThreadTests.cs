using Cnn.Edge.Kernels;
using Cnn.Edge.Runtime;

namespace Cnn.Edge.Tests.Threads;

/// <summary>
/// The worker pool: the output bytes do not depend on the thread count (every op forced to split with
/// MinWorkPerChunk = 1), an inference allocates nothing, Dispose stops the workers, and an exception in a
/// worker reaches the caller.
/// </summary>
public class ThreadTests
{
    [Fact]
    public void RandomModelsGiveTheSameBytesOnOneToFourThreads()
    {
        var rng = new Random(2026);
        int compared = 0;
        var splitOps = new Dictionary<KernelIsa, int>();
        for (int m = 0; m < 12; m++)
        {
            var (file, what) = RandomNetwork(rng);
            var model = EdgeModel.Load(file);
            sbyte[] input = new sbyte[model.Tensors[model.Inputs[0]].ElementCount];
            foreach (ref sbyte v in input.AsSpan()) v = (sbyte)rng.Next(-128, 128);
            // Chunks of one unit (row, pixel tile) up to many: chunk boundaries fall in different places.
            int minWork = m % 3 == 0 ? 1 : rng.Next(16, 2048);
            foreach (KernelIsa isa in KernelSelector.Supported())
            {
                byte[] expected = Run(model, isa, 1, input, minWork, out _);
                for (int threads = 2; threads <= 4; threads++)
                {
                    byte[] got = Run(model, isa, threads, input, minWork, out int split);
                    splitOps[isa] = splitOps.GetValueOrDefault(isa) + split;
                    Assert.True(expected.AsSpan().SequenceEqual(got), $"{what}, {isa}: {threads} threads differ from one (model {m}, min work {minWork})");
                    compared++;
                }
            }
        }
        Assert.True(compared >= 36);
        foreach (var (isa, split) in splitOps)
            Assert.True(split > 10, $"{isa}: only {split} ops were split over 12 models");
    }

    [Fact]
    public void LargeLayersSplitAndSmallOnesStayOnOneThread()
    {
        var model = EdgeModel.Load(RandomNetwork(new Random(5), minHeight: 40).File);
        using var it = new Interpreter(model, new InterpreterOptions { Threads = 2, MinWorkPerChunk = 4096 });
        int split = 0, single = 0;
        for (int i = 0; i < model.Ops.Count; i++)
        {
            if (it.ChunksOf(i) > 1) split++;
            else single++;
            Assert.InRange(it.ChunksOf(i), 1, 8);
        }
        Assert.True(split > 0, "no layer of a 40x40 model was split over 2 threads");
        Assert.True(single > 0, "the softmax/GAP/FC of 10 classes should stay on one thread");
    }

    [Fact]
    public void DisposeStopsTheWorkersAndInvokeThenDoesNothing()
    {
        var model = EdgeModel.Load(RandomNetwork(new Random(10)).File);
        for (int round = 0; round < 20; round++)
        {
            var it = new Interpreter(model, new InterpreterOptions { Threads = 4, MinWorkPerChunk = 1 });
            if (round % 2 == 0) it.Invoke();
            var disposer = new Thread(it.Dispose);
            disposer.Start();
            Assert.True(disposer.Join(TimeSpan.FromSeconds(10)), "Dispose did not return within 10 s (a worker did not stop)");
            it.Invoke();
            it.Dispose();
            Assert.Throws<ObjectDisposedException>(() => it.InputInt8());
        }
    }

    [Fact]
    public void EveryWorkerIsRunningWhenTheConstructorReturns()
    {
        // A worker started late would do its thread start-up (allocations) during an inference.
        for (int t = 1; t <= 4; t++)
        {
            using var pool = new WorkerPool(t);
            Assert.Equal(t - 1, pool.ReadyWorkers);
        }
    }

    [Fact]
    public void AnExceptionInAWorkerReachesTheCaller()
    {
        using var pool = new WorkerPool(3);
        var work = new Throwing(failAt: 5);
        var e = Assert.Throws<InvalidOperationException>(() => pool.Run(work, 12));
        Assert.Equal("chunk 5", e.Message);
        Assert.Equal(12, work.Ran);
        // The pool still works after the failure.
        var ok = new Throwing(failAt: -1);
        pool.Run(ok, 40);
        Assert.Equal(40, ok.Ran);
        Assert.Equal(40, ok.Seen.Distinct().Count());
    }

    [Fact]
    public void ChunksRunOnSeveralThreadsAndEachExactlyOnce()
    {
        using var pool = new WorkerPool(4);
        var workers = new HashSet<int>();
        for (int job = 0; job < 200; job++)
        {
            var w = new Throwing(failAt: -1, spin: 2000);
            pool.Run(w, 1 + job % 17);
            Assert.Equal(1 + job % 17, w.Ran);
            Assert.Equal(w.Ran, w.Seen.Distinct().Count());
            workers.UnionWith(w.Workers);
        }
        // The caller takes chunks too, but over 200 jobs the workers must have taken some (even on a loaded machine).
        Assert.True(workers.Count > 1, $"only threads {string.Join(",", workers)} ran chunks");
    }

    [Fact]
    public void ThreadsOutsideOneToMaxAreRefused()
    {
        var model = EdgeModel.Load(BuilderModels.Branchy());
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Interpreter(model, new InterpreterOptions { Threads = 0 }));
        Assert.Contains("Threads", e.Message);
        Assert.Equal(Environment.ProcessorCount, new InterpreterOptions().Threads);
    }

    internal sealed class Throwing(int failAt, int spin = 0) : IChunkWork
    {
        public int Ran;
        public readonly System.Collections.Concurrent.ConcurrentBag<int> Seen = [];
        public readonly System.Collections.Concurrent.ConcurrentBag<int> Workers = [];

        public void RunChunk(int chunk, int worker)
        {
            Workers.Add(worker);
            Thread.SpinWait(spin);
            Seen.Add(chunk);
            Interlocked.Increment(ref Ran);
            if (chunk == failAt) throw new InvalidOperationException($"chunk {chunk}");
        }
    }

    /// <summary>Every op's output bytes, concatenated (the final output alone hides differences that a GAP averages away).</summary>
    private static byte[] Run(EdgeModel model, KernelIsa isa, int threads, sbyte[] input, int minWork, out int splitOps)
    {
        using var it = new Interpreter(model, new InterpreterOptions { Isa = isa, Threads = threads, MinWorkPerChunk = minWork });
        Assert.Equal(threads, it.Threads);
        splitOps = Enumerable.Range(0, model.Ops.Count).Count(i => it.ChunksOf(i) > 1);
        var all = new List<byte>();
        input.CopyTo(it.InputInt8());
        it.Invoke(op => all.AddRange(it.TensorBytes(model.Ops[op].Outputs[0]).ToArray()));
        byte[] first = [.. all];
        // Twice: the second inference must not depend on state the first left behind.
        all.Clear();
        input.CopyTo(it.InputInt8()); // the plan may have reused the input's bytes once it was dead
        it.Invoke(op => all.AddRange(it.TensorBytes(model.Ops[op].Outputs[0]).ToArray()));
        Assert.True(first.AsSpan().SequenceEqual([.. all]), "second inference differs");
        return first;
    }

    /// <summary>
    /// A random int8 network of every op that splits: strided and dilated KxK conv (the gathered GEMM), pointwise,
    /// grouped, depthwise, max and average pooling with padding and ceil mode, residual Add, FC; batch 1 or 2.
    /// </summary>
    internal static (byte[] File, string What) RandomNetwork(Random rng, int minHeight = 5)
    {
        int batch = rng.Next(1, 3), h = rng.Next(minHeight, minHeight + 30), w = rng.Next(5, 19), c = rng.Next(1, 5);
        int c1 = rng.Next(3, 40), classes = rng.Next(2, 11);
        var b = new ModelBuilder();
        const float inScale = 0.05f;
        int x = b.AddInput("image", TensorType.Int8, [batch, h, w, c], inScale, rng.Next(-20, 20));
        // Output scales that keep random accumulators inside int8 (weights ~U(-127,127) at scale ~0.0025, inputs spread
        // over the int8 range): saturated activations would hide a wrong window or row.
        static float Out(float inScale, int k) => inScale * 0.0025f * MathF.Sqrt(k) * 70;
        int k = rng.Next(1, 4) * 2 - 1, stride = rng.Next(1, 3), dil = rng.Next(1, 3);
        int pad = rng.Next(0, k);
        while (h + 2 * pad - dil * (k - 1) - 1 < 0 || w + 2 * pad - dil * (k - 1) - 1 < 0) pad++;
        var (w1, b1) = BuilderModels.Weights(b, "conv1", rng, c1, k, k, c);
        float s1 = Out(inScale, k * k * c);
        int y = b.Conv2D("conv1", x, w1, b1, new ConvParams(stride, stride, dil, dil, pad, pad, pad, pad, 1, rng.Next(-128, -50), 127), s1, rng.Next(-10, 10));
        var (wd, bd) = BuilderModels.Weights(b, "dw", rng, c1, 3, 3, 1);
        float sd = Out(s1, 9);
        int dw = b.DepthwiseConv2D("dw", y, wd, bd, new ConvParams(1, 1, 1, 1, 1, 1, 1, 1, c1, -128, 127), sd, 3);
        var (wp, bp) = BuilderModels.Weights(b, "pw", rng, c1, 1, 1, c1);
        float sp = Out(sd, c1);
        int pw = b.Conv2D("pw", dw, wp, bp, new ConvParams(1, 1, 1, 1, 0, 0, 0, 0, 1, -128, 127), sp, 0);
        float sa = Math.Max(sp, s1) * 1.5f;
        int sum = b.Add("add", pw, y, sa, rng.Next(-5, 5));
        int groups = c1 % 3 == 0 ? 3 : 1;
        var (wg, bg) = BuilderModels.Weights(b, "grouped", rng, groups * rng.Next(1, 6), 3, 3, c1 / groups);
        float sg = Out(sa, 9 * c1 / groups);
        int g = b.Conv2D("grouped", sum, wg, bg, new ConvParams(1, 1, 1, 1, 1, 1, 1, 1, groups, -128, 127), sg, 0);
        int mp = b.MaxPool2D("max", g, new PoolParams(3, 3, 2, 2, 1, 1, 1, 1, rng.Next(2) == 0, false, -128, 127));
        int ap = b.AveragePool2D("avg", mp, new PoolParams(3, 3, rng.Next(1, 3), 1, 1, 1, 1, 1, rng.Next(2) == 0, rng.Next(2) == 0, -128, 127));
        int channels = b.ShapeOf(ap)[3];
        int gap = b.GlobalAveragePool("gap", ap, sg, 0);
        int flat = b.Reshape("flatten", gap, [batch, channels]);
        var (wf, bf) = BuilderModels.Weights(b, "fc", rng, classes * rng.Next(1, 4), 0, 0, channels);
        int fc = b.FullyConnected("fc", flat, wf, bf, Out(sg, channels), 0);
        b.MarkOutput(fc);
        return (b.Build(), $"batch={batch} {h}x{w}x{c} conv k={k} s={stride} d={dil} p={pad} c1={c1} groups={groups}");
    }
}

/// <summary>Runs alone (no other test allocates meanwhile), so the process-wide allocation count sees the workers too.</summary>
[CollectionDefinition(nameof(AllocationTests), DisableParallelization = true)]
public class AllocationTestsCollection;

[Collection(nameof(AllocationTests))]
public class AllocationTests
{
    [Fact]
    public void ThreadedInvokeAllocatesNothing()
    {
        var model = EdgeModel.Load(ThreadTests.RandomNetwork(new Random(9)).File);
        using var it = new Interpreter(model, new InterpreterOptions { Threads = 3, MinWorkPerChunk = 1 });
        it.Invoke();
        it.Invoke();
        long thread = GC.GetAllocatedBytesForCurrentThread();
        long total = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < 50; i++) it.Invoke();
        long threadDelta = GC.GetAllocatedBytesForCurrentThread() - thread;
        long totalDelta = GC.GetTotalAllocatedBytes(precise: true) - total;
        Assert.Equal(0, threadDelta);
        // The test host's own threads may allocate a little meanwhile; a worker allocating per chunk would show
        // as kilobytes (50 inferences of ~8 split ops of up to 12 chunks).
        Assert.True(totalDelta < 2048, $"50 threaded inferences allocated {totalDelta} bytes in the process");
    }

    [Fact]
    public void ThreadedInvokeOfSmallLayersSplitByTheirCostsAllocatesNothing()
    {
        // The default least work per chunk with the ARM weights (Vector128 takes AdvSimd's): small Adds and GEMMs split too.
        var (model, _) = CostTests.RandomTail(new Random(12));
        using var it = new Interpreter(model, new InterpreterOptions { Isa = KernelIsa.Vector128, Threads = 4, FuseBlocks = false });
        Assert.True(Enumerable.Range(0, model.Ops.Count).Count(op => it.ChunksOf(op) > 1) > model.Ops.Count / 2, "most ops should split");
        it.Invoke();
        long thread = GC.GetAllocatedBytesForCurrentThread();
        long total = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < 50; i++) it.Invoke();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - thread);
        long totalDelta = GC.GetTotalAllocatedBytes(precise: true) - total;
        Assert.True(totalDelta < 2048, $"50 threaded inferences allocated {totalDelta} bytes in the process");
    }
}
