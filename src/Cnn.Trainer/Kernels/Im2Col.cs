using System.Numerics;
using System.Runtime.CompilerServices;
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

    /// <summary>What happens between a col row segment and the image row segment it maps to (refs: rows here are a few to a few dozen floats, too short for span slicing and a memmove call each).</summary>
    private interface IRowOp
    {
        /// <summary>The window row lies in vertical padding: colRow[0..ow).</summary>
        static abstract void Padding(ref float colRow, int ow);
        /// <summary>Stride 1: colRow[ox0..ox1) ↔ imageRow[ox0+dx ..); columns outside [ox0, ox1) of [0, ow) are padding.</summary>
        static abstract void Contiguous(ref float colRow, ref float imageRow, int ox0, int ox1, int dx, int ow);
        /// <summary>colRow[ox] ↔ imageRow[ox·stride + dx] for ox in [0, ow) where that is inside the row [0, w).</summary>
        static abstract void Strided(ref float colRow, ref float imageRow, int stride, int dx, int ow, int w);
    }

    /// <summary>im2col: col = image, zero in padding.</summary>
    private struct Gather : IRowOp
    {
        public static void Padding(ref float colRow, int ow) => Fill0(ref colRow, ow);

        public static void Contiguous(ref float colRow, ref float imageRow, int ox0, int ox1, int dx, int ow)
        {
            Fill0(ref colRow, ox0);
            Vec.CopyShort(ref Unsafe.Add(ref imageRow, ox0 + dx), ref Unsafe.Add(ref colRow, ox0), ox1 - ox0);
            Fill0(ref Unsafe.Add(ref colRow, ox1), ow - ox1);
        }

        public static void Strided(ref float colRow, ref float imageRow, int stride, int dx, int ow, int w)
        {
            for (int ox = 0; ox < ow; ox++)
            {
                int ix = ox * stride + dx;
                Unsafe.Add(ref colRow, ox) = (uint)ix < (uint)w ? Unsafe.Add(ref imageRow, ix) : 0f;
            }
        }
    }

    /// <summary>col2im: image += col; padding receives nothing.</summary>
    private struct Scatter : IRowOp
    {
        public static void Padding(ref float colRow, int ow) { }

        public static void Contiguous(ref float colRow, ref float imageRow, int ox0, int ox1, int dx, int ow) =>
            AddTo(ref Unsafe.Add(ref colRow, ox0), ref Unsafe.Add(ref imageRow, ox0 + dx), ox1 - ox0);

        public static void Strided(ref float colRow, ref float imageRow, int stride, int dx, int ow, int w)
        {
            for (int ox = 0; ox < ow; ox++)
            {
                int ix = ox * stride + dx;
                if ((uint)ix < (uint)w) Unsafe.Add(ref imageRow, ix) += Unsafe.Add(ref colRow, ox);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Fill0(ref float d, int n)
    {
        int i = 0;
        for (; i + Vector<float>.Count <= n; i += Vector<float>.Count) Vector<float>.Zero.StoreUnsafe(ref d, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref d, i) = 0f;
    }

    /// <summary>d[0..n) += s[0..n) (each element one addition, so the order of the lanes does not matter).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddTo(ref float s, ref float d, int n)
    {
        int i = 0, vw = Vector<float>.Count;
        for (; i + vw <= n; i += vw) (Vector.LoadUnsafe(ref d, (nuint)i) + Vector.LoadUnsafe(ref s, (nuint)i)).StoreUnsafe(ref d, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref d, i) += Unsafe.Add(ref s, i);
    }

    /// <summary>Visits every (col row, output row) pair of image [C,H,W] and col [C*KH*KW, OH*OW] once.</summary>
    private static void Walk<TOp>(Span<float> image, int c, int h, int w, in ConvGeometry g, Span<float> col) where TOp : struct, IRowOp
    {
        int oh = g.OutH(h), ow = g.OutW(w), ohw = oh * ow;
        if (image.Length < c * h * w || col.Length < c * g.KH * g.KW * ohw) throw new ArgumentException("im2col: buffer too small");
        ref float Img = ref MemoryMarshal.GetReference(image);
        ref float Col = ref MemoryMarshal.GetReference(col);
        int row = 0;
        for (int ch = 0; ch < c; ch++)
        {
            ref float plane = ref Unsafe.Add(ref Img, ch * h * w);
            for (int ky = 0; ky < g.KH; ky++)
                for (int kx = 0; kx < g.KW; kx++, row++)
                {
                    ref float colRows = ref Unsafe.Add(ref Col, row * ohw);
                    int dy = ky * g.DilH - g.PadH, dx = kx * g.DilW - g.PadW;
                    // stride 1: output columns [ox0, ox1) map inside the image row
                    int ox0 = Math.Min(ow, Math.Max(0, -dx)), ox1 = Math.Max(ox0, Math.Min(ow, w - dx));
                    for (int oy = 0; oy < oh; oy++)
                    {
                        int iy = oy * g.StrideH + dy;
                        ref float colRow = ref Unsafe.Add(ref colRows, oy * ow);
                        if ((uint)iy >= (uint)h) { TOp.Padding(ref colRow, ow); continue; }
                        ref float imageRow = ref Unsafe.Add(ref plane, iy * w);
                        if (g.StrideW != 1) TOp.Strided(ref colRow, ref imageRow, g.StrideW, dx, ow, w);
                        else TOp.Contiguous(ref colRow, ref imageRow, ox0, ox1, dx, ow);
                    }
                }
        }
    }
}
