using Cnn.Edge.Kernels;
using Cnn.Edge.Runtime;
using static Cnn.Edge.Tests.Simd.SimdTestUtil;

namespace Cnn.Edge.Tests.Threads;

/// <summary>
/// The per-ISA cost weights (<see cref="ChunkCosts"/>) and the chunk count over units of unequal cost: the small layers of a
/// MobileNetV2 tail split at the default least work per chunk, give the reference's bytes on 1-4 threads, and allocate nothing.
/// </summary>
public class CostTests
{
    /// <summary>Exposes the protected chunk-count policy with unit costs.</summary>
    private sealed class Policy : PreparedOp
    {
        public override void Invoke(Span<byte> arena, Span<byte> scratch) { }
        public static int Count(long work, int units, int threads, int minWork, Func<int, long> costBefore)
            => ChunkCount(work, units, threads, minWork, costBefore);
        public static (int, int) Range(int units, int chunk, int chunks) => ChunkRange(units, chunk, chunks);
    }

    /// <summary>The busiest thread's cost when chunks go in order to the thread free first (the pool's ticket), written out.</summary>
    private static long Busiest(long[] cost, int chunks, int threads)
    {
        var load = new long[threads];
        for (int c = 0; c < chunks; c++)
        {
            var (u0, u1) = Policy.Range(cost.Length, c, chunks);
            int t = Array.IndexOf(load, load.Min());
            for (int u = u0; u < u1; u++) load[t] += cost[u];
        }
        return load.Max();
    }

    [Fact]
    public void TheChunkCountWeighsUnitsOfUnequalCost()
    {
        // MobileNetV2 0.35's last pointwise layer on ARM: 3 tiles (4, 4, 1 pixels, costing 5, 5, 2) in 4 channel parts. 12 chunks
        // (one unit each) leave a thread 14; 4 chunks of one part each give every thread 12.
        long[] tail = [5, 5, 2, 5, 5, 2, 5, 5, 2, 5, 5, 2];
        Assert.Equal(4, Policy.Count(1L << 30, tail.Length, 4, 1, u => tail[..u].Sum()));
        Assert.Equal(12, Busiest(tail, 4, 4));
        Assert.Equal(14, Busiest(tail, 12, 4));
        var rng = new Random(31);
        for (int i = 0; i < 300; i++)
        {
            int threads = rng.Next(2, 7), units = rng.Next(1, 120), minWork = rng.Next(1, 64);
            long[] cost = new long[units];
            foreach (ref long c in cost.AsSpan()) c = rng.Next(1, 20);
            long[] before = new long[units + 1];
            for (int u = 0; u < units; u++) before[u + 1] = before[u] + cost[u];
            long work = (long)units * rng.Next(1, 64);
            int chunks = Policy.Count(work, units, threads, minWork, u => before[u]);
            int max = (int)Math.Max(1, Math.Min(Math.Min(work / minWork, units), 4L * threads));
            string what = $"work {work}, units {units}, threads {threads}, min work {minWork}: {chunks} chunks";
            Assert.InRange(chunks, 1, max);
            for (int other = 2; other <= max; other++)
                Assert.True(Busiest(cost, chunks, threads) <= Busiest(cost, other, threads), $"{what}, but {other} chunks balance better");
        }
    }

    [Fact]
    public void EachIsaHasItsMeasuredWeights()
    {
        // Without the dot product a pointwise MAC costs about 3 of the SDOT path's; the other kernels are the same NEON code.
        Assert.Equal(ChunkCosts.AdvSimdDp, ChunkCosts.For(KernelIsa.AdvSimdDp));
        Assert.Equal(ChunkCosts.AdvSimd, ChunkCosts.For(KernelIsa.AdvSimd));
        Assert.Equal(ChunkCosts.AdvSimd, ChunkCosts.For(KernelIsa.Vector128));
        Assert.Equal(ChunkCosts.X86, ChunkCosts.For(KernelIsa.Avx2));
        Assert.Equal(ChunkCosts.X86, ChunkCosts.For(KernelIsa.AvxVnni));
        Assert.Equal(3 * ChunkCosts.AdvSimdDp.PointwiseMac, ChunkCosts.AdvSimd.PointwiseMac);
        Assert.Equal(ChunkCosts.AdvSimdDp with { PointwiseMac = ChunkCosts.AdvSimd.PointwiseMac }, ChunkCosts.AdvSimd);
        foreach (ChunkCosts c in new[] { ChunkCosts.AdvSimdDp, ChunkCosts.AdvSimd, ChunkCosts.X86 })
            Assert.True(c.DepthwiseMac > c.PointwiseMac && c.AddElement > c.DepthwiseMac && c.PoolElement > c.PointwiseMac, c.ToString());
    }

