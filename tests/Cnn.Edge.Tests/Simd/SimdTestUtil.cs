using Cnn.Edge.Kernels;

namespace Cnn.Edge.Tests.Simd;

/// <summary>ISA sweep for the bit-exactness tests: every optimized ISA, skipped only when this CPU (or QEMU model) lacks it.</summary>
internal static class SimdTestUtil
{
    /// <summary>
    /// Case counts: the arm64 runs happen under QEMU in CI (tens of times slower than native), so they sweep
    /// fewer random cases; the fixed edge cases are the same everywhere.
    /// </summary>
    public static int Cases(int native, int arm64)
        => System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? arm64 : native;

    /// <summary>Every optimized ISA: the theories' data (each test skips those this CPU lacks).</summary>
    public static TheoryData<KernelIsa> OptimizedIsas => new(KernelIsa.Vector128, KernelIsa.AdvSimd, KernelIsa.AdvSimdDp, KernelIsa.Avx2, KernelIsa.AvxVnni);

    public static void SkipUnlessSupported(KernelIsa isa)
    {
        if (!KernelSelector.IsSupported(isa))
            Assert.Skip($"{isa} is not supported by this CPU (best here: {KernelSelector.Best}); it is covered on a machine or QEMU model that has it.");
    }

    public static sbyte[] RandomInt8(Random rng, int count, int min = -128, int max = 127)
    {
        var a = new sbyte[count];
        for (int i = 0; i < count; i++) a[i] = (sbyte)rng.Next(min, max + 1);
        return a;
    }

    /// <summary>
    /// Per-channel (multiplier, shift) from real multipliers spread over 2^-14 .. 2^<paramref name="maxLog2"/>:
    /// 2 includes left shifts, 0 gives shifts ≤ 0 only, -1 right shifts only (the NEON requantization variants).
    /// </summary>
    public static (int[] Mult, int[] Shift) RandomMultipliers(Random rng, int n, int maxLog2 = 2)
    {
        var m = new int[n];
        var s = new int[n];
        for (int i = 0; i < n; i++)
            (m[i], s[i]) = Requantize.QuantizeMultiplier(Math.Min(Math.Pow(2, -14 + rng.NextDouble() * (14 + maxLog2)), Math.Pow(2, maxLog2) * 0.999));
        return (m, s);
    }

