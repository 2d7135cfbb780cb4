using System.IO.Compression;
using System.Text;
using Cnn.Trainer.Data;

namespace Cnn.Trainer.Tests;

public class DataTests
{
    [Fact]
    public void EmbeddedSubsetsLoadWithLabels()
    {
        var m = EmbeddedDatasets.MnistSubset();
        Assert.Equal(4000, m.Count);
        Assert.Equal((1, 28, 28), (m.Channels, m.Height, m.Width));
        Assert.Equal(5, m.Label(0));   // the first MNIST training image is a 5
        var f = EmbeddedDatasets.FashionMnistSubset(test: true);
        Assert.Equal(500, f.Count);
        Assert.Equal("Ankle boot", f.Labels[f.Label(0)]);
    }

    [Fact]
    public void IdxReadsGzipAndPlainAndNamesTruncatedFiles()
    {
        string dir = Directory.CreateTempSubdirectory("cnn-idx").FullName;
        try
        {
            var px = Enumerable.Range(0, 3 * 4 * 5).Select(i => (byte)i).ToArray();
            using (var f = File.Create(Path.Combine(dir, "train-images-idx3-ubyte"))) Idx.Write(f, [3, 4, 5], px);
            using (var f = File.Create(Path.Combine(dir, "train-labels-idx1-ubyte.gz")))
            using (var gz = new GZipStream(f, CompressionLevel.Fastest)) Idx.Write(gz, [3], [2, 0, 1]);
            var d = Idx.LoadFolder(dir, "train");
            Assert.Equal(3, d.Count);
            Assert.Equal(1, d.Label(2));
            var buf = new byte[20];
            d.GetPixels(1, buf);
            Assert.Equal(px[20..40], buf);
            string bad = Path.Combine(dir, "t10k-images-idx3-ubyte");
            File.WriteAllBytes(bad, File.ReadAllBytes(Path.Combine(dir, "train-images-idx3-ubyte"))[..30]);
            var ex = Assert.Throws<InvalidDataException>(() => Idx.Read(bad));
            Assert.Contains(bad, ex.Message);
            Assert.Contains("truncated", ex.Message);
            File.WriteAllBytes(bad, Encoding.ASCII.GetBytes("hello world"));
            Assert.Contains("magic", Assert.Throws<InvalidDataException>(() => Idx.Read(bad)).Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    private static void Pgm(string path, int w, int h, byte v)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var head = Encoding.ASCII.GetBytes($"P5\n{w} {h}\n255\n");
        File.WriteAllBytes(path, [.. head, .. Enumerable.Repeat(v, w * h)]);
    }

    [Fact]
    public void ImageFolderLoadsClassesAndRejectsBadLayouts()
    {
        string dir = Directory.CreateTempSubdirectory("cnn-folder").FullName;
        try
        {
            Pgm(Path.Combine(dir, "cat", "a.pgm"), 6, 4, 10);
            Pgm(Path.Combine(dir, "cat", "b.pgm"), 6, 4, 20);
            Pgm(Path.Combine(dir, "dog", "c.pgm"), 6, 4, 200);
            var ds = new ImageFolderDataset(dir);
            Assert.Equal(["cat", "dog"], ds.Labels);
            Assert.Equal((3, 1, 4, 6), (ds.Count, ds.Channels, ds.Height, ds.Width));
            var buf = new byte[24];
            ds.GetPixels(2, buf);
            Assert.Equal(1, ds.Label(2));
            Assert.All(buf, b => Assert.Equal(200, b));
            var (tr, va) = DatasetView.Split(ds, 0.34, 1);
            Assert.Equal(3, tr.Count + va.Count);

            Pgm(Path.Combine(dir, "dog", "big.pgm"), 8, 4, 1);
            var ex = Assert.Throws<InvalidDataException>(() => new ImageFolderDataset(dir));
            Assert.Contains("big.pgm", ex.Message);
            File.Delete(Path.Combine(dir, "dog", "big.pgm"));

            Directory.CreateDirectory(Path.Combine(dir, "empty"));
            Assert.Contains("empty", Assert.Throws<InvalidDataException>(() => new ImageFolderDataset(dir)).Message);
            Directory.Delete(Path.Combine(dir, "empty"));

            Pgm(Path.Combine(dir, "loose.pgm"), 6, 4, 1);
            Assert.Contains("loose.pgm", Assert.Throws<InvalidDataException>(() => new ImageFolderDataset(dir)).Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void AugmentationFlipsAndShifts()
    {
        var src = new float[] { 1, 2, 3, 4, 5, 6 };   // 1×2×3
        var dst = new float[6];
        var flipOnly = new Augmentation { HorizontalFlip = true };
        bool sawFlip = false, sawSame = false;
        for (int s = 0; s < 20; s++)
        {
            var rng = new SplitMix(1, 0, s);
            Augmenter.Apply(flipOnly, src, dst, 1, 2, 3, ref rng);
            if (dst.SequenceEqual(new float[] { 3, 2, 1, 6, 5, 4 })) sawFlip = true;
            else if (dst.SequenceEqual(src)) sawSame = true;
            else Assert.Fail($"unexpected flip result {string.Join(",", dst)}");
        }
        Assert.True(sawFlip && sawSame);
        var crop = new Augmentation { CropPadding = 1 };
        for (int s = 0; s < 20; s++)
        {
            var rng = new SplitMix(1, 0, s);
            Augmenter.Apply(crop, src, dst, 1, 2, 3, ref rng);
            // every output pixel is either padding (0) or a source pixel
            Assert.All(dst, v => Assert.True(v == 0 || src.Contains(v)));
        }
    }

    [Fact]
    public void MeasuredPreprocessingMatchesMnistStatistics()
    {
        var p = Preprocessing.Measure(EmbeddedDatasets.MnistSubset());
        Assert.InRange(p.Mean[0], 0.12f, 0.14f);
        Assert.InRange(p.Std[0], 0.29f, 0.32f);
    }
}
