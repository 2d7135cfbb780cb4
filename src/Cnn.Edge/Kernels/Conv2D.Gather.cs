using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cnn.Edge.Kernels;

/// <summary>
/// Copies the receptive field of one output pixel of a general convolution (K = KH x KW x Cg bytes, ordered [ky][kx][c]
/// like the weights) into a row of a GEMM tile, for the 4-pixel gathered path of <see cref="Conv2DOptimized"/> (all ISAs
/// but Avx2). Padding positions get the input zero point (the real value 0). On Avx2 the same plan of inside windows
/// (<see cref="InsidePixels"/>) feeds <see cref="WidenRun"/>, which widens fields to int16 panel rows.
/// <para>Cost model (the 3-channel stems: K = 27, one 3x3 pixel is 9 bytes): a field whose rows lie inside the image is
/// KH wide loads and stores of 16 bytes, nothing per byte (<see cref="Copy4"/>: 4 fields at once). To allow that, a copy or
/// fill of fewer than 16 bytes stores 16, up to 15 bytes past its end. Writes go in increasing order within a tile row, so
/// every byte below K ends with its own value (a later write starts where the earlier one should have ended); what spills
/// past K lands in the K..Kp tail (it meets zero weights) or in the <see cref="Slack"/> bytes each tile row has past Kp.
/// Loads of 16 bytes never read past the input (checked against its end).</para>
/// </summary>
internal readonly unsafe struct PatchGather
{
    /// <summary>Bytes each tile row has past Kp (a short write stores 16 bytes).</summary>
    public const int Slack = 16;

    /// <summary>Largest kernel row copied with vector moves (above it, <see cref="Buffer.MemoryCopy"/>: ResNet's 3x3 rows of 192+ bytes).</summary>
    private const int MaxVectorCopy = 32;

    private readonly int _kh, _kw, _cg, _h, _w, _cin, _dh, _dw, _rowBytes;
    /// <summary>One group and unit column dilation: a kernel row's taps are KW adjacent pixels, KW x Cin contiguous bytes.</summary>
    private readonly bool _rowsContiguous;
    /// <summary>Input bytes between two kernel rows (DH input rows).</summary>
    private readonly long _kyStride;
    /// <summary>Output columns [_oxFirst, _oxEnd) and rows [_oyFirst, _oyEnd) whose windows lie inside the image, for
    /// <see cref="Copy4"/> (an empty column range when it does not apply: kernel rows longer than 16 bytes or not contiguous).</summary>
    private readonly int _oxFirst, _oxEnd, _oyFirst, _oyEnd;
    private readonly int _sh, _sw, _pt, _pl;
    /// <summary>Input bytes between two horizontally adjacent windows (SW Cin).</summary>
    private readonly int _pixelStep;
    /// <summary>Offset of the last 16-byte load of a window's field from its first ((KH - 1) kernel rows down).</summary>
    private readonly long _lastRowLoad;

    public PatchGather(in Conv2DShape s)
    {
        _kh = s.KernelHeight; _kw = s.KernelWidth; _cg = s.InputChannelsPerGroup;
        _h = s.InputHeight; _w = s.InputWidth; _cin = s.InputChannels;
        _dh = s.DilationH; _dw = s.DilationW;
        _rowBytes = _kw * _cg;
        _rowsContiguous = s.Groups == 1 && s.DilationW == 1;
        _kyStride = (long)s.DilationH * s.InputWidth * s.InputChannels;
        _sh = s.StrideH; _sw = s.StrideW; _pt = s.PadTop; _pl = s.PadLeft;
        (_oxFirst, _oxEnd) = Inside(s.PadLeft, s.StrideW, (_kw - 1) * _dw, _w, s.OutputWidth);
        (_oyFirst, _oyEnd) = Inside(s.PadTop, s.StrideH, (_kh - 1) * _dh, _h, s.OutputHeight);
        if (!_rowsContiguous || _rowBytes > 16) _oxEnd = 0;
        _pixelStep = s.StrideW * s.InputChannels;
        _lastRowLoad = (_kh - 1) * _kyStride;
    }

    /// <summary>Outputs [first, end) along one axis whose window (first tap at o stride - pad, last span taps later) lies in [0, size).</summary>
    private static (int First, int End) Inside(int pad, int stride, int span, int size, int outputs)
    {
        int first = (pad + stride - 1) / stride;
        int last = size - 1 - span + pad; // the largest o stride allowed
        int end = last < 0 ? 0 : Math.Min(outputs, last / stride + 1);
        return (Math.Min(first, outputs), Math.Max(end, 0));
    }

    /// <summary>Input bytes from the first window of a 4-pixel tile to the first of the next one (4 SW Cin).</summary>
    public long TileStep => GemmPlan.MR * (long)_pixelStep;

    /// <summary>
    /// How many whole 4-pixel tiles from output (oy, ox) on, within <paramref name="pixels"/> pixels, have all their windows inside
    /// the image and can be read with 16-byte loads without passing <paramref name="end"/> (0 when <see cref="Copy4"/> does not
    /// apply: kernel rows longer than 16 bytes or not contiguous). They lie in one output row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int InsideTiles(sbyte* image, sbyte* end, int oy, int ox, int pixels)
        => InsidePixels(image, end, oy, ox, pixels) / GemmPlan.MR; // a tile counts when its last pixel does

    /// <summary>
    /// How many output pixels from (oy, ox) on, within <paramref name="pixels"/> pixels, have their windows inside the image
    /// and can be read with 16-byte loads per kernel row without passing <paramref name="end"/> (0 when kernel rows are longer
    /// than 16 bytes or not contiguous). They lie in one output row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int InsidePixels(sbyte* image, sbyte* end, int oy, int ox, int pixels)
    {
        if (oy < _oyFirst || oy >= _oyEnd || ox < _oxFirst) return 0;
        int count = Math.Min(_oxEnd - ox, pixels);
        if (count <= 0) return 0;
        sbyte* last = Origin(image, oy, ox) + (long)(count - 1) * _pixelStep + _lastRowLoad + 16;
        while (count > 0 && last > end) { count--; last -= _pixelStep; } // only near the end of the input
        return count;
    }

    /// <summary>The top-left tap of output (oy, ox)'s window (inside the image when <see cref="InsideTiles"/> counted it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public sbyte* Origin(sbyte* image, int oy, int ox) => image + ((long)(oy * _sh - _pt) * _w + (ox * _sw - _pl)) * _cin;

    /// <summary>
    /// The fields of the 4 horizontally adjacent windows whose first starts at <paramref name="src"/> (a tile that
    /// <see cref="InsideTiles"/> counted) into rows <paramref name="rowStride"/> apart (at least K + 16 - KW Cin: each field's
    /// last 16-byte store stays in its own row): KH 16-byte moves per pixel, no per-tap work.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Copy4(sbyte* src, sbyte* dst, long rowStride)
    {
        int kh = _kh, rowBytes = _rowBytes;
        long kyStride = _kyStride, step = _pixelStep;
        long step2 = 2 * step, step3 = 3 * step, row2 = 2 * rowStride, row3 = 3 * rowStride;
        if (kh == 3)
        {
            // 3x3 (the stems): 12 moves at offsets fixed for the layer.
            Move4(src, step, step2, step3, dst, rowStride, row2, row3);
            Move4(src + kyStride, step, step2, step3, dst + rowBytes, rowStride, row2, row3);
            Move4(src + 2 * kyStride, step, step2, step3, dst + 2 * rowBytes, rowStride, row2, row3);
            return;
        }
        for (int ky = 0; ky < kh; ky++, src += kyStride, dst += rowBytes)
            Move4(src, step, step2, step3, dst, rowStride, row2, row3);
    }

    /// <summary>
    /// x86: the fields of <paramref name="pixels"/> horizontally adjacent windows, the first at <paramref name="src"/> (pixels that
    /// <see cref="InsidePixels"/> counted), widened to int16 rows <paramref name="rowStride"/> int16 apart: one VPMOVSXBW of
    /// 16 bytes per kernel row, stored as 16 int16, so up to 15 past the row's end. Rows are written in increasing order, so a
    /// spill is overwritten by the next kernel row or pixel; the last pixel's spills up to 15 int16 past its K (the panel
    /// needs that slack).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WidenRun(sbyte* src, int pixels, short* dst, int rowStride)
    {
        long kyStride = _kyStride, step = _pixelStep;
        int rowBytes = _rowBytes;
        if (_kh == 3)
        {
            // 3x3 (the stems): 3 loads per pixel at offsets fixed for the layer.
            long ky2 = 2 * kyStride;
            int row2 = 2 * rowBytes;
            for (int i = 0; i < pixels; i++, src += step, dst += rowStride)
            {
                Avx2.ConvertToVector256Int16(src).Store(dst);
                Avx2.ConvertToVector256Int16(src + kyStride).Store(dst + rowBytes);
                Avx2.ConvertToVector256Int16(src + ky2).Store(dst + row2);
            }
            return;
        }
        for (int i = 0; i < pixels; i++, src += step, dst += rowStride)
        {
            sbyte* s = src;
            short* d = dst;
            for (int ky = 0; ky < _kh; ky++, s += kyStride, d += rowBytes) Avx2.ConvertToVector256Int16(s).Store(d);
        }
    }

    /// <summary>One kernel row of 4 windows: 16 bytes from src + {0, s1, s2, s3} to dst + {0, d1, d2, d3}.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Move4(sbyte* src, long s1, long s2, long s3, sbyte* dst, long d1, long d2, long d3)
    {
        Vector128<sbyte> v0 = Vector128.Load(src), v1 = Vector128.Load(src + s1);
        Vector128<sbyte> v2 = Vector128.Load(src + s2), v3 = Vector128.Load(src + s3);
        v0.Store(dst);
        v1.Store(dst + d1);
        v2.Store(dst + d2);
        v3.Store(dst + d3);
    }

    /// <summary>
    /// The field of the window at (iy0, ix0) (top-left tap, may lie in the padding) into dst[0, K) (and up to 15 bytes past).
    /// </summary>
    /// <param name="image">The first input byte of this image and group (x + n H W Cin + g Cg).</param>
    /// <param name="end">One past the last byte of the whole input (the limit of 16-byte loads).</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Pixel(sbyte* dst, sbyte* image, sbyte* end, int iy0, int ix0, Vector128<sbyte> zp)
    {
        sbyte* row = image + ((long)iy0 * _w + ix0) * _cin; // the top-left tap (not read unless inside the image)
        bool colsInside = ix0 >= 0 && ix0 + (_kw - 1) * _dw < _w;
        if (colsInside && _rowsContiguous && _rowBytes <= 16 && iy0 >= 0 && iy0 + (_kh - 1) * _dh < _h
            && row + (_kh - 1) * _kyStride + 16 <= end)
        {
            // The window inside the image (the stem's interior): one 16-byte move per kernel row.
            for (int ky = 0; ky < _kh; ky++, row += _kyStride, dst += _rowBytes)
                Vector128.Load(row).Store(dst);
            return;
        }
        for (int ky = 0; ky < _kh; ky++, row += _kyStride)
        {
            int iy = iy0 + ky * _dh;
            if ((uint)iy >= (uint)_h)
            {
                Fill(dst, _rowBytes, zp); // a padding row
                dst += _rowBytes;
                continue;
            }
            if (colsInside && _rowsContiguous)
            {
                Copy(dst, row, _rowBytes, end);
                dst += _rowBytes;
                continue;
            }
            for (int kx = 0; kx < _kw; kx++, dst += _cg)
            {
                if ((uint)(ix0 + kx * _dw) < (uint)_w) Copy(dst, row + (long)kx * _dw * _cin, _cg, end);
                else Fill(dst, _cg, zp);
            }
        }
    }

    /// <summary>count bytes from src: below 16 one 16-byte move when the input allows the read, up to 32 two overlapping moves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Copy(sbyte* dst, sbyte* src, int count, sbyte* end)
    {
        if (count < 16)
        {
            if (src + 16 <= end) Vector128.Load(src).Store(dst);
            else for (int i = 0; i < count; i++) dst[i] = src[i]; // the last bytes of the input
        }
        else if (count <= MaxVectorCopy)
        {
            Vector128<sbyte> a = Vector128.Load(src), b = Vector128.Load(src + count - 16);
            a.Store(dst);
            b.Store(dst + count - 16);
        }
        else
        {
            Buffer.MemoryCopy(src, dst, count, count);
        }
    }

    /// <summary>count bytes of the zero point, in 16-byte stores (the last may pass count by up to 15).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Fill(sbyte* dst, int count, Vector128<sbyte> zp)
    {
        for (int j = 0; j < count; j += 16) zp.Store(dst + j);
    }
}
