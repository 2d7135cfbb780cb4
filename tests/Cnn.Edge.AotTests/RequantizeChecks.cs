using Cnn.Edge.Kernels;

namespace Cnn.Edge.AotTests;

/// <summary>
/// The requantization rule compiled by ILC for arm64 against an independent, wide-integer
/// formulation of the same spec (docs/quantization.md): SQRDMULH = floor((2ab + 2^31) / 2^32)
/// saturated, then a rounding right shift with ties away from zero.
/// </summary>
public static class RequantizeChecks
{
    public static void ApplyMatchesWideReference()
    {
        var rng = new Random(20261124);
        int[] edgeX = [0, 1, -1, 2, -2, 3, -3, int.MaxValue, int.MinValue, int.MaxValue - 1, int.MinValue + 1, 1 << 20, -(1 << 20)];
        int[] edgeM = [0, 1 << 30, (1 << 30) + 1, int.MaxValue, int.MinValue, 3 << 29];
        for (int shift = -31; shift <= 30; shift++)
        {
            foreach (int x in edgeX)
                foreach (int m in edgeM)
                    Compare(x, m, shift);
        }
        for (int i = 0; i < 200_000; i++)
        {
            int shift = rng.Next(-31, 31);
            int m = rng.Next(1 << 30, int.MaxValue);
            // Accumulators of real models stay within about +-2^24; sample that range densely.
            int x = i % 4 == 0 ? rng.Next(int.MinValue, int.MaxValue) : rng.Next(-(1 << 24), 1 << 24);
            Compare(x, m, shift);
        }
    }

    public static void ToInt8Clamps()
    {
        var rng = new Random(7);
        for (int i = 0; i < 50_000; i++)
        {
            int actMin = rng.Next(-128, 128);
            int actMax = rng.Next(actMin, 128);
            int zp = rng.Next(-128, 128);
            int m = rng.Next(1 << 30, int.MaxValue);
            int shift = rng.Next(-12, 2);
            int acc = rng.Next(-(1 << 20), 1 << 20);
            long v = WideApply(acc, m, shift) + zp;
            int expected = (int)Math.Clamp(v, actMin, actMax);
            int got = Requantize.ToInt8(acc, m, shift, zp, actMin, actMax);
            Expect.Equal(expected, got, $"ToInt8(acc={acc}, m={m}, shift={shift}, zp={zp}, clamp=[{actMin},{actMax}])");
        }
    }

    private static void Compare(int x, int m, int shift)
    {
        long expected = WideApply(x, m, shift);
        int got = Requantize.Apply(x, m, shift);
        Expect.Equal(expected, (long)got, $"Apply(x={x}, multiplier={m}, shift={shift})");
    }

    private static long WideApply(int x, int m, int shift)
    {
        Int128 xs = (Int128)x << Math.Max(shift, 0);
        xs = Int128.Clamp(xs, int.MinValue, int.MaxValue);
        // SQRDMULH: floor((2*a*b + 2^31) / 2^32), saturated to int32 (only MinValue*MinValue overflows).
        Int128 high = (2 * xs * m + ((Int128)1 << 31)) >> 32;
        high = Int128.Clamp(high, int.MinValue, int.MaxValue);
        int e = Math.Max(-shift, 0);
        if (e == 0) return (long)high;
        Int128 half = (Int128)1 << (e - 1);
        return (long)(high >= 0 ? (high + half) >> e : -((-high + half) >> e));
    }
}
