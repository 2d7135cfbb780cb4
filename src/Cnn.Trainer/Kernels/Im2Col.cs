using System.Runtime.InteropServices;

namespace Cnn.Trainer.Kernels;

/// <summary>Geometry of a 2-D convolution window; the same struct drives conv, transposed conv and pooling.</summary>
public readonly record struct ConvGeometry(int KH, int KW, int StrideH, int StrideW, int PadH, int PadW, int DilH, int DilW)
{
    /// <summary>Output rows; 0 when the dilated kernel is larger than the padded input (C#'s division truncates -1/2 to 0, not -1).</summary>
    public int OutH(int h) => Out(h + 2 * PadH - DilH * (KH - 1) - 1, StrideH);
    public int OutW(int w) => Out(w + 2 * PadW - DilW * (KW - 1) - 1, StrideW);
    private static int Out(int span, int stride) => span < 0 ? 0 : span / stride + 1;
    public bool IsPointwise => KH == 1 && KW == 1 && StrideH == 1 && StrideW == 1 && PadH == 0 && PadW == 0;
}

internal static class Im2Col
{
    /// <summary>x: [C,H,W] → col: [C*KH*KW, OH*OW] (row = (c,ky,kx)); zero where the window hits padding.</summary>
    public static void Forward(ReadOnlySpan<float> x, int c, int h, int w, in ConvGeometry g, Span<float> col) =>
        Walk<Gather>(MemoryMarshal.CreateSpan(ref MemoryMarshal.GetReference(x), x.Length), c, h, w, g, col);

    /// <summary>Adjoint of <see cref="Forward"/>: scatters col back into dx (accumulating).</summary>
    public static void Backward(ReadOnlySpan<float> col, int c, int h, int w, in ConvGeometry g, Span<float> dx) =>
        Walk<Scatter>(dx, c, h, w, g, MemoryMarshal.CreateSpan(ref MemoryMarshal.GetReference(col), col.Length));

    /// <summary>What happens between a col row segment and the image row segment it maps to.</summary>
    private interface IRowOp
    {
        /// <summary>The window row lies in vertical padding.</summary>
        static abstract void Padding(Span<float> colRow);
        /// <summary>Stride 1: colRow[ox0..ox1) ↔ imageRow[ox0+dx ..); columns outside [ox0, ox1) are padding.</summary>
        static abstract void Contiguous(Span<float> colRow, Span<float> imageRow, int ox0, int ox1, int dx);
        /// <summary>colRow[ox] ↔ imageRow[ox·stride + dx] where that is inside the row.</summary>
        static abstract void Strided(Span<float> colRow, Span<float> imageRow, int stride, int dx);
    }

    /// <summary>im2col: col = image, zero in padding.</summary>
    private struct Gather : IRowOp
    {
        public static void Padding(Span<float> colRow) => colRow.Clear();

        public static void Contiguous(Span<float> colRow, Span<float> imageRow, int ox0, int ox1, int dx)
        {
            colRow[..ox0].Clear();
            imageRow.Slice(ox0 + dx, ox1 - ox0).CopyTo(colRow[ox0..ox1]);
            colRow[ox1..].Clear();
        }

        public static void Strided(Span<float> colRow, Span<float> imageRow, int stride, int dx)
        {
            for (int ox = 0; ox < colRow.Length; ox++)
            {
                int ix = ox * stride + dx;
                colRow[ox] = (uint)ix < (uint)imageRow.Length ? imageRow[ix] : 0f;
            }
        }
    }

    /// <summary>col2im: image += col; padding receives nothing.</summary>
    private struct Scatter : IRowOp
    {
        public static void Padding(Span<float> colRow) { }

        public static void Contiguous(Span<float> colRow, Span<float> imageRow, int ox0, int ox1, int dx) =>
            Gemm.Axpy(1f, colRow[ox0..ox1], imageRow.Slice(ox0 + dx, ox1 - ox0));

        public static void Strided(Span<float> colRow, Span<float> imageRow, int stride, int dx)
        {
            for (int ox = 0; ox < colRow.Length; ox++)
            {
                int ix = ox * stride + dx;
                if ((uint)ix < (uint)imageRow.Length) imageRow[ix] += colRow[ox];
            }
        }
    }

    /// <summary>Visits every (col row, output row) pair of image [C,H,W] and col [C*KH*KW, OH*OW] once.</summary>
    private static void Walk<TOp>(Span<float> image, int c, int h, int w, in ConvGeometry g, Span<float> col) where TOp : struct, IRowOp
    {
        int oh = g.OutH(h), ow = g.OutW(w), ohw = oh * ow;
        int row = 0;
        for (int ch = 0; ch < c; ch++)
        {
            var plane = image.Slice(ch * h * w, h * w);
            for (int ky = 0; ky < g.KH; ky++)
                for (int kx = 0; kx < g.KW; kx++, row++)
                {
                    var colRows = col.Slice(row * ohw, ohw);
                    int dy = ky * g.DilH - g.PadH, dx = kx * g.DilW - g.PadW;
                    // stride 1: output columns [ox0, ox1) map inside the image row
                    int ox0 = Math.Max(0, -dx), ox1 = Math.Min(ow, w - dx);
                    for (int oy = 0; oy < oh; oy++)
                    {
                        int iy = oy * g.StrideH + dy;
                        var colRow = colRows.Slice(oy * ow, ow);
                        if ((uint)iy >= (uint)h) { TOp.Padding(colRow); continue; }
                        var imageRow = plane.Slice(iy * w, w);
                        if (g.StrideW != 1) TOp.Strided(colRow, imageRow, g.StrideW, dx);
                        else if (ox1 <= ox0) TOp.Padding(colRow);
                        else TOp.Contiguous(colRow, imageRow, ox0, ox1, dx);
                    }
                }
        }
    }
}
