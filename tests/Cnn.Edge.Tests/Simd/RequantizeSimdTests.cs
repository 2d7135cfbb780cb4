using Cnn.Edge.Kernels;
using static Cnn.Edge.Tests.Simd.SimdTestUtil;

namespace Cnn.Edge.Tests.Simd;

public class RequantizeSimdTests
{
    [Theory, MemberData(nameof(OptimizedIsas), MemberType = typeof(SimdTestUtil))]
    public void VectorizedApplyMatchesTheScalarRuleOnEdgeCasesAndRandomValues(KernelIsa isa)
    {
        SkipUnlessSupported(isa);
        // Edge values of x and multiplier crossed with every shift in [-31, 30].
        int[] xs = [int.MinValue, int.MinValue + 1, -(1 << 30), -65536, -3, -2, -1, 0, 1, 2, 3, 65535, 1 << 30, int.MaxValue - 1, int.MaxValue];
        int[] ms = [int.MinValue, -1, 0, 1, 1 << 30, (1 << 30) + 1, 3 << 29, int.MaxValue];
        var x = new List<int>(); var m = new List<int>(); var s = new List<int>();
        foreach (int xv in xs)
            foreach (int mv in ms)
                for (int sh = -31; sh <= 30; sh++) { x.Add(xv); m.Add(mv); s.Add(sh); }
        Check(isa, x.ToArray(), m.ToArray(), s.ToArray());

        // Two million random triples natively (a quarter million under QEMU): full-range x, accumulator-sized x,
        // ties (x a multiple of a power of two).
        var rng = new Random(20261124 + (int)isa);
        int n = Cases(1 << 21, 1 << 18);
        var rx = new int[n]; var rm = new int[n]; var rs = new int[n];
        for (int i = 0; i < n; i++)
        {
            rx[i] = (i % 3) switch
            {
                0 => rng.Next(int.MinValue, int.MaxValue),
                1 => rng.Next(-1 << 24, 1 << 24),
                _ => rng.Next(-1 << 16, 1 << 16) << rng.Next(0, 15),
            };
            rm[i] = i % 5 == 0 ? rng.Next(int.MinValue, int.MaxValue) : rng.Next(1 << 30, int.MaxValue);
            rs[i] = rng.Next(-31, 31);
        }
        Check(isa, rx, rm, rs);
    }

    /// <summary>
    /// The AVX-512 overload of <see cref="X86RequantNoLeft"/> (depthwise and Add kernels), with its constants prepared as the
    /// kernels prepare them: every x edge value against every multiplier it accepts (not int.MinValue) and every shift in
    /// [-31, 0], then random triples.
    /// </summary>
    [Fact]
    public void Avx512NoLeftShiftRequantizationMatchesTheScalarRule()
    {
        if (!System.Runtime.Intrinsics.X86.Avx512F.IsSupported) Assert.Skip("This CPU has no AVX-512F (its kernels use the 256-bit requantization).");
        int[] xs = [int.MinValue, int.MinValue + 1, -(1 << 30), -65536, -3, -2, -1, 0, 1, 2, 3, 65535, 1 << 30, int.MaxValue - 1, int.MaxValue];
        int[] ms = [int.MinValue + 1, -1, 0, 1, 1 << 30, (1 << 30) + 1, 3 << 29, int.MaxValue];
        var x = new List<int>(); var m = new List<int>(); var s = new List<int>();
        foreach (int xv in xs)
            foreach (int mv in ms)
                for (int sh = -31; sh <= 0; sh++) { x.Add(xv); m.Add(mv); s.Add(sh); }
        var rng = new Random(512);
        for (int i = 0; i < 1 << 18; i++)
        {
            x.Add(i % 2 == 0 ? rng.Next(int.MinValue, int.MaxValue) : rng.Next(-1 << 16, 1 << 16) << rng.Next(0, 15));
            m.Add(rng.Next(1 << 30, int.MaxValue));
            s.Add(rng.Next(-31, 1));
        }
        CheckAvx512(x.ToArray(), m.ToArray(), s.ToArray());
    }

    private static void CheckAvx512(int[] x, int[] m, int[] s)
    {
        const int L = 16;
        for (int i = 0; i + L <= x.Length; i += L)
        {
            var mult = new int[L + 1];
            var mask = new int[L];
            var shift = new uint[L];
            for (int k = 0; k < L; k++)
            {
                mult[k] = m[i + k];
                shift[k] = (uint)-s[i + k];
                mask[k] = (int)((1L << -s[i + k]) - 1);
            }
            var v = System.Runtime.Intrinsics.Vector512.Create<int>(x.AsSpan(i, L));
            var mv = System.Runtime.Intrinsics.Vector512.Create<int>(mult.AsSpan(0, L));
            var mo = System.Runtime.Intrinsics.Vector512.Create<int>(mult.AsSpan(1, L));
            var mk = System.Runtime.Intrinsics.Vector512.Create<int>(mask);
            var r = X86RequantNoLeft.Apply(v, mv, mo, mk, mk >> 1, System.Runtime.Intrinsics.Vector512.Create<uint>(shift));
            for (int k = 0; k < L; k++)
            {
                int expected = Requantize.Apply(x[i + k], m[i + k], s[i + k]);
                if (r[k] != expected)
                    Assert.Fail($"AVX-512: Apply(x={x[i + k]}, multiplier={m[i + k]}, shift={s[i + k]}) = {r[k]}, scalar rule gives {expected} (index {i + k})");
            }
        }
    }

