namespace Cnn.Edge.Kernels;

/// <summary>Global pooling geometry: input [Batch, Height, Width, Channels], output [Batch, 1, 1, Channels].</summary>
public readonly record struct GlobalPoolShape(int Batch, int Height, int Width, int Channels);

/// <summary>
/// The specification of int8 global average pooling (the adaptive 1x1 head), output of any scale:
/// <code>
///   acc = Σ_{y,x} (q[n,y,x,c] - inZp)                                  |acc| ≤ H*W*255
///   y   = clamp(Requantize.Apply(acc, M) + outZp, actMin, actMax),    M = in_scale / (out_scale * H * W)
/// </code>
/// The mean's division is folded into the one requantization, so the result is within 1 LSB of the
/// exact mean. OpShapes caps H*W at 8,421,504 so acc fits in int32.
/// </summary>
public static class GlobalAveragePoolReference
{
    public static void Run(in GlobalPoolShape s, ReadOnlySpan<sbyte> input, int inputZeroPoint,
        int multiplier, int shift, int outputZeroPoint, int actMin, int actMax, Span<sbyte> output)
    {
        int hw = s.Height * s.Width;
        for (int n = 0; n < s.Batch; n++)
        {
            ReadOnlySpan<sbyte> x = input.Slice(n * hw * s.Channels, hw * s.Channels);
            for (int c = 0; c < s.Channels; c++)
            {
                int acc = 0;
                for (int p = 0; p < hw; p++)
                    acc += x[p * s.Channels + c] - inputZeroPoint;
                output[n * s.Channels + c] = Requantize.ToInt8(acc, multiplier, shift, outputZeroPoint, actMin, actMax);
            }
        }
    }
}

/// <summary>The specification of int8 global max pooling: y[n,c] = max_{y,x} q[n,y,x,c]; input and output share quantization.</summary>
public static class GlobalMaxPoolReference
{
    public static void Run(in GlobalPoolShape s, ReadOnlySpan<sbyte> input, Span<sbyte> output)
    {
        int hw = s.Height * s.Width;
        for (int n = 0; n < s.Batch; n++)
        {
            ReadOnlySpan<sbyte> x = input.Slice(n * hw * s.Channels, hw * s.Channels);
            for (int c = 0; c < s.Channels; c++)
            {
                int max = sbyte.MinValue;
                for (int p = 0; p < hw; p++)
                    max = Math.Max(max, x[p * s.Channels + c]);
                output[n * s.Channels + c] = (sbyte)max;
            }
        }
    }
}
