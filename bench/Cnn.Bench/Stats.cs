using System.Diagnostics;

namespace Cnn.Bench;

public static class Stats
{
    /// <summary>Median wall time in ms of <paramref name="runs"/> calls after <paramref name="warmup"/> calls; also the first call's time.</summary>
    public static (double MedianMs, double FirstMs) Measure(Action run, int warmup, int runs)
    {
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
        Array.Sort(times);
        double median = runs % 2 == 1 ? times[runs / 2] : (times[runs / 2 - 1] + times[runs / 2]) / 2;
        return (median, first);
    }
}
