namespace Cnn.Edge.Kernels;

/// <summary>
/// Geometry of TransposeConv2D: input [Batch, InputHeight, InputWidth, InputChannels], weights
/// [OutputChannels, KernelHeight, KernelWidth, InputChannels], output [Batch, OutputHeight,
/// OutputWidth, OutputChannels] with OH = (H-1)*SH - PT - PB + DH*(KH-1) + output_pad_h + 1.
/// </summary>
public readonly record struct TransposeConv2DShape(
    int Batch, int InputHeight, int InputWidth, int InputChannels,
    int OutputHeight, int OutputWidth, int OutputChannels,
    int KernelHeight, int KernelWidth,
    int StrideH, int StrideW, int DilationH, int DilationW,
    int PadTop, int PadLeft);

/// <summary>
/// The specification of int8 TransposeConv2D (the adjoint of a strided convolution), in gather form
/// so it needs no scratch accumulator: input pixel (iy, ix) with kernel tap (ky, kx) lands on output
/// (iy*SH - PT + ky*DH, ix*SW - PL + kx*DW). So each output (oy, ox) collects
/// <code>
///   acc = bias[oc] + Σ (x[n, iy, ix, i] - inZp) * w[oc, ky, kx, i]
///         over ky, kx, i with iy = (oy + PT - ky*DH) / SH exact and in [0, H) (ix likewise)
///   y   = clamp(Requantize.Apply(acc, multiplier[oc], shift[oc]) + outZp, actMin, actMax)
/// </code>
/// Multiplier of channel oc: in_scale * w_scale[oc] / out_scale. Overflow: at most KH*KW*Cin terms
/// reach one output, so partial sums are bounded by 255 * Σ|w[oc,·]| + |bias[oc]|, checked ≤ int.MaxValue
/// at prepare as for Conv2D.
/// </summary>
public static class TransposeConv2DReference
{
    /// <param name="bias">[Cout] int32, or empty for no bias.</param>
    public static void Run(
        in TransposeConv2DShape s,
        ReadOnlySpan<sbyte> input, int inputZeroPoint,
        ReadOnlySpan<sbyte> weights, ReadOnlySpan<int> bias,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts,
        int outputZeroPoint, int actMin, int actMax,
        Span<sbyte> output)
    {
        int cin = s.InputChannels;
        int o = 0;
        for (int n = 0; n < s.Batch; n++)
            for (int oy = 0; oy < s.OutputHeight; oy++)
                for (int ox = 0; ox < s.OutputWidth; ox++)
                    for (int oc = 0; oc < s.OutputChannels; oc++)
                    {
                        int acc = bias.IsEmpty ? 0 : bias[oc];
                        for (int ky = 0; ky < s.KernelHeight; ky++)
                        {
                            int ty = oy + s.PadTop - ky * s.DilationH;
                            if (ty < 0 || ty % s.StrideH != 0) continue;
                            int iy = ty / s.StrideH;
                            if (iy >= s.InputHeight) continue;
                            for (int kx = 0; kx < s.KernelWidth; kx++)
                            {
                                int tx = ox + s.PadLeft - kx * s.DilationW;
                                if (tx < 0 || tx % s.StrideW != 0) continue;
                                int ix = tx / s.StrideW;
                                if (ix >= s.InputWidth) continue;
                                int inBase = ((n * s.InputHeight + iy) * s.InputWidth + ix) * cin;
                                int wBase = ((oc * s.KernelHeight + ky) * s.KernelWidth + kx) * cin;
                                for (int i = 0; i < cin; i++)
                                    acc += (input[inBase + i] - inputZeroPoint) * weights[wBase + i];
                            }
                        }
                        output[o++] = Requantize.ToInt8(acc, multipliers[oc], shifts[oc], outputZeroPoint, actMin, actMax);
                    }
    }
}
