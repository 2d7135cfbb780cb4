using Cnn.Edge.Kernels;
using static Cnn.Edge.Tests.Simd.SimdTestUtil;

namespace Cnn.Edge.Tests.Simd;

/// <summary>Every optimized Conv2D / FullyConnected path is bit-identical to the reference over random shapes.</summary>
public class ConvEquivalenceTests
{
    private enum Family { Pointwise, Depthwise, DepthwiseMultiplier, Grouped, General }

    [Theory, MemberData(nameof(OptimizedIsas), MemberType = typeof(SimdTestUtil))]
    public void Conv2DMatchesReferenceOverRandomShapes(KernelIsa isa)
    {
        SkipUnlessSupported(isa);
        var rng = new Random(7 + (int)isa);
        int cases = 0, perFamily = Cases(40, 15);
        foreach (Family f in Enum.GetValues<Family>())
            for (int i = 0; i < perFamily; i++, cases++)
                RunCase(isa, rng, f, i);
        Assert.Equal(5 * perFamily, cases);
    }

    private static void RunCase(KernelIsa isa, Random rng, Family f, int caseIndex)
    {
        int batch = rng.Next(1, 3);
        int h = rng.Next(1, 10), w = rng.Next(1, 10);
        int kh, kw, sh = 1, sw = 1, dh = 1, dw = 1, pt = 0, pl = 0, pb = 0, pr = 0, groups, cin, cout;
        switch (f)
        {
            case Family.Pointwise:
                kh = kw = 1; groups = 1;
                cin = rng.Next(1, 70); cout = rng.Next(1, 40);
                break;
            case Family.Depthwise:
            case Family.DepthwiseMultiplier:
                kh = rng.Next(1, 6); kw = rng.Next(1, 6);
                cin = rng.Next(1, 50); groups = cin;
                cout = f == Family.Depthwise ? cin : cin * rng.Next(2, 4);
                break;
            case Family.Grouped:
                kh = rng.Next(1, 4); kw = rng.Next(1, 4);
                groups = rng.Next(2, 5);
                cin = groups * rng.Next(1, 9); cout = groups * rng.Next(1, 7);
                break;
            default:
                kh = rng.Next(1, 6); kw = rng.Next(1, 6); groups = 1;
                cin = rng.Next(1, 24); cout = rng.Next(1, 24);
                break;
        }
        if (f != Family.Pointwise)
        {
            sh = rng.Next(1, 4); sw = rng.Next(1, 4);
            if (rng.Next(3) == 0) { dh = rng.Next(1, 3); dw = rng.Next(1, 3); }
            pt = rng.Next(0, kh + 1); pl = rng.Next(0, kw + 1); pb = rng.Next(0, kh + 1); pr = rng.Next(0, kw + 1);
        }
        var s = ConvShape(batch, h, w, cin, cout, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, groups);
        // Multipliers up to 4 (left shifts), below 1 and below 1/2: each NEON requantization variant.
        int maxLog2 = (caseIndex % 3) switch { 0 => 2, 1 => 0, _ => -1 };
        CheckConv2D(isa, rng, s, $"{f} case {caseIndex} (multipliers below 2^{maxLog2})", maxLog2);
    }

    /// <summary>
    /// Pointwise layers through every tile shape of the GEMM kernels: output channels in whole 16-channel groups, with a last
    /// group of 9-15, exactly 8 or 1-7 channels (each stored its own way by the 4x16 NEON tiles); K in whole 16-k blocks,
    /// with 1-3 quads of a last block, not a multiple of 4, and past <see cref="GemmPlan.SmlalMaxK"/>; pixel counts that
    /// are and are not whole 4-row tiles (the tiles taken straight from A, then the last rows copied or repeated), one
    /// channel part or several run in random ranges; each requantization variant, the right-shift-only one with
    /// accumulators large enough to saturate its int16 zero-point add.
    /// </summary>
    [Theory, MemberData(nameof(OptimizedIsas), MemberType = typeof(SimdTestUtil))]
    public void PointwiseTilesMatchReferenceOverChannelGroupsAndKTails(KernelIsa isa)
    {
        SkipUnlessSupported(isa);
        var rng = new Random(31 + (int)isa);
        int[] outputs = [16, 48, 25, 24, 21, 8, 5, 1];
        int[] depths = [16, 8, 24, 12, 4, 13, 3, 48, 56, 64, 72, 136];
        int cases = 0;
        foreach (int cout in outputs)
            foreach (int cin in depths)
            {
                int pixels = rng.Next(1, 30);
                int h = rng.Next(1, 4), w = (pixels + h - 1) / h;
                var s = ConvShape(1, h, w, cin, cout, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1);
                int maxLog2 = (cases % 3) switch { 0 => 2, 1 => 0, _ => -1 };
                int parts = cases % 4 == 3 ? rng.Next(2, 4) : 0;
                CheckConv2D(isa, rng, s, $"pointwise K={cin} N={cout} {h}x{w} (multipliers below 2^{maxLog2}, parts {parts})", maxLog2, channelParts: parts);
                cases++;
            }
        Assert.Equal(outputs.Length * depths.Length, cases);
    }

