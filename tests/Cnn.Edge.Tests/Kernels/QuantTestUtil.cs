using Cnn.Edge.Kernels;

namespace Cnn.Edge.Tests.Kernels;

/// <summary>Helpers for checking int8 kernels against an independent float computation in double.</summary>
internal static class QuantTestUtil
{
    /// <summary>The float model of quantization: round half away from zero, add the zero point, clamp.</summary>
    public static int QuantizeReal(double real, double scale, int zeroPoint, int min, int max)
    {
        double q = Math.Round(real / scale, MidpointRounding.AwayFromZero) + zeroPoint;
        return (int)Math.Clamp(q, min, max);
    }

    public static sbyte[] RandomInt8(Random rng, int count, int min = -128, int max = 127)
    {
        var a = new sbyte[count];
        for (int i = 0; i < count; i++) a[i] = (sbyte)rng.Next(min, max + 1);
        return a;
    }

    /// <summary>Log-uniform scale in [lo, hi], rounded to float as a model file stores it.</summary>
    public static float RandomScale(Random rng, double lo, double hi)
        => (float)Math.Exp(Math.Log(lo) + rng.NextDouble() * (Math.Log(hi) - Math.Log(lo)));

    /// <summary>A random fused activation range: none, ReLU, a ReLU6-like upper clamp, or a random window.</summary>
    public static (int Min, int Max) RandomClamp(Random rng, int zeroPoint)
    {
        switch (rng.Next(4))
        {
            case 0: return (-128, 127);
            case 1: return (Math.Max(-128, zeroPoint), 127);
            case 2: return (Math.Max(-128, zeroPoint), Math.Min(127, zeroPoint + rng.Next(1, 120)));
            default:
                int a = rng.Next(-128, 128), b = rng.Next(-128, 128);
                return (Math.Min(a, b), Math.Max(a, b));
        }
    }

    public static (int[] Multipliers, int[] Shifts) Multipliers(IReadOnlyList<double> real)
    {
        var m = new int[real.Count];
        var s = new int[real.Count];
        for (int i = 0; i < real.Count; i++) (m[i], s[i]) = Requantize.QuantizeMultiplier(real[i]);
        return (m, s);
    }

    /// <summary>
    /// Tracks int8 results against float expectations: every element within 1 LSB (else fails with the
    /// case description), and off-by-one results rare (they happen only near rounding ties).
    /// </summary>
    public sealed class Checker
    {
        public long Elements;
        public long OffByOne;
        public int Cases;

        public void Check(ReadOnlySpan<sbyte> got, ReadOnlySpan<int> expected, Func<string> describe)
        {
            Assert.Equal(expected.Length, got.Length);
            Cases++;
            for (int i = 0; i < got.Length; i++)
            {
                int d = Math.Abs(got[i] - expected[i]);
                if (d > 1)
                    Assert.Fail($"element {i}: got {got[i]}, float reference {expected[i]} (more than 1 LSB). {describe()}");
                Elements++;
                if (d == 1) OffByOne++;
            }
        }

        /// <summary>Fails when more than <paramref name="maxFraction"/> of the elements are off by one.</summary>
        public void AssertRarelyOffByOne(double maxFraction = 0.01)
        {
            Assert.True(Elements > 0, "no elements checked");
            Assert.True(OffByOne <= maxFraction * Elements,
                $"{OffByOne} of {Elements} elements off by one LSB over {Cases} cases: a systematic rounding difference");
        }
    }
}
