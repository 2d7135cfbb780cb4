using System.Buffers.Binary;

namespace Cnn.Edge.Devices.Frames;

/// <summary>A decoded image in a caller-owned buffer (reused from image to image).</summary>
public readonly record struct DecodedImage(int Width, int Height, int Stride, PixelFormat Format);

/// <summary>
/// Small, allocation-light decoders for the formats a camera stand-in needs: PGM/PPM (P2, P3, P5, P6,
/// maxval ≤ 65535) and uncompressed BMP (8-bit palette, 24-bit, 32-bit; bottom-up or top-down).
/// Written here instead of using an image library so the device binary stays NativeAOT-clean and
/// small. Every malformed file throws <see cref="FormatException"/> naming the problem.
/// </summary>
public static class ImageDecoder
{
    public const int MaxSide = 8192;

    public static bool IsSupportedExtension(string path)
    {
        string ext = Path.GetExtension(path).ToLowerInvariant();
        return ext is ".pgm" or ".ppm" or ".pnm" or ".bmp";
    }

    /// <summary>Decodes into <paramref name="buffer"/>, growing it only when the image is larger than any before.</summary>
    public static DecodedImage Decode(ReadOnlySpan<byte> file, ref byte[] buffer)
    {
        if (file.Length >= 2 && file[0] == 'P' && file[1] is (byte)'2' or (byte)'3' or (byte)'5' or (byte)'6') return DecodePnm(file, ref buffer);
        if (file.Length >= 2 && file[0] == 'B' && file[1] == 'M') return DecodeBmp(file, ref buffer);
        throw new FormatException("not a PGM/PPM (P2/P3/P5/P6) or BMP file: unknown magic bytes");
    }

    private static DecodedImage DecodePnm(ReadOnlySpan<byte> f, ref byte[] buffer)
    {
        char kind = (char)f[1];
        int pos = 2;
        int width = ReadHeaderInt(f, ref pos, "width");
        int height = ReadHeaderInt(f, ref pos, "height");
        int maxval = ReadHeaderInt(f, ref pos, "maxval");
        CheckSize(width, height);
        if (maxval is < 1 or > 65535) throw new FormatException($"PNM maxval {maxval} is outside 1..65535");
        bool colour = kind is '3' or '6';
        int channels = colour ? 3 : 1;
        int count = width * height * channels;
        EnsureCapacity(ref buffer, count);
        Span<byte> dst = buffer.AsSpan(0, count);
        if (kind is '5' or '6')
        {
            if (pos >= f.Length || !IsSpace(f[pos])) throw new FormatException("PNM header must end with one whitespace byte before the pixels");
            pos++;
            int bytesPer = maxval > 255 ? 2 : 1;
            long need = (long)count * bytesPer;
            if (f.Length - pos < need) throw new FormatException($"PNM pixel data is truncated: {f.Length - pos} bytes, {width}x{height}x{channels} needs {need}");
            ReadOnlySpan<byte> px = f.Slice(pos);
            for (int i = 0; i < count; i++)
            {
                int v = bytesPer == 2 ? BinaryPrimitives.ReadUInt16BigEndian(px.Slice(i * 2)) : px[i];
                dst[i] = Scale(v, maxval);
            }
        }
        else
        {
            for (int i = 0; i < count; i++)
            {
                int v = ReadHeaderInt(f, ref pos, "pixel");
                if (v > maxval) throw new FormatException($"PNM pixel value {v} exceeds maxval {maxval}");
                dst[i] = Scale(v, maxval);
            }
        }
        return new DecodedImage(width, height, width * channels, colour ? PixelFormat.Rgb24 : PixelFormat.Grey8);
    }

    private static byte Scale(int v, int maxval) => maxval == 255 ? (byte)v : (byte)((v * 255 + maxval / 2) / maxval);

    private static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'\v' or (byte)'\f';

    private static int ReadHeaderInt(ReadOnlySpan<byte> f, ref int pos, string what)
    {
        while (pos < f.Length)
        {
            if (IsSpace(f[pos])) pos++;
            else if (f[pos] == '#') { while (pos < f.Length && f[pos] != '\n') pos++; }
            else break;
        }
        if (pos >= f.Length || f[pos] < '0' || f[pos] > '9') throw new FormatException($"PNM {what} is missing or not a number at byte {pos}");
        long v = 0;
        while (pos < f.Length && f[pos] >= '0' && f[pos] <= '9')
        {
            v = v * 10 + (f[pos++] - '0');
            if (v > int.MaxValue) throw new FormatException($"PNM {what} is too large");
        }
        return (int)v;
    }

