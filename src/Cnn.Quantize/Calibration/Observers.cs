namespace Cnn.Quantize.Calibration;

/// <summary>How an activation's float range is chosen from the calibration set.</summary>
public enum CalibrationMethod
{
    /// <summary>Smallest and largest value seen.</summary>
    MinMax,
    /// <summary>Exponential moving average of each sample's min and max (TFLite/PyTorch style).</summary>
    MovingAverageMinMax,
    /// <summary>The <see cref="QuantizeOptions.Percentile"/> and (100 - it) percentiles of the values.</summary>
    Percentile,
    /// <summary>The clipping range that minimises the mean squared quantization error of the values.</summary>
    Mse,
}

/// <summary>
/// Watches one tensor over the calibration set: running min/max, moving-average min/max, and a
/// fixed-size uniform reservoir sample of its values (for percentile and MSE ranges), so memory is
/// bounded whatever the calibration set size.
/// </summary>
public sealed class RangeObserver
{
    private readonly float[] _reservoir;
    private readonly Random _rng;
    private long _seen;
    private bool _hasAverage;

    public RangeObserver(int reservoirSize = 1 << 15, int seed = 1)
    {
        _reservoir = new float[reservoirSize];
        _rng = new Random(seed);
    }

    public float Min { get; private set; } = float.PositiveInfinity;
    public float Max { get; private set; } = float.NegativeInfinity;
    public float AverageMin { get; private set; }
    public float AverageMax { get; private set; }
    public long Count => _seen;

    /// <summary>Observes one sample's values.</summary>
    public void Observe(ReadOnlySpan<float> values, float momentum = 0.01f)
    {
        if (values.Length == 0) return;
        float lo = float.PositiveInfinity, hi = float.NegativeInfinity;
        foreach (float v in values)
        {
            if (v < lo) lo = v;
            if (v > hi) hi = v;
        }
        Min = Math.Min(Min, lo);
        Max = Math.Max(Max, hi);
        if (!_hasAverage)
        {
            AverageMin = lo;
            AverageMax = hi;
            _hasAverage = true;
        }
        else
        {
            AverageMin += momentum * (lo - AverageMin);
            AverageMax += momentum * (hi - AverageMax);
        }
        foreach (float v in values)
        {
            // Algorithm R: every value seen so far is in the reservoir with equal probability.
            if (_seen < _reservoir.Length) _reservoir[_seen] = v;
            else
            {
                long j = _rng.NextInt64(_seen + 1);
                if (j < _reservoir.Length) _reservoir[j] = v;
            }
            _seen++;
        }
    }

    /// <summary>The float range for <paramref name="method"/>; always includes 0 (so zero is exactly representable).</summary>
    public (float Min, float Max) Range(CalibrationMethod method, float percentile = 99.99f)
    {
        if (_seen == 0) return (0, 0);
        (float lo, float hi) = method switch
        {
            CalibrationMethod.MinMax => (Min, Max),
            CalibrationMethod.MovingAverageMinMax => (AverageMin, AverageMax),
            CalibrationMethod.Percentile => PercentileRange(percentile),
            CalibrationMethod.Mse => MseRange(),
            _ => throw new ArgumentOutOfRangeException(nameof(method)),
        };
        return (Math.Min(lo, 0f), Math.Max(hi, 0f));
    }

    private Span<float> Sorted()
    {
        var s = _reservoir.AsSpan(0, (int)Math.Min(_seen, _reservoir.Length)).ToArray().AsSpan();
        s.Sort();
        return s;
    }

    private (float, float) PercentileRange(float percentile)
    {
        var s = Sorted();
        double q = Math.Clamp(percentile, 50f, 100f) / 100.0;
        float lo = s[(int)Math.Floor((1 - q) * (s.Length - 1))];
        float hi = s[(int)Math.Ceiling(q * (s.Length - 1))];
        return (lo, hi);
    }

    private (float, float) MseRange()
    {
        var s = Sorted();
        float lo0 = Math.Min(Min, 0f), hi0 = Math.Max(Max, 0f);
        if (hi0 - lo0 <= 0) return (lo0, hi0);
        double best = double.PositiveInfinity;
        (float, float) bestRange = (lo0, hi0);
        // Shrink the min-max range by a common factor; 0.2..1.0 covers the useful clipping region.
        for (int step = 0; step <= 80; step++)
        {
            float f = 1f - step * 0.01f;
            float lo = lo0 * f, hi = hi0 * f;
            var (scale, zp) = QuantParams.FromRange(lo, hi);
            double err = 0;
            foreach (float v in s)
            {
                float q = QuantParams.FakeQuantize(v, scale, zp);
                err += (q - v) * (double)(q - v);
            }
            if (err < best)
            {
                best = err;
                bestRange = (lo, hi);
            }
        }
        return bestRange;
    }
}

/// <summary>Asymmetric int8 activation parameters and symmetric per-channel int8 weights (docs/quantization.md).</summary>
public static class QuantParams
{
    /// <summary>scale = (max - min) / 255, zero point = round(-128 - min / scale), range widened to include 0.</summary>
    public static (float Scale, int ZeroPoint) FromRange(float min, float max)
    {
        min = Math.Min(min, 0f);
        max = Math.Max(max, 0f);
        if (max - min < 1e-8f)
        {
            // A constant-zero tensor: any scale represents it; keep a small positive one.
            return (1e-8f, 0);
        }
        double scale = ((double)max - min) / 255.0;
        int zp = (int)Math.Round(-128 - min / scale, MidpointRounding.AwayFromZero);
        return ((float)scale, Math.Clamp(zp, -128, 127));
    }

    public static sbyte Quantize(float v, float scale, int zeroPoint)
    {
        double q = Math.Round(v / (double)scale, MidpointRounding.AwayFromZero) + zeroPoint;
        return (sbyte)Math.Clamp(q, -128, 127);
    }

    public static float FakeQuantize(float v, float scale, int zeroPoint) => (Quantize(v, scale, zeroPoint) - zeroPoint) * scale;

    /// <summary>Per-output-channel symmetric int8: scale[c] = max|w| / 127, values in [-127, 127].
    /// <paramref name="w"/> is [Cout, ...] row-major.</summary>
    public static (sbyte[] Q, float[] Scales) QuantizeWeights(float[] w, int cout)
    {
        int per = w.Length / cout;
        var q = new sbyte[w.Length];
        var scales = new float[cout];
        for (int c = 0; c < cout; c++)
        {
            float maxAbs = 0;
            for (int i = 0; i < per; i++) maxAbs = Math.Max(maxAbs, Math.Abs(w[c * per + i]));
            // An all-zero channel gets scale 1 (all q = 0) so bias scales stay finite.
            float s = maxAbs > 0 ? maxAbs / 127f : 1f;
            scales[c] = s;
            for (int i = 0; i < per; i++)
                q[c * per + i] = (sbyte)Math.Clamp(Math.Round(w[c * per + i] / s, MidpointRounding.AwayFromZero), -127, 127);
        }
        return (q, scales);
    }
}
