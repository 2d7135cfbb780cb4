namespace Cnn.Trainer.Data;

/// <summary>
/// Pixel preprocessing shared by training and the exported model's metadata:
/// x = (pixel·PixelScale − Mean[c]) / Std[c], pixels 0..255.
/// </summary>
public sealed record Preprocessing(float PixelScale, float[] Mean, float[] Std)
{
    public static Preprocessing Unit(int channels) => new(1f / 255f, new float[channels], Enumerable.Repeat(1f, channels).ToArray());
    public static readonly Preprocessing Mnist = new(1f / 255f, [0.1307f], [0.3081f]);
    public static readonly Preprocessing FashionMnist = new(1f / 255f, [0.2860f], [0.3530f]);

    /// <summary>Mean and std of all pixels of a data set (per channel), for a user's own data.</summary>
    public static Preprocessing Measure(IDataset data, int maxSamples = 5000)
    {
        int c = data.Channels, plane = data.Height * data.Width;
        var s = new double[c]; var s2 = new double[c];
        var buf = new byte[c * plane];
        int count = Math.Min(data.Count, maxSamples);
        for (int i = 0; i < count; i++)
        {
            data.GetPixels(i * (data.Count / count), buf);
            for (int ch = 0; ch < c; ch++)
                for (int k = 0; k < plane; k++) { double v = buf[ch * plane + k] / 255.0; s[ch] += v; s2[ch] += v * v; }
        }
        double m = (double)count * plane;
        return new Preprocessing(1f / 255f, s.Select(v => (float)(v / m)).ToArray(),
            s.Zip(s2, (a, b) => (float)Math.Sqrt(Math.Max(1e-12, b / m - (a / m) * (a / m)))).ToArray());
    }
}

/// <summary>A labelled image set of 8-bit pixels, CHW per sample; implementations may decode lazily.</summary>
public interface IDataset
{
    int Count { get; }
    int Channels { get; }
    int Height { get; }
    int Width { get; }
    string[] Labels { get; }
    int Label(int index);
    /// <summary>Writes sample <paramref name="index"/> as C·H·W bytes.</summary>
    void GetPixels(int index, Span<byte> destination);
}

/// <summary>All pixels in memory: MNIST-sized sets (60,000×784 bytes = 47 MB).</summary>
public sealed class InMemoryDataset : IDataset
{
    private readonly byte[] _pixels;
    private readonly int[] _labels;

    public InMemoryDataset(byte[] pixels, int[] labels, int channels, int height, int width, string[] classNames)
    {
        int size = channels * height * width;
        if (pixels.Length != (long)labels.Length * size)
            throw new ArgumentException($"pixel buffer holds {pixels.Length} bytes, expected {labels.Length}×{size}");
        foreach (int l in labels)
            if ((uint)l >= (uint)classNames.Length) throw new ArgumentException($"label {l} is outside the {classNames.Length} classes");
        _pixels = pixels; _labels = labels; Channels = channels; Height = height; Width = width; Labels = classNames;
    }

    public int Count => _labels.Length;
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    public string[] Labels { get; }
    public int Label(int index) => _labels[index];
    public void GetPixels(int index, Span<byte> destination)
    {
        int size = Channels * Height * Width;
        _pixels.AsSpan(index * size, size).CopyTo(destination);
    }

    /// <summary>The first <paramref name="count"/> samples (or a subset by indices).</summary>
    public InMemoryDataset Take(int count) => Subset(Enumerable.Range(0, Math.Min(count, Count)).ToArray());

    public InMemoryDataset Subset(int[] indices)
    {
        int size = Channels * Height * Width;
        var px = new byte[indices.Length * size];
        var lb = new int[indices.Length];
        for (int i = 0; i < indices.Length; i++) { _pixels.AsSpan(indices[i] * size, size).CopyTo(px.AsSpan(i * size)); lb[i] = _labels[indices[i]]; }
        return new InMemoryDataset(px, lb, Channels, Height, Width, Labels);
    }

    /// <summary>Deterministic shuffled split into (train, validation).</summary>
    public (InMemoryDataset Train, InMemoryDataset Validation) Split(double validationFraction, int seed = 0)
    {
        if (validationFraction is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(validationFraction), "must be in (0, 1)");
        var idx = Enumerable.Range(0, Count).ToArray();
        new Random(seed).Shuffle(idx);
        int nv = Math.Max(1, (int)(Count * validationFraction));
        return (Subset(idx[nv..]), Subset(idx[..nv]));
    }
}

/// <summary>Index view over any data set (train/validation split of a lazily decoded folder).</summary>
public sealed class DatasetView(IDataset inner, int[] indices) : IDataset
{
    public int Count => indices.Length;
    public int Channels => inner.Channels;
    public int Height => inner.Height;
    public int Width => inner.Width;
    public string[] Labels => inner.Labels;
    public int Label(int index) => inner.Label(indices[index]);
    public void GetPixels(int index, Span<byte> destination) => inner.GetPixels(indices[index], destination);

    public static (DatasetView Train, DatasetView Validation) Split(IDataset data, double validationFraction, int seed = 0)
    {
        if (validationFraction is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(validationFraction), "must be in (0, 1)");
        var idx = Enumerable.Range(0, data.Count).ToArray();
        new Random(seed).Shuffle(idx);
        int nv = Math.Max(1, (int)(data.Count * validationFraction));
        return (new DatasetView(data, idx[nv..]), new DatasetView(data, idx[..nv]));
    }
}
