namespace Cnn.Edge.Kernels;

/// <summary>
/// Geometry of one Conv2D: input [Batch, InputHeight, InputWidth, InputChannels] (NHWC), weights
/// [OutputChannels, KernelHeight, KernelWidth, InputChannels / Groups], output
/// [Batch, OutputHeight, OutputWidth, OutputChannels]. Padding is explicit: the output size already
/// accounts for pad_bottom / pad_right, so only the top/left pads are needed to place a window.
/// Validated by <see cref="OpShapes"/>; the kernels trust it.
/// </summary>
public readonly record struct Conv2DShape(
    int Batch, int InputHeight, int InputWidth, int InputChannels,
    int OutputHeight, int OutputWidth, int OutputChannels,
    int KernelHeight, int KernelWidth,
    int StrideH, int StrideW, int DilationH, int DilationW,
    int PadTop, int PadLeft, int Groups)
{
    /// <summary>Input channels seen by each output channel (Cin / groups).</summary>
    public int InputChannelsPerGroup => InputChannels / Groups;
    /// <summary>Output channels produced per group (Cout / groups); the depthwise channel multiplier when Groups == Cin.</summary>
    public int OutputChannelsPerGroup => OutputChannels / Groups;
}

/// <summary>
/// The specification of int8 Conv2D (TFLite int8 numerics). For every output element
/// <code>
///   acc = bias[oc] + Σ_{ky,kx,i} (x[n, oy*SH - PT + ky*DH, ox*SW - PL + kx*DW, g*Cg + i] - inZp) * w[oc, ky, kx, i]
///   y   = clamp(Requantize.Apply(acc, multiplier[oc], shift[oc]) + outZp, actMin, actMax)
/// </code>
/// with g = oc / (Cout/groups) the group of oc and Cg = Cin/groups. Positions in the padding hold the
/// input zero point (real value 0), so they contribute nothing and are skipped. The real multiplier
/// of channel oc is in_scale * w_scale[oc] / out_scale; bias has scale in_scale * w_scale[oc].
/// Depthwise is groups = Cin with Cout = Cin * multiplier: output channel c*multiplier + j reads input channel c.
/// <para>Overflow: |x - inZp| ≤ 255 and |w| ≤ 128, so every partial sum of acc is bounded by
/// 255 * Σ|w[oc,·]| + |bias[oc]|. Prepare (OpFactory) checks that bound ≤ int.MaxValue per channel
/// from the actual weights, so no summation order can overflow (for the worst case of weights of
/// magnitude 127 that allows KH*KW*Cg ≤ 66,311 with zero bias, e.g. 3x3x7,367). Optimized kernels that
/// fold the zero point (Σ x*w - inZp*Σw) may overflow intermediate int32 values but wrap back
/// to the same final acc in two's complement arithmetic.</para>
/// </summary>
public static class Conv2DReference
{
    /// <param name="bias">[Cout] int32, or empty for no bias.</param>
    /// <param name="multipliers">[Cout] Q31 multipliers from <see cref="Requantize.QuantizeMultiplier"/>.</param>
    /// <param name="shifts">[Cout] shifts from <see cref="Requantize.QuantizeMultiplier"/>.</param>
    public static void Run(
        in Conv2DShape s,
        ReadOnlySpan<sbyte> input, int inputZeroPoint,
        ReadOnlySpan<sbyte> weights, ReadOnlySpan<int> bias,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts,
        int outputZeroPoint, int actMin, int actMax,
        Span<sbyte> output)
    {
        int cg = s.InputChannelsPerGroup;
        int coutPerGroup = s.OutputChannelsPerGroup;
        int outIndex = 0;
        for (int n = 0; n < s.Batch; n++)
        {
            int inBatch = n * s.InputHeight * s.InputWidth * s.InputChannels;
            for (int oy = 0; oy < s.OutputHeight; oy++)
            {
                int iy0 = oy * s.StrideH - s.PadTop;
                for (int ox = 0; ox < s.OutputWidth; ox++)
                {
                    int ix0 = ox * s.StrideW - s.PadLeft;
                    for (int oc = 0; oc < s.OutputChannels; oc++)
                    {
                        int icStart = oc / coutPerGroup * cg;
                        int acc = bias.IsEmpty ? 0 : bias[oc];
                        for (int ky = 0; ky < s.KernelHeight; ky++)
                        {
                            int iy = iy0 + ky * s.DilationH;
                            if ((uint)iy >= (uint)s.InputHeight) continue; // padding row: contributes 0
                            for (int kx = 0; kx < s.KernelWidth; kx++)
                            {
                                int ix = ix0 + kx * s.DilationW;
                                if ((uint)ix >= (uint)s.InputWidth) continue;
                                int inBase = inBatch + (iy * s.InputWidth + ix) * s.InputChannels + icStart;
                                int wBase = ((oc * s.KernelHeight + ky) * s.KernelWidth + kx) * cg;
                                for (int i = 0; i < cg; i++)
                                    acc += (input[inBase + i] - inputZeroPoint) * weights[wBase + i];
                            }
                        }
                        output[outIndex++] = Requantize.ToInt8(acc, multipliers[oc], shifts[oc], outputZeroPoint, actMin, actMax);
                    }
                }
            }
        }
    }
}
