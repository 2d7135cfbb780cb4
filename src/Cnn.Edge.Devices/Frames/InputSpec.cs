using System.Globalization;

namespace Cnn.Edge.Devices.Frames;

/// <summary>How the model wants its pixels: tensor geometry, channel layout, normalization and quantization.</summary>
/// <remarks>
/// Model metadata keys (all optional): <c>input.layout</c> = grey|rgb (default from the channel count),
/// <c>input.pixel_scale</c> (default 1/255: bytes to [0,1]), <c>input.mean</c> and <c>input.std</c>
/// (one value, or one per channel, comma separated; defaults 0 and 1). The real value fed to the
/// network is <c>(byte * pixel_scale - mean[c]) / std[c]</c>, then quantized with the input tensor's
/// scale and zero point: <c>q = clamp(round(real / scale) + zero_point, -128, 127)</c>.
/// </remarks>
public sealed class InputSpec
{
    public required int Height { get; init; }
    public required int Width { get; init; }
    /// <summary>1 (grey) or 3 (RGB, in R,G,B order).</summary>
    public required int Channels { get; init; }
    public float PixelScale { get; init; } = 1f / 255f;
    public float[] Mean { get; init; } = [0f];
    public float[] Std { get; init; } = [1f];
    /// <summary>Input tensor scale and zero point; ignored for a float32 input.</summary>
    public float Scale { get; init; } = 1f / 255f;
    public int ZeroPoint { get; init; } = -128;

    public int ElementCount => Height * Width * Channels;

    /// <summary>Reads the spec from an input tensor shape ([1,H,W,C] or [H,W,C]) and the model metadata.</summary>
    /// <exception cref="ArgumentException">The shape or a metadata value cannot be used; the message names it.</exception>
    public static InputSpec FromModel(int[] shape, float scale, int zeroPoint, IReadOnlyDictionary<string, string> metadata)
    {
        int rank = shape.Length;
        if (rank is not (3 or 4) || (rank == 4 && shape[0] != 1))
            throw new ArgumentException($"input tensor shape [{string.Join(',', shape)}] is not an image: expected [1,H,W,C] or [H,W,C]");
        int h = shape[rank - 3], w = shape[rank - 2], c = shape[rank - 1];
        if (h <= 0 || w <= 0) throw new ArgumentException($"input tensor shape [{string.Join(',', shape)}] has an empty side");
        string layout = metadata.TryGetValue("input.layout", out var l) ? l.Trim().ToLowerInvariant() : (c == 1 ? "grey" : "rgb");
        int expectC = layout switch
        {
            "grey" or "gray" or "l" => 1,
            "rgb" => 3,
            _ => throw new ArgumentException($"metadata input.layout '{layout}' is not grey or rgb"),
        };
        if (c != expectC)
            throw new ArgumentException($"metadata input.layout '{layout}' needs {expectC} channel(s) but the input tensor has {c}");

        float pixelScale = metadata.TryGetValue("input.pixel_scale", out var ps) ? ParseFloat("input.pixel_scale", ps) : 1f / 255f;
        float[] mean = metadata.TryGetValue("input.mean", out var m) ? ParseList("input.mean", m, c) : [0f];
        float[] std = metadata.TryGetValue("input.std", out var s) ? ParseList("input.std", s, c) : [1f];
        foreach (float v in std)
            if (!(v > 0f) || !float.IsFinite(v)) throw new ArgumentException($"metadata input.std has {v}: every std must be a positive finite number");
        return new InputSpec { Height = h, Width = w, Channels = c, PixelScale = pixelScale, Mean = mean, Std = std, Scale = scale, ZeroPoint = zeroPoint };
    }

    private static float ParseFloat(string key, string text)
    {
        if (!float.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out float v) || !float.IsFinite(v))
            throw new ArgumentException($"metadata {key} '{text}' is not a finite number");
        return v;
    }

    private static float[] ParseList(string key, string text, int channels)
    {
        string[] parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 1 && parts.Length != channels)
            throw new ArgumentException($"metadata {key} '{text}' has {parts.Length} values; expected 1 or {channels}");
        var values = new float[parts.Length];
        for (int i = 0; i < parts.Length; i++) values[i] = ParseFloat(key, parts[i]);
        return values;
    }

    /// <summary>Real value (before quantization) that pixel byte <paramref name="v"/> of channel <paramref name="c"/> becomes.</summary>
    public float RealValue(int c, int v)
    {
        float mean = Mean.Length == 1 ? Mean[0] : Mean[c];
        float std = Std.Length == 1 ? Std[0] : Std[c];
        return (v * PixelScale - mean) / std;
    }

    /// <summary>256-entry table per channel: pixel byte to quantized int8 input.</summary>
    public sbyte[][] BuildInt8Luts()
    {
        if (!(Scale > 0f) || !float.IsFinite(Scale)) throw new ArgumentException($"input tensor scale {Scale} must be positive and finite");
        var luts = new sbyte[Channels][];
        for (int c = 0; c < Channels; c++)
        {
            luts[c] = new sbyte[256];
            for (int v = 0; v < 256; v++)
            {
                double q = Math.Round(RealValue(c, v) / (double)Scale, MidpointRounding.AwayFromZero) + ZeroPoint;
                luts[c][v] = (sbyte)Math.Clamp(q, -128, 127);
            }
        }
        return luts;
    }

    /// <summary>256-entry table per channel: pixel byte to the float input of a float32-input model.</summary>
    public float[][] BuildFloatLuts()
    {
        var luts = new float[Channels][];
        for (int c = 0; c < Channels; c++)
        {
            luts[c] = new float[256];
            for (int v = 0; v < 256; v++) luts[c][v] = RealValue(c, v);
        }
        return luts;
    }
}
