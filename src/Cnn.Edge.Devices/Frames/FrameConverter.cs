namespace Cnn.Edge.Devices.Frames;

/// <summary>How a frame of another aspect ratio is fitted to the model input.</summary>
public enum CropMode
{
    /// <summary>Largest centred region with the model's aspect ratio (no distortion).</summary>
    Center,
    /// <summary>The whole frame, squeezed or stretched.</summary>
    Stretch,
}

/// <summary>
/// Crops, resizes (nearest neighbour at pixel centres), converts colour and quantizes one frame
/// straight into the model's NHWC input tensor through per-channel 256-entry tables. The sampling
/// tables are rebuilt only when the frame geometry changes, so a steady stream allocates nothing.
/// </summary>
/// <remarks>YUV is BT.601; <see cref="FullRangeYuv"/> false means luma 16..235 and chroma 16..240 (what
/// V4L2 webcams and libcamera's video modes send), expanded to 0..255 before the tables.</remarks>
public sealed class FrameConverter
{
    private readonly InputSpec _spec;
    private readonly sbyte[][]? _int8Luts;
    private readonly float[][]? _floatLuts;
    // Per output column: the source column; per output row: the source row (both inside the crop).
    private readonly int[] _srcX;
    private readonly int[] _srcY;
    private readonly byte[] _lumaLut = new byte[256];
    private int _geomW = -1, _geomH = -1;
    private readonly int _yScale, _yOffset, _crv, _cgu, _cgv, _cbu;

    public FrameConverter(InputSpec spec, bool floatInput = false, CropMode crop = CropMode.Center, bool fullRangeYuv = false)
    {
        _spec = spec;
        Crop = crop;
        FullRangeYuv = fullRangeYuv;
        if (floatInput) _floatLuts = spec.BuildFloatLuts();
        else _int8Luts = spec.BuildInt8Luts();
        _srcX = new int[spec.Width];
        _srcY = new int[spec.Height];
        // Fixed-point BT.601 coefficients ×256: limited range scales luma by 255/219 and chroma by 255/224.
        (_yScale, _yOffset, _crv, _cgu, _cgv, _cbu) = fullRangeYuv ? (256, 0, 359, 88, 183, 454) : (298, 16, 409, 100, 208, 516);
        for (int v = 0; v < 256; v++) _lumaLut[v] = Clamp(((v - _yOffset) * _yScale + 128) >> 8);
    }

    public InputSpec Spec => _spec;
    public CropMode Crop { get; }
    public bool FullRangeYuv { get; }
    public bool IsFloat => _floatLuts is not null;

    /// <summary>Writes the frame into an int8 input tensor of <see cref="InputSpec.ElementCount"/> elements.</summary>
    public void Convert(in RawFrame frame, Span<sbyte> destination)
    {
        if (_int8Luts is null) throw new InvalidOperationException("this converter was built for a float32 input");
        ConvertCore(frame, destination, _int8Luts);
    }

    /// <summary>Writes the frame into a float32 input tensor.</summary>
    public void Convert(in RawFrame frame, Span<float> destination)
    {
        if (_floatLuts is null) throw new InvalidOperationException("this converter was built for an int8 input");
        ConvertCore(frame, destination, _floatLuts);
    }

