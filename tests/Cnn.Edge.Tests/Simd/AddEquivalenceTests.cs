using Cnn.Edge.Kernels;
using static Cnn.Edge.Tests.Simd.SimdTestUtil;

namespace Cnn.Edge.Tests.Simd;

public class AddEquivalenceTests
{
    [Theory, MemberData(nameof(OptimizedIsas), MemberType = typeof(SimdTestUtil))]
    public void AddMatchesReferenceForEveryLengthScaleAndClamp(KernelIsa isa)
    {
        SkipUnlessSupported(isa);
        var rng = new Random(31 + (int)isa);
        for (int i = 0, cases = Cases(300, 100); i < cases; i++)
        {
            int n = i < 70 ? i : rng.Next(70, 600); // every length 0..69 (tails), then longer ones
            double sa = Math.Exp(rng.NextDouble() * 6 - 5), sb = sa * Math.Exp(rng.NextDouble() * 4 - 2), so = Math.Max(sa, sb) * Math.Exp(rng.NextDouble() * 3 - 1);
            int za = rng.Next(-128, 128), zb = rng.Next(-128, 128), zo = rng.Next(-128, 128);
            (int lo, int hi) = RandomClamp(rng, zo);
            var p = AddReference.ComputeParams(sa, za, sb, zb, so, zo, lo, hi);
            sbyte[] a = RandomInt8(rng, n), b = RandomInt8(rng, n);
            var expected = new sbyte[n];
            var got = new sbyte[n];
            AddReference.Run(p, a, b, expected);
            AddOptimized.Run(isa, p, a, b, got);
            int d = FirstDifference(got, expected);
            if (d >= 0)
                Assert.Fail($"{isa} Add case {i}: n={n}, output[{d}] = {got[d]}, reference {expected[d]} (a={a[d]}, b={b[d]}); {p}; scales a={sa:R} b={sb:R} out={so:R}");
        }
    }
}
