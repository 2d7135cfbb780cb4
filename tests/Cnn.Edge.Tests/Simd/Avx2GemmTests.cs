using Cnn.Edge.Kernels;
using static Cnn.Edge.Tests.Simd.SimdTestUtil;

namespace Cnn.Edge.Tests.Simd;

/// <summary>
/// The AVX2 GEMM's two paths (256-bit, and 512-bit when the CPU has AVX-512BW) against the reference, on shapes that
/// cross its blocking: channel counts around multiples of 16 and 32, odd K, K above 2048 (the stack tile),
/// 1 to 4 rows (FullyConnected batch and tile tails), left shifts in some channels only. Also FC split into channel parts,
/// and the convolution tiles of 8 pixels.
/// </summary>
[Collection(Avx2Switches.Name)] // they flip Avx2Gemm.Use512 and Conv2DOptimized.UseWinograd: never at the same time
public class Avx2GemmTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BothVectorWidthsMatchTheReference(bool use512)
    {
        SkipUnlessSupported(KernelIsa.Avx2);
        using var switches = Avx2Switches.Set(use512);
        var rng = new Random(use512 ? 512 : 256);
        int[] couts = [1, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 100];
        for (int i = 0; i < 48; i++)
        {
            int batch = rng.Next(1, 6), cin = i % 8 == 7 ? rng.Next(2040, 2300) : rng.Next(1, 300), cout = couts[i % couts.Length];
            int parts = rng.Next(1, 4);
            var s = new FullyConnectedShape(batch, cin, cout);
            int inZp = rng.Next(-128, 128), outZp = rng.Next(-128, 128);
            sbyte[] x = RandomInt8(rng, batch * cin);
            sbyte[] wt = RandomInt8(rng, cout * cin);
            int[] bias = Enumerable.Range(0, cout).Select(_ => rng.Next(-1 << 18, 1 << 18)).ToArray();
            (int[] mult, int[] shift) = RandomMultipliers(rng, cout);
            if (i % 2 == 0) for (int c = 0; c < cout; c++) shift[c] = Math.Min(shift[c], 0); // the path without left shifts
            (int actMin, int actMax) = RandomClamp(rng, outZp);
            var expected = new sbyte[batch * cout];
            FullyConnectedReference.Run(s, x, inZp, wt, bias, mult, shift, outZp, actMin, actMax, expected);
            var kernel = FullyConnectedOptimized.TryCreate(KernelIsa.Avx2, s, wt, bias, mult, shift, inZp, outZp, actMin, actMax, parts)!;
            var got = new sbyte[expected.Length];
            kernel.Run(x, got, new byte[kernel.ScratchBytes]);
            int d = FirstDifference(got, expected);
            Assert.True(d < 0, $"512={use512} case {i}: output[{Math.Max(d, 0)}] differs. {s}, parts={parts}, inZp={inZp}, outZp={outZp}, clamp=[{actMin},{actMax}]");
        }
    }

    /// <summary>A multiplier of int.MinValue (not from QuantizeMultiplier, but legal) meeting an accumulator of int.MinValue: the one
    /// SQRDMULH saturation, which the epilogue tests only for such layers.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SaturatingMultiplierMatchesTheReference(bool use512)
    {
        SkipUnlessSupported(KernelIsa.Avx2);
        using var switches = Avx2Switches.Set(use512);
        var rng = new Random(77);
        var s = new FullyConnectedShape(3, 40, 20);
        sbyte[] x = RandomInt8(rng, 3 * 40), wt = RandomInt8(rng, 20 * 40);
        int[] bias = Enumerable.Range(0, 20).Select(_ => rng.Next(-1 << 18, 1 << 18)).ToArray();
        (int[] mult, int[] shift) = RandomMultipliers(rng, 20, 0);
        Array.Clear(wt, 3 * 40, 40); // channel 3: acc = bias = int.MinValue exactly
        bias[3] = int.MinValue; mult[3] = int.MinValue; shift[3] = -1;
        mult[5] = int.MinValue; shift[5] = -20;
        var expected = new sbyte[3 * 20];
        FullyConnectedReference.Run(s, x, 5, wt, bias, mult, shift, -3, -128, 127, expected);
        var kernel = FullyConnectedOptimized.TryCreate(KernelIsa.Avx2, s, wt, bias, mult, shift, 5, -3, -128, 127)!;
        var got = new sbyte[expected.Length];
        kernel.Run(x, got, new byte[kernel.ScratchBytes]);
        Assert.Equal(expected, got);
        Assert.Equal(127, expected[3]); // the saturated product, requantized
    }

    /// <summary>
    /// The convolution drivers of the x86 kernel (8-pixel tiles of <see cref="Avx2Gemm.Tile8"/>, a last single pixel with
    /// Tile1): pointwise rows read in place and gathered receptive fields (the 3x3 stride-1 ones too, with Winograd off),
    /// pixel counts around multiples of 8, odd K, channel counts around 16 and 32, strides, dilations, groups, padding.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ConvolutionTilesMatchTheReference(bool use512)
    {
        SkipUnlessSupported(KernelIsa.Avx2);
        using var switches = Avx2Switches.Set(use512, winograd: false);
        var rng = new Random(use512 ? 1512 : 1256);
        int[] couts = [1, 15, 16, 17, 31, 32, 33, 47, 64, 65];
        for (int i = 0; i < 40; i++)
        {
            int cout = couts[i % couts.Length], batch = rng.Next(1, 3), h = rng.Next(1, 9), w = rng.Next(1, 9);
            Conv2DShape s;
            if (i % 2 == 0)
            {
                s = ConvShape(batch, h, w, rng.Next(1, 80), cout, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1);
            }
            else
            {
                int kh = rng.Next(1, 6), kw = rng.Next(1, 6), groups = rng.Next(4) == 0 ? 2 : 1;
                int sh = rng.Next(1, 3), sw = rng.Next(1, 3), dh = rng.Next(1, 3), dw = rng.Next(1, 3);
                if (i % 4 == 1) { kh = kw = 3; sh = sw = dh = dw = 1; groups = 1; } // the Winograd shape, gathered
                s = ConvShape(batch, h, w, groups * rng.Next(1, 24), groups * Math.Max(1, cout / groups), kh, kw, sh, sw, dh, dw,
                    rng.Next(0, kh), rng.Next(0, kw), rng.Next(0, kh), rng.Next(0, kw), groups);
            }
            CheckConv2D(KernelIsa.Avx2, rng, s, $"512={use512} case {i}", i % 3 == 0 ? 2 : -1);
        }
    }

    /// <summary>
    /// The 512-bit tile's folded requantization (<see cref="FoldedRequant"/>) where every multiplier is below 1: pointwise and
    /// gathered convolutions (pixel counts around multiples of 8, channel counts around 16 and 32, the 24 of a half block),
    /// FullyConnected batches of 2-9 rows, all clamps (with and without the [g &lt; T] correction); and a layer with larger
    /// multipliers, which keeps the general epilogue.
    /// </summary>
    [Fact]
    public void FoldedEpilogueMatchesTheReference()
    {
        SkipUnlessSupported(KernelIsa.Avx2);
        using var switches = Avx2Switches.Set(true, winograd: false);
        var rng = new Random(2048);
        int[] couts = [1, 15, 16, 17, 24, 31, 32, 33, 96];
        for (int i = 0; i < 36; i++)
        {
            int cout = couts[i % couts.Length], batch = rng.Next(1, 3), h = rng.Next(1, 9), w = rng.Next(1, 9);
            Conv2DShape s = i % 3 == 2
                ? ConvShape(batch, h, w, rng.Next(1, 40), cout, 3, 3, 2, 2, 1, 1, 1, 1, rng.Next(0, 2), rng.Next(0, 2), 1)
                : ConvShape(batch, h, w, rng.Next(1, 200), cout, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1);
            // Multipliers below 1/2 (every shift negative) or below 1 (some shifts 0: no second rounding).
            CheckConv2D(KernelIsa.Avx2, rng, s, $"folded case {i}", maxLog2: -(i % 2), expectFolded: true);
        }
        CheckConv2D(KernelIsa.Avx2, rng, ConvShape(1, 4, 4, 40, 64, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1), "multipliers up to 4", maxLog2: 2, expectFolded: false);

        for (int i = 0; i < 24; i++)
        {
            CheckFullyConnected(rng, new FullyConnectedShape(rng.Next(2, 10), rng.Next(1, 400), couts[i % couts.Length]), -(i % 2), $"FC case {i}");
        }
    }

    /// <summary>
    /// The 512-bit tile's dense last block (<see cref="GemmPlan.HalfBlock"/>, N % 32 in (16, 24]: 17-24, 56, 88): pointwise and gathered
    /// convolutions (row tiles of 16, 8 and fewer pixels, K ≡ 0-3 mod 4 so the last k pair is single or not), FullyConnected batches,
    /// with the folded and the general epilogue.
    /// </summary>
    [Fact]
    public void DenseHalfBlockMatchesTheReference()
    {
        SkipUnlessSupported(KernelIsa.Avx2);
        using var switches = Avx2Switches.Set(true, winograd: false);
        var rng = new Random(2424);
        int[] couts = [17, 20, 24, 56, 88, 8, 40];
        for (int i = 0; i < 28; i++)
        {
            int cout = couts[i % couts.Length], batch = rng.Next(1, 3), h = rng.Next(1, 9), w = rng.Next(1, 9);
            Conv2DShape s = i % 4 == 3
                ? ConvShape(batch, h, w, rng.Next(1, 30), cout, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)
                : ConvShape(batch, h, w, 4 * rng.Next(1, 40) + i % 4, cout, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1);
            CheckConv2D(KernelIsa.Avx2, rng, s, $"dense half case {i}", maxLog2: i % 2 == 0 ? -1 : 2, expectFolded: i % 2 == 0 ? true : null);
            CheckFullyConnected(rng, new FullyConnectedShape(rng.Next(2, 20), rng.Next(1, 300), cout), i % 2 == 0 ? -1 : 2, $"FC case {i}");
        }
    }

    /// <summary>A FullyConnected of random int8 data, multipliers below 2^<paramref name="maxLog2"/> and clamps against the reference.</summary>
    private static void CheckFullyConnected(Random rng, FullyConnectedShape s, int maxLog2, string label)
    {
        int cout = s.OutputChannels, inZp = rng.Next(-128, 128), outZp = rng.Next(-128, 128);
        sbyte[] x = RandomInt8(rng, s.Batch * s.InputChannels), wt = RandomInt8(rng, cout * s.InputChannels);
        int[] bias = Enumerable.Range(0, cout).Select(_ => rng.Next(-1 << 20, 1 << 20)).ToArray();
        (int[] mult, int[] shift) = RandomMultipliers(rng, cout, maxLog2);
        (int actMin, int actMax) = RandomClamp(rng, outZp);
        var expected = new sbyte[s.Batch * cout];
        FullyConnectedReference.Run(s, x, inZp, wt, bias, mult, shift, outZp, actMin, actMax, expected);
        var kernel = FullyConnectedOptimized.TryCreate(KernelIsa.Avx2, s, wt, bias, mult, shift, inZp, outZp, actMin, actMax)!;
        var got = new sbyte[expected.Length];
        kernel.Run(x, got, new byte[kernel.ScratchBytes]);
        int d = FirstDifference(got, expected);
        Assert.True(d < 0, $"{label}: output[{Math.Max(d, 0)}] differs. {s}, inZp={inZp}, outZp={outZp}, clamp=[{actMin},{actMax}]");
    }
}

/// <summary>The tests that switch the x86 kernels' static options run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class Avx2Switches
{
    public const string Name = "x86 kernel switches";

    /// <summary>Sets <see cref="Avx2Gemm.Use512"/> (skipping the test where the CPU has no AVX-512BW for it) and, when given,
    /// <see cref="Conv2DOptimized.UseWinograd"/>; disposing the result puts both back.</summary>
    public static Restore Set(bool use512, bool? winograd = null)
    {
        Assert.SkipWhen(use512 && !System.Runtime.Intrinsics.X86.Avx512BW.IsSupported, "this CPU has no AVX-512BW");
        var saved = new Restore(Avx2Gemm.Use512, Conv2DOptimized.UseWinograd);
        Avx2Gemm.Use512 = use512;
        if (winograd is bool w) Conv2DOptimized.UseWinograd = w;
        return saved;
    }

    public readonly struct Restore(bool use512, bool winograd) : IDisposable
    {
        public void Dispose()
        {
            Avx2Gemm.Use512 = use512;
            Conv2DOptimized.UseWinograd = winograd;
        }
    }
}
