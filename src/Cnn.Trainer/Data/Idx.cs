using System.Buffers.Binary;
using System.IO.Compression;

namespace Cnn.Trainer.Data;

/// <summary>
/// The IDX format of MNIST/Fashion-MNIST: big-endian magic 0x000008DD (D = dimensions), D big-endian
/// int32 sizes, then unsigned bytes. Files ending in .gz are decompressed on the fly.
/// </summary>
public static class Idx
{
    public static (int[] Dims, byte[] Data) Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"IDX file not found: {path}", path);
        using var fs = File.OpenRead(path);
        Stream s = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(fs, CompressionMode.Decompress) : fs;
        using (s) return Read(s, path);
    }

    public static (int[] Dims, byte[] Data) Read(Stream s, string name)
    {
        Span<byte> head = stackalloc byte[4];
        try { s.ReadExactly(head); }
        catch (EndOfStreamException) { throw new InvalidDataException($"{name}: too short for an IDX header"); }
        catch (InvalidDataException e) { throw new InvalidDataException($"{name}: not a valid gzip stream ({e.Message})"); }
        if (head[0] != 0 || head[1] != 0 || head[2] != 0x08)
            throw new InvalidDataException($"{name}: not an unsigned-byte IDX file (magic {Convert.ToHexString(head)}, expected 000008xx)");
        int nd = head[3];
        if (nd is < 1 or > 4) throw new InvalidDataException($"{name}: IDX with {nd} dimensions is not supported");
        var dims = new int[nd];
        long total = 1;
        for (int i = 0; i < nd; i++)
        {
            s.ReadExactly(head);
            dims[i] = BinaryPrimitives.ReadInt32BigEndian(head);
            if (dims[i] <= 0) throw new InvalidDataException($"{name}: dimension {i} is {dims[i]}");
            total *= dims[i];
        }
        if (total > int.MaxValue) throw new InvalidDataException($"{name}: {total} elements is too large");
        var data = new byte[total];
        try { s.ReadExactly(data); }
        catch (EndOfStreamException) { throw new InvalidDataException($"{name}: truncated: header announces {total} bytes of data ({string.Join("x", dims)})"); }
        return (dims, data);
    }

    /// <summary>Reads an images file [N, H, W] and a labels file [N] into a data set.</summary>
    public static InMemoryDataset Load(string imagesPath, string labelsPath, string[]? classNames = null)
    {
        var (idim, px) = Read(imagesPath);
        var (ldim, lb) = Read(labelsPath);
        if (idim.Length != 3) throw new InvalidDataException($"{imagesPath}: expected 3 dimensions [N,H,W], got {idim.Length}");
        if (ldim.Length != 1) throw new InvalidDataException($"{labelsPath}: expected 1 dimension [N], got {ldim.Length}");
        if (idim[0] != ldim[0]) throw new InvalidDataException($"{imagesPath} has {idim[0]} images but {labelsPath} has {ldim[0]} labels");
        int classes = lb.Length == 0 ? 0 : lb.Max() + 1;
        classNames ??= Enumerable.Range(0, Math.Max(classes, 10)).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        if (classes > classNames.Length) throw new InvalidDataException($"{labelsPath}: label {classes - 1} exceeds the {classNames.Length} class names");
        return new InMemoryDataset(px, lb.Select(b => (int)b).ToArray(), 1, idim[1], idim[2], classNames);
    }

    /// <summary>
    /// Loads "train" or "t10k" from a folder holding the standard names, .gz or plain.
    /// </summary>
    public static InMemoryDataset LoadFolder(string folder, string split, string[]? classNames = null)
    {
        string Find(string stem)
        {
            foreach (var cand in new[] { stem, stem + ".gz", stem.Replace("-idx", ".idx") , stem.Replace("-idx", ".idx") + ".gz" })
            {
                var p = Path.Combine(folder, cand);
                if (File.Exists(p)) return p;
            }
            throw new FileNotFoundException($"{folder}: no {stem}[.gz] (expected the standard MNIST file names)");
        }
        return Load(Find($"{split}-images-idx3-ubyte"), Find($"{split}-labels-idx1-ubyte"), classNames);
    }

    public static readonly string[] FashionMnistLabels =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>Writes [N,H,W] or [N] unsigned-byte IDX (used to build fixtures).</summary>
    public static void Write(Stream s, int[] dims, ReadOnlySpan<byte> data)
    {
        Span<byte> b = stackalloc byte[4];
        s.Write([0, 0, 8, (byte)dims.Length]);
        foreach (int d in dims) { BinaryPrimitives.WriteInt32BigEndian(b, d); s.Write(b); }
        s.Write(data);
    }
}
