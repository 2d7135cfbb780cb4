namespace Cnn.Edge.AotTests;

/// <summary>Random int8 models built with <see cref="ModelBuilder"/>, with the parameters they were made from.</summary>
public static class RandomModels
{
    public static sbyte[] Int8(Random rng, int count, int min = -128, int max = 127)
    {
        var data = new sbyte[count];
        for (int i = 0; i < count; i++) data[i] = (sbyte)rng.Next(min, max + 1);
        return data;
    }

    public static float[] Scales(Random rng, int count)
    {
        var s = new float[count];
        for (int i = 0; i < count; i++) s[i] = (float)(0.002 + rng.NextDouble() * 0.02);
        return s;
    }

    /// <summary>Clamp of a fused activation: none, ReLU (zero point up), ReLU6-like, or a random window.</summary>
    public static (int Min, int Max) Clamp(Random rng, int zeroPoint)
    {
        switch (rng.Next(4))
        {
            case 0: return (-128, 127);
            case 1: return (zeroPoint, 127);
            case 2: return (zeroPoint, Math.Min(127, zeroPoint + 60));
            default:
                int a = rng.Next(-128, 100);
                return (a, rng.Next(a, 128));
        }
    }

    /// <summary>
    /// One Conv2D (plain, grouped or depthwise) over a random NHWC input. Output scale is set from
    /// the accumulation depth so outputs spread over the int8 range instead of saturating.
    /// </summary>
    public static (byte[] File, string Description) Conv2D(Random rng)
    {
        int kind = rng.Next(3); // 0 plain, 1 grouped, 2 depthwise
        int kh = rng.Next(1, 6), kw = rng.Next(1, 6);
        int sh = rng.Next(1, 3), sw = rng.Next(1, 3);
        int dh = rng.Next(4) == 0 ? 2 : 1, dw = rng.Next(4) == 0 ? 2 : 1;
        int groups, cin, cout;
        switch (kind)
        {
            case 0: groups = 1; cin = rng.Next(1, 40); cout = rng.Next(1, 40); break;
            case 1: groups = rng.Next(2, 5); cin = groups * rng.Next(1, 9); cout = groups * rng.Next(1, 9); break;
            default: cin = rng.Next(1, 40); groups = cin; cout = cin * rng.Next(1, 3); break;
        }
        int effKh = dh * (kh - 1) + 1, effKw = dw * (kw - 1) + 1;
        int h = rng.Next(Math.Max(1, effKh - 2), effKh + 14), w = rng.Next(Math.Max(1, effKw - 2), effKw + 14);
        int pt = rng.Next(kh), pl = rng.Next(kw), pb = rng.Next(kh), pr = rng.Next(kw);
        if (h + pt + pb < effKh) pb += effKh - (h + pt + pb);
        if (w + pl + pr < effKw) pr += effKw - (w + pl + pr);
        int n = rng.Next(1, 3);

        float inScale = 0.02f + (float)rng.NextDouble() * 0.05f;
        int inZp = rng.Next(-20, 21), outZp = rng.Next(-20, 21);
        float[] wScales = Scales(rng, cout);
        int depth = kh * kw * (cin / groups);
        float outScale = inScale * 0.012f * MathF.Sqrt(depth) * 60f;
        var (actMin, actMax) = Clamp(rng, outZp);

        var b = new ModelBuilder();
        int x = b.AddInput("x", TensorType.Int8, [n, h, w, cin], inScale, inZp);
        int wt = b.AddConstantInt8("w", [cout, kh, kw, cin / groups], Int8(rng, cout * kh * kw * (cin / groups), -127, 127), wScales);
        int bias = -1;
        if (rng.Next(4) != 0)
        {
            var bd = new int[cout];
            for (int i = 0; i < cout; i++) bd[i] = rng.Next(-20000, 20000);
            bias = b.AddConstantInt32("b", [cout], bd);
        }
        var p = new ConvParams(sh, sw, dh, dw, pt, pl, pb, pr, groups, actMin, actMax);
        int y = b.Conv2D("conv", x, wt, bias, p, outScale, outZp);
        b.MarkOutput(y);
        string d = $"conv n={n} h={h} w={w} cin={cin} cout={cout} k={kh}x{kw} s={sh}x{sw} d={dh}x{dw} pad=({pt},{pl},{pb},{pr}) groups={groups} bias={bias >= 0} clamp=[{actMin},{actMax}] zp in/out={inZp}/{outZp}";
        return (b.Build(), d);
    }

    /// <summary>One FullyConnected; input depths cluster around SIMD block sizes to hit every tail.</summary>
    public static (byte[] File, string Description) FullyConnected(Random rng)
    {
        int[] blocks = [4, 8, 16, 32, 64];
        int cin = rng.Next(3) == 0 ? rng.Next(1, 300) : Math.Max(1, blocks[rng.Next(blocks.Length)] * rng.Next(1, 5) + rng.Next(-3, 4));
        int cout = rng.Next(1, 48);
        int n = rng.Next(1, 4);
        float inScale = 0.02f + (float)rng.NextDouble() * 0.05f;
        int inZp = rng.Next(-20, 21), outZp = rng.Next(-20, 21);
        float outScale = inScale * 0.012f * MathF.Sqrt(cin) * 60f;
        var (actMin, actMax) = Clamp(rng, outZp);

        var b = new ModelBuilder();
        int x = b.AddInput("x", TensorType.Int8, [n, cin], inScale, inZp);
        int wt = b.AddConstantInt8("w", [cout, cin], Int8(rng, cout * cin, -127, 127), Scales(rng, cout));
        var bd = new int[cout];
        for (int i = 0; i < cout; i++) bd[i] = rng.Next(-20000, 20000);
        int bias = b.AddConstantInt32("b", [cout], bd);
        int y = b.FullyConnected("fc", x, wt, bias, outScale, outZp, actMin, actMax);
        b.MarkOutput(y);
        return (b.Build(), $"fc n={n} cin={cin} cout={cout} clamp=[{actMin},{actMax}] zp in/out={inZp}/{outZp}");
    }