    /// <summary>
    /// <see cref="AdvSimdRequantRightClamped"/> (the GEMM tiles' requantization without the rounding fixup, for right shifts and
    /// act_min ≥ the output zero point) differs from the scalar rule only at negative exact ties, and the clamped bytes never
    /// differ: edge and random x (many ties) against multipliers in [2^30, 2^31) and 0, every shift in [-31, -1], random zero
    /// points and clamps. Also checks that the raw results do differ somewhere (the case the clamp has to hide was exercised).
    /// </summary>
    [Fact]
    public void RightShiftClampedRequantizationGivesTheSameClampedBytes()
    {
        if (!System.Runtime.Intrinsics.Arm.AdvSimd.Arm64.IsSupported) Assert.Skip("AdvSimd kernels only (arm64); covered under QEMU.");
        var rng = new Random(20261130);
        int[] xs = [int.MinValue, int.MinValue + 1, -(1 << 30), -65536, -3, -2, -1, 0, 1, 2, 3, 65535, 1 << 30, int.MaxValue];
        int n = Cases(1 << 20, 1 << 17), rawDiffers = 0;
        for (int i = 0; i < n; i += 4)
        {
            var x = new int[4]; var m = new int[4]; var sh = new int[4]; var rneg = new int[4];
            for (int k = 0; k < 4; k++)
            {
                x[k] = (i / 4 % 4) switch
                {
                    0 => xs[rng.Next(xs.Length)],
                    1 => rng.Next(int.MinValue, int.MaxValue),
                    _ => rng.Next(-1 << 16, 1 << 16) << rng.Next(0, 15),
                };
                m[k] = rng.Next(64) == 0 ? 0 : rng.Next(1 << 30, int.MaxValue);
                sh[k] = rng.Next(-31, 0);
                rneg[k] = sh[k];
            }
            int zp = rng.Next(-128, 128), actMin = rng.Next(zp, 128), actMax = rng.Next(actMin, 128);
            var v = System.Runtime.Intrinsics.Vector128.Create(x);
            var got = AdvSimdRequantRightClamped.Apply(v, System.Runtime.Intrinsics.Vector128.Create(m), default, default, System.Runtime.Intrinsics.Vector128.Create(rneg));
            for (int k = 0; k < 4; k++)
            {
                int expected = Requantize.Apply(x[k], m[k], sh[k]);
                rawDiffers += got[k] != expected ? 1 : 0;
                int e = Math.Clamp(unchecked(expected + zp), actMin, actMax), g = Math.Clamp(unchecked(got[k] + zp), actMin, actMax);
                if (e != g)
                    Assert.Fail($"x={x[k]}, multiplier={m[k]}, shift={sh[k]}, zp={zp}, clamp=[{actMin},{actMax}]: {g}, scalar rule {e} (raw {got[k]} vs {expected})");
            }
        }
        Assert.True(rawDiffers > 0, "no negative exact tie was drawn: the test would not see the fixup missing");
    }

    private static void Check(KernelIsa isa, int[] x, int[] m, int[] s)
    {
        var got = new int[x.Length];
        RequantizeSimd.Apply(isa, x, m, s, got);
        for (int i = 0; i < x.Length; i++)
        {
            int expected = Requantize.Apply(x[i], m[i], s[i]);
            if (got[i] != expected)
                Assert.Fail($"{isa}: Apply(x={x[i]}, multiplier={m[i]}, shift={s[i]}) = {got[i]}, scalar rule gives {expected} (index {i})");
        }
    }

    [Fact]
    public void ForcingAnUnsupportedIsaFailsWithAClearMessage()
    {
        KernelIsa missing = KernelSelector.IsSupported(KernelIsa.Avx2) ? KernelIsa.AdvSimd : KernelIsa.Avx2;
        var e = Assert.Throws<NotSupportedException>(() => KernelSelector.Resolve(missing));
        Assert.Contains(missing.ToString(), e.Message);
        Assert.Equal(KernelSelector.Best, KernelSelector.Resolve(KernelIsa.Auto));
        Assert.Contains(KernelSelector.Best, KernelSelector.Supported());
    }
}
