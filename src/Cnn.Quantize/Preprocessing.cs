using System.Globalization;

namespace Cnn.Quantize;

/// <summary>
/// How raw pixels become the model's input tensor, exactly as in training:
/// x = (pixel * PixelScale - Mean[c]) / Std[c], with the layout grey (1 channel) or rgb (3).
/// Stored as metadata in both the trainer's ONNX files and the edge model
/// (input.layout, input.pixel_scale, input.mean, input.std; labels), so the device preprocesses the same way.
/// </summary>
public sealed class Preprocessing
{
    public string Layout { get; init; } = "grey";
    public float PixelScale { get; init; } = 1f / 255;
    public float[] Mean { get; init; } = [0f];
    public float[] Std { get; init; } = [1f];
    public string[] Labels { get; init; } = [];

    /// <summary>3 for rgb, 1 for grey; "tensor" (an input that is not an image) takes one mean/std for all values.</summary>
    public int Channels => Layout == "rgb" ? 3 : 1;

    /// <summary>Reads the metadata keys; absent keys keep the defaults (grey, 1/255, mean 0, std 1).</summary>
    public static Preprocessing FromMetadata(IReadOnlyDictionary<string, string> md, int channels)
    {
        return new Preprocessing
        {
            Layout = md.TryGetValue("input.layout", out var l) ? l : channels == 3 ? "rgb" : channels == 1 ? "grey" : "tensor",
            PixelScale = md.TryGetValue("input.pixel_scale", out var ps) ? ParseFloats(ps, "input.pixel_scale")[0] : 1f / 255,
            Mean = md.TryGetValue("input.mean", out var m) ? ParseFloats(m, "input.mean") : [0f],
            Std = md.TryGetValue("input.std", out var s) ? ParseFloats(s, "input.std") : [1f],
            Labels = md.TryGetValue("labels", out var lb) ? lb.Split(',') : [],
        };
    }

    /// <summary>Parses "0.485,0.456,0.406" (invariant culture); throws naming the key on bad input.</summary>
    public static float[] ParseFloats(string text, string what)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var r = new float[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!float.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out r[i]) || !float.IsFinite(r[i]))
                throw new FormatException($"{what}: '{parts[i]}' is not a number (expected e.g. 0.485,0.456,0.406)");
        }
        if (r.Length == 0) throw new FormatException($"{what}: no values");
        return r;
    }

    /// <summary>Throws when mean/std do not have 1 or <see cref="Channels"/> values or a std is not positive.</summary>
    public void Validate()
    {
        if (Layout is not ("grey" or "rgb" or "tensor")) throw new FormatException($"input.layout '{Layout}' must be grey, rgb or tensor");
        if (Mean.Length != 1 && Mean.Length != Channels) throw new FormatException($"input.mean has {Mean.Length} values, layout {Layout} needs 1 or {Channels}");
        if (Std.Length != 1 && Std.Length != Channels) throw new FormatException($"input.std has {Std.Length} values, layout {Layout} needs 1 or {Channels}");
        if (Std.Any(s => s <= 0)) throw new FormatException("input.std values must be positive");
        if (PixelScale <= 0 || !float.IsFinite(PixelScale)) throw new FormatException("input.pixel_scale must be positive");
    }

    public IEnumerable<KeyValuePair<string, string>> ToMetadata()
    {
        var inv = CultureInfo.InvariantCulture;
        yield return new("input.layout", Layout);
        yield return new("input.pixel_scale", PixelScale.ToString("R", inv));
        yield return new("input.mean", string.Join(",", Mean.Select(v => v.ToString("R", inv))));
        yield return new("input.std", string.Join(",", Std.Select(v => v.ToString("R", inv))));
        if (Labels.Length > 0) yield return new("labels", string.Join(",", Labels));
    }

    /// <summary>Pixels in planar CHW order (bytes 0..255) to the normalized NCHW float tensor (N = 1).</summary>
    public float[] ToTensor(ReadOnlySpan<byte> chwPixels)
    {
        int c = Channels;
        if (chwPixels.Length % c != 0) throw new ArgumentException($"{chwPixels.Length} pixels is not a multiple of {c} channels");
        int plane = chwPixels.Length / c;
        var r = new float[chwPixels.Length];
        for (int ch = 0; ch < c; ch++)
        {
            float mean = Mean[Mean.Length == 1 ? 0 : ch], std = Std[Std.Length == 1 ? 0 : ch];
            for (int i = 0; i < plane; i++) r[ch * plane + i] = (chwPixels[ch * plane + i] * PixelScale - mean) / std;
        }
        return r;
    }
}
