using Cnn.Edge.Kernels;
using Cnn.Edge.Runtime.Ops;
using Cnn.Edge.Tests.Simd;
using static Cnn.Edge.Tests.Simd.SimdTestUtil;

namespace Cnn.Edge.Tests.Threads;

/// <summary>
/// Inverted-residual blocks fused into one row-streaming op (<see cref="InterpreterOptions.FuseBlocks"/>): fused, unfused and the
/// scalar reference give the same bytes on every ISA and thread count; the pass fuses exactly the blocks whose intermediates
/// have one consumer and are not model outputs, and the arena no longer holds those intermediates.
/// </summary>
public class FusionTests
{
    /// <summary>One random block: what the model builder got, for the failure message.</summary>
    internal sealed record BlockSpec(int Batch, int H, int W, int Cin, int Cexp, int Cout, int K, int Stride, int Dilation,
        int PadTop, int PadLeft, int PadBottom, int PadRight, bool Residual, bool ResidualFirst)
    {
        public override string ToString() =>
            $"[{Batch}x{H}x{W}x{Cin}] -> 1x1 {Cexp} -> dw {K}x{K}/{Stride} dil {Dilation} pad t{PadTop} l{PadLeft} b{PadBottom} r{PadRight} -> 1x1 {Cout}" +
            (Residual ? $" + residual ({(ResidualFirst ? "first" : "second")} Add input)" : "");
    }

    [Theory, MemberData(nameof(OptimizedIsas), MemberType = typeof(SimdTestUtil))]
    public void FusedBlocksGiveTheReferenceBytesOnOneToFourThreads(KernelIsa isa)
    {
        SkipUnlessSupported(isa);
        var rng = new Random(501 + (int)isa);
        int n = Cases(40, 10), varied = 0, split = 0;
        for (int i = 0; i < n; i++)
        {
            BlockSpec spec = RandomSpec(rng, i);
            var b = new ModelBuilder();
            float scale = 0.02f + 0.05f * (float)rng.NextDouble();
            int x = b.AddInput("x", TensorType.Int8, [spec.Batch, spec.H, spec.W, spec.Cin], scale, rng.Next(-20, 20));
            b.MarkOutput(Block(b, rng, "b", x, scale, spec).Output);
            var (values, chunks) = CheckFusedEqualsReference(EdgeModel.Load(b.Build()), isa, rng, expectedBlocks: 1, $"{isa} case {i}: {spec}");
            varied += values > 2 ? 1 : 0;
            split += chunks > 1 ? 1 : 0;
        }
        // The comparisons mean something: most outputs are not stuck at a clamp, and the fused op split over the threads.
        Assert.True(varied >= n / 2, $"only {varied} of {n} cases had outputs of more than 2 distinct values");
        Assert.True(split >= n / 3, $"only {split} of {n} cases split the fused block over the threads");
    }

    /// <summary>Several blocks in a row (the second and third with residual Adds) and a plain convolution between them: each block fuses, and
    /// the arena planned without their intermediates keeps every live tensor (the block inputs live until the fused op) intact.</summary>
    [Theory, MemberData(nameof(OptimizedIsas), MemberType = typeof(SimdTestUtil))]
    public void AChainOfBlocksFusesEachBlockAndGivesTheReferenceBytes(KernelIsa isa)
    {
        SkipUnlessSupported(isa);
        var rng = new Random(77);
        var b = new ModelBuilder();
        int x = b.AddInput("x", TensorType.Int8, [1, 15, 13, 3], 0.03f, 5);
        (int w0, int b0) = BuilderModels.Weights(b, "stem", rng, 12, 3, 3, 3);
        x = b.Conv2D("stem", x, w0, b0, BuilderModels.Conv(2, 1, 1, -3, 127), 0.05f, -3);
        float scale = 0.05f;
        (x, scale) = Block(b, rng, "b1", x, scale, new BlockSpec(1, 8, 7, 12, 37, 20, 3, 1, 1, 1, 1, 1, 1, false, false));
        (x, scale) = Block(b, rng, "b2", x, scale, new BlockSpec(1, 8, 7, 20, 57, 20, 3, 1, 1, 1, 1, 1, 1, true, true));
        (x, scale) = Block(b, rng, "b3", x, scale, new BlockSpec(1, 8, 7, 20, 19, 20, 3, 1, 1, 1, 1, 1, 1, true, false));
        (x, _) = Block(b, rng, "b4", x, scale, new BlockSpec(1, 8, 7, 20, 70, 9, 3, 2, 1, 1, 1, 1, 1, false, false));
        b.MarkOutput(x);
        var (values, chunks) = CheckFusedEqualsReference(EdgeModel.Load(b.Build()), isa, rng, expectedBlocks: 4, $"{isa} chain of 4 blocks");
        Assert.True(values > 10 && chunks > 1, $"{values} distinct output values, fused blocks split into at most {chunks} chunks");
    }

