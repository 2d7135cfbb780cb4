namespace Cnn.Trainer.Data;

/// <summary>Training-time augmentation applied to pixels before normalisation.</summary>
public sealed record Augmentation
{
    /// <summary>Zero-pad by this many pixels then crop back to size at a random offset (0 = off).</summary>
    public int CropPadding { get; init; }
    public bool HorizontalFlip { get; init; }
    /// <summary>Random rotation in ±degrees (0 = no affine).</summary>
    public float RotateDegrees { get; init; }
    /// <summary>Random scale in [1−s, 1+s].</summary>
    public float Scale { get; init; }
    /// <summary>Random translation in ±fraction of the size.</summary>
    public float Translate { get; init; }

    public bool Any => CropPadding > 0 || HorizontalFlip || RotateDegrees > 0 || Scale > 0 || Translate > 0;

    /// <summary>Parses "crop:4,flip,affine:10" (affine:DEG also sets scale 0.1 and translate 0.1).</summary>
    public static Augmentation Parse(string spec)
    {
        var a = new Augmentation();
        foreach (var part in spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var kv = part.Split(':', 2);
            float Arg(float dflt) => kv.Length > 1 ? float.Parse(kv[1], System.Globalization.CultureInfo.InvariantCulture) : dflt;
            a = kv[0].ToLowerInvariant() switch
            {
                "crop" => a with { CropPadding = (int)Arg(4) },
                "flip" => a with { HorizontalFlip = true },
                "affine" => a with { RotateDegrees = Arg(10), Scale = 0.1f, Translate = 0.1f },
                "none" => a,
                _ => throw new ArgumentException($"unknown augmentation '{kv[0]}' (use crop[:PAD], flip, affine[:DEG], none)"),
            };
        }
        return a;
    }
}

/// <summary>SplitMix64: a stateless-seeded generator so each sample's randomness depends only on (seed, epoch, index).</summary>
internal struct SplitMix
{
    private ulong _s;
    public SplitMix(ulong seed) => _s = seed;
    public SplitMix(int seed, int epoch, int index) => _s = ((ulong)(uint)seed << 40) ^ ((ulong)(uint)epoch << 24) ^ (uint)index ^ 0x9E3779B97F4A7C15UL;

    public ulong Next()
    {
        ulong z = _s += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));
    public int Next(int max) => (int)(NextDouble() * max);
}

internal static class Augmenter
{
    /// <summary>src, dst: C×H×W pixel values (0..255 as floats); tmp same size.</summary>
    public static void Apply(Augmentation a, ReadOnlySpan<float> src, Span<float> dst, int c, int h, int w, ref SplitMix rng)
    {
        int plane = h * w;
        int dy = 0, dx = 0;
        if (a.CropPadding > 0) { dy = rng.Next(2 * a.CropPadding + 1) - a.CropPadding; dx = rng.Next(2 * a.CropPadding + 1) - a.CropPadding; }
        bool flip = a.HorizontalFlip && rng.NextDouble() < 0.5;
        bool affine = a.RotateDegrees > 0 || a.Scale > 0 || a.Translate > 0;
        double cos = 1, sin = 0, scale = 1, tx = 0, ty = 0;
        if (affine)
        {
            double ang = (rng.NextDouble() * 2 - 1) * a.RotateDegrees * Math.PI / 180;
            scale = 1 + (rng.NextDouble() * 2 - 1) * a.Scale;
            tx = (rng.NextDouble() * 2 - 1) * a.Translate * w;
            ty = (rng.NextDouble() * 2 - 1) * a.Translate * h;
            cos = Math.Cos(ang) / scale; sin = Math.Sin(ang) / scale;
        }
        double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
        for (int ch = 0; ch < c; ch++)
        {
            var s = src.Slice(ch * plane, plane);
            var d = dst.Slice(ch * plane, plane);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    // output (x, y) ← source position: inverse flip, crop shift, then inverse affine
                    double sx = (flip ? w - 1 - x : x) + dx, sy = y + dy;
                    if (affine)
                    {
                        double ux = sx - cx - tx, uy = sy - cy - ty;
                        double rx = cos * ux + sin * uy + cx, ry = -sin * ux + cos * uy + cy;
                        d[y * w + x] = Bilinear(s, h, w, rx, ry);
                    }
                    else
                    {
                        int ix = (int)sx, iy = (int)sy;
                        d[y * w + x] = (uint)ix < (uint)w && (uint)iy < (uint)h ? s[iy * w + ix] : 0f;
                    }
                }
        }
    }

    private static float Bilinear(ReadOnlySpan<float> s, int h, int w, double x, double y)
    {
        int x0 = (int)Math.Floor(x), y0 = (int)Math.Floor(y);
        double fx = x - x0, fy = y - y0;
        return (float)((P(s, h, w, y0, x0) * (1 - fx) + P(s, h, w, y0, x0 + 1) * fx) * (1 - fy)
            + (P(s, h, w, y0 + 1, x0) * (1 - fx) + P(s, h, w, y0 + 1, x0 + 1) * fx) * fy);
    }

    private static float P(ReadOnlySpan<float> s, int h, int w, int y, int x) => (uint)x < (uint)w && (uint)y < (uint)h ? s[y * w + x] : 0f;

    /// <summary>Beta(α, α) sample for mixup, from two Gamma(α) draws (Marsaglia–Tsang).</summary>
    public static float Beta(float alpha, ref SplitMix rng)
    {
        double g1 = Gamma(alpha, ref rng), g2 = Gamma(alpha, ref rng);
        return (float)(g1 / (g1 + g2));
    }

    private static double Gamma(double a, ref SplitMix rng)
    {
        if (a < 1) return Gamma(a + 1, ref rng) * Math.Pow(Math.Max(1e-300, rng.NextDouble()), 1 / a);
        double d = a - 1.0 / 3, c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double u1 = 1 - rng.NextDouble(), u2 = rng.NextDouble();
            double z = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
            double v = Math.Pow(1 + c * z, 3);
            if (v <= 0) continue;
            double u = 1 - rng.NextDouble();
            if (Math.Log(u) < 0.5 * z * z + d - d * v + d * Math.Log(v)) return d * v;
        }
    }
}
