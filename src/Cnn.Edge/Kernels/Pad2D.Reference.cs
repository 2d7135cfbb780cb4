namespace Cnn.Edge.Kernels;

/// <summary>Geometry of a Pad2D op: input [N,H,W,C], output [N,H+top+bottom,W+left+right,C].</summary>
public readonly record struct Pad2DShape(int Batch, int Height, int Width, int Channels, int PadTop, int PadLeft, int OutHeight, int OutWidth);

/// <summary>What Pad2D writes outside the input window (the op's mode slot).</summary>
public enum PadMode
{
    /// <summary>The fill value.</summary>
    Constant = 0,
    /// <summary>The input mirrored about its border row/column, which is not repeated (ONNX reflect, PyTorch ReflectionPad2d).</summary>
    Reflect = 1,
    /// <summary>The border row/column repeated (ONNX edge, PyTorch ReplicationPad2d).</summary>
    Edge = 2,
}

/// <summary>
/// The specification of int8 padding of H and W (ONNX Pad on an NHWC tensor): every output element inside
/// the input window is the input element it covers; outside it, in constant mode the fill <c>value</c> (for
/// zero padding the zero point, the quantized 0.0), in reflect mode the element mirrored about the border
/// (index -i → i, H-1+i → H-1-i), in edge mode the nearest border element. Input and output share scale
/// and zero point, so no arithmetic happens.
/// </summary>
public static class Pad2DReference
{
    public static void Run(in Pad2DShape s, PadMode mode, ReadOnlySpan<sbyte> input, sbyte value, Span<sbyte> output)
    {
        if (mode != PadMode.Constant)
        {
            RunMirrored(s, mode, input, output);
            return;
        }
        int rowIn = s.Width * s.Channels, rowOut = s.OutWidth * s.Channels;
        output.Fill(value);
        for (int n = 0; n < s.Batch; n++)
        {
            for (int y = 0; y < s.Height; y++)
            {
                var src = input.Slice((n * s.Height + y) * rowIn, rowIn);
                int dst = ((n * s.OutHeight + y + s.PadTop) * s.OutWidth + s.PadLeft) * s.Channels;
                src.CopyTo(output.Slice(dst, rowIn));
            }
        }
    }

    /// <summary>Reflect and edge modes: each output row and column maps to one source row and column.</summary>
    private static void RunMirrored(in Pad2DShape s, PadMode mode, ReadOnlySpan<sbyte> input, Span<sbyte> output)
    {
        int c = s.Channels;
        for (int n = 0; n < s.Batch; n++)
        {
            for (int y = 0; y < s.OutHeight; y++)
            {
                int iy = Source(y - s.PadTop, s.Height, mode);
                for (int x = 0; x < s.OutWidth; x++)
                {
                    int ix = Source(x - s.PadLeft, s.Width, mode);
                    input.Slice(((n * s.Height + iy) * s.Width + ix) * c, c).CopyTo(output.Slice(((n * s.OutHeight + y) * s.OutWidth + x) * c, c));
                }
            }
        }
    }

    /// <summary>Source index of position <paramref name="i"/> (may be outside 0..size-1); reflect needs the pads below size (checked).</summary>
    private static int Source(int i, int size, PadMode mode)
    {
        if ((uint)i < (uint)size) return i;
        if (mode == PadMode.Edge) return i < 0 ? 0 : size - 1;
        return i < 0 ? -i : 2 * (size - 1) - i;
    }
}
