using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
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
    /// <see cref="FoldedRequant"/> (the 512-bit GEMM and depthwise epilogue) against the scalar rule, 16 lanes of different channels
    /// at a time: random multipliers (edge values, negative ones, 0), every right shift 1-31, output zero points, a bias folded into K,
    /// accumulator bounds from 1 to 2^31 - 1 (with shifts 0-31 and multipliers of 0), and accumulators at the bound, at 0 and ±1, at the ties of the second rounding and
    /// next to them, and random. With the correction the result must be y + zp exactly; without it (a clamp with act_min ≥ zp),
    /// the same after that clamp, and both ways of computing it (<see cref="FoldedRequant.Apply16NoCorrection"/>) must agree. Channels outside its conditions must be refused.
    /// </summary>
    [Fact]
    public void FoldedRequantizationMatchesTheScalarRule()
    {
        if (!System.Runtime.Intrinsics.X86.Avx512F.IsSupported) Assert.Skip("This CPU has no AVX-512F (no folded 512-bit epilogue).");
        Assert.False(FoldedRequant.TryChannel(0, 1000, int.MinValue, -5, 0, out _, out _, out _)); // the SQRDMULH saturation
        Assert.False(FoldedRequant.TryChannel(0, 1000, 1 << 30, 3, 0, out _, out _, out _));        // a left shift
        Assert.False(FoldedRequant.TryChannel(0, int.MaxValue, int.MaxValue, -1, 127, out _, out _, out _)); // g beyond int32
        Assert.False(FoldedRequant.TryChannel(0, 1000, 1 << 30, -31, 100, out _, out _, out _));    // T beyond int32
        Assert.True(FoldedRequant.TryChannel(0, 1000, 0, 7, 5, out _, out _, out int r0) && r0 == 0); // multiplier 0: y = 0 for any shift

        const int L = 16;
        var rng = new Random(2031);
        int[] x = new int[L], acc = new int[L], m = new int[L], shift = new int[L], t = new int[L], r = new int[L], mOdd = new int[L];
        long[] kEven = new long[L / 2], kOdd = new long[L / 2];
        ulong[] sEven = new ulong[L / 2], sOdd = new ulong[L / 2];
        int accepted = 0, tried = 0;
        for (int step = 0; step < Cases(1 << 16, 1 << 13); step++)
        {
            int zp = rng.Next(-128, 128);
            for (int lane = 0; lane < L; lane++)
            {
                long b;
                int bound;
                while (true)
                {
                    m[lane] = rng.Next(8) switch
                    {
                        0 => 0, 1 => 1 << 30, 2 => int.MaxValue, 3 => rng.Next(int.MinValue + 1, 0), _ => rng.Next(1 << 30, int.MaxValue),
                    };
                    shift[lane] = -rng.Next(0, 32);
                    bound = rng.Next(3) == 0 ? rng.Next(1, int.MaxValue) : Math.Max(1, (1 << rng.Next(0, 31)) - rng.Next(0, 3));
                    b = rng.Next(-1 << 24, 1 << 24);
                    tried++;
                    if (FoldedRequant.TryChannel(b, bound, m[lane], shift[lane], zp, out long k, out t[lane], out r[lane]))
                    {
                        accepted++;
                        if (lane % 2 == 0) kEven[lane / 2] = k; else kOdd[lane / 2] = k;
                        break;
                    }
                }
                long xv;
                int rr = r[lane];
                switch (rng.Next(6))
                {
                    case 0: xv = rng.Next(2) == 0 ? bound : -bound; break;
                    case 1: xv = rng.Next(-1, 2); break;
                    case 2: xv = bound - rng.Next(0, 3); break;
                    case 3:
                    case 4:
                        // Near a tie of the second rounding: h = (2j + 1) 2^(r-1), h = floor((x m + 2^30) / 2^31).
                        if (m[lane] == 0 || rr == 0) goto default;
                        double h = (2.0 * rng.Next(-1000, 1000) + 1) * Math.Pow(2, rr - 1);
                        xv = (long)Math.Round(h * 2147483648.0 / m[lane]) + rng.Next(-2, 3);
                        break;
                    default: xv = rng.NextInt64(-bound, (long)bound + 1); break;
                }
                xv = Math.Clamp(xv, -bound, bound);
                long a = xv - b;
                if (a < int.MinValue || a > int.MaxValue)
                {
                    // The kernel's accumulator is an int32: here the bias stays out of K (K with a bias of 0 is accepted too).
                    a = xv;
                    Assert.True(FoldedRequant.TryChannel(0, bound, m[lane], shift[lane], zp, out long k0, out _, out _));
                    if (lane % 2 == 0) kEven[lane / 2] = k0; else kOdd[lane / 2] = k0;
                }
                x[lane] = (int)xv;
                acc[lane] = (int)a;
            }
            for (int lane = 0; lane < L; lane += 2)
            {
                mOdd[lane] = m[lane + 1];
                sEven[lane / 2] = (ulong)(31 + r[lane]);
                sOdd[lane / 2] = (ulong)(31 + r[lane + 1]);
            }
            var args = (V(acc), V(m), V(mOdd), Vector512.Create<long>(kEven), Vector512.Create<long>(kOdd), V(t), Vector512.Create<uint>(MemoryMarshal.Cast<int, uint>(r.AsSpan())));
            Vector512<ulong> se = Vector512.Create<ulong>(sEven), so = Vector512.Create<ulong>(sOdd);
            Vector512<int> exact = FoldedRequant.Apply16(args.Item1, args.Item2, args.Item3, args.Item4, args.Item5, args.Item6, args.Item7, true);
            Vector512<int> relu = FoldedRequant.Apply16(args.Item1, args.Item2, args.Item3, args.Item4, args.Item5, args.Item6, args.Item7, false);
            Vector512<int> relu64 = FoldedRequant.Apply16NoCorrection(args.Item1, args.Item2, args.Item3, args.Item4, args.Item5, se, so);
            for (int lane = 0; lane < L; lane++)
            {
                int expected = unchecked(Requantize.Apply(x[lane], m[lane], shift[lane]) + zp);
                string at = $"x={x[lane]} (accumulator {acc[lane]}), multiplier={m[lane]}, shift={shift[lane]}, zp={zp}";
                if (exact[lane] != expected) Assert.Fail($"folded: {exact[lane]}, scalar rule {expected}: {at}");
                if (Math.Max(relu[lane], zp) != Math.Max(expected, zp)) Assert.Fail($"folded without correction, clamped at zp: {relu[lane]}, scalar rule {expected}: {at}");
                if (relu64[lane] != relu[lane]) Assert.Fail($"folded without correction, 64-bit shifts: {relu64[lane]}, 32-bit {relu[lane]}: {at}");
            }
        }
        Assert.True(accepted * 4 > tried, $"only {accepted} of {tried} random channels allow the folded form");

        static Vector512<int> V(int[] a) => Vector512.Create<int>(a);
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