    /// <summary>A random MobileNetV2 tail: blocks at 3-7 pixels square, residual Adds, a stride-2 block to a few pixels.</summary>
    internal static (EdgeModel Model, string What) RandomTail(Random rng)
    {
        var b = new ModelBuilder();
        int h = rng.Next(3, 8), w = rng.Next(3, 8), c = 8 * rng.Next(4, 9);
        int x = b.AddInput("x", TensorType.Int8, [1, h, w, c], 0.04f, rng.Next(-5, 5));
        float scale = 0.04f;
        var blocks = new List<FusionTests.BlockSpec>
        {
            new(1, h, w, c, 6 * c, c, 3, 1, 1, 1, 1, 1, 1, true, rng.Next(2) == 0),
            new(1, h, w, c, 6 * c + rng.Next(0, 9), c, 3, 1, 1, 1, 1, 1, 1, true, rng.Next(2) == 0),
            new(1, h, w, c, 6 * c, c + 16 + rng.Next(0, 9), 3, 2, 1, 1, 1, 1, 1, false, false),
        };
        int h2 = (h - 1) / 2 + 1, w2 = (w - 1) / 2 + 1, c2 = blocks[2].Cout;
        blocks.Add(new(1, h2, w2, c2, 6 * c2, c2, 3, 1, 1, 1, 1, 1, 1, true, rng.Next(2) == 0));
        for (int i = 0; i < blocks.Count; i++) (x, scale) = FusionTests.Block(b, rng, "b" + i, x, scale, blocks[i]);
        b.MarkOutput(x);
        return (EdgeModel.Load(b.Build()), string.Join("; ", blocks));
    }

    [Fact]
    public void SmallLayersSplitByTheirCostsAndGiveTheReferenceBytesOnOneToFourThreads()
    {
        var rng = new Random(2611);
        int addsSplit = 0;
        for (int m = 0; m < 6; m++)
        {
            var (model, what) = RandomTail(rng);
            sbyte[] input = RandomInt8(rng, model.Tensors[model.Inputs[0]].ElementCount);
            byte[]? expected = null;
            foreach (KernelIsa isa in KernelSelector.Supported())
                for (int threads = 1; threads <= 4; threads++)
                {
                    using var it = new Interpreter(model, new InterpreterOptions { Isa = isa, Threads = threads, FuseBlocks = false });
                    input.CopyTo(it.InputInt8());
                    it.Invoke();
                    byte[] got = it.TensorBytes(model.Outputs[0]).ToArray();
                    expected ??= got; // the reference kernels' bytes (Scalar comes first)
                    Assert.True(expected.AsSpan().SequenceEqual(got), $"{what}, {isa}: {threads} threads differ from the reference");
                    if (isa == KernelIsa.Scalar) continue;
                    // An Add whose weighed work gives every thread at least the least work per chunk splits for every thread.
                    ChunkCosts costs = ChunkCosts.For(it.Isa);
                    for (int op = 0; op < model.Ops.Count; op++)
                    {
                        if (model.Ops[op].Code != OpCode.Add) continue;
                        int elements = model.Tensors[model.Ops[op].Outputs[0]].ElementCount;
                        if ((long)costs.AddElement * elements / InterpreterOptions.DefaultMinWorkPerChunk < threads || elements / 16 < threads) continue;
                        Assert.True(it.ChunksOf(op) >= threads, $"{what}, {isa}: Add {op} of {elements} elements has {it.ChunksOf(op)} chunks on {threads} threads");
                        addsSplit++;
                    }
                }
        }
        Assert.True(addsSplit > 10, $"only {addsSplit} Adds were weighed heavily enough to split");
    }
}