    [Fact]
    public void ABlockDoesNotFuseWhenAnIntermediateHasTwoConsumersOrIsAModelOutput()
    {
        KernelIsa isa = KernelSelector.Best;
        if (isa == KernelIsa.Scalar) Assert.Skip("no optimized ISA on this CPU: nothing fuses");
        var spec = new BlockSpec(1, 9, 9, 8, 30, 8, 3, 1, 1, 1, 1, 1, 1, true, false);
        foreach (string variant in new[] { "expand output read twice", "depthwise output is a model output", "project output read twice",
                     "project output is a model output", "scalar ISA" })
        {
            var rng = new Random(9);
            var b = new ModelBuilder();
            int x = b.AddInput("x", TensorType.Int8, [1, spec.H, spec.W, spec.Cin], 0.04f, 0);
            var t = BlockTensors(b, rng, "b", x, 0.04f, spec);
            if (variant == "expand output read twice") b.MarkOutput(b.GlobalMaxPool("peek", t.Expanded));
            if (variant == "depthwise output is a model output") b.MarkOutput(t.Depthwise);
            if (variant == "project output read twice") b.MarkOutput(b.GlobalMaxPool("peek", t.Projected));
            if (variant == "project output is a model output") b.MarkOutput(t.Projected);
            b.MarkOutput(t.Output);
            var model = EdgeModel.Load(b.Build());
            KernelIsa run = variant == "scalar ISA" ? KernelIsa.Scalar : isa;
            using var fused = new Interpreter(model, new InterpreterOptions { Isa = run, Threads = 1, FuseBlocks = true });
            // A project output used elsewhere leaves the expand → depthwise → project part to fuse, without the Add.
            bool partial = variant.StartsWith("project", StringComparison.Ordinal);
            Assert.True(fused.FusedBlocks == (partial ? 1 : 0), $"{variant}: {fused.FusedBlocks} fused blocks");
            Assert.Equal(!partial, fused.IsMaterialized(t.Expanded));
            Assert.True(fused.IsMaterialized(t.Projected), variant);
            CheckFusedEqualsReference(model, run, rng, fused.FusedBlocks, variant);
        }
    }

    [Fact]
    public void FusionDropsTheIntermediatesFromTheArenaAndRefusesToReadThem()
    {
        KernelIsa isa = KernelSelector.Best;
        if (isa == KernelIsa.Scalar) Assert.Skip("no optimized ISA on this CPU: nothing fuses");
        var rng = new Random(4);
        var b = new ModelBuilder();
        int x = b.AddInput("x", TensorType.Int8, [1, 40, 40, 16], 0.04f, 0);
        var t = BlockTensors(b, rng, "b", x, 0.04f, new BlockSpec(1, 40, 40, 16, 96, 16, 3, 1, 1, 1, 1, 1, 1, true, false));
        b.MarkOutput(t.Output);
        var model = EdgeModel.Load(b.Build());
        using var unfused = new Interpreter(model, new InterpreterOptions { Isa = isa, Threads = 1, FuseBlocks = false });
        using var fused = new Interpreter(model, new InterpreterOptions { Isa = isa, Threads = 1, FuseBlocks = true });
        using var byDefault = new Interpreter(model, new InterpreterOptions { Isa = isa, Threads = 1 });
        Assert.Equal(0, byDefault.FusedBlocks); // no budget given: the faster unfused plan
        Assert.Equal(0, unfused.FusedBlocks);
        Assert.Equal(1, fused.FusedBlocks);
        // Unfused, the expanded and depthwise tensors (40x40x96 each) are alive together; fused, only the input and output.
        Assert.Equal(model.Plan.ArenaBytes, unfused.ArenaBytes);
        Assert.True(unfused.ArenaBytes >= 2 * 40 * 40 * 96, $"unfused arena {unfused.ArenaBytes}");
        Assert.True(fused.ArenaBytes <= 2 * 40 * 40 * 16, $"fused arena {fused.ArenaBytes}");
        Assert.True(fused.ArenaBytes + fused.ScratchBytes < unfused.ArenaBytes / 2, $"fused {fused.ArenaBytes} + {fused.ScratchBytes} scratch");
        Assert.Equal(fused.ArenaBytes, fused.Plan.ArenaBytes);
        foreach (int tensor in new[] { t.Expanded, t.Depthwise, t.Projected })
        {
            Assert.False(fused.IsMaterialized(tensor));
            var e = Assert.Throws<InvalidOperationException>(() => fused.TensorBytes(tensor).Length);
            Assert.Contains("FuseBlocks = false", e.Message);
            Assert.Equal(40 * 40 * (tensor == t.Projected ? 16 : 96), unfused.TensorBytes(tensor).Length);
        }
        // A budget that fits the fused plan but not the unfused one.
        int budget = fused.ArenaBytes + fused.ScratchBytes;
        // By default (FuseBlocks null) the interpreter fuses only because the unfused plan does not fit; a budget both fit: unfused.
        using (var auto = new Interpreter(model, new InterpreterOptions { Isa = isa, Threads = 1, BudgetBytes = budget })) Assert.Equal(1, auto.FusedBlocks);
        using (var roomy = new Interpreter(model, new InterpreterOptions { Isa = isa, Threads = 1, BudgetBytes = unfused.ArenaBytes + unfused.ScratchBytes })) Assert.Equal(0, roomy.FusedBlocks);
        Assert.Throws<ArenaBudgetException>(() => new Interpreter(model, new InterpreterOptions { Isa = isa, Threads = 1, BudgetBytes = budget, FuseBlocks = false }));
    }

