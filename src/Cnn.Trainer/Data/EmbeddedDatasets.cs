using System.IO.Compression;

namespace Cnn.Trainer.Data;

/// <summary>
/// Small data sets compiled into the assembly (for demos and tests; no download needed):
/// the first 4,000 training and 1,000 test images of MNIST, and 2,000 / 500 of Fashion-MNIST.
/// </summary>
public static class EmbeddedDatasets
{
    public static InMemoryDataset MnistSubset(bool test = false) => Load("mnist", test, null);
    public static InMemoryDataset FashionMnistSubset(bool test = false) => Load("fashion-mnist", test, Idx.FashionMnistLabels);

    private static InMemoryDataset Load(string name, bool test, string[]? labels)
    {
        string split = test ? "t10k" : "train";
        var (idim, px) = Read($"{name}-{split}-images.idx.gz");
        var (_, lb) = Read($"{name}-{split}-labels.idx.gz");
        labels ??= Enumerable.Range(0, 10).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        return new InMemoryDataset(px, lb.Select(b => (int)b).ToArray(), 1, idim[1], idim[2], labels);
    }

    private static (int[] Dims, byte[] Data) Read(string file)
    {
        string res = "Cnn.Trainer.Data." + file;
        using var s = typeof(EmbeddedDatasets).Assembly.GetManifestResourceStream(res)
            ?? throw new InvalidOperationException($"embedded resource {res} is missing from Cnn.Trainer");
        using var gz = new GZipStream(s, CompressionMode.Decompress);
        return Idx.Read(gz, res);
    }
}
