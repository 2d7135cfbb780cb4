namespace Cnn.Cli.Demo;

/// <summary>
/// Generated digits 0-9 as seven-segment strokes on a 28×28 grey canvas, with random position,
/// size, slant, stroke width and noise: an MNIST-shaped data set that needs no file and no network.
/// Values are 0..1 (ink = 1), row-major [28*28].
/// </summary>
public static class SyntheticDigits
{
    public const int Size = 28;
    public static readonly string[] Labels = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    // Segments a..g: top, top-right, bottom-right, bottom, bottom-left, top-left, middle.
    private static readonly bool[][] Segments =
    [
        [true, true, true, true, true, true, false],     // 0
        [false, true, true, false, false, false, false], // 1
        [true, true, false, true, true, false, true],    // 2
        [true, true, true, true, false, false, true],    // 3
        [false, true, true, false, false, true, true],   // 4
        [true, false, true, true, false, true, true],    // 5
        [true, false, true, true, true, true, true],     // 6
        [true, true, true, false, false, false, false],  // 7
        [true, true, true, true, true, true, true],      // 8
        [true, true, true, true, false, true, true],     // 9
    ];

    public static (float[] Pixels, int Label)[] Generate(int count, int seed)
    {
        var rng = new Random(seed);
        var result = new (float[], int)[count];
        for (int i = 0; i < count; i++)
        {
            int label = i % 10;
            result[i] = (Draw(label, rng), label);
        }
        // Shuffle so batches mix classes.
        rng.Shuffle(result);
        return result;
    }

    public static float[] Draw(int digit, Random rng)
    {
        var img = new float[Size * Size];
        float w = 8 + (float)rng.NextDouble() * 6, h = 14 + (float)rng.NextDouble() * 6;
        float cx = 14 + (float)(rng.NextDouble() - 0.5) * 6, cy = 14 + (float)(rng.NextDouble() - 0.5) * 4;
        float slant = (float)(rng.NextDouble() - 0.3) * 0.35f, thick = 1.1f + (float)rng.NextDouble() * 1.2f;
        float x0 = cx - w / 2, x1 = cx + w / 2, y0 = cy - h / 2, ym = cy, y1 = cy + h / 2;
        (float, float, float, float)[] seg =
        [
            (x0, y0, x1, y0), (x1, y0, x1, ym), (x1, ym, x1, y1), (x0, y1, x1, y1),
            (x0, ym, x0, y1), (x0, y0, x0, ym), (x0, ym, x1, ym),
        ];
        for (int s = 0; s < 7; s++)
        {
            if (!Segments[digit][s]) continue;
            var (ax, ay, bx, by) = seg[s];
            // The slant shears x by the distance from the centre line, like handwriting.
            Stroke(img, ax + slant * (cy - ay), ay, bx + slant * (cy - by), by, thick);
        }
        for (int p = 0; p < img.Length; p++)
            img[p] = Math.Clamp(img[p] + (float)(rng.NextDouble() * 0.15), 0f, 1f);
        return img;
    }

    private static void Stroke(float[] img, float ax, float ay, float bx, float by, float thick)
    {
        float dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
        for (int y = 0; y < Size; y++)
            for (int x = 0; x < Size; x++)
            {
                float t = len2 == 0 ? 0 : Math.Clamp(((x - ax) * dx + (y - ay) * dy) / len2, 0, 1);
                float ex = ax + t * dx - x, ey = ay + t * dy - y;
                float d = MathF.Sqrt(ex * ex + ey * ey);
                // Soft edge one pixel wide, like anti-aliased pen strokes in MNIST.
                float ink = Math.Clamp(thick - d + 0.5f, 0f, 1f);
                int i = y * Size + x;
                if (ink > img[i]) img[i] = ink;
            }
    }

    /// <summary>Binary PGM (P5), the simplest grey image a frame folder source can read.</summary>
    public static byte[] ToPgm(float[] pixels, int height, int width)
    {
        byte[] header = System.Text.Encoding.ASCII.GetBytes($"P5\n{width} {height}\n255\n");
        var bytes = new byte[header.Length + pixels.Length];
        header.CopyTo(bytes, 0);
        for (int i = 0; i < pixels.Length; i++) bytes[header.Length + i] = (byte)Math.Round(Math.Clamp(pixels[i], 0f, 1f) * 255);
        return bytes;
    }
}
