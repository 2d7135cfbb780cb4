namespace Cnn.Edge.Devices.Loop;

/// <summary>
/// A tiny real int8 model built with <see cref="ModelBuilder"/> for demos and smoke tests when no trained
/// model is at hand: it tells which colour dominates the frame, the way the synthetic source paints its
/// scenes. Input [1,16,16,3] RGB (scale 1/255, zero point -128) → GlobalAveragePool → FullyConnected 3→4 (logits scale 1/4) →
/// Softmax (int8, scale 1/256). Classes: none, red, green, blue.
/// </summary>
public static class DemoModels
{
    public static readonly string[] ColourLabels = ["none", "red", "green", "blue"];

    public static byte[] ColourClassifier()
    {
        const float inScale = 1f / 255f;
        var b = new ModelBuilder();
        int x = b.AddInput("image", TensorType.Int8, [1, 16, 16, 3], inScale, -128);
        // Mean colour per channel, same quantization as the input: real values in [0, 1].
        int mean = b.GlobalAveragePool("mean_colour", x, inScale, -128);
        // Logits: colour c scores 32·(c − mean of the other two); "none" is a constant 3.0, so a grey or
        // faint frame is "none". Weight rows [32,-16,-16] quantize to [127,-64,-64] with scale 32/127.
        float wScale = 32f / 127f;
        sbyte[] w =
        [
            0, 0, 0,
            127, -64, -64,
            -64, 127, -64,
            -64, -64, 127,
        ];
        float[] scales = [1f / 127f, wScale, wScale, wScale];
        int weights = b.AddConstantInt8("colour_weights", [4, 3], w, scales);
        // Bias scale = input scale × weight scale: 3.0 / (1/255 · 1/127) = 97155 for "none" (softmax 0.87 on grey).
        int bias = b.AddConstantInt32("colour_bias", [4], [97155, 0, 0, 0]);
        // Logits span about [-32, 32]: scale 1/4 keeps them inside int8.
        int logits = b.FullyConnected("logits", mean, weights, bias, 0.25f, 0);
        int probs = b.Softmax("probabilities", logits, TensorType.Int8);
        b.MarkOutput(probs);
        b.SetMetadata("labels", string.Join(",", ColourLabels));
        b.SetMetadata("input.layout", "rgb");
        b.SetMetadata("input.pixel_scale", "0.00392156863");
        b.SetMetadata("description", "demo: dominant colour of the frame (none, red, green, blue)");
        return b.Build();
    }
}
