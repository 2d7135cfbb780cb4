namespace Cnn.Edge.Kernels;

/// <summary>
/// The specification of int8 Concat along the last (channel) axis. Each input i of shape
/// [outer, Ci] is written to channels [offset_i, offset_i + Ci) of the output [outer, Σ Ci],
/// requantized to the output's scale:
/// <code>
///   y = clamp(Requantize.Apply(q - zp_i, M_i = s_i / s_out) + zp_out, actMin, actMax)
/// </code>
/// An input that already has the output's quantization goes through the same rule exactly:
/// M = 1 is (2^30, shift 1), which Apply maps x to x, so y = q clamped.
/// |q - zp_i| ≤ 255: no overflow.
/// </summary>
public static class ConcatReference
{
    /// <summary>Writes one input into its channel slice of the output.</summary>
    public static void RunInput(int outer, int inputChannels, int outputChannels, int channelOffset,
        ReadOnlySpan<sbyte> input, int inputZeroPoint, int multiplier, int shift,
        int outputZeroPoint, int actMin, int actMax, Span<sbyte> output)
    {
        for (int o = 0; o < outer; o++)
        {
            ReadOnlySpan<sbyte> src = input.Slice(o * inputChannels, inputChannels);
            Span<sbyte> dst = output.Slice(o * outputChannels + channelOffset, inputChannels);
            for (int c = 0; c < src.Length; c++)
                dst[c] = Requantize.ToInt8(src[c] - inputZeroPoint, multiplier, shift, outputZeroPoint, actMin, actMax);
        }
    }
}
