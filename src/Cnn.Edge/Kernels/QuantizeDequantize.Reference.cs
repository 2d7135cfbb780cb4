namespace Cnn.Edge.Kernels;

/// <summary>
/// The specification of Quantize (float32 → int8) at the model's input edge:
/// <code>
///   q = clamp(round_half_away_from_zero((double)x / (double)scale) + zp, -128, 127),   NaN → zp
/// </code>
/// The division is done in double (correctly rounded everywhere), so the result is the same on
/// every platform; ±infinity saturate.
/// </summary>
public static class QuantizeReference
{
    public static void Run(ReadOnlySpan<float> input, float scale, int zeroPoint, Span<sbyte> output)
    {
        for (int i = 0; i < input.Length; i++)
        {
            double v = input[i] / (double)scale;
            double q = double.IsNaN(v) ? zeroPoint : Math.Round(v, MidpointRounding.AwayFromZero) + zeroPoint;
            output[i] = (sbyte)Math.Clamp(q, sbyte.MinValue, sbyte.MaxValue);
        }
    }
}

/// <summary>
/// The specification of Dequantize (int8 → float32) at the model's output edge:
/// y = scale * (float)(q - zp), one float32 multiply (exact integers, one rounding).
/// </summary>
public static class DequantizeReference
{
    public static void Run(ReadOnlySpan<sbyte> input, float scale, int zeroPoint, Span<float> output)
    {
        for (int i = 0; i < input.Length; i++)
            output[i] = scale * (input[i] - zeroPoint);
    }
}
