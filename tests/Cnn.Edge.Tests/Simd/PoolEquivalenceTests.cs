using Cnn.Edge.Kernels;
using static Cnn.Edge.Tests.Simd.SimdTestUtil;

namespace Cnn.Edge.Tests.Simd;

/// <summary>The vectorized pools are bit-identical to the reference over random shapes, channel tails, padding and clamps.</summary>
public class PoolEquivalenceTests
{
    [Theory, MemberData(nameof(OptimizedIsas), MemberType = typeof(SimdTestUtil))]
    public void Pool2DMatchesReferenceOverRandomShapes(KernelIsa isa)
    {
        SkipUnlessSupported(isa);
        var rng = new Random(41 + (int)isa);
        for (int i = 0, n = Cases(150, 50); i < n; i++)
        {
            int kh = rng.Next(1, 5), kw = rng.Next(1, 5), sh = rng.Next(1, 4), sw = rng.Next(1, 4);
            int pt = rng.Next(kh), pl = rng.Next(kw), pb = rng.Next(kh), pr = rng.Next(kw);
            // Large windows now and then: the average's int16 partial sums flush every 256 elements.
            if (i % 10 == 9) { kh = rng.Next(12, 20); kw = rng.Next(12, 20); pt = pl = pb = pr = 0; }
            int h = rng.Next(kh, kh + 9), w = rng.Next(kw, kw + 9), c = rng.Next(1, 45), batch = rng.Next(1, 3);
            var s = new PoolShape(batch, h, w, c, (h + pt + pb - kh) / sh + 1, (w + pl + pr - kw) / sw + 1, kh, kw, sh, sw, pt, pl, pb, pr);
            sbyte[] x = RandomInt8(rng, batch * h * w * c);
            int zp = rng.Next(-128, 128);
            (int lo, int hi) = RandomClamp(rng, zp);
            bool includePad = rng.Next(2) == 0;
            var expected = new sbyte[batch * s.OutputHeight * s.OutputWidth * c];
            var got = new sbyte[expected.Length];
            string what = $"{isa} case {i}: {s}, zp={zp}, clamp=[{lo},{hi}]";

            MaxPool2DReference.Run(s, x, lo, hi, expected);
            var max = Pool2DOptimized.TryCreateMax(isa, s, lo, hi);
            Assert.NotNull(max);
            max.Run(x, got);
            AssertSame(expected, got, "max pool " + what);

            AveragePool2DReference.Run(s, includePad, x, zp, lo, hi, expected);
            var avg = Pool2DOptimized.TryCreateAverage(isa, s, includePad, zp, lo, hi);
            Assert.NotNull(avg);
            avg.Run(x, got);
            AssertSame(expected, got, $"average pool (count_include_pad={includePad}) " + what);
        }
    }

    [Theory, MemberData(nameof(OptimizedIsas), MemberType = typeof(SimdTestUtil))]
    public void GlobalPoolsMatchReferenceOverRandomShapes(KernelIsa isa)
    {
        SkipUnlessSupported(isa);
        var rng = new Random(43 + (int)isa);
        for (int i = 0, n = Cases(120, 40); i < n; i++)
        {
            // Up to 20x20 = 400 pixels: past the 256 pixels of one int16 partial sum.
            var s = new GlobalPoolShape(rng.Next(1, 3), rng.Next(1, 21), rng.Next(1, 21), rng.Next(1, 70));
            sbyte[] x = RandomInt8(rng, s.Batch * s.Height * s.Width * s.Channels);
            int inZp = rng.Next(-128, 128), outZp = rng.Next(-128, 128);
            (int[] m, int[] sh) = RandomMultipliers(rng, 1, (i % 3) switch { 0 => 2, 1 => 0, _ => -1 });
            (int lo, int hi) = RandomClamp(rng, outZp);
            var expected = new sbyte[s.Batch * s.Channels];
            var got = new sbyte[expected.Length];
            string what = $"{isa} case {i}: {s}, inZp={inZp}, outZp={outZp}, mult={m[0]}, shift={sh[0]}, clamp=[{lo},{hi}]";

            GlobalAveragePoolReference.Run(s, x, inZp, m[0], sh[0], outZp, lo, hi, expected);
            var avg = GlobalPoolOptimized.TryCreateAverage(isa, s, inZp, m[0], sh[0], outZp, lo, hi);
            Assert.NotNull(avg);
            avg.Run(x, got);
            AssertSame(expected, got, "global average pool " + what);

            GlobalMaxPoolReference.Run(s, x, expected);
            var max = GlobalPoolOptimized.TryCreateMax(isa, s);
            Assert.NotNull(max);
            max.Run(x, got);
            AssertSame(expected, got, "global max pool " + what);
        }
    }

    [Fact]
    public void ScalarIsaKeepsTheReferencePools()
    {
        var s = new PoolShape(1, 2, 2, 1, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0);
        Assert.Null(Pool2DOptimized.TryCreateMax(KernelIsa.Scalar, s, -128, 127));
        Assert.Null(GlobalPoolOptimized.TryCreateMax(KernelIsa.Scalar, new GlobalPoolShape(1, 2, 2, 1)));
    }

    private static void AssertSame(sbyte[] expected, sbyte[] got, string what)
    {
        int d = FirstDifference(got, expected);
        if (d >= 0) Assert.Fail($"{what}: output[{d}] = {got[d]}, reference {expected[d]}");
    }
}
