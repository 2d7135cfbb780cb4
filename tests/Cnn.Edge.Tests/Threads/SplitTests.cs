using Cnn.Edge.Kernels;
using Cnn.Edge.Runtime;
using Cnn.Edge.Tests.Simd;
using static Cnn.Edge.Tests.Simd.SimdTestUtil;

namespace Cnn.Edge.Tests.Threads;

/// <summary>
/// How ops split for threads: global pools over blocks of 16 channels (any split gives the reference's bytes), the
/// balanced chunk count, and <see cref="Interpreter.InvokeChunk"/> (every chunk in turn is one inference).
/// </summary>
public class SplitTests
{
    [Theory, MemberData(nameof(OptimizedIsas), MemberType = typeof(SimdTestUtil))]
    public void GlobalPoolsSplitIntoAnyRangesOfChannelBlocksGiveTheReferenceBytes(KernelIsa isa)
    {
        SkipUnlessSupported(isa);
        var rng = new Random(71 + (int)isa);
        for (int i = 0, n = Cases(60, 20); i < n; i++)
        {
            // Channels around the 16-lane blocks and the 8-lane tail; batch 1-3 so that ranges cross batch items.
            var s = new GlobalPoolShape(rng.Next(1, 4), rng.Next(1, 9), rng.Next(1, 9), i < 8 ? 8 * i + rng.Next(0, 3) + 1 : rng.Next(1, 90));
            sbyte[] x = RandomInt8(rng, s.Batch * s.Height * s.Width * s.Channels);
            int inZp = rng.Next(-128, 128), outZp = rng.Next(-128, 128);
            (int[] m, int[] sh) = RandomMultipliers(rng, 1);
            (int lo, int hi) = RandomClamp(rng, outZp);
            var expectedAvg = new sbyte[s.Batch * s.Channels];
            var expectedMax = new sbyte[expectedAvg.Length];
            GlobalAveragePoolReference.Run(s, x, inZp, m[0], sh[0], outZp, lo, hi, expectedAvg);
            GlobalMaxPoolReference.Run(s, x, expectedMax);
            var avg = GlobalPoolOptimized.TryCreateAverage(isa, s, inZp, m[0], sh[0], outZp, lo, hi)!;
            var max = GlobalPoolOptimized.TryCreateMax(isa, s)!;
            Assert.Equal(s.Batch * ((s.Channels + 15) / 16), avg.WorkUnits);

            // Random cut points over the units, each range run on its own into an output pre-filled with a marker.
            int[] cuts = RandomCuts(rng, avg.WorkUnits);
            var gotAvg = Enumerable.Repeat((sbyte)99, expectedAvg.Length).ToArray();
            var gotMax = Enumerable.Repeat((sbyte)99, expectedAvg.Length).ToArray();
            for (int c = 0; c + 1 < cuts.Length; c++)
            {
                avg.Run(x, gotAvg, cuts[c], cuts[c + 1]);
                max.Run(x, gotMax, cuts[c], cuts[c + 1]);
            }
            string what = $"{isa} case {i}: {s}, units cut at {string.Join(",", cuts)}";
            Assert.True(expectedAvg.AsSpan().SequenceEqual(gotAvg), "global average pool " + what);
            Assert.True(expectedMax.AsSpan().SequenceEqual(gotMax), "global max pool " + what);
        }
    }

    [Fact]
    public void AGlobalPoolOfManyChannelsSplitsAndGivesTheSameBytesOnOneToFourThreads()
    {
        var rng = new Random(3);
        var b = new ModelBuilder();
        int x = b.AddInput("x", TensorType.Int8, [2, 5, 7, 83], 0.05f, 3);
        int avg = b.GlobalAveragePool("gap", x, 0.04f, -2, -100, 120);
        b.MarkOutput(avg);
        b.MarkOutput(b.GlobalMaxPool("gmp", x));
        var model = EdgeModel.Load(b.Build());
        sbyte[] input = RandomInt8(rng, 2 * 5 * 7 * 83);
        foreach (KernelIsa isa in KernelSelector.Supported())
        {
            byte[]? expected = null;
            for (int threads = 1; threads <= 4; threads++)
            {
                using var it = new Interpreter(model, new InterpreterOptions { Isa = isa, Threads = threads, MinWorkPerChunk = 64 });
                if (threads > 1 && isa != KernelIsa.Scalar)
                    for (int op = 0; op < 2; op++) Assert.True(it.ChunksOf(op) > 1, $"{isa}: global pool {op} not split over {threads} threads");
                input.CopyTo(it.InputInt8());
                it.Invoke();
                byte[] got = [.. it.TensorBytes(model.Outputs[0]), .. it.TensorBytes(model.Outputs[1])];
                expected ??= got;
                Assert.True(expected.AsSpan().SequenceEqual(got), $"{isa}: {threads} threads differ from one");
            }
        }
    }