    /// <summary>
    /// Large-K pointwise layers (K ≥ <see cref="GemmPlan.Six16MinK"/>: the 6-row SDOT tiles of <see cref="GemmPlan.Six16"/>, then
    /// 4-row tiles, then the last rows copied or repeated): every pixel count 1-20 (whole 6-row tiles, a 4-row tile after them,
    /// and 1-3 rows left), for K in whole 16-k blocks and with 1-3 quads or a part of a quad of a last block, and channel counts
    /// with a last group of 9-15, exactly 8 or 1-7 channels; each requantization variant, some cases in several channel parts.
    /// </summary>
    [Theory, MemberData(nameof(OptimizedIsas), MemberType = typeof(SimdTestUtil))]
    public void PointwiseLargeKTilesMatchReferenceOverEveryRowCount(KernelIsa isa)
    {
        SkipUnlessSupported(isa);
        var rng = new Random(57 + (int)isa);
        (int K, int N)[] shapes = [(96, 16), (100, 25), (104, 8), (108, 5), (131, 48), (160, 21)];
        int cases = 0;
        foreach ((int cin, int cout) in shapes)
            for (int pixels = 1; pixels <= 20; pixels++)
            {
                int h = pixels % 2 == 0 && cases % 3 == 0 ? 2 : 1, w = pixels / h;
                var s = ConvShape(1, h, w, cin, cout, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1);
                int maxLog2 = (cases % 3) switch { 0 => 2, 1 => 0, _ => -1 };
                int parts = cases % 5 == 4 ? rng.Next(2, 4) : 0;
                CheckConv2D(isa, rng, s, $"pointwise K={cin} N={cout} {h}x{w} (multipliers below 2^{maxLog2}, parts {parts})", maxLog2, channelParts: parts);
                cases++;
            }
        Assert.Equal(shapes.Length * 20, cases);
    }

    [Theory, MemberData(nameof(OptimizedIsas), MemberType = typeof(SimdTestUtil))]
    public void FullyConnectedMatchesReferenceOverRandomShapes(KernelIsa isa)
    {
        SkipUnlessSupported(isa);
        var rng = new Random(99 + (int)isa);
        for (int i = 0, n = Cases(60, 25); i < n; i++)
        {
            int batch = rng.Next(1, 7), cin = rng.Next(1, 200), cout = rng.Next(1, 70);
            var s = new FullyConnectedShape(batch, cin, cout);
            int inZp = rng.Next(-128, 128), outZp = rng.Next(-128, 128);
            bool full = rng.Next(2) == 0;
            sbyte[] x = RandomInt8(rng, batch * cin);
            sbyte[] wt = RandomInt8(rng, cout * cin, full ? -128 : -127, 127);
            int[] bias = rng.Next(4) == 0 ? [] : Enumerable.Range(0, cout).Select(_ => rng.Next(-1 << 18, 1 << 18)).ToArray();
            (int[] mult, int[] shift) = RandomMultipliers(rng, cout, (i % 3) switch { 0 => 2, 1 => 0, _ => -1 });
            (int actMin, int actMax) = RandomClamp(rng, outZp);
            var expected = new sbyte[batch * cout];
            FullyConnectedReference.Run(s, x, inZp, wt, bias, mult, shift, outZp, actMin, actMax, expected);
            var kernel = FullyConnectedOptimized.TryCreate(isa, s, wt, bias, mult, shift, inZp, outZp, actMin, actMax);
            Assert.NotNull(kernel);
            var got = new sbyte[expected.Length];
            kernel.Run(x, got, new byte[kernel.ScratchBytes]);
            int d = FirstDifference(got, expected);
            if (d >= 0)
                Assert.Fail($"{isa} FC case {i}: output[{d}] = {got[d]}, reference {expected[d]}. {s}, inZp={inZp}, outZp={outZp}, " +
                    $"clamp=[{actMin},{actMax}], weights {(full ? "include -128" : "in [-127,127]")}, mult={mult[d % cout]}, shift={shift[d % cout]}");
        }
    }

    [Fact]
    public void ScalarIsaKeepsTheReference()
        => Assert.Null(Conv2DOptimized.TryCreate(KernelIsa.Scalar, new Conv2DShape(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1),
            new sbyte[1], [], [1 << 30], [0], 0, 0, -128, 127));
}