    private static DecodedImage DecodeBmp(ReadOnlySpan<byte> f, ref byte[] buffer)
    {
        if (f.Length < 54) throw new FormatException($"BMP is truncated: {f.Length} bytes, the headers need 54");
        uint dataOffset = BinaryPrimitives.ReadUInt32LittleEndian(f.Slice(10));
        uint headerSize = BinaryPrimitives.ReadUInt32LittleEndian(f.Slice(14));
        if (headerSize < 40) throw new FormatException($"BMP info header size {headerSize} is not supported (need BITMAPINFOHEADER or later)");
        int width = BinaryPrimitives.ReadInt32LittleEndian(f.Slice(18));
        int rawHeight = BinaryPrimitives.ReadInt32LittleEndian(f.Slice(22));
        int bpp = BinaryPrimitives.ReadUInt16LittleEndian(f.Slice(28));
        uint compression = BinaryPrimitives.ReadUInt32LittleEndian(f.Slice(30));
        bool topDown = rawHeight < 0;
        int height = rawHeight == int.MinValue ? -1 : Math.Abs(rawHeight);
        CheckSize(width, height);
        // 3 = BI_BITFIELDS, accepted for 32-bit files in the usual BGRA order.
        if (compression != 0 && !(compression == 3 && bpp == 32)) throw new FormatException($"BMP compression {compression} is not supported (only uncompressed)");
        if (bpp is not (8 or 24 or 32)) throw new FormatException($"BMP with {bpp} bits per pixel is not supported (8, 24 or 32)");
        long rowBytes = ((long)width * bpp + 31) / 32 * 4;
        if (dataOffset > f.Length || f.Length - dataOffset < rowBytes * height)
            throw new FormatException($"BMP pixel data is truncated: {Math.Max(0, f.Length - dataOffset)} bytes from offset {dataOffset}, {width}x{height}x{bpp}bit needs {rowBytes * height}");
        ReadOnlySpan<byte> palette = default;
        if (bpp == 8)
        {
            uint colours = BinaryPrimitives.ReadUInt32LittleEndian(f.Slice(46));
            if (colours == 0) colours = 256;
            long palStart = 14 + headerSize;
            if (colours > 256 || palStart + colours * 4 > dataOffset) throw new FormatException($"BMP palette of {colours} colours does not fit before the pixel data");
            palette = f.Slice((int)palStart, (int)colours * 4);
        }
        int stride = width * 3;
        EnsureCapacity(ref buffer, stride * height);
        for (int y = 0; y < height; y++)
        {
            ReadOnlySpan<byte> src = f.Slice((int)(dataOffset + rowBytes * (topDown ? y : height - 1 - y)), (int)rowBytes);
            Span<byte> dst = buffer.AsSpan(y * stride, stride);
            switch (bpp)
            {
                case 24: src.Slice(0, stride).CopyTo(dst); break;
                case 32:
                    for (int x = 0; x < width; x++) { dst[x * 3] = src[x * 4]; dst[x * 3 + 1] = src[x * 4 + 1]; dst[x * 3 + 2] = src[x * 4 + 2]; }
                    break;
                default:
                    for (int x = 0; x < width; x++)
                    {
                        int i = src[x] * 4;
                        if (i + 3 > palette.Length) throw new FormatException($"BMP pixel ({x},{y}) uses palette entry {src[x]} beyond the {palette.Length / 4} colours");
                        dst[x * 3] = palette[i]; dst[x * 3 + 1] = palette[i + 1]; dst[x * 3 + 2] = palette[i + 2];
                    }
                    break;
            }
        }
        return new DecodedImage(width, height, stride, PixelFormat.Bgr24);
    }

    private static void CheckSize(int width, int height)
    {
        if (width is < 1 or > MaxSide || height is < 1 or > MaxSide)
            throw new FormatException($"image size {width}x{height} is outside 1..{MaxSide}");
    }

    private static void EnsureCapacity(ref byte[] buffer, int count)
    {
        if (buffer.Length < count) buffer = new byte[count];
    }

    /// <summary>Writes a binary PGM (1 channel) or PPM (3 channels): for tests, demos and debugging dumps.</summary>
    public static byte[] EncodePnm(ReadOnlySpan<byte> pixels, int width, int height, int channels)
    {
        byte[] header = System.Text.Encoding.ASCII.GetBytes($"{(channels == 1 ? "P5" : "P6")}\n{width} {height}\n255\n");
        var file = new byte[header.Length + width * height * channels];
        header.CopyTo(file, 0);
        pixels.Slice(0, width * height * channels).CopyTo(file.AsSpan(header.Length));
        return file;
    }
}
