using Cnn.Edge;

namespace Cnn.Qemu.GuestProbe;

/// <summary>
/// A Cnn.Edge model that tells red, green and blue apart, run by the Interpreter (Auto ISA) on
/// crops of vivid's 75% colour bars: Quantize [1,8,8,3] float RGB in [0,1] → GlobalAveragePool →
/// FullyConnected (3 classes) → Softmax. Weights: +127 on the class's own channel, -60 on the others
/// (per-channel scale 1/127), so a pure 75% bar scores 0.75 against -0.35.
/// </summary>
internal sealed class ColourClassifier : IDisposable
{
    public static readonly string[] Labels = ["red", "green", "blue"];
    private const int Side = 8;
    private readonly Interpreter _interpreter;

    public ColourClassifier()
    {
        var b = new ModelBuilder();
        int x = b.AddInput("rgb", TensorType.Float32, [1, Side, Side, 3]);
        int q = b.Quantize("quantize", x, 1f / 255, -128);
        int gap = b.GlobalAveragePool("gap", q, 1f / 255, -128);
        var w = new sbyte[9];
        for (int c = 0; c < 3; c++)
            for (int k = 0; k < 3; k++)
                w[c * 3 + k] = (sbyte)(c == k ? 127 : -60);
        int wt = b.AddConstantInt8("w", [3, 3], w, [1f / 127, 1f / 127, 1f / 127]);
        int fc = b.FullyConnected("fc", gap, wt, -1, 1f / 64, 0);
        b.MarkOutput(b.Softmax("softmax", fc));
        b.SetMetadata("labels", string.Join(',', Labels));
        _interpreter = new Interpreter(EdgeModel.Load(b.Build()));
    }

    /// <summary>Classifies the Side x Side block of a YUYV frame centred at (cx, cy).</summary>
    public (int Class, float Score) Classify(ReadOnlySpan<byte> yuyv, int width, int cx, int cy)
        => Run(yuyv, width, (dx, dy) => (cx - Side / 2 + dx, cy - Side / 2 + dy));

    /// <summary>Classifies a whole frame from a Side x Side grid of samples (below vivid's text overlay at the top).</summary>
    public (int Class, float Score) ClassifyFrame(ReadOnlySpan<byte> yuyv, int width, int height)
        => Run(yuyv, width, (dx, dy) => ((2 * dx + 1) * width / (2 * Side), height / 5 + dy * (height * 7 / 10) / Side));

    private (int Class, float Score) Run(ReadOnlySpan<byte> yuyv, int width, Func<int, int, (int X, int Y)> at0)
    {
        Span<float> input = _interpreter.InputFloat();
        for (int dy = 0; dy < Side; dy++)
        {
            for (int dx = 0; dx < Side; dx++)
            {
                var (x0, py) = at0(dx, dy);
                int px = x0 & ~1;
                int at = (py * width + px) * 2; // Y0 U Y1 V for the pixel pair
                var (r, g, bl) = Bt601(yuyv[at], yuyv[at + 1], yuyv[at + 3]);
                int o = (dy * Side + dx) * 3;
                input[o] = r; input[o + 1] = g; input[o + 2] = bl;
            }
        }
        _interpreter.Invoke();
        ReadOnlySpan<float> p = _interpreter.OutputFloat();
        int best = 0;
        for (int i = 1; i < p.Length; i++) if (p[i] > p[best]) best = i;
        return (best, p[best]);
    }

    private static (float R, float G, float B) Bt601(byte y, byte u, byte v)
    {
        // Limited-range BT.601, the colorimetry vivid reports for YUYV at SD sizes.
        float yy = 1.164f * (y - 16), uu = u - 128, vv = v - 128;
        return (Clamp01((yy + 1.596f * vv) / 255), Clamp01((yy - 0.813f * vv - 0.391f * uu) / 255), Clamp01((yy + 2.018f * uu) / 255));
    }

    private static float Clamp01(float v) => v < 0 ? 0 : v > 1 ? 1 : v;

    public void Dispose() => _interpreter.Dispose();
}