    /// <summary>
    /// Depthwise layers of few rows, run as random rectangles of rows and 32-channel blocks, each on its own: the reference's
    /// bytes on every ISA and x86 path (AVX-512 where the CPU has it, the AVX2 one forced), over channel counts around the
    /// block and its 16-, 8-lane and scalar tails, folded small layers, strides, dilation, padding, every requantization variant.
    /// </summary>
    [Theory, MemberData(nameof(OptimizedIsas), MemberType = typeof(SimdTestUtil))]
    public void DepthwiseRowsSplitIntoAnyRangesOfChannelBlocksGiveTheReferenceBytes(KernelIsa isa)
    {
        SkipUnlessSupported(isa);
        var rng = new Random(97 + (int)isa);
        bool x86 = isa is KernelIsa.Avx2 or KernelIsa.AvxVnni;
        int[] channelCounts = [33, 40, 47, 63, 64, 65, 96, 100, 127, 144, 161, 200, 16, 8, 31];
        for (int i = 0, n = Cases(60, 20); i < n; i++)
        {
            bool k3 = i % 4 != 3;
            int kh = k3 ? 3 : rng.Next(1, 6), kw = k3 ? 3 : rng.Next(1, 6);
            int c = i < channelCounts.Length ? channelCounts[i] : rng.Next(1, 220);
            int stride = rng.Next(1, 3), dil = rng.Next(5) == 0 ? 2 : 1, pad = rng.Next(4) == 0 ? 0 : 1;
            var s = ConvShape(rng.Next(1, 3), rng.Next(1, 7), rng.Next(1, 40), c, c, kh, kw, stride, stride, dil, dil,
                pad, pad, rng.Next(0, 2), pad, c);
            int maxLog2 = (i % 3) switch { 0 => 0, 1 => 2, _ => -1 };
            foreach (bool avx512 in x86 ? [true, false] : new[] { false })
                CheckConv2D(isa, rng, s, $"split depthwise case {i}{(x86 ? avx512 ? " AVX-512 allowed" : " AVX2 forced" : "")} (multipliers below 2^{maxLog2})",
                    maxLog2, avx512, splitDepthwise: true);
        }
    }

    [Fact]
    public void DepthwiseLayersOfFewRowsSplitOverChannelBlocksAndGiveTheSameBytesOnOneToFourThreads()
    {
        var rng = new Random(5);
        var b = new ModelBuilder();
        int x = b.AddInput("x", TensorType.Int8, [1, 6, 9, 200], 0.05f, 3);
        var (w1, b1) = BuilderModels.Weights(b, "dw1", rng, 200, 3, 3, 1);
        int y = b.DepthwiseConv2D("dw1", x, w1, b1, new ConvParams(1, 1, 1, 1, 1, 1, 1, 1, 200, -128, 127), 0.03f, -4); // 6 rows (output scales that keep most values unsaturated)
        var (w2, b2) = BuilderModels.Weights(b, "dw2", rng, 200, 3, 3, 1);
        y = b.DepthwiseConv2D("dw2", y, w2, b2, new ConvParams(2, 2, 1, 1, 1, 1, 1, 1, 200, -128, 127), 0.015f, 2); // 3 rows
        b.MarkOutput(y);
        var model = EdgeModel.Load(b.Build());
        sbyte[] input = RandomInt8(rng, 6 * 9 * 200);
        byte[]? expected = null;
        foreach (KernelIsa isa in KernelSelector.Supported())
            for (int threads = 1; threads <= 4; threads++)
            {
                using var it = new Interpreter(model, new InterpreterOptions { Isa = isa, Threads = threads, MinWorkPerChunk = 64 });
                if (isa != KernelIsa.Scalar)
                {
                    // 4 threads: more chunks than rows, so rows were split over channel blocks (200 channels: 7 blocks, the last of 8).
                    // 3 threads share 6 and 3 rows evenly: rows alone.
                    if (threads == 4)
                        for (int op = 0; op < 2; op++)
                            Assert.True(it.ChunksOf(op) > (op == 0 ? 6 : 3), $"{isa}: depthwise {op} has {it.ChunksOf(op)} chunks on 4 threads");
                    if (threads == 3)
                        Assert.True(it.ChunksOf(0) is 3 or 6 && it.ChunksOf(1) == 3, $"{isa}: {it.ChunksOf(0)} and {it.ChunksOf(1)} chunks on 3 threads");
                }
                input.CopyTo(it.InputInt8());
                it.Invoke();
                byte[] got = it.TensorBytes(model.Outputs[0]).ToArray();
                expected ??= got;
                Assert.True(expected.AsSpan().SequenceEqual(got), $"{isa}, {threads} threads: differs from the reference on one thread");
            }
    }

