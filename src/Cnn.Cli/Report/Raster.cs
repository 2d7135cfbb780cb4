using StbImageWriteSharp;

namespace Cnn.Cli.Report;

/// <summary>
/// An RGB picture built from small tiles (conv filters, feature maps, input samples), scaled up
/// with nearest-neighbour so every weight stays a visible square, and written as PNG.
/// </summary>
public sealed class Raster
{
    public Raster(int width, int height, byte background = 255)
    {
        if (width <= 0 || height <= 0) throw new ArgumentOutOfRangeException(nameof(width), $"picture size {width}x{height} must be positive");
        Width = width;
        Height = height;
        Rgb = new byte[width * height * 3];
        Array.Fill(Rgb, background);
    }

    public int Width { get; }
    public int Height { get; }
    /// <summary>Row-major RGB, 3 bytes per pixel.</summary>
    public byte[] Rgb { get; }

    public void Set(int x, int y, (byte R, byte G, byte B) c)
    {
        int i = (y * Width + x) * 3;
        Rgb[i] = c.R; Rgb[i + 1] = c.G; Rgb[i + 2] = c.B;
    }

    /// <summary>Draws an h×w map of colours at (x0, y0), each value as a scale×scale square.</summary>
    public void Blit(int x0, int y0, int h, int w, int scale, Func<int, int, (byte, byte, byte)> colorAt)
    {
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                var c = colorAt(y, x);
                for (int dy = 0; dy < scale; dy++)
                    for (int dx = 0; dx < scale; dx++)
                    {
                        int px = x0 + x * scale + dx, py = y0 + y * scale + dy;
                        if ((uint)px < (uint)Width && (uint)py < (uint)Height) Set(px, py, c);
                    }
            }
    }

    public byte[] EncodePng()
    {
        using var ms = new MemoryStream();
        new ImageWriter().WritePng(Rgb, Width, Height, ColorComponents.RedGreenBlue, ms);
        return ms.ToArray();
    }

    /// <summary>
    /// A grid of equally sized maps (values [tile][y*w+x]) with a 2-pixel gap. Each tile is scaled
    /// to its own range so a weak filter is as readable as a strong one; <paramref name="diverging"/>
    /// maps negative to blue, zero to white and positive to red (for weights), otherwise grey (activations).
    /// </summary>
    public static Raster Grid(IReadOnlyList<float[]> tiles, int h, int w, int scale, int columns, bool diverging)
    {
        if (tiles.Count == 0) throw new ArgumentException("a grid needs at least one tile", nameof(tiles));
        const int gap = 2;
        columns = Math.Clamp(columns, 1, tiles.Count);
        int rows = (tiles.Count + columns - 1) / columns;
        var r = new Raster(columns * (w * scale + gap) + gap, rows * (h * scale + gap) + gap, 235);
        for (int t = 0; t < tiles.Count; t++)
        {
            float[] v = tiles[t];
            if (v.Length != h * w) throw new ArgumentException($"tile {t} has {v.Length} values, expected {h}x{w}", nameof(tiles));
            float lo = float.MaxValue, hi = float.MinValue;
            foreach (float f in v) { if (f < lo) lo = f; if (f > hi) hi = f; }
            float absMax = Math.Max(Math.Abs(lo), Math.Abs(hi));
            int x0 = gap + t % columns * (w * scale + gap), y0 = gap + t / columns * (h * scale + gap);
            r.Blit(x0, y0, h, w, scale, (y, x) => diverging
                ? Diverging(absMax == 0 ? 0 : v[y * w + x] / absMax)
                : Grey(hi > lo ? (v[y * w + x] - lo) / (hi - lo) : 0));
        }
        return r;
    }

    /// <summary>-1 → blue, 0 → white, +1 → red.</summary>
    public static (byte, byte, byte) Diverging(float t)
    {
        t = Math.Clamp(t, -1f, 1f);
        byte Lerp(float a, float b, float f) => (byte)Math.Round(a + (b - a) * f);
        return t >= 0
            ? (Lerp(255, 178, t), Lerp(255, 24, t), Lerp(255, 43, t))
            : (Lerp(255, 33, -t), Lerp(255, 102, -t), Lerp(255, 172, -t));
    }

    /// <summary>0 → black, 1 → white.</summary>
    public static (byte, byte, byte) Grey(float t)
    {
        byte g = (byte)Math.Round(Math.Clamp(t, 0f, 1f) * 255);
        return (g, g, g);
    }
}
