using Cnn.Edge;

namespace Cnn.Bench;

/// <summary>
/// The benchmark architectures built directly with <see cref="ModelBuilder"/>: the same layer shapes as the
/// torchvision models that bench/export_models.py exports for ONNX Runtime (BN folded, ReLU/ReLU6 as
/// clamps), with random int8 weights. Speed does not depend on the weight values; accuracy is not measured here.
/// </summary>
public static class Models
{
    public static readonly string[] Names = ["mobilenet_v2_1.0_224", "mobilenet_v2_0.35_96", "resnet18_224"];

    public static byte[] Build(string name) => name switch
    {
        "mobilenet_v2_1.0_224" => MobileNetV2(1.0, 224),
        "mobilenet_v2_0.35_96" => MobileNetV2(0.35, 96),
        "resnet18_224" => ResNet18(224),
        _ => throw new ArgumentException($"unknown model '{name}'; known: {string.Join(", ", Names)}"),
    };

    private sealed class Net(int seed)
    {
        public readonly ModelBuilder B = new();
        private readonly Random _rng = new(seed);
        private readonly Dictionary<int, float> _scales = [];
        private int _n;

        public int Track(int tensor, float scale) { _scales[tensor] = scale; return tensor; }

        /// <summary>Conv with random int8 weights; the output scale keeps accumulators of random data in int8 range.</summary>
        public int Conv(int x, int cout, int k, int stride, int pad, bool depthwise, int actMin, int actMax)
        {
            int[] xs = B.ShapeOf(x);
            int cin = xs[3];
            int cg = depthwise ? 1 : cin;
            if (depthwise) cout = cin;
            int kk = k * k * cg;
            var w = new sbyte[cout * kk];
            for (int i = 0; i < w.Length; i++) w[i] = (sbyte)_rng.Next(-127, 128);
            var scales = new float[cout];
            Array.Fill(scales, 0.01f);
            var bias = new int[cout];
            for (int i = 0; i < cout; i++) bias[i] = _rng.Next(-1000, 1000);
            int id = _n++;
            int wt = B.AddConstantInt8($"w{id}", [cout, k, k, cg], w, scales);
            int bt = B.AddConstantInt32($"b{id}", [cout], bias);
            float inScale = Scale(x);
            float outScale = (float)(inScale * 0.01 * Math.Sqrt(kk) * 40);
            var p = new ConvParams(stride, stride, 1, 1, pad, pad, pad, pad, depthwise ? cin : 1, actMin, actMax);
            return Track(B.Conv2D($"conv{id}", x, wt, bt, p, outScale, 0), outScale);
        }

        public float Scale(int t) => _scales[t];
        public int NextId() => _n++;
    }

    private static int MakeDivisible(double v, int divisor = 8)
    {
        int n = Math.Max(divisor, (int)(v + divisor / 2.0) / divisor * divisor);
        if (n < 0.9 * v) n += divisor;
        return n;
    }

    /// <summary>torchvision mobilenet_v2(width_mult): ReLU6 after expand and depthwise, linear projection, residual Add.</summary>
    public static byte[] MobileNetV2(double width, int res)
    {
        var net = new Net(1);
        var b = net.B;
        const int relu6Max = 127;
        int x = net.Track(b.AddInput("input", TensorType.Int8, [1, res, res, 3], 1f / 64, 0), 1f / 64);
        int inC = MakeDivisible(32 * width);
        x = net.Conv(x, inC, 3, 2, 1, false, 0, relu6Max);
        (int t, int c, int n, int s)[] cfg = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)];
        foreach (var (t, c, n, s) in cfg)
        {
            int outC = MakeDivisible(c * width);
            for (int i = 0; i < n; i++)
            {
                int stride = i == 0 ? s : 1;
                int y = x;
                if (t != 1) y = net.Conv(y, inC * t, 1, 1, 0, false, 0, relu6Max);
                y = net.Conv(y, 0, 3, stride, 1, true, 0, relu6Max);
                y = net.Conv(y, outC, 1, 1, 0, false, -128, 127);
                if (stride == 1 && inC == outC)
                {
                    float addScale = Math.Max(net.Scale(x), net.Scale(y)) * 1.5f;
                    y = net.Track(b.Add($"add{net.NextId()}", x, y, addScale, 0), addScale);
                }
                x = y;
                inC = outC;
            }
        }
        int last = MakeDivisible(1280 * Math.Max(1.0, width));
        x = net.Conv(x, last, 1, 1, 0, false, 0, relu6Max);
        return Head(net, x, last);
    }

    /// <summary>torchvision resnet18: 7x7/2 stem, 3x3/2 max pool, 4 stages of 2 basic blocks, 1x1/2 downsample.</summary>
    public static byte[] ResNet18(int res)
    {
        var net = new Net(2);
        var b = net.B;
        int x = net.Track(b.AddInput("input", TensorType.Int8, [1, res, res, 3], 1f / 64, 0), 1f / 64);
        x = net.Conv(x, 64, 7, 2, 3, false, 0, 127);
        x = net.Track(b.MaxPool2D("pool0", x, new PoolParams(3, 3, 2, 2, 1, 1, 1, 1, false, false, -128, 127)), net.Scale(x));
        int inC = 64;
        foreach (int c in new[] { 64, 128, 256, 512 })
        {
            for (int i = 0; i < 2; i++)
            {
                int stride = i == 0 && c != 64 ? 2 : 1;
                int y = net.Conv(x, c, 3, stride, 1, false, 0, 127);
                y = net.Conv(y, c, 3, 1, 1, false, -128, 127);
                int shortcut = stride != 1 || inC != c ? net.Conv(x, c, 1, stride, 0, false, -128, 127) : x;
                float addScale = Math.Max(net.Scale(shortcut), net.Scale(y)) * 1.5f;
                x = net.Track(b.Add($"add{net.NextId()}", shortcut, y, addScale, 0, 0, 127), addScale);
                inC = c;
            }
        }
        return Head(net, x, inC);
    }

    private static byte[] Head(Net net, int x, int channels)
    {
        var b = net.B;
        float s = net.Scale(x);
        x = b.GlobalAveragePool("gap", x, s, 0);
        x = b.Reshape("flatten", x, [1, channels]);
        var w = new sbyte[1000 * channels];
        var rng = new Random(3);
        for (int i = 0; i < w.Length; i++) w[i] = (sbyte)rng.Next(-127, 128);
        var scales = new float[1000];
        Array.Fill(scales, 0.01f);
        int wt = b.AddConstantInt8("fc_w", [1000, channels], w, scales);
        int bt = b.AddConstantInt32("fc_b", [1000], new int[1000]);
        int y = b.FullyConnected("fc", x, wt, bt, (float)(s * 0.01 * Math.Sqrt(channels) * 40), 0);
        b.MarkOutput(y);
        return b.Build();
    }
}