    /// <summary>Exposes the protected chunk-count policy.</summary>
    private sealed class Policy : PreparedOp
    {
        public override void Invoke(Span<byte> arena, Span<byte> scratch) { }
        public static int Count(long work, long units, int threads, int minWork) => ChunkCount(work, units, threads, minWork);
        public static (int, int) Range(int units, int chunk, int chunks) => ChunkRange(units, chunk, chunks);
        public static long Busiest(int units, int chunks, int threads) => BusiestThreadUnits(units, chunks, threads);
    }

    /// <summary>The busiest thread's units when chunks are handed out in order to the thread free first (the pool's ticket).</summary>
    private static int Span(int units, int chunks, int threads)
    {
        var load = new int[threads];
        for (int c = 0; c < chunks; c++)
        {
            var (u0, u1) = Policy.Range(units, c, chunks);
            int t = Array.IndexOf(load, load.Min());
            load[t] += u1 - u0;
        }
        return load.Max();
    }

    [Fact]
    public void TheChunkCountBalancesTheThreadsWithinItsLimits()
    {
        // 56 depthwise rows on 4 threads: 16 chunks of 3-4 rows would leave a thread 15 rows; 8 chunks of 7 give 14 each.
        Assert.Equal(8, Policy.Count(1L << 30, 56, 4, 1));
        Assert.Equal(16, Policy.Count(1L << 30, 64, 4, 1));
        Assert.Equal(1, Policy.Count(1L << 30, 100, 1, 1));
        Assert.Equal(1, Policy.Count(1000, 100, 4, 800)); // less than twice the least work: one thread
        var rng = new Random(8);
        for (int i = 0; i < 400; i++)
        {
            int threads = rng.Next(2, 9), units = rng.Next(1, 200), minWork = rng.Next(1, 64);
            long work = (long)units * rng.Next(1, 64);
            int c = Policy.Count(work, units, threads, minWork);
            int max = (int)Math.Max(1, Math.Min(Math.Min(work / minWork, units), 4L * threads));
            string what = $"work {work}, units {units}, threads {threads}, min work {minWork}: {c} chunks";
            Assert.InRange(c, 1, max);
            Assert.Equal(Span(units, c, threads), Policy.Busiest(units, c, threads));
            // No allowed count leaves the busiest thread fewer units.
            for (int other = 2; other <= max; other++)
                Assert.True(Span(units, c, threads) <= Span(units, other, threads), $"{what}, but {other} chunks balance better");
            if (max > 1) Assert.True(c > 1, what);
        }
    }

