using Cnn.Edge.Kernels;

namespace Cnn.Edge.Tests.Simd;

/// <summary>ISA sweep for the bit-exactness tests: every optimized ISA, skipped only when this CPU (or QEMU model) lacks it.</summary>
internal static class SimdTestUtil
{
    /// <summary>
    /// Case counts: the arm64 runs happen under QEMU in CI (tens of times slower than native), so they sweep
    /// fewer random cases; the fixed edge cases are the same everywhere.
    /// </summary>
    public static int Cases(int native, int arm64)
        => System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? arm64 : native;

    public static void SkipUnlessSupported(KernelIsa isa)
    {
        if (!KernelSelector.IsSupported(isa))
            Assert.Skip($"{isa} is not supported by this CPU (best here: {KernelSelector.Best}); it is covered on a machine or QEMU model that has it.");
    }

    public static sbyte[] RandomInt8(Random rng, int count, int min = -128, int max = 127)
    {
        var a = new sbyte[count];
        for (int i = 0; i < count; i++) a[i] = (sbyte)rng.Next(min, max + 1);
        return a;
    }

    /// <summary>Per-channel (multiplier, shift) from real multipliers spread over 2^-14 .. 4 (left shifts included).</summary>
    public static (int[] Mult, int[] Shift) RandomMultipliers(Random rng, int n)
    {
        var m = new int[n];
        var s = new int[n];
        for (int i = 0; i < n; i++) (m[i], s[i]) = Requantize.QuantizeMultiplier(Math.Pow(2, -14 + rng.NextDouble() * 16));
        return (m, s);
    }

    public static (int Min, int Max) RandomClamp(Random rng, int zeroPoint) => rng.Next(4) switch
    {
        0 => (-128, 127),
        1 => (zeroPoint, 127),
        2 => (zeroPoint, Math.Min(127, zeroPoint + rng.Next(1, 100))),
        _ => (Math.Min(-128 + rng.Next(100), 0), Math.Max(127 - rng.Next(100), 1)),
    };

    /// <summary>Index of the first difference, or -1.</summary>
    public static int FirstDifference(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b)
    {
        for (int i = 0; i < a.Length; i++) if (a[i] != b[i]) return i;
        return a.Length == b.Length ? -1 : a.Length;
    }
}