    /// <summary>
    /// Runs <see cref="Conv2DOptimized"/> with <paramref name="isa"/> on random data of shape <paramref name="s"/> and
    /// fails with every parameter unless it matches <see cref="Conv2DReference"/> byte for byte.
    /// Half the cases keep weights in [-127, 127] (the int16 pairing of products), half include -128.
    /// </summary>
    /// <param name="depthwiseAvx512">Null: through <see cref="Conv2DOptimized"/> (the path a model takes). True or false: a depthwise
    /// shape straight through <see cref="DepthwiseConv"/> with the AVX-512 path allowed or not (the AVX2 path of a CPU without it),
    /// checking that the AVX-512 path ran exactly when allowed, supported, and every shift is ≤ 0.</param>
    /// <param name="splitDepthwise">With <paramref name="depthwiseAvx512"/>: the output as random rectangles of rows and channel blocks,
    /// each run on its own (any tiling must give the reference bytes).</param>
    /// <param name="channelParts">Above 0: the kernel is prepared with that many output channel parts (threads' split of the GEMM
    /// paths), which must be used when the shape allows it, and its work units are run in random ranges, each on its own.</param>
    /// <param name="expectFolded">When given, the kernel must (or must not) use the 512-bit x86 folded requantization
    /// (<see cref="FoldedRequant"/>): through <see cref="Conv2DOptimized"/> or <see cref="DepthwiseConv"/>.</param>
    public static void CheckConv2D(KernelIsa isa, Random rng, in Conv2DShape s, string label, int maxLog2 = 2, bool? depthwiseAvx512 = null,
        bool splitDepthwise = false, int channelParts = 0, bool? expectFolded = null)
    {
        int cout = s.OutputChannels;
        int inZp = rng.Next(-128, 128), outZp = rng.Next(-128, 128);
        bool full = rng.Next(2) == 0;
        sbyte[] x = RandomInt8(rng, s.Batch * s.InputHeight * s.InputWidth * s.InputChannels);
        sbyte[] wt = RandomInt8(rng, cout * s.KernelHeight * s.KernelWidth * s.InputChannelsPerGroup, full ? -128 : -127, 127);
        int[] bias = rng.Next(4) == 0 ? [] : Enumerable.Range(0, cout).Select(_ => rng.Next(-1 << 18, 1 << 18)).ToArray();
        (int[] mult, int[] shift) = RandomMultipliers(rng, cout, maxLog2);
        (int actMin, int actMax) = RandomClamp(rng, outZp);

        var expected = new sbyte[s.Batch * s.OutputHeight * s.OutputWidth * cout];
        Conv2DReference.Run(s, x, inZp, wt, bias, mult, shift, outZp, actMin, actMax, expected);
        var got = new sbyte[expected.Length];
        got.AsSpan().Fill(99);
        if (depthwiseAvx512 is bool allow)
        {
            var dw = new DepthwiseConv(isa, s, wt, bias, mult, shift, inZp, outZp, actMin, actMax, allow);
            bool expectAvx512 = allow && System.Runtime.Intrinsics.X86.Avx512BW.VL.IsSupported && X86RequantNoLeft.Applies(mult, shift);
            Assert.True(dw.UsesAvx512 == expectAvx512, $"{label}: AVX-512 path {(dw.UsesAvx512 ? "ran" : "did not run")}");
            if (expectFolded is bool f) Assert.True(dw.UsesFoldedRequant == f, $"{label}: folded requantization {(f ? "not " : "")}used");
            if (splitDepthwise)
            {
                int[] rowCuts = RandomCuts(rng, s.Batch * s.OutputHeight);
                var tiles = new List<string>();
                for (int r = 0; r + 1 < rowCuts.Length; r++)
                {
                    int[] blockCuts = RandomCuts(rng, dw.ChannelBlocks);
                    for (int b = 0; b + 1 < blockCuts.Length; b++)
                        dw.Run(x, got, rowCuts[r], rowCuts[r + 1], blockCuts[b], blockCuts[b + 1]);
                    tiles.Add($"rows {rowCuts[r]}-{rowCuts[r + 1]}: blocks cut at {string.Join(",", blockCuts)}");
                }
                label += $" ({string.Join("; ", tiles)})";
            }
            else dw.Run(x, got, 0, s.Batch * s.OutputHeight);
        }
        else if (channelParts > 0)
        {
            var kernel = Conv2DOptimized.TryCreate(isa, s, wt, bias, mult, shift, inZp, outZp, actMin, actMax, channelParts);
            Assert.NotNull(kernel);
            int panels = (s.OutputChannels + Conv2DOptimized.ChannelPanel - 1) / Conv2DOptimized.ChannelPanel;
            Assert.Equal(kernel.CanSplitChannels ? Math.Min(channelParts, panels) : 1, kernel.ChannelParts);
            if (kernel.CanSplitChannels) Assert.Equal(kernel.Tiles * kernel.ChannelParts, kernel.WorkUnits);
            int units = kernel.WorkUnits;
            int[] cuts = RandomCuts(rng, units);
            label += $", {kernel.ChannelParts} channel parts, units cut at {string.Join(",", cuts)}";
            var scratch = new byte[kernel.ScratchBytes];
            for (int c = cuts.Length - 2; c >= 0; c--) kernel.Run(x, got, scratch, cuts[c], cuts[c + 1]); // any order
        }
        else
        {
            var kernel = Conv2DOptimized.TryCreate(isa, s, wt, bias, mult, shift, inZp, outZp, actMin, actMax);
            Assert.NotNull(kernel);
            Assert.Equal(isa, kernel.Isa);
            if (expectFolded is bool f) Assert.True(kernel.UsesFoldedRequant == f, $"{label}: folded requantization {(f ? "not " : "")}used");
            kernel.Run(x, got, new byte[kernel.ScratchBytes]);
        }
        int d = FirstDifference(got, expected);
        if (d >= 0)
            Assert.Fail($"{isa} {label}: output[{d}] = {got[d]}, reference {expected[d]}. {s}, inZp={inZp}, outZp={outZp}, " +
                $"clamp=[{actMin},{actMax}], weights {(full ? "include -128" : "in [-127,127]")}, bias {(bias.Length == 0 ? "none" : "random")}, " +
                $"mult[oc]={mult[d % cout]}, shift[oc]={shift[d % cout]}");
    }

    /// <summary>0, a random subset of 1 .. units - 1 in order, then units: the bounds of a random split of units into ranges.</summary>
    public static int[] RandomCuts(Random rng, int units)
        => Enumerable.Range(1, Math.Max(0, units - 1)).Where(_ => rng.Next(3) == 0).Prepend(0).Append(units).ToArray();

    /// <summary>The output size rule of the reference; grows the input until the (dilated) window fits once.</summary>
    public static Conv2DShape ConvShape(int batch, int h, int w, int cin, int cout, int kh, int kw, int sh, int sw, int dh, int dw,
        int pt, int pl, int pb, int pr, int groups)
    {
        while ((h + pt + pb - dh * (kh - 1) - 1) < 0) h++;
        while ((w + pl + pr - dw * (kw - 1) - 1) < 0) w++;
        int oh = (h + pt + pb - dh * (kh - 1) - 1) / sh + 1;
        int ow = (w + pl + pr - dw * (kw - 1) - 1) / sw + 1;
        return new Conv2DShape(batch, h, w, cin, oh, ow, cout, kh, kw, sh, sw, dh, dw, pt, pl, groups);
    }

    public static (int Min, int Max) RandomClamp(Random rng, int zeroPoint) => rng.Next(4) switch
    {
        0 => (-128, 127),
        1 => (zeroPoint, 127),
        2 => (zeroPoint, Math.Min(127, zeroPoint + rng.Next(1, 100))),
        _ => (Math.Min(-128 + rng.Next(100), 0), Math.Max(127 - rng.Next(100), 1)),
    };

    /// <summary>Index of the first difference, or -1.</summary>
    public static int FirstDifference(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b)
    {
        for (int i = 0; i < a.Length; i++) if (a[i] != b[i]) return i;
        return a.Length == b.Length ? -1 : a.Length;
    }
}