    /// <summary>A small classifier of every common op: conv, depthwise, pools, add, concat, FC, softmax.</summary>
    public static (byte[] File, string Description) Network(Random rng)
    {
        int h = rng.Next(8, 24), w = rng.Next(8, 24), c = rng.Next(1, 4), classes = rng.Next(2, 12);
        int c1 = rng.Next(4, 20);
        const float s = 0.05f;
        var b = new ModelBuilder();
        int x = b.AddInput("image", TensorType.Int8, [1, h, w, c], s, -128 + rng.Next(0, 10));
        int conv1 = b.Conv2D("conv1", x, b.AddConstantInt8("w1", [c1, 3, 3, c], Int8(rng, c1 * 9 * c, -127, 127), Scales(rng, c1)),
            b.AddConstantInt32("b1", [c1], RandomBias(rng, c1)), new ConvParams(1, 1, 1, 1, 1, 1, 1, 1, 1, -10, 127), s * 2, -10);
        int pool = b.MaxPool2D("pool", conv1, new PoolParams(2, 2, 2, 2, 0, 0, 0, 0, true, false, -128, 127));
        int dw = b.DepthwiseConv2D("dw", pool, b.AddConstantInt8("wd", [c1, 3, 3, 1], Int8(rng, c1 * 9, -127, 127), Scales(rng, c1)),
            b.AddConstantInt32("bd", [c1], RandomBias(rng, c1)), new ConvParams(1, 1, 1, 1, 1, 1, 1, 1, c1, -5, 127), s * 2, -5);
        int pw = b.Conv2D("pw", dw, b.AddConstantInt8("wp", [c1, 1, 1, c1], Int8(rng, c1 * c1, -127, 127), Scales(rng, c1)),
            b.AddConstantInt32("bp", [c1], RandomBias(rng, c1)), new ConvParams(1, 1, 1, 1, 0, 0, 0, 0, 1, -128, 127), s * 2, 0);
        int sum = b.Add("add", pw, pool, s * 3, 0);
        int cat = b.Concat("cat", [sum, pool], s * 3, 0);
        int avg = b.AveragePool2D("avg", cat, new PoolParams(3, 3, 1, 1, 1, 1, 1, 1, false, false, -128, 127));
        int gap = b.GlobalAveragePool("gap", avg, s * 3, 0);
        int fc = b.FullyConnected("fc", gap, b.AddConstantInt8("wf", [classes, 2 * c1], Int8(rng, classes * 2 * c1, -127, 127), Scales(rng, classes)),
            b.AddConstantInt32("bf", [classes], RandomBias(rng, classes)), s * 4, 0);
        int prob = b.Softmax("softmax", fc, TensorType.Int8);
        b.MarkOutput(prob);
        b.SetMetadata("labels", string.Join(',', Enumerable.Range(0, classes).Select(i => $"class{i}")));
        return (b.Build(), $"network h={h} w={w} c={c} c1={c1} classes={classes}");
    }

    /// <summary>Two MobileNetV2 inverted-residual blocks (1x1 expand → 3x3 depthwise → 1x1 project; the second stride 1 with a residual Add,
    /// the first stride 1 or 2), which the interpreter fuses into row-streaming ops (InterpreterOptions.FuseBlocks).</summary>
    public static (byte[] File, string Description) InvertedResiduals(Random rng)
    {
        int h = rng.Next(1, 20), w = rng.Next(1, 20), c = rng.Next(1, 24), e = rng.Next(1, 100), c2 = rng.Next(1, 24), stride = rng.Next(1, 3);
        const float s = 0.05f;
        var b = new ModelBuilder();
        int x = b.AddInput("image", TensorType.Int8, [1, h, w, c], s, rng.Next(-20, 20));
        int Conv(string name, int input, int cin, int cout, int k, int st, int groups, int zp, int lo, int hi) =>
            b.Conv2D(name, input, b.AddConstantInt8(name + ".w", [cout, k, k, cin / groups], Int8(rng, cout * k * k * (cin / groups), -127, 127), Scales(rng, cout)),
                b.AddConstantInt32(name + ".b", [cout], RandomBias(rng, cout)),
                new ConvParams(st, st, 1, 1, k / 2, k / 2, k / 2, k / 2, groups, lo, hi), s * 2, zp);
        int y = Conv("b1.expand", x, c, e, 1, 1, 1, -128, -128, -8);
        y = Conv("b1.dw", y, e, e, 3, stride, e, -128, -128, -8);
        int y1 = Conv("b1.project", y, e, c2, 1, 1, 1, 0, -128, 127);
        y = Conv("b2.expand", y1, c2, e, 1, 1, 1, -128, -128, -8);
        y = Conv("b2.dw", y, e, e, 3, 1, e, -128, -128, -8);
        y = Conv("b2.project", y, e, c2, 1, 1, 1, 0, -128, 127);
        b.MarkOutput(b.Add("b2.add", y, y1, s * 3, 0));
        return (b.Build(), $"inverted residuals h={h} w={w} c={c} expanded={e} out={c2} stride={stride}");
    }

    private static int[] RandomBias(Random rng, int count)
    {
        var bd = new int[count];
        for (int i = 0; i < count; i++) bd[i] = rng.Next(-5000, 5000);
        return bd;
    }
}
