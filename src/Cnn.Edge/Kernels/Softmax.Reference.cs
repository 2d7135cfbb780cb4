namespace Cnn.Edge.Kernels;

/// <summary>
/// The specification of int8 Softmax over the last axis. Built once at prepare, a 256-entry table
/// holds exp(-beta * in_scale * d) for every possible distance d = max - q in [0, 255] as Q30 integers:
/// <code>
///   T[d] = round(2^30 * exp(-beta * s_in * d))          T[0] = 2^30, all T[d] in [0, 2^30]
///   for each row:  m = max_c q[c];  S = Σ_c T[m - q[c]]   (int64, exact, order-free; S ≥ 2^30)
///   float output:  y[c] = (float)((double)T[m - q[c]] / S)
///   int8 output:   y[c] = min(127, floor((256 * T[m - q[c]] + S/2) / S) - 128)     scale 1/256, zero point -128
/// </code>
/// (the int8 division rounds half up, exactly: (512*T + S) / (2S) in int64).
/// The table comes from <see cref="ExpNonPositive"/>, which uses only IEEE basic operations, so
/// every platform builds the same table and every kernel gives the same bits. Integer sums make the
/// result independent of summation order, so optimized kernels may sum in any order.
/// Rows may have up to 2^31 classes: S ≤ 2^61.
/// </summary>
public static class SoftmaxReference
{
    public const int TableBits = 30;

    /// <summary>T[d] = round(2^30 * exp(-beta * inputScale * d)) for d in [0, 255].</summary>
    public static int[] BuildExpTable(double beta, double inputScale)
    {
        var table = new int[256];
        double step = beta * inputScale;
        for (int d = 0; d < 256; d++)
            table[d] = (int)Math.Round(ExpNonPositive(-step * d) * (1 << TableBits), MidpointRounding.AwayFromZero);
        return table;
    }

    public static void RunFloat(int outer, int classes, ReadOnlySpan<sbyte> input, ReadOnlySpan<int> table, Span<float> output)
    {
        for (int o = 0; o < outer; o++)
        {
            ReadOnlySpan<sbyte> x = input.Slice(o * classes, classes);
            Span<float> y = output.Slice(o * classes, classes);
            int max = RowMax(x);
            long sum = RowSum(x, max, table);
            for (int c = 0; c < classes; c++)
                y[c] = (float)((double)table[max - x[c]] / sum);
        }
    }

    public static void RunInt8(int outer, int classes, ReadOnlySpan<sbyte> input, ReadOnlySpan<int> table, Span<sbyte> output)
    {
        for (int o = 0; o < outer; o++)
        {
            ReadOnlySpan<sbyte> x = input.Slice(o * classes, classes);
            Span<sbyte> y = output.Slice(o * classes, classes);
            int max = RowMax(x);
            long sum = RowSum(x, max, table);
            for (int c = 0; c < classes; c++)
            {
                long q = (512L * table[max - x[c]] + sum) / (2 * sum); // round(256 * p), p in [0, 1]
                y[c] = (sbyte)Math.Min(127, q - 128);
            }
        }
    }

    private static int RowMax(ReadOnlySpan<sbyte> x)
    {
        int max = sbyte.MinValue;
        foreach (sbyte v in x) max = Math.Max(max, v);
        return max;
    }

    private static long RowSum(ReadOnlySpan<sbyte> x, int max, ReadOnlySpan<int> table)
    {
        long sum = 0;
        foreach (sbyte v in x) sum += table[max - v];
        return sum;
    }

    /// <summary>
    /// exp(x) for x ≤ 0 from IEEE-754 basic operations only (no libm), so it is bit-identical on every
    /// platform: x = k*ln2 + r with |r| ≤ ln2/2 (Cody-Waite split of ln2), exp(r) by its Taylor series
    /// to degree 18 (truncation error below 1e-20), then scaled by 2^k exactly. Relative error ~1e-16.
    /// </summary>
    public static double ExpNonPositive(double x)
    {
        if (x > 0 || double.IsNaN(x)) throw new ArgumentOutOfRangeException(nameof(x), x, "must be ≤ 0");
        if (x < -700) return 0; // far below the Q30 resolution of the table
        const double Ln2Hi = 0.693147180369123816490;   // upper bits of ln 2: k*Ln2Hi is exact for |k| ≤ 2^11
        const double Ln2Lo = 1.90821492927058770002e-10; // ln 2 - Ln2Hi
        const double InvLn2 = 1.44269504088896338700;
        double k = Math.Round(x * InvLn2, MidpointRounding.ToEven);
        double r = (x - k * Ln2Hi) - k * Ln2Lo;
        double term = 1, sum = 1;
        for (int i = 1; i <= 18; i++)
        {
            term = term * r / i;
            sum += term;
        }
        return Math.ScaleB(sum, (int)k);
    }
}
