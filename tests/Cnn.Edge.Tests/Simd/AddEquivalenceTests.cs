using Cnn.Edge.Kernels;
using static Cnn.Edge.Tests.Simd.SimdTestUtil;

namespace Cnn.Edge.Tests.Simd;

public class AddEquivalenceTests
{
    [Theory, MemberData(nameof(OptimizedIsas), MemberType = typeof(SimdTestUtil))]
    public void AddMatchesReferenceForEveryLengthScaleAndClamp(KernelIsa isa)
    {
        SkipUnlessSupported(isa);
        CheckAdd(isa, new Random(31 + (int)isa), Cases(300, 100), allowAvx512: true);
    }

    /// <summary>Both x86 paths by name: AVX-512 where the CPU has it, and the 256-bit path of an AVX2-only CPU (forced here).</summary>
    [Theory, InlineData(true), InlineData(false)]
    public void X86AddPathsMatchReference(bool avx512)
    {
        SkipUnlessSupported(KernelIsa.Avx2);
        if (avx512 && !System.Runtime.Intrinsics.X86.Avx512BW.IsSupported)
            Assert.Skip("This CPU has no AVX-512BW: its Adds run the 256-bit path (the other case of this test).");
        int ran = CheckAdd(KernelIsa.Avx2, new Random(avx512 ? 512 : 256), 300, avx512);
        // Add multipliers are below 1/2 (inputs) and 2^-18 (output): no left shift, so every case takes the allowed path.
        Assert.Equal(avx512 ? 300 : 0, ran);
    }

    /// <summary>Every length 0..139 (the 64- and 16-element steps and the scalar tail), then longer ones; random scales, zero
    /// points and clamps. Returns how many cases the x86 AVX-512 path ran.</summary>
    private static int CheckAdd(KernelIsa isa, Random rng, int cases, bool allowAvx512)
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
            AddOptimized.Run(isa, p, a, b, got, allowAvx512);
            bool avx512 = isa is KernelIsa.Avx2 or KernelIsa.AvxVnni && allowAvx512 && AddOptimized.UsesAvx512(p);
            if (avx512) ran++;
            int d = FirstDifference(got, expected);
            if (d >= 0)
                Assert.Fail($"{isa} Add case {i} (AVX-512 {(avx512 ? "ran" : "did not run")}): n={n}, output[{d}] = {got[d]}, reference {expected[d]} (a={a[d]}, b={b[d]}); {p}; scales a={sa:R} b={sb:R} out={so:R}");
        }
        return ran;
    }
}