    private void ConvertCore<T>(in RawFrame frame, Span<T> dst, T[][] luts) where T : unmanaged
    {
        if (frame.Validate() is { } problem) throw new FrameSourceException(FrameErrorKind.BadFrame, problem);
        if (dst.Length < _spec.ElementCount)
            throw new ArgumentException($"input tensor has {dst.Length} elements, the model input needs {_spec.ElementCount}");
        if (frame.Width != _geomW || frame.Height != _geomH) BuildSampling(frame.Width, frame.Height);

        int w = _spec.Width, h = _spec.Height, ch = _spec.Channels;
        ReadOnlySpan<byte> data = frame.Data;
        int stride = frame.Stride;
        T[] l0 = luts[0], l1 = luts[ch == 3 ? 1 : 0], l2 = luts[ch == 3 ? 2 : 0];
        int o = 0;
        for (int y = 0; y < h; y++)
        {
            int sy = _srcY[y];
            ReadOnlySpan<byte> row = data.Slice(sy * stride);
            switch (frame.Format)
            {
                case PixelFormat.Grey8:
                    for (int x = 0; x < w; x++)
                    {
                        byte g = row[_srcX[x]];
                        if (ch == 1) dst[o++] = l0[g];
                        else { dst[o++] = l0[g]; dst[o++] = l1[g]; dst[o++] = l2[g]; }
                    }
                    break;
                case PixelFormat.Rgb24:
                case PixelFormat.Bgr24:
                    bool bgr = frame.Format == PixelFormat.Bgr24;
                    for (int x = 0; x < w; x++)
                    {
                        int p = _srcX[x] * 3;
                        byte r = row[bgr ? p + 2 : p], g = row[p + 1], b = row[bgr ? p : p + 2];
                        if (ch == 1) dst[o++] = l0[Luma(r, g, b)];
                        else { dst[o++] = l0[r]; dst[o++] = l1[g]; dst[o++] = l2[b]; }
                    }
                    break;
                case PixelFormat.Yuyv:
                    for (int x = 0; x < w; x++)
                    {
                        int sx = _srcX[x];
                        int pair = (sx & ~1) * 2;
                        o = Emit(dst, o, ch, l0, l1, l2, row[sx * 2], row[pair + 1], row[pair + 3]);
                    }
                    break;
                case PixelFormat.Nv12:
                {
                    ReadOnlySpan<byte> uv = data.Slice(stride * frame.Height + (sy / 2) * stride);
                    for (int x = 0; x < w; x++)
                    {
                        int sx = _srcX[x];
                        o = Emit(dst, o, ch, l0, l1, l2, row[sx], uv[sx & ~1], uv[(sx & ~1) + 1]);
                    }
                    break;
                }
                case PixelFormat.I420:
                {
                    int cStride = stride / 2, cPlane = cStride * (frame.Height / 2);
                    ReadOnlySpan<byte> u = data.Slice(stride * frame.Height + (sy / 2) * cStride);
                    ReadOnlySpan<byte> v = data.Slice(stride * frame.Height + cPlane + (sy / 2) * cStride);
                    for (int x = 0; x < w; x++)
                    {
                        int sx = _srcX[x] / 2;
                        o = Emit(dst, o, ch, l0, l1, l2, row[_srcX[x]], u[sx], v[sx]);
                    }
                    break;
                }
            }
        }
    }

    private int Emit<T>(Span<T> dst, int o, int ch, T[] l0, T[] l1, T[] l2, byte yv, byte u, byte v)
    {
        if (ch == 1)
        {
            dst[o] = l0[_lumaLut[yv]];
            return o + 1;
        }
        // Integer BT.601: |terms| ≤ 255·298 + 127·516 < 2^17, no overflow in int.
        int c = (yv - _yOffset) * _yScale + 128, d = u - 128, e = v - 128;
        dst[o] = l0[Clamp((c + _crv * e) >> 8)];
        dst[o + 1] = l1[Clamp((c - _cgu * d - _cgv * e) >> 8)];
        dst[o + 2] = l2[Clamp((c + _cbu * d) >> 8)];
        return o + 3;
    }

    private static byte Clamp(int v) => (byte)Math.Clamp(v, 0, 255);

    /// <summary>BT.601 luma of an RGB pixel: (77R + 150G + 29B + 128) / 256.</summary>
    public static byte Luma(byte r, byte g, byte b) => (byte)((77 * r + 150 * g + 29 * b + 128) >> 8);

    private void BuildSampling(int frameW, int frameH)
    {
        int w = _spec.Width, h = _spec.Height;
        int cropW = frameW, cropH = frameH;
        if (Crop == CropMode.Center)
        {
            // Compare aspect ratios exactly in long: frameW/frameH vs w/h.
            if ((long)frameW * h > (long)w * frameH) cropW = (int)Math.Max(1, (long)frameH * w / h);
            else cropH = (int)Math.Max(1, (long)frameW * h / w);
        }
        int x0 = (frameW - cropW) / 2, y0 = (frameH - cropH) / 2;
        for (int x = 0; x < w; x++) _srcX[x] = x0 + (int)(((2L * x + 1) * cropW) / (2L * w));
        for (int y = 0; y < h; y++) _srcY[y] = y0 + (int)(((2L * y + 1) * cropH) / (2L * h));
        _geomW = frameW;
        _geomH = frameH;
    }
}
