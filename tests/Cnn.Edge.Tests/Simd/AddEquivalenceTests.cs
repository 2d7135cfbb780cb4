using Cnn.Edge.Kernels;
using static Cnn.Edge.Tests.Simd.SimdTestUtil;

namespace Cnn.Edge.Tests.Simd;

public class AddEquivalenceTests
{
    [Theory, MemberData(nameof(OptimizedIsas), MemberType = typeof(SimdTestUtil))]
    public void AddMatchesReferenceForEveryLengthScaleAndClamp(KernelIsa isa)
    {
        SkipUnlessSupported(isa);
        CheckAdd(isa, new Random(31 + (int)isa), Cases(300, 100), AddOptimized.X86AddPath.Vbmi);
    }

    /// <summary>Every x86 path by name: VBMI lookups and AVX-512 arithmetic where the CPU has them, and the 256-bit path of an
    /// AVX2-only CPU (forced here).</summary>
    [Theory, InlineData("Vbmi"), InlineData("Avx512"), InlineData("Avx2")]
    public void X86AddPathsMatchReference(string path)
    {
        SkipUnlessSupported(KernelIsa.Avx2);
        var allowed = Enum.Parse<AddOptimized.X86AddPath>(path);
        if (allowed != AddOptimized.X86AddPath.Avx2 && !System.Runtime.Intrinsics.X86.Avx512BW.IsSupported
            || allowed == AddOptimized.X86AddPath.Vbmi && !System.Runtime.Intrinsics.X86.Avx512Vbmi.IsSupported)
            Assert.Skip($"This CPU lacks the instructions of the {path} path; its Adds run a slower one (another case of this test).");
        int ran = CheckAdd(KernelIsa.Avx2, new Random(512 + path.Length), 300, allowed);
        // Add multipliers are below 1/2 (inputs) and 2^-18 (output): no left shift, so every case takes the allowed path.
        Assert.Equal(300, ran);
    }

    /// <summary>Every length 0..139 (the 64- and 16-element steps and the scalar tail), then longer ones; random scales, zero
    /// points and clamps. Returns how many cases ran the path <paramref name="allowed"/> (x86).</summary>
    private static int CheckAdd(KernelIsa isa, Random rng, int cases, AddOptimized.X86AddPath allowed)
    {
        int ran = 0;
        for (int i = 0; i < cases; i++)
        {
            int n = i < 140 ? i : rng.Next(140, 600);
            double sa = Math.Exp(rng.NextDouble() * 6 - 5), sb = sa * Math.Exp(rng.NextDouble() * 4 - 2), so = Math.Max(sa, sb) * Math.Exp(rng.NextDouble() * 3 - 1);
            int za = rng.Next(-128, 128), zb = rng.Next(-128, 128), zo = rng.Next(-128, 128);
            (int lo, int hi) = RandomClamp(rng, zo);
            var p = AddReference.ComputeParams(sa, za, sb, zb, so, zo, lo, hi);
            sbyte[] a = RandomInt8(rng, n), b = RandomInt8(rng, n);
            var expected = new sbyte[n];
            var got = new sbyte[n];
            AddReference.Run(p, a, b, expected);
            AddOptimized.Run(isa, p, a, b, got, allowed, AddOptimized.PrepareTables(isa, p));
            var path = AddOptimized.PathFor(p, allowed);
            if (isa is KernelIsa.Avx2 or KernelIsa.AvxVnni && path == allowed) ran++;
            int d = FirstDifference(got, expected);
            if (d >= 0)
                Assert.Fail($"{isa} Add case {i} (x86 path {path}): n={n}, output[{d}] = {got[d]}, reference {expected[d]} (a={a[d]}, b={b[d]}); {p}; scales a={sa:R} b={sb:R} out={so:R}");
        }
        return ran;
    }
}
