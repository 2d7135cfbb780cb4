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
    public static void Forward(ReadOnlySpan<float> x, int c, int h, int w, in ConvGeometry g, Span<float> col)
    {
        int oh = g.OutH(h), ow = g.OutW(w), ohw = oh * ow;
        int row = 0;
        for (int ch = 0; ch < c; ch++)
        {
            var plane = x.Slice(ch * h * w, h * w);
            for (int ky = 0; ky < g.KH; ky++)
                for (int kx = 0; kx < g.KW; kx++, row++)
                {
                    var dst = col.Slice(row * ohw, ohw);
                    int dy = ky * g.DilH - g.PadH, dx = kx * g.DilW - g.PadW;
                    for (int oy = 0; oy < oh; oy++)
                    {
                        int iy = oy * g.StrideH + dy;
                        var drow = dst.Slice(oy * ow, ow);
                        if ((uint)iy >= (uint)h) { drow.Clear(); continue; }
                        var srow = plane.Slice(iy * w, w);
                        if (g.StrideW == 1)
                        {
                            // contiguous run: [ox0, ox1) maps inside the row
                            int ox0 = Math.Max(0, -dx), ox1 = Math.Min(ow, w - dx);
                            if (ox1 <= ox0) { drow.Clear(); continue; }
                            drow[..ox0].Clear();
                            srow.Slice(ox0 + dx, ox1 - ox0).CopyTo(drow[ox0..ox1]);
                            drow[ox1..].Clear();
                        }
                        else
                        {
                            for (int ox = 0; ox < ow; ox++)
                            {
                                int ix = ox * g.StrideW + dx;
                                drow[ox] = (uint)ix < (uint)w ? srow[ix] : 0f;
                            }
                        }
                    }
                }
        }
    }

    /// <summary>Adjoint of <see cref="Forward"/>: scatters col back into dx (accumulating).</summary>
    public static void Backward(ReadOnlySpan<float> col, int c, int h, int w, in ConvGeometry g, Span<float> dx)
    {
        int oh = g.OutH(h), ow = g.OutW(w), ohw = oh * ow;
        int row = 0;
        for (int ch = 0; ch < c; ch++)
        {
            var plane = dx.Slice(ch * h * w, h * w);
            for (int ky = 0; ky < g.KH; ky++)
                for (int kx = 0; kx < g.KW; kx++, row++)
                {
                    var src = col.Slice(row * ohw, ohw);
                    int dy = ky * g.DilH - g.PadH, dxo = kx * g.DilW - g.PadW;
                    for (int oy = 0; oy < oh; oy++)
                    {
                        int iy = oy * g.StrideH + dy;
                        if ((uint)iy >= (uint)h) continue;
                        var prow = plane.Slice(iy * w, w);
                        var srow = src.Slice(oy * ow, ow);
                        if (g.StrideW == 1)
                        {
                            int ox0 = Math.Max(0, -dxo), ox1 = Math.Min(ow, w - dxo);
                            if (ox1 > ox0) Gemm.Axpy(1f, srow[ox0..ox1], prow.Slice(ox0 + dxo, ox1 - ox0));
                        }
                        else
                        {
                            for (int ox = 0; ox < ow; ox++)
                            {
                                int ix = ox * g.StrideW + dxo;
                                if ((uint)ix < (uint)w) prow[ix] += srow[ox];
                            }
                        }
                    }
                }
        }
    }
}
