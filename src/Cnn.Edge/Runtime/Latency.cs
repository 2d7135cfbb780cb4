using System.Diagnostics;

namespace Cnn.Edge.Runtime;

/// <summary>
/// Latency of a repeated call, the one measuring rule of `cnn bench` and bench/Cnn.Bench: the first call
/// timed alone (right after load: packing must not happen lazily, so it should be close to the rest), then
/// warm-up calls, then the median of the timed calls (robust to the spikes of a shared machine).
/// </summary>
public static class Latency
{
    /// <summary>Median and first-call wall time in ms.</summary>
    public readonly record struct Result(double MedianMs, double FirstMs, int Runs)
    {
        /// <summary>First call over the median: 1.0 means the first inference costs no more than the others.</summary>
        public double FirstOverMedian => FirstMs / MedianMs;
    }

    /// <summary>Times the first call, runs <paramref name="warmup"/> - 1 more untimed, then <paramref name="runs"/> timed calls.</summary>
    public static Result Measure(Action run, int warmup, int runs)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentOutOfRangeException.ThrowIfLessThan(runs, 1);
        long t0 = Stopwatch.GetTimestamp();
        run();
        double first = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        for (int i = 1; i < warmup; i++) run();
        var times = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            long s = Stopwatch.GetTimestamp();
            run();
            times[i] = Stopwatch.GetElapsedTime(s).TotalMilliseconds;
        }
        return new Result(Median(times), first, runs);
    }

    /// <summary>The median (mean of the two middle values for an even count); sorts <paramref name="values"/> in place.</summary>
    public static double Median(Span<double> values)
    {
        if (values.IsEmpty) throw new ArgumentException("the median of no values", nameof(values));
        values.Sort();
        int n = values.Length;
        return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
    }
}