    /// <summary>Random shapes around the edge cases: 1x1, 2x2 and odd planes, channel counts off the 16-lane blocks, strides 1 and 2,
    /// asymmetric padding, a 5x5 kernel or dilation 2 now and then, a residual Add where the shapes allow it.</summary>
    private static BlockSpec RandomSpec(Random rng, int i)
    {
        int[] planes = [1, 2, 3, 5, 7, 9, 12, 17];
        int h = i < 3 ? i + 1 : planes[rng.Next(planes.Length)], w = i < 3 ? i + 1 : rng.Next(3) == 0 ? h : planes[rng.Next(planes.Length)];
        int k = rng.Next(6) == 0 ? 5 : 3, dil = rng.Next(6) == 0 ? 2 : 1, stride = rng.Next(2) + 1;
        int half = (k - 1) / 2 * dil;
        bool same = rng.Next(4) != 0;
        int pt = same ? half : rng.Next(0, half + 2), pl = same ? half : rng.Next(0, half + 2);
        int pb = same ? half : rng.Next(0, half + 2), pr = same ? half : rng.Next(0, half + 2);
        // The window must fit the padded plane once.
        while (h + pt + pb < (k - 1) * dil + 1) pb++;
        while (w + pl + pr < (k - 1) * dil + 1) pr++;
        int cin = rng.Next(1, 40), cexp = rng.Next(1, 80);
        bool residual = stride == 1 && same && rng.Next(3) != 0;
        int cout = residual ? cin : rng.Next(1, 40);
        return new BlockSpec(rng.Next(5) == 0 ? 2 : 1, h, w, cin, cexp, cout, k, stride, dil, pt, pl, pb, pr, residual, rng.Next(2) == 0);
    }

    internal static (int Output, float Scale) Block(ModelBuilder b, Random rng, string name, int x, float scale, BlockSpec spec)
    {
        var t = BlockTensors(b, rng, name, x, scale, spec);
        return (t.Output, t.Scale);
    }

    /// <summary>expand 1x1 (clamped like ReLU6 or randomly) → depthwise (clamped) → project 1x1 (linear) [→ Add with x].</summary>
    private static (int Expanded, int Depthwise, int Projected, int Output, float Scale) BlockTensors(ModelBuilder b, Random rng, string name, int x,
        float inScale, BlockSpec spec)
    {
        int[] shape = b.ShapeOf(x);
        var (e, eScale) = Conv(b, rng, name + ".expand", x, spec.Cexp, 1, 1, shape[3], new ConvParams(1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0), inScale);
        var (d, dScale) = Conv(b, rng, name + ".dw", e, spec.Cexp, spec.K, spec.K, 1,
            new ConvParams(spec.Stride, spec.Stride, spec.Dilation, spec.Dilation, spec.PadTop, spec.PadLeft, spec.PadBottom, spec.PadRight, spec.Cexp, 0, 0),
            eScale);
        var (p, pScale) = Conv(b, rng, name + ".project", d, spec.Cout, 1, 1, spec.Cexp, new ConvParams(1, 1, 1, 1, 0, 0, 0, 0, 1, -128, 127), dScale, linear: true);
        if (!spec.Residual) return (e, d, p, p, pScale);
        int zp = rng.Next(-10, 10);
        (int lo, int hi) = RandomClamp(rng, zp);
        float yScale = (inScale + pScale) * 0.8f;
        int y = spec.ResidualFirst ? b.Add(name + ".add", x, p, yScale, zp, lo, hi) : b.Add(name + ".add", p, x, yScale, zp, lo, hi);
        return (e, d, p, y, yScale);
    }

