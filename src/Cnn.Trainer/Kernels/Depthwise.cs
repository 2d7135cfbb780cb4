namespace Cnn.Trainer.Kernels;

/// <summary>
/// Direct depthwise convolution on one channel plane (multiplier 1), avoiding im2col's 9× copy.
/// For each kernel tap (ky, kx) the valid output columns [ox0, ox1) are computed once per tap, so the
/// inner loops carry no bounds tests; stride 1 rows are contiguous axpy/dot calls.
/// </summary>
internal static class Depthwise
{
    private static (int Ox0, int Ox1) Cols(in ConvGeometry g, int w, int ow, int kx)
    {
        int dx = kx * g.DilW - g.PadW;
        // need 0 ≤ ox·s + dx < w
        int ox0 = dx >= 0 ? 0 : (-dx + g.StrideW - 1) / g.StrideW;
        int ox1 = Math.Min(ow, (w - 1 - dx) / g.StrideW + 1);
        if (w - 1 - dx < 0) ox1 = 0;
        return (ox0, Math.Max(ox0, ox1));
    }

    /// <summary>y[oh, ow] += Σ w[ky,kx]·x[oy·s − p + ky·d, ox·s − p + kx·d].</summary>
    public static void Forward(ReadOnlySpan<float> x, int h, int w, ReadOnlySpan<float> k, in ConvGeometry g, Span<float> y, int oh, int ow)
    {
        for (int ky = 0; ky < g.KH; ky++)
            for (int kx = 0; kx < g.KW; kx++)
            {
                float wv = k[ky * g.KW + kx];
                var (ox0, ox1) = Cols(g, w, ow, kx);
                if (ox1 <= ox0) continue;
                int dx = kx * g.DilW - g.PadW;
                for (int oy = 0; oy < oh; oy++)
                {
                    int iy = oy * g.StrideH - g.PadH + ky * g.DilH;
                    if ((uint)iy >= (uint)h) continue;
                    var xr = x.Slice(iy * w, w); var yr = y.Slice(oy * ow, ow);
                    if (g.StrideW == 1) Gemm.Axpy(wv, xr.Slice(ox0 + dx, ox1 - ox0), yr[ox0..ox1]);
                    else for (int ox = ox0; ox < ox1; ox++) yr[ox] += wv * xr[ox * g.StrideW + dx];
                }
            }
    }

    /// <summary>dk[ky,kx] += Σ dy·x (same taps); dx (if not empty) += w·dy scattered back.</summary>
    public static void Backward(ReadOnlySpan<float> x, int h, int w, ReadOnlySpan<float> k, in ConvGeometry g, ReadOnlySpan<float> dy, int oh, int ow,
        Span<float> dk, Span<float> dxp)
    {
        bool needDx = !dxp.IsEmpty;
        for (int ky = 0; ky < g.KH; ky++)
            for (int kx = 0; kx < g.KW; kx++)
            {
                float wv = k[ky * g.KW + kx];
                var (ox0, ox1) = Cols(g, w, ow, kx);
                if (ox1 <= ox0) continue;
                int dx = kx * g.DilW - g.PadW;
                float acc = 0;
                for (int oy = 0; oy < oh; oy++)
                {
                    int iy = oy * g.StrideH - g.PadH + ky * g.DilH;
                    if ((uint)iy >= (uint)h) continue;
                    var xr = x.Slice(iy * w, w); var dr = dy.Slice(oy * ow, ow);
                    if (g.StrideW == 1)
                    {
                        acc += Gemm.Dot(dr[ox0..ox1], xr.Slice(ox0 + dx, ox1 - ox0));
                        if (needDx) Gemm.Axpy(wv, dr[ox0..ox1], dxp.Slice(iy * w + ox0 + dx, ox1 - ox0));
                    }
                    else
                    {
                        var dxr = needDx ? dxp.Slice(iy * w, w) : default;
                        for (int ox = ox0; ox < ox1; ox++)
                        {
                            int ix = ox * g.StrideW + dx;
                            acc += dr[ox] * xr[ix];
                            if (needDx) dxr[ix] += wv * dr[ox];
                        }
                    }
                }
                dk[ky * g.KW + kx] += acc;
            }
    }
}
