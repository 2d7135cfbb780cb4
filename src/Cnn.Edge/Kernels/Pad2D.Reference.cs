namespace Cnn.Edge.Kernels;

/// <summary>Geometry of a Pad2D op: input [N,H,W,C], output [N,H+top+bottom,W+left+right,C].</summary>
public readonly record struct Pad2DShape(int Batch, int Height, int Width, int Channels, int PadTop, int PadLeft, int OutHeight, int OutWidth);

/// <summary>
/// The specification of int8 constant padding of H and W (ONNX Pad mode=constant on an NHWC tensor):
/// every output element outside the input window is <c>value</c> (for zero padding, the zero point:
/// the quantized 0.0), every other one is the input element it covers. Input and output share scale
/// and zero point, so no arithmetic happens.
/// </summary>
public static class Pad2DReference
{
    public static void Run(in Pad2DShape s, ReadOnlySpan<sbyte> input, sbyte value, Span<sbyte> output)
    {
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
}
