using Cnn.Trainer;
using Cnn.Trainer.Data;
using Cnn.Trainer.Layers;

namespace Cnn.Cli.Demo;

/// <summary>Resolves a --data value to train and test sets.</summary>
public static class DataSets
{
    public sealed record Loaded(IDataset Train, IDataset Test, string Name, string Source, Preprocessing? Preprocessing);

    /// <summary>
    /// 'embedded' (or 'mnist'): the MNIST subset compiled into Cnn.Trainer (4,000 train, 1,000 test);
    /// 'fashion': its Fashion-MNIST subset; 'digits': generated seven-segment digits; a folder: MNIST-style IDX files
    /// (train-* and t10k-*, .gz or plain). <paramref name="trainCount"/>/<paramref name="testCount"/>
    /// cap the sizes (0 = all).
    /// </summary>
    public static Loaded Load(string spec, int trainCount, int testCount, int seed)
    {
        if (spec is "embedded" or "mnist" or "fashion")
        {
            bool fashionSubset = spec == "fashion";
            IDataset train = fashionSubset ? EmbeddedDatasets.FashionMnistSubset() : EmbeddedDatasets.MnistSubset();
            IDataset test = fashionSubset ? EmbeddedDatasets.FashionMnistSubset(test: true) : EmbeddedDatasets.MnistSubset(test: true);
            if (trainCount > 0) train = ((InMemoryDataset)train).Take(trainCount);
            if (testCount > 0) test = ((InMemoryDataset)test).Take(testCount);
            return new Loaded(train, test, fashionSubset ? "Fashion-MNIST subset" : "MNIST subset",
                "embedded in Cnn.Trainer (first images of the official files)",
                fashionSubset ? Preprocessing.FashionMnist : Preprocessing.Mnist);
        }
        if (spec == "digits")
        {
            var train = ToDataset(SyntheticDigits.Generate(trainCount > 0 ? trainCount : 2000, seed));
            var test = ToDataset(SyntheticDigits.Generate(testCount > 0 ? testCount : 500, seed + 1));
            return new Loaded(train, test, "generated seven-segment digits", $"SyntheticDigits (seed {seed})", null);
        }
        if (!Directory.Exists(spec))
            throw new CliException(ExitCodes.BadInput, $"data folder not found: {Path.GetFullPath(spec)}",
                "give 'embedded', 'fashion', 'digits' or a folder holding train-images-idx3-ubyte(.gz), train-labels-idx1-ubyte(.gz) and the t10k-* pair");
        bool fashion = spec.Contains("fashion", StringComparison.OrdinalIgnoreCase);
        string[]? names = fashion ? Idx.FashionMnistLabels : null;
        var tr = Idx.LoadFolder(spec, "train", names);
        var te = Idx.LoadFolder(spec, "t10k", names);
        if (trainCount > 0) tr = tr.Take(trainCount);
        if (testCount > 0) te = te.Take(testCount);
        return new Loaded(tr, te, fashion ? "Fashion-MNIST" : "MNIST", Path.GetFullPath(spec),
            fashion ? Preprocessing.FashionMnist : Preprocessing.Mnist);
    }

