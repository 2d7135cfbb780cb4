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

    /// <summary>
    /// Every NEON Add variant (input rescalings with multiplier 1/2 or a right shift in either order, the general SQSHL form for
    /// shifts ≥ 0 and odd multipliers, each clamp form, and the reference for parameters outside int8) against the reference:
    /// model-like parameters, then raw ones with shifts in [-31, 30], extreme multipliers and clamps; lengths 0..47 (tails of
    /// 1-15 after 0-2 steps), then longer.
    /// </summary>
    [Theory, InlineData(KernelIsa.AdvSimd), InlineData(KernelIsa.AdvSimdDp)]
    public void NeonAddVariantsMatchReference(KernelIsa isa)
    {
        SkipUnlessSupported(isa);
        var rng = new Random(77 + (int)isa);
        var seen = new HashSet<(AddOptimized.NeonAddPath, int)>();
        int cases = Cases(3000, 900);
        for (int i = 0; i < cases; i++)
        {
            int n = i < 48 ? i : rng.Next(48, 300);
            AddParams p = rng.Next(3) == 0 ? ModelLike(rng) : Raw(rng);
            var path = AddOptimized.NeonPathFor(p);
            seen.Add(path);
            sbyte[] a = RandomInt8(rng, n), b = RandomInt8(rng, n);
            var expected = new sbyte[n];
            var got = new sbyte[n];
            AddReference.Run(p, a, b, expected);
            AddOptimized.Run(isa, p, a, b, got);
            int d = FirstDifference(got, expected);
            if (d >= 0)
                Assert.Fail($"{isa} Add case {i} ({path}): n={n}, output[{d}] = {got[d]}, reference {expected[d]} (a={a[d]}, b={b[d]}); {p}");
        }
        foreach (var path in new[] { AddOptimized.NeonAddPath.HalfRightRight, AddOptimized.NeonAddPath.HalfHalfRight, AddOptimized.NeonAddPath.RightRightRight })
            for (int clamp = 0; clamp < 3; clamp++)
                Assert.Contains((path, clamp), seen);
        Assert.Contains((AddOptimized.NeonAddPath.General, 2), seen);
        Assert.Contains((AddOptimized.NeonAddPath.Reference, 2), seen);

        // As a model's Adds: ComputeParams, the input of the larger scale (either one) has multiplier 1/2, sometimes both.
        static AddParams ModelLike(Random rng)
        {
            double sa = Math.Exp(rng.NextDouble() * 6 - 5);
            double sb = rng.Next(4) == 0 ? sa : sa * Math.Exp(rng.NextDouble() * 4 - 2), so = Math.Max(sa, sb) * Math.Exp(rng.NextDouble() * 3 - 1);
            int zo = rng.Next(-128, 128);
            (int lo, int hi) = RandomClamp(rng, zo);
            return AddReference.ComputeParams(sa, rng.Next(-128, 128), sb, rng.Next(-128, 128), so, zo, lo, hi);
        }

        static AddParams Raw(Random rng)
        {
            (int ma, int sa) = Multiplier(rng, true);
            (int mb, int sb) = Multiplier(rng, true);
            (int mo, int so) = Multiplier(rng, false);
            int zo = rng.Next(-128, 128);
            (int lo, int hi) = RandomClamp(rng, zo);
            if (rng.Next(40) == 0) zo = 300; // outside int8: the reference runs
            if (rng.Next(40) == 0) (lo, hi) = (hi, lo);
            return new AddParams(rng.Next(-128, 128), ma, sa, rng.Next(-128, 128), mb, sb, zo, mo, so, lo, hi);
        }

        static (int, int) Multiplier(Random rng, bool input) => rng.Next(6) switch
        {
            0 => (1 << 30, 0),
            1 => ((int)rng.NextInt64(1L << 30, 1L << 31), rng.Next(-31, 0)),
            2 => ((int)rng.NextInt64(1L << 30, 1L << 31), rng.Next(-31, 31)),
            3 => (new[] { int.MaxValue, 1 << 30, (1 << 30) + 1, 0, 1 }[rng.Next(5)], new[] { -31, -30, -1, 0, 1, 30 }[rng.Next(6)]),
            _ => input ? ((int)rng.NextInt64(1L << 30, 1L << 31), rng.Next(-12, 0)) : ((int)rng.NextInt64(1L << 30, 1L << 31), rng.Next(-31, -15)),
        };
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