    [Fact]
    public void EveryChunkOfEveryOpInTurnIsOneInference()
    {
        var model = EdgeModel.Load(ThreadTests.RandomNetwork(new Random(21), minHeight: 20).File);
        var rng = new Random(4);
        sbyte[] input = RandomInt8(rng, model.Tensors[model.Inputs[0]].ElementCount);
        using var whole = new Interpreter(model, new InterpreterOptions { Threads = 1 });
        input.CopyTo(whole.InputInt8());
        whole.Invoke();
        using var it = new Interpreter(model, new InterpreterOptions { Threads = 4, MinWorkPerChunk = 1 });
        input.CopyTo(it.InputInt8());
        int split = 0;
        for (int op = 0; op < model.Ops.Count; op++)
        {
            split += it.ChunksOf(op) > 1 ? 1 : 0;
            for (int c = it.ChunksOf(op) - 1; c >= 0; c--) it.InvokeChunk(op, c); // any order: chunks are independent
        }
        Assert.True(split > 3, $"only {split} ops split");
        Assert.True(whole.OutputInt8(0).SequenceEqual(it.OutputInt8(0)), "chunk by chunk differs from one inference");
        Assert.Throws<ArgumentOutOfRangeException>(() => it.InvokeChunk(0, it.ChunksOf(0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => it.InvokeChunk(model.Ops.Count, 0));
    }
}

/// <summary>
/// GEMM convolutions of few pixels split by (output channel part, pixel tile): any parts and any ranges of units give the
/// reference's bytes on every ISA (x86 with the 512-bit GEMM on and off), and a model's such layers split over 1-4 threads.
/// </summary>
[Collection(Simd.Avx2Switches.Name)] // flips Avx2Gemm.Use512 and Conv2DOptimized.UseWinograd
public class ConvChannelSplitTests
{
    /// <summary>Every optimized ISA with the 512-bit x86 GEMM off, and Avx2 with it on.</summary>
    public static TheoryData<KernelIsa, bool> IsaCases => new()
    {
        { KernelIsa.Vector128, false }, { KernelIsa.AdvSimd, false }, { KernelIsa.AdvSimdDp, false },
        { KernelIsa.Avx2, false }, { KernelIsa.Avx2, true }, { KernelIsa.AvxVnni, false },
    };

    private static void WithSwitches(bool use512, Action body)
    {
        // 3x3 stride 1 takes the gathered GEMM here (Winograd has its own split)
        using var switches = Avx2Switches.Set(use512, winograd: false);
        body();
    }

    [Theory, MemberData(nameof(IsaCases))]
    public void FewPixelsManyChannelsSplitIntoAnyPartsAndRangesGiveTheReferenceBytes(KernelIsa isa, bool use512)
    {
        SkipUnlessSupported(isa);
        WithSwitches(use512, () =>
        {
            var rng = new Random(505 + (int)isa * 2 + (use512 ? 1 : 0));
            for (int i = 0, n = Cases(48, 16); i < n; i++)
            {
                // Output 1-4 x 1-4 pixels (a few tiles), channels around and between the 16-channel panels.
                int cout = i < 12 ? 16 * (i % 6 + 1) + (i / 6 == 0 ? -1 : 1) : rng.Next(1, 130);
                int batch = rng.Next(1, 3), cin = rng.Next(1, 72), parts = rng.Next(1, 10);
                Conv2DShape s = (i % 4) switch
                {
                    0 or 1 => ConvShape(batch, rng.Next(1, 5), rng.Next(1, 5), cin, cout, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1), // pointwise
                    2 => ConvShape(batch, rng.Next(2, 8), rng.Next(2, 8), cin, cout, 3, 3, rng.Next(1, 3), rng.Next(1, 3), 1, 1, 1, 1, 1, 1, 1),
                    _ => rng.Next(3) == 0
                        ? ConvShape(batch, rng.Next(1, 6), rng.Next(1, 6), 2 * rng.Next(1, 12), 2 * Math.Max(1, cout / 2), 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2) // groups: not split
                        : ConvShape(batch, rng.Next(1, 7), rng.Next(1, 7), cin, cout, rng.Next(1, 4), rng.Next(1, 4), rng.Next(1, 3), rng.Next(1, 3),
                            rng.Next(1, 3), rng.Next(1, 3), rng.Next(0, 2), rng.Next(0, 2), rng.Next(0, 2), rng.Next(0, 2), 1),
                };
                CheckConv2D(isa, rng, s, $"512={use512} case {i}", i % 3 == 0 ? 2 : -1, channelParts: parts);
            }
        });
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SmallLayersSplitTheirChannelsAndGiveTheSameBytesOnOneToFourThreads(bool use512)
    {
        WithSwitches(use512, () =>
        {
            var rng = new Random(use512 ? 77 : 78);
            var b = new ModelBuilder();
            int x = b.AddInput("x", TensorType.Int8, [1, 5, 5, 24], 0.05f, 3);
            var (w1, b1) = BuilderModels.Weights(b, "conv", rng, 72, 3, 3, 24); // 3x3 stride 2: 3x3 outputs, one or two tiles
            int y = b.Conv2D("conv", x, w1, b1, new ConvParams(2, 2, 1, 1, 1, 1, 1, 1, 1, -128, 127), 0.05f * 0.0025f * 15 * 70, 2);
            var (w2, b2) = BuilderModels.Weights(b, "pw", rng, 101, 1, 1, 72); // pointwise, 101 channels
            b.MarkOutput(b.Conv2D("pw", y, w2, b2, new ConvParams(1, 1, 1, 1, 0, 0, 0, 0, 1, -128, 127), 0.2f, -1));
            var model = EdgeModel.Load(b.Build());
            sbyte[] input = RandomInt8(rng, 5 * 5 * 24);
            byte[]? expected = null;
            foreach (KernelIsa isa in KernelSelector.Supported().Prepend(KernelIsa.Scalar).Distinct())
                for (int threads = 1; threads <= 4; threads++)
                {
                    using var it = new Interpreter(model, new InterpreterOptions { Isa = isa, Threads = threads, MinWorkPerChunk = 64 });
                    // 9 pixels are 2 or 3 tiles: only channel parts give 4 threads work (the gathered path splits them on x86 only).
                    if (threads > 1 && isa != KernelIsa.Scalar)
                        for (int op = isa == KernelIsa.Avx2 ? 0 : 1; op < 2; op++)
                            Assert.True(it.ChunksOf(op) >= threads, $"{isa}: op {op} of 9 pixels has only {it.ChunksOf(op)} chunks on {threads} threads");
                    input.CopyTo(it.InputInt8());
                    it.Invoke();
                    byte[] got = it.TensorBytes(model.Outputs[0]).ToArray();
                    expected ??= got; // the reference kernels' bytes (Scalar first)
                    Assert.True(expected.AsSpan().SequenceEqual(got), $"{isa}: {threads} threads differ from the reference");
                }
        });
    }
}
