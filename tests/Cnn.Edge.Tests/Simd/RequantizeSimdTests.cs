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