    /// <summary>
    /// One split of a --data/--calibration value: <paramref name="train"/> picks the training split (calibration),
    /// else the test split (evaluation). Besides the names of <see cref="Load"/>: a folder of MNIST IDX files
    /// (train-* or t10k-*, only that split is read), or an image folder (ROOT/CLASS/*.png|jpg|bmp|pgm|ppm...;
    /// with ROOT/train and ROOT/test subfolders, the split's subfolder). <paramref name="count"/> caps the size (0 = all).
    /// </summary>
    public static IDataset LoadSplit(string spec, bool train, int count, int channels = 0)
    {
        IDataset d;
        if (spec is "embedded" or "mnist" or "fashion" or "digits")
        {
            var l = Load(spec, train ? count : 1, train ? 1 : count, seed: 1);
            d = train ? l.Train : l.Test;
        }
        else if (!Directory.Exists(spec))
        {
            throw new CliException(ExitCodes.BadInput, $"data folder not found: {Path.GetFullPath(spec)}",
                "give a folder of MNIST IDX files (train-images-idx3-ubyte[.gz], t10k-…), an image folder (ROOT/CLASS/image.png), " +
                "'synthetic:N' (quantize only), 'embedded', 'fashion' or 'digits'");
        }
        else if (IsIdxFolder(spec))
        {
            string split = train ? "train" : "t10k";
            d = Idx.LoadFolder(spec, split, spec.Contains("fashion", StringComparison.OrdinalIgnoreCase) ? Idx.FashionMnistLabels : null);
        }
        else
        {
            string sub = Path.Combine(spec, train ? "train" : "test");
            string root = Directory.Exists(Path.Combine(spec, "train")) && Directory.Exists(Path.Combine(spec, "test")) ? sub : spec;
            d = new ImageFolderDataset(root, channels);
        }
        if (count > 0 && count < d.Count) d = Take(d, count);
        if (d.Count == 0) throw new CliException(ExitCodes.BadInput, $"{spec}: the {(train ? "training" : "test")} split is empty");
        return d;
    }

    /// <summary>True when the folder holds MNIST-style IDX files (train-* or t10k-*, .gz or not).</summary>
    public static bool IsIdxFolder(string dir) =>
        Directory.EnumerateFiles(dir).Select(Path.GetFileName).Any(f => f!.Contains("-images-idx3-ubyte", StringComparison.Ordinal) ||
                                                                      f.Contains("-images.idx3-ubyte", StringComparison.Ordinal));

    /// <summary>
    /// <paramref name="count"/> images of uniformly random pixels of the given shape (labels all 0): `synthetic:N`,
    /// a calibration set for speed benchmarks only (the ranges it gives say nothing about real data).
    /// </summary>
    public static InMemoryDataset Synthetic(int count, int channels, int height, int width, int seed)
    {
        var rng = new Random(seed);
        var pixels = new byte[(long)count * channels * height * width];
        rng.NextBytes(pixels);
        return new InMemoryDataset(pixels, new int[count], channels, height, width, ["0"]);
    }

    /// <summary>The first <paramref name="count"/> samples of any data set, in memory.</summary>
    public static InMemoryDataset Take(IDataset d, int count)
    {
        if (d is InMemoryDataset m) return m.Take(count);
        int size = d.Channels * d.Height * d.Width;
        var pixels = new byte[(long)count * size];
        var labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            d.GetPixels(i, pixels.AsSpan(i * size, size));
            labels[i] = d.Label(i);
        }
        return new InMemoryDataset(pixels, labels, d.Channels, d.Height, d.Width, d.Labels);
    }

    public static InMemoryDataset ToDataset((float[] Pixels, int Label)[] samples)
    {
        int size = SyntheticDigits.Size * SyntheticDigits.Size;
        var pixels = new byte[samples.Length * size];
        var labels = new int[samples.Length];
        for (int i = 0; i < samples.Length; i++)
        {
            for (int p = 0; p < size; p++) pixels[i * size + p] = (byte)Math.Round(samples[i].Pixels[p] * 255);
            labels[i] = samples[i].Label;
        }
        return new InMemoryDataset(pixels, labels, 1, SyntheticDigits.Size, SyntheticDigits.Size, SyntheticDigits.Labels);
    }

    /// <summary>Sample <paramref name="index"/> as 0..1 floats of its first channel [H*W] (for pictures).</summary>
    public static float[] Picture(IDataset data, int index)
    {
        var bytes = new byte[data.Channels * data.Height * data.Width];
        data.GetPixels(index, bytes);
        var f = new float[data.Height * data.Width];
        for (int i = 0; i < f.Length; i++) f[i] = bytes[i] / 255f;
        return f;
    }
}