    /// <summary>A convolution with random weights (int8 in [-127, 127], the format's symmetric range), per-channel scales and bias, and an output scale
    /// that keeps random data's sums inside int8; clamped like ReLU6 (or randomly) unless linear.</summary>
    private static (int Tensor, float Scale) Conv(ModelBuilder b, Random rng, string name, int x, int cout, int kh, int kw, int cg, ConvParams p,
        float inScale, bool linear = false)
    {
        var w = RandomInt8(rng, cout * kh * kw * cg, -127, 127);
        var scales = new float[cout];
        for (int c = 0; c < cout; c++) scales[c] = 0.002f + 0.002f * (float)rng.NextDouble();
        var bias = new int[cout];
        for (int c = 0; c < cout; c++) bias[c] = rng.Next(-3000, 3000);
        int wt = b.AddConstantInt8(name + ".w", [cout, kh, kw, cg], w, scales);
        int bt = b.AddConstantInt32(name + ".b", [cout], bias);
        // Measured: outputs of a chain of 4 blocks then spread over 40-240 distinct values per layer (no layer stuck at its clamps).
        float outScale = inScale * 0.003f * 1000f * MathF.Sqrt(kh * kw * cg) / 40f;
        int zp = linear ? rng.Next(-20, 20) : -128 + rng.Next(0, 30);
        (int lo, int hi) = linear ? (-128, 127) : rng.Next(3) == 0 ? RandomClamp(rng, zp) : (zp, Math.Min(127, zp + (int)(6f / outScale)));
        return (b.Conv2D(name, x, wt, bt, p with { ActMin = lo, ActMax = hi }, outScale, zp), outScale);
    }

    /// <summary>The scalar interpreter's output bytes against the ISA's unfused on one thread and fused on 1-4 threads (tiny layers split).
    /// Returns the distinct output byte values and the most chunks an op was split into.</summary>
    private static (int Values, int Chunks) CheckFusedEqualsReference(EdgeModel model, KernelIsa isa, Random rng, int expectedBlocks, string label)
    {
        sbyte[] input = RandomInt8(rng, model.Tensors[model.Inputs[0]].ElementCount);
        byte[] expected = Run(model, new InterpreterOptions { Isa = KernelIsa.Scalar, Threads = 1 }, input, out _, out _);
        byte[] unfused = Run(model, new InterpreterOptions { Isa = isa, Threads = 1, FuseBlocks = false }, input, out int none, out _);
        Assert.Equal(0, none);
        Assert.True(expected.AsSpan().SequenceEqual(unfused), $"{label}: unfused {isa} differs from the reference at byte {Diff(expected, unfused)}");
        int most = 1;
        for (int threads = 1; threads <= 4; threads++)
        {
            // Odd thread counts with the least strip (a refill that keeps the window's shared rows at every step), even ones with the default
            // (small planes then fit at once). This class's tests run one at a time; other classes' interpreters give the same bytes either way.
            FusedInvertedResidualOp.StripBudgetBytes = threads % 2 == 1 ? 0 : FusedInvertedResidualOp.DefaultStripBudgetBytes;
            byte[] got;
            int blocks, chunks;
            try { got = Run(model, new InterpreterOptions { Isa = isa, Threads = threads, MinWorkPerChunk = 64, FuseBlocks = true }, input, out blocks, out chunks); }
            finally { FusedInvertedResidualOp.StripBudgetBytes = FusedInvertedResidualOp.DefaultStripBudgetBytes; }
            most = Math.Max(most, chunks);
            Assert.True(blocks == expectedBlocks, $"{label}: {blocks} fused blocks, expected {expectedBlocks}");
            Assert.True(expected.AsSpan().SequenceEqual(got), $"{label}: fused on {threads} threads differs from the reference at byte {Diff(expected, got)}");
        }
        return (expected.Distinct().Count(), most);
    }

    /// <param name="chunks">The most chunks an op is split into.</param>
    private static byte[] Run(EdgeModel model, InterpreterOptions options, sbyte[] input, out int fusedBlocks, out int chunks)
    {
        using var it = new Interpreter(model, options);
        fusedBlocks = it.FusedBlocks;
        chunks = Enumerable.Range(0, model.Ops.Count).Max(it.ChunksOf);
        input.CopyTo(it.InputInt8());
        it.Invoke();
        var output = new List<byte>();
        foreach (int o in model.Outputs) output.AddRange(it.TensorBytes(o).ToArray());
        return [.. output];
    }

    private static int Diff(byte[] a, byte[] b) => a.AsSpan().CommonPrefixLength(b);
}
