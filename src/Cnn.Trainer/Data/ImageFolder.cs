using StbImageSharp;

namespace Cnn.Trainer.Data;

/// <summary>
/// A folder with one subfolder per class (the subfolder name is the label) holding PNG/JPEG/BMP/PGM/TGA
/// images of one size. Only file names are kept; images are decoded when a batch asks for them, so memory
/// does not grow with the data set. Validation reads each header once at open and names the offending file.
/// </summary>
public sealed class ImageFolderDataset : IDataset
{
    private static readonly string[] Extensions = [".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".tga", ".gif"];
    private readonly string[] _files;
    private readonly int[] _labels;

    /// <param name="channels">1 = grey, 3 = RGB; 0 = decide from the first image.</param>
    public ImageFolderDataset(string root, int channels = 0)
    {
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"image folder not found: {root}");
        var stray = Directory.GetFiles(root).Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant())).ToArray();
        if (stray.Length > 0)
            throw new InvalidDataException($"{stray[0]}: image outside a class subfolder (unlabeled); put each image in a folder named after its class");
        var classes = Directory.GetDirectories(root).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToArray();
        if (classes.Length == 0) throw new InvalidDataException($"{root}: no class subfolders (expected ROOT/CLASS/image.png)");
        var files = new List<string>(); var labels = new List<int>();
        for (int c = 0; c < classes.Length; c++)
        {
            var dir = Path.Combine(root, classes[c]);
            var imgs = Directory.GetFiles(dir).Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal).ToArray();
            if (imgs.Length == 0) throw new InvalidDataException($"{dir}: class folder '{classes[c]}' holds no images ({string.Join("/", Extensions)})");
            files.AddRange(imgs); labels.AddRange(Enumerable.Repeat(c, imgs.Length));
        }
        _files = [.. files]; _labels = [.. labels]; Labels = classes;
        int w0 = 0, h0 = 0, c0 = 0;
        foreach (var f in _files)
        {
            ImageInfo? info;
            try { info = Pnm.IsPnm(f) ? Pnm.Info(f) : ReadInfo(f); }
            catch (Exception e) when (e is IOException or InvalidOperationException or ArgumentException)
            { throw new InvalidDataException($"{f}: cannot read image header ({e.Message})", e); }
            if (info is not { } i) throw new InvalidDataException($"{f}: not a decodable image");
            if (w0 == 0) { w0 = i.Width; h0 = i.Height; c0 = (int)i.ColorComponents; }
            else if (i.Width != w0 || i.Height != h0)
                throw new InvalidDataException($"{f}: image is {i.Width}x{i.Height} but {_files[0]} is {w0}x{h0}; all images must have one size (resize them first)");
        }
        Width = w0; Height = h0;
        Channels = channels != 0 ? channels : c0 is 1 or 2 ? 1 : 3;
        if (Channels is not (1 or 3)) throw new ArgumentException("channels must be 1 (grey) or 3 (RGB)");
    }

    public int Count => _files.Length;
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    public string[] Labels { get; }
    public string FileAt(int index) => _files[index];
    public int Label(int index) => _labels[index];

    private static ImageInfo? ReadInfo(string f)
    {
        using var s = File.OpenRead(f);
        return ImageInfo.FromStream(s);
    }

    public void GetPixels(int index, Span<byte> destination)
    {
        ImageResult img;
        try { img = Pnm.IsPnm(_files[index]) ? Pnm.Decode(_files[index], Channels) : ImageResult.FromMemory(File.ReadAllBytes(_files[index]), Channels == 1 ? ColorComponents.Grey : ColorComponents.RedGreenBlue); }
        catch (Exception e) when (e is not OutOfMemoryException) { throw new InvalidDataException($"{_files[index]}: cannot decode ({e.Message})", e); }
        if (img.Width != Width || img.Height != Height)
            throw new InvalidDataException($"{_files[index]}: image is {img.Width}x{img.Height}, expected {Width}x{Height}");
        int plane = Width * Height;
        // interleaved HWC → planar CHW
        for (int c = 0; c < Channels; c++)
            for (int p = 0; p < plane; p++) destination[c * plane + p] = img.Data[p * Channels + c];
    }
}

/// <summary>Binary PGM (P5) and PPM (P6), 8-bit, which stb_image's C# port does not read.</summary>
internal static class Pnm
{
    public static bool IsPnm(string path) => Path.GetExtension(path).ToLowerInvariant() is ".pgm" or ".ppm";

    private static (int W, int H, int C, int Offset, byte[] Bytes) Parse(string path)
    {
        var b = File.ReadAllBytes(path);
        int pos = 0;
        string Token()
        {
            while (pos < b.Length && (char.IsWhiteSpace((char)b[pos]) || b[pos] == '#'))
            {
                if (b[pos] == '#') while (pos < b.Length && b[pos] != '\n') pos++;
                else pos++;
            }
            int start = pos;
            while (pos < b.Length && !char.IsWhiteSpace((char)b[pos])) pos++;
            return System.Text.Encoding.ASCII.GetString(b, start, pos - start);
        }
        string magic = Token();
        if (magic is not ("P5" or "P6")) throw new InvalidDataException($"{path}: not a binary PGM/PPM (magic '{magic}', expected P5 or P6)");
        if (!int.TryParse(Token(), out int w) || !int.TryParse(Token(), out int h) || !int.TryParse(Token(), out int max) || w <= 0 || h <= 0)
            throw new InvalidDataException($"{path}: malformed PGM/PPM header");
        if (max != 255) throw new InvalidDataException($"{path}: only 8-bit PGM/PPM (maxval 255) is supported, got {max}");
        pos++;
        int c = magic == "P5" ? 1 : 3;
        if (b.Length - pos < (long)w * h * c) throw new InvalidDataException($"{path}: truncated: {w}x{h}x{c} pixels announced");
        return (w, h, c, pos, b);
    }

    public static ImageInfo Info(string path)
    {
        var (w, h, c, _, _) = Parse(path);
        return new ImageInfo { Width = w, Height = h, ColorComponents = c == 1 ? ColorComponents.Grey : ColorComponents.RedGreenBlue, BitsPerChannel = 8 };
    }

    public static ImageResult Decode(string path, int channels)
    {
        var (w, h, c, off, b) = Parse(path);
        var data = new byte[w * h * channels];
        for (int p = 0; p < w * h; p++)
            for (int k = 0; k < channels; k++)
                data[p * channels + k] = c == channels ? b[off + p * c + k]
                    : c == 1 ? b[off + p]                                                        // grey → RGB
                    : (byte)((b[off + p * 3] * 77 + b[off + p * 3 + 1] * 150 + b[off + p * 3 + 2] * 29) >> 8); // RGB → grey (BT.601)
        return new ImageResult { Width = w, Height = h, Data = data, Comp = channels == 1 ? ColorComponents.Grey : ColorComponents.RedGreenBlue, SourceComp = c == 1 ? ColorComponents.Grey : ColorComponents.RedGreenBlue };
    }
}
