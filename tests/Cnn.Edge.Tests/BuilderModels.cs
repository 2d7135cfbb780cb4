namespace Cnn.Edge.Tests;

/// <summary>Small int8 models written with the builder, shared by the format, planner, fuzz and inspect tests.</summary>
internal static class BuilderModels
{
    public static ConvParams Conv(int stride = 1, int pad = 1, int groups = 1, int actMin = -128, int actMax = 127) =>
        new(stride, stride, 1, 1, pad, pad, pad, pad, groups, actMin, actMax);

    public static PoolParams Pool(int k = 2, int stride = 2) => new(k, k, stride, stride, 0, 0, 0, 0, false, false, -128, 127);

    /// <summary>Int8 weights [cout, kh, kw, cin] with per-channel scales and an int32 bias.</summary>
    public static (int W, int B) Weights(ModelBuilder b, string name, Random rng, int cout, int kh, int kw, int cin)
    {
        var w = new sbyte[cout * Math.Max(kh, 1) * Math.Max(kw, 1) * cin];
        for (int i = 0; i < w.Length; i++) w[i] = (sbyte)rng.Next(-127, 128);
        var scales = new float[cout];
        for (int c = 0; c < cout; c++) scales[c] = 0.002f + 0.001f * (float)rng.NextDouble();
        var bias = new int[cout];
        for (int c = 0; c < cout; c++) bias[c] = rng.Next(-1000, 1000);
        int[] shape = kh == 0 ? [cout, cin] : [cout, kh, kw, cin];
        return (b.AddConstantInt8(name + ".w", shape, w, scales), b.AddConstantInt32(name + ".b", [cout], bias));
    }

    /// <summary>float [1,16,16,3] → quantize → conv 8 → maxpool → conv 16 → conv 16 s2 → GAP → FC 10 → softmax float: a chain.</summary>
    public static ModelBuilder ChainBuilder(int seed = 1)
    {
        var rng = new Random(seed);
        var b = new ModelBuilder();
        int x = b.AddInput("image", TensorType.Float32, [1, 16, 16, 3]);
        int q = b.Quantize("quantize", x, 1f / 128, 0);
        var (w1, b1) = Weights(b, "conv1", rng, 8, 3, 3, 3);
        int c1 = b.Conv2D("conv1", q, w1, b1, Conv(actMin: -20), 0.05f, -20);
        int p1 = b.MaxPool2D("pool1", c1, Pool());
        var (w2, b2) = Weights(b, "conv2", rng, 16, 3, 3, 8);
        int c2 = b.Conv2D("conv2", p1, w2, b2, Conv(), 0.05f, 3);
        var (w3, b3) = Weights(b, "conv3", rng, 16, 3, 3, 16);
        int c3 = b.Conv2D("conv3", c2, w3, b3, Conv(stride: 2), 0.05f, 0);
        int g = b.GlobalAveragePool("gap", c3, 0.04f, 1);
        int f = b.Reshape("flatten", g, [1, 16]);
        var (w4, b4) = Weights(b, "fc", rng, 10, 0, 0, 16);
        int fc = b.FullyConnected("fc", f, w4, b4, 0.1f, 0);
        int sm = b.Softmax("softmax", fc);
        b.MarkOutput(sm);
        b.SetMetadata("input.layout", "rgb");
        b.SetMetadata("labels", "a,b,c,d,e,f,g,h,i,j");
        return b;
    }

    /// <summary>int8 [1,12,12,8] with a residual Add and a Concat (Inception/DenseNet-like): branchy.</summary>
    public static ModelBuilder BranchyBuilder(int seed = 2)
    {
        var rng = new Random(seed);
        var b = new ModelBuilder();
        int x = b.AddInput("input", TensorType.Int8, [1, 12, 12, 8], 0.05f, -3);
        var (wa, ba) = Weights(b, "a", rng, 8, 3, 3, 8);
        int a = b.Conv2D("a", x, wa, ba, Conv(), 0.05f, 0);
        var (wb, bb) = Weights(b, "b", rng, 8, 3, 3, 8);
        int bo = b.Conv2D("b", a, wb, bb, Conv(), 0.05f, 0);
        int add = b.Add("residual", x, bo, 0.07f, -1);
        var (wd, bd) = Weights(b, "dw", rng, 8, 3, 3, 1);
        int dw = b.DepthwiseConv2D("dw", add, wd, bd, Conv(), 0.05f, 0);
        var (w1, b1) = Weights(b, "pw", rng, 16, 1, 1, 8);
        int pw = b.Conv2D("pw", add, w1, b1, Conv(pad: 0), 0.05f, 0);
        int cat = b.Concat("concat", [dw, pw, add], 0.08f, 0);
        int sh = b.ChannelShuffle("shuffle", cat, 4);
        int mp = b.MaxPool2D("pool", sh, Pool(3, 2));
        int g = b.GlobalAveragePool("gap", mp, 0.04f, 0);
        int f = b.Reshape("flatten", g, [1, 32]);
        var (wf, bf) = Weights(b, "fc", rng, 5, 0, 0, 32);
        int fc = b.FullyConnected("fc", f, wf, bf, 0.1f, 0);
        int sm = b.Softmax("softmax", fc, TensorType.Int8);
        b.MarkOutput(sm);
        return b;
    }

    public static byte[] Chain(int seed = 1) => ChainBuilder(seed).Build();
    public static byte[] Branchy(int seed = 2) => BranchyBuilder(seed).Build();

    /// <summary>Two Inception blocks (1x1 | 1x1→3x3 | 1x1→3x3→3x3 | maxpool→1x1, concatenated) on int8 [1,16,16,16].</summary>
    public static ModelBuilder InceptionBuilder(int seed = 3)
    {
        var rng = new Random(seed);
        var b = new ModelBuilder();
        int x = b.AddInput("input", TensorType.Int8, [1, 16, 16, 16], 0.05f, 0);
        for (int block = 0; block < 2; block++)
        {
            string n = $"b{block}";
            int cin = b.ShapeOf(x)[3];
            int Conv1(string name, int from, int cout)
            {
                var (w, bias) = Weights(b, name, rng, cout, 1, 1, b.ShapeOf(from)[3]);
                return b.Conv2D(name, from, w, bias, Conv(pad: 0), 0.05f, 0);
            }
            int Conv3(string name, int from, int cout)
            {
                var (w, bias) = Weights(b, name, rng, cout, 3, 3, b.ShapeOf(from)[3]);
                return b.Conv2D(name, from, w, bias, Conv(), 0.05f, 0);
            }
            int a = Conv1(n + ".1x1", x, 8);
            int c = Conv3(n + ".3x3", Conv1(n + ".3x3r", x, 6), 12);
            int d = Conv3(n + ".5x5b", Conv3(n + ".5x5a", Conv1(n + ".5x5r", x, 4), 6), 6);
            int e = Conv1(n + ".poolproj", b.MaxPool2D(n + ".pool", x, new PoolParams(3, 3, 1, 1, 1, 1, 1, 1, false, false, -128, 127)), 6);
            x = b.Concat(n + ".concat", [a, c, d, e], 0.06f, 0);
            _ = cin;
        }
        int g = b.GlobalAveragePool("gap", x, 0.04f, 0);
        b.MarkOutput(g);
        return b;
    }
}
