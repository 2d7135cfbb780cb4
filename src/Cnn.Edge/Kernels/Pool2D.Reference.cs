namespace Cnn.Edge.Kernels;

/// <summary>
/// Geometry of a 2-D pooling window: input [Batch, InputHeight, InputWidth, Channels], output
/// [Batch, OutputHeight, OutputWidth, Channels]. Window (oy, ox) covers padded rows
/// oy*StrideH - PadTop .. + KernelHeight - 1 (columns likewise). OpShapes guarantees every window
/// holds at least one input element (pads &lt; kernel, and with ceil mode the last window starts
/// inside H + PadTop, PyTorch's rule).
/// </summary>
public readonly record struct PoolShape(
    int Batch, int InputHeight, int InputWidth, int Channels,
    int OutputHeight, int OutputWidth,
    int KernelHeight, int KernelWidth, int StrideH, int StrideW,
    int PadTop, int PadLeft, int PadBottom, int PadRight);

/// <summary>
/// The specification of int8 max pooling. Input and output share scale and zero point, and max
/// commutes with the monotonic quantization, so y = clamp(max over the window's input elements,
/// actMin, actMax). Padding never wins (it is -infinity, as in PyTorch and TFLite).
/// </summary>
public static class MaxPool2DReference
{
    public static void Run(in PoolShape s, ReadOnlySpan<sbyte> input, int actMin, int actMax, Span<sbyte> output)
    {
        int o = 0;
        for (int n = 0; n < s.Batch; n++)
            for (int oy = 0; oy < s.OutputHeight; oy++)
            {
                int y0 = Math.Max(oy * s.StrideH - s.PadTop, 0);
                int y1 = Math.Min(oy * s.StrideH - s.PadTop + s.KernelHeight, s.InputHeight);
                for (int ox = 0; ox < s.OutputWidth; ox++)
                {
                    int x0 = Math.Max(ox * s.StrideW - s.PadLeft, 0);
                    int x1 = Math.Min(ox * s.StrideW - s.PadLeft + s.KernelWidth, s.InputWidth);
                    for (int c = 0; c < s.Channels; c++)
                    {
                        int max = sbyte.MinValue;
                        for (int iy = y0; iy < y1; iy++)
                            for (int ix = x0; ix < x1; ix++)
                                max = Math.Max(max, input[((n * s.InputHeight + iy) * s.InputWidth + ix) * s.Channels + c]);
                        output[o++] = (sbyte)Math.Clamp(max, actMin, actMax);
                    }
                }
            }
    }
}

/// <summary>
/// The specification of int8 average pooling (input and output share scale and zero point zp):
/// <code>
///   window rows  [hs, he) with hs = oy*SH - PT, he = min(hs + KH, H + PB)   (columns likewise)
///   valid        = the window clipped to the input, [max(hs,0), min(he,H)) x [max(ws,0), min(we,W))
///   divisor      = count_include_pad ? (he - hs) * (we - ws) : |valid|
///   sum          = Σ_valid q + (divisor - |valid|) * zp      (padding holds real 0 = zp)
///   y            = clamp(round_half_away_from_zero(sum / divisor), actMin, actMax)
/// </code>
/// The divisor follows PyTorch: with count_include_pad it counts padding but not the part of a
/// ceil-mode window that hangs beyond the bottom/right padding. Without padding in the window this is
/// TFLite's average pool. Overflow: |sum| ≤ KH*KW*128, and OpShapes caps KH*KW at 2^23.
/// </summary>
public static class AveragePool2DReference
{
    public static void Run(in PoolShape s, bool countIncludePad, ReadOnlySpan<sbyte> input, int zeroPoint,
        int actMin, int actMax, Span<sbyte> output)
    {
        int o = 0;
        for (int n = 0; n < s.Batch; n++)
            for (int oy = 0; oy < s.OutputHeight; oy++)
            {
                int hs = oy * s.StrideH - s.PadTop;
                int he = Math.Min(hs + s.KernelHeight, s.InputHeight + s.PadBottom);
                int y0 = Math.Max(hs, 0), y1 = Math.Min(he, s.InputHeight);
                for (int ox = 0; ox < s.OutputWidth; ox++)
                {
                    int ws = ox * s.StrideW - s.PadLeft;
                    int we = Math.Min(ws + s.KernelWidth, s.InputWidth + s.PadRight);
                    int x0 = Math.Max(ws, 0), x1 = Math.Min(we, s.InputWidth);
                    int valid = (y1 - y0) * (x1 - x0);
                    int divisor = countIncludePad ? (he - hs) * (we - ws) : valid;
                    for (int c = 0; c < s.Channels; c++)
                    {
                        int sum = (divisor - valid) * zeroPoint;
                        for (int iy = y0; iy < y1; iy++)
                            for (int ix = x0; ix < x1; ix++)
                                sum += input[((n * s.InputHeight + iy) * s.InputWidth + ix) * s.Channels + c];
                        int avg = Requantize.DivideRoundAwayFromZero(sum, divisor);
                        output[o++] = (sbyte)Math.Clamp(avg, actMin, actMax);
                    }
                }
            }
    }
}
