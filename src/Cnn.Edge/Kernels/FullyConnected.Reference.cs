namespace Cnn.Edge.Kernels;

/// <summary>FullyConnected geometry: input [Batch, InputChannels] (any trailing dims flattened), weights [OutputChannels, InputChannels], output [Batch, OutputChannels].</summary>
public readonly record struct FullyConnectedShape(int Batch, int InputChannels, int OutputChannels);

/// <summary>
/// The specification of int8 FullyConnected (TFLite int8 numerics):
/// <code>
///   acc = bias[oc] + Σ_i (x[n, i] - inZp) * w[oc, i]
///   y   = clamp(Requantize.Apply(acc, multiplier[oc], shift[oc]) + outZp, actMin, actMax)
/// </code>
/// Real multiplier of channel oc: in_scale * w_scale[oc] / out_scale; bias scale in_scale * w_scale[oc].
/// <para>Overflow: every partial sum is bounded by 255 * Σ_i |w[oc, i]| + |bias[oc]|, which Prepare
/// (OpFactory) checks is ≤ int.MaxValue for every channel (Cin ≤ 66,311 when all |w| = 127 and bias is 0).
/// Zero-point folding in optimized kernels wraps back to the same acc in two's complement.</para>
/// </summary>
public static class FullyConnectedReference
{
    /// <param name="bias">[Cout] int32, or empty for no bias.</param>
    public static void Run(
        in FullyConnectedShape s,
        ReadOnlySpan<sbyte> input, int inputZeroPoint,
        ReadOnlySpan<sbyte> weights, ReadOnlySpan<int> bias,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts,
        int outputZeroPoint, int actMin, int actMax,
        Span<sbyte> output)
    {
        for (int n = 0; n < s.Batch; n++)
        {
            ReadOnlySpan<sbyte> x = input.Slice(n * s.InputChannels, s.InputChannels);
            for (int oc = 0; oc < s.OutputChannels; oc++)
            {
                ReadOnlySpan<sbyte> w = weights.Slice(oc * s.InputChannels, s.InputChannels);
                int acc = bias.IsEmpty ? 0 : bias[oc];
                for (int i = 0; i < x.Length; i++)
                    acc += (x[i] - inputZeroPoint) * w[i];
                output[n * s.OutputChannels + oc] = Requantize.ToInt8(acc, multipliers[oc], shifts[oc], outputZeroPoint, actMin, actMax);
            }
        }
    }
}
