using Cnn.Edge.Kernels;
using static Cnn.Edge.Tests.Simd.SimdTestUtil;

namespace Cnn.Edge.Tests.Simd;

/// <summary>
/// The x86 Winograd F(2x2, 3x3) path of Conv2DOptimized against the reference, with 512-bit and 256-bit GEMMs: channel
/// counts around the 16/32-channel blocks and the 16-channel input vectors (odd Cin: the pad channel), odd output sizes
/// (partial tiles), every padding, batches, tile counts around the 16-tile work unit, scratch full of garbage, and any
/// split of the work units (threads), multipliers below 1/2 (the folded 512-bit epilogue) or up to 4; the int32 bound at its edge (all weights and inputs -128) and just past it (fallback).
/// </summary>
[Collection(Avx2Switches.Name)] // they flip Avx2Gemm.Use512 and Conv2DOptimized.UseWinograd: never at the same time
public class WinogradTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MatchesTheReferenceOverRandomShapes(bool use512)
    {
        SkipUnlessSupported(KernelIsa.Avx2);
        using var switches = Avx2Switches.Set(use512);
        var rng = new Random(use512 ? 2512 : 2256);
        int[] couts = [1, 7, 15, 16, 17, 31, 32, 33, 48, 63, 65];
        int[] cins = [2, 1, 3, 15, 16, 17, 31, 32, 33, 47, 64, 70];
        for (int i = 0; i < 40; i++)
        {
            int cin = i < cins.Length ? cins[i] : rng.Next(1, 80), cout = couts[i % couts.Length];
            int batch = rng.Next(1, 3), h = rng.Next(1, 12), w = rng.Next(1, 12);
            int pt = rng.Next(0, 3), pl = rng.Next(0, 3), pb = rng.Next(0, 3), pr = rng.Next(0, 3);
            var s = ConvShape(batch, h, w, cin, cout, 3, 3, 1, 1, 1, 1, pt, pl, pb, pr, 1);
            Check(rng, s, $"512={use512} case {i}", rng.Next(1, 4), -128);
        }
        // Over 256 tiles (2x2 output pixels): several tile blocks, the last one partial.
        for (int i = 0; i < 3; i++)
        {
            var s = ConvShape(1, rng.Next(33, 41), rng.Next(33, 41), rng.Next(2, 12), couts[rng.Next(couts.Length)], 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
            Check(rng, s, $"512={use512} large case {i}", rng.Next(1, 5), -128);
        }
    }

    [Fact]
    public void TheInt32BoundIsExactAtItsEdgeAndFallsBackPastIt()
    {
        SkipUnlessSupported(KernelIsa.Avx2);
        var rng = new Random(5);
        // 512 Σ|w| ≤ int.MaxValue: Cin = 3640 gives Σ|w| = 9 * 3640 * 128 = 4,193,280 (4 S' = 2,146,959,360 with every x = -128).
        foreach ((int cin, bool winograd) in new[] { (3640, true), (3641, false) })
        {
            var s = ConvShape(1, 4, 5, cin, 2, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1);
            sbyte[] x = new sbyte[s.InputHeight * s.InputWidth * cin];
            sbyte[] wt = new sbyte[2 * 9 * cin];
            Array.Fill(x, sbyte.MinValue);
            Array.Fill(wt, sbyte.MinValue);
            x[^1] = 127; // one pixel differs, so the two output pixels of a row differ
            int[] mult = [1 << 30, 1 << 30], shift = [-23, -24];
            var kernel = Run(s, x, 0, wt, [5, -5], mult, shift, 3, -128, 127, rng, 1, out sbyte[] got, out sbyte[] expected);
            Assert.Equal(winograd, kernel.IsWinograd);
            Assert.Equal(expected, got);
        }
    }

    [Fact]
    public void OtherShapesDoNotTakeTheWinogradPath()
    {
        SkipUnlessSupported(KernelIsa.Avx2);
        var w = new sbyte[9 * 4 * 4];
        int[] mult = [1 << 30, 1 << 30, 1 << 30, 1 << 30], shift = [0, 0, 0, 0];
        Conv2DShape Shape(int sh, int dh, int groups) => ConvShape(1, 8, 8, 4, 4, 3, 3, sh, 1, dh, 1, 1, 1, 1, 1, groups);
        Assert.True(Conv2DOptimized.TryCreate(KernelIsa.Avx2, Shape(1, 1, 1), w, [], mult, shift, 0, 0, -128, 127)!.IsWinograd);
        Assert.False(Conv2DOptimized.TryCreate(KernelIsa.Avx2, Shape(2, 1, 1), w, [], mult, shift, 0, 0, -128, 127)!.IsWinograd);
        Assert.False(Conv2DOptimized.TryCreate(KernelIsa.Avx2, Shape(1, 2, 1), w, [], mult, shift, 0, 0, -128, 127)!.IsWinograd);
        Assert.False(Conv2DOptimized.TryCreate(KernelIsa.Avx2, Shape(1, 1, 2), w.AsSpan(0, 9 * 2 * 4).ToArray(), [], mult, shift, 0, 0, -128, 127)!.IsWinograd);
        Assert.False(Conv2DOptimized.TryCreate(KernelIsa.Vector128, Shape(1, 1, 1), w, [], mult, shift, 0, 0, -128, 127)!.IsWinograd);
    }

    private static void Check(Random rng, in Conv2DShape s, string label, int parts, int minWeight)
    {
        int cout = s.OutputChannels;
        int inZp = rng.Next(-128, 128), outZp = rng.Next(-128, 128);
        sbyte[] x = RandomInt8(rng, s.Batch * s.InputHeight * s.InputWidth * s.InputChannels);
        sbyte[] wt = RandomInt8(rng, cout * 9 * s.InputChannels, minWeight, 127);
        int[] bias = rng.Next(4) == 0 ? [] : Enumerable.Range(0, cout).Select(_ => rng.Next(-1 << 18, 1 << 18)).ToArray();
        bool below1 = rng.Next(2) != 0; // multipliers below 1/2: the 512-bit epilogue's folded requantization (FoldedRequant)
        (int[] mult, int[] shift) = RandomMultipliers(rng, cout, below1 ? -1 : 2);
        (int actMin, int actMax) = RandomClamp(rng, outZp);
        var kernel = Run(s, x, inZp, wt, bias, mult, shift, outZp, actMin, actMax, rng, parts, out sbyte[] got, out sbyte[] expected);
        Assert.True(kernel.IsWinograd, $"{label}: {s} did not take the Winograd path");
        if (below1) Assert.True(kernel.UsesFoldedRequant == System.Runtime.Intrinsics.X86.Avx512BW.IsSupported, $"{label}: folded requantization not used");
        int d = FirstDifference(got, expected);
        if (d >= 0)
            Assert.Fail($"{label}: output[{d}] = {got[d]}, reference {expected[d]}. {s}, parts={parts}, inZp={inZp}, outZp={outZp}, " +
                $"clamp=[{actMin},{actMax}], bias {(bias.Length == 0 ? "none" : "random")}, mult[oc]={mult[d % cout]}, shift[oc]={shift[d % cout]}");
    }

    /// <summary>Reference and optimized outputs; the work units run in <paramref name="parts"/> random pieces on a garbage-filled scratch.</summary>
    private static Conv2DOptimized Run(in Conv2DShape s, sbyte[] x, int inZp, sbyte[] wt, int[] bias, int[] mult, int[] shift,
        int outZp, int actMin, int actMax, Random rng, int parts, out sbyte[] got, out sbyte[] expected)
    {
        expected = new sbyte[s.Batch * s.OutputHeight * s.OutputWidth * s.OutputChannels];
        Conv2DReference.Run(s, x, inZp, wt, bias, mult, shift, outZp, actMin, actMax, expected);
        var kernel = Conv2DOptimized.TryCreate(KernelIsa.Avx2, s, wt, bias, mult, shift, inZp, outZp, actMin, actMax)!;
        got = new sbyte[expected.Length];
        got.AsSpan().Fill(99);
        var scratch = new byte[kernel.ScratchBytes];
        rng.NextBytes(scratch);
        int units = kernel.WorkUnits, u0 = 0;
        for (int p = 1; p <= parts; p++)
        {
            int u1 = p == parts ? units : rng.Next(u0, units + 1);
            kernel.Run(x, got, scratch, u0, u1);
            u0 = u1;
        }
        return kernel;
    }
}
