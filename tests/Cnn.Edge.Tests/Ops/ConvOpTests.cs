using Cnn.Edge.Runtime;
using static Cnn.Edge.Tests.Kernels.QuantTestUtil;

namespace Cnn.Edge.Tests.Ops;

/// <summary>Conv2D, FullyConnected and TransposeConv2D through OpShapes + OpFactory against float computations in double.</summary>
public class ConvOpTests
{
    [Fact]
    public void Conv2DRandomShapesMatchFloatWithinOneLsb()
    {
        var rng = new Random(11);
        var checker = new Checker();
        for (int t = 0; t < 300; t++)
        {
            int groups = rng.Next(3) == 0 ? 1 : rng.Next(1, 7);
            bool depthwise = rng.Next(2) == 0;
            int cg = depthwise ? 1 : rng.Next(1, 5), cin = groups * cg;
            int cout = groups * rng.Next(1, 4);
            int kh = rng.Next(1, 4), kw = rng.Next(1, 4), sh = rng.Next(1, 3), sw = rng.Next(1, 3), dh = rng.Next(1, 3), dw = rng.Next(1, 3);
            int pt = rng.Next(3), pl = rng.Next(3), pb = rng.Next(3), pr = rng.Next(3);
            int n = rng.Next(1, 3), h = rng.Next(1, 8), w = rng.Next(1, 8);
            if (h + pt + pb < dh * (kh - 1) + 1 || w + pl + pr < dw * (kw - 1) + 1) { t--; continue; }
            int oh = (h + pt + pb - dh * (kh - 1) - 1) / sh + 1, ow = (w + pl + pr - dw * (kw - 1) - 1) / sw + 1;
            var (inScale, inZp, outScale, outZp, ws, actMin, actMax, wt, bias, hs, x, wi, b, y, xv) =
                RandomWeightedOp(rng, [n, h, w, cin], [cout, kh, kw, cg], [n, oh, ow, cout], kh * kw * cg);
            hs.Run(OpHarness.Op(OpCode.Conv2D, [x, wi, b], y, [sh, sw, dh, dw, pt, pl, pb, pr, groups, actMin, actMax]));

            var expected = new int[n * oh * ow * cout];
            int e = 0, coutPerGroup = cout / groups;
            for (int bn = 0; bn < n; bn++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++)
                        for (int oc = 0; oc < cout; oc++)
                        {
                            double sum = bias[oc] * ((double)inScale * ws[oc]);
                            for (int ky = 0; ky < kh; ky++)
                                for (int kx = 0; kx < kw; kx++)
                                {
                                    int iy = oy * sh - pt + ky * dh, ix = ox * sw - pl + kx * dw;
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                    for (int i = 0; i < cg; i++)
                                        sum += inScale * (double)(xv[((bn * h + iy) * w + ix) * cin + oc / coutPerGroup * cg + i] - inZp)
                                            * (ws[oc] * (double)wt[((oc * kh + ky) * kw + kx) * cg + i]);
                                }
                            expected[e++] = QuantizeReal(sum, outScale, outZp, actMin, actMax);
                        }
            checker.Check(hs.Int8Of(y), expected, () =>
                $"case {t}: n={n} h={h} w={w} cin={cin} cout={cout} k={kh}x{kw} stride={sh},{sw} dilation={dh},{dw} pads(t,l,b,r)={pt},{pl},{pb},{pr} groups={groups} " +
                $"inScale={inScale:R} inZp={inZp} outScale={outScale:R} outZp={outZp} act=[{actMin},{actMax}]");
        }
        checker.AssertRarelyOffByOne();
    }

    [Fact]
    public void FullyConnectedFlattensRank4InputAndMatchesFloat()
    {
        var rng = new Random(12);
        var checker = new Checker();
        for (int t = 0; t < 250; t++)
        {
            int n = rng.Next(1, 3), h = rng.Next(1, 4), w = rng.Next(1, 4), c = rng.Next(1, 20), cin = h * w * c, cout = rng.Next(1, 12);
            float inScale = RandomScale(rng, 1e-3, 1);
            int inZp = rng.Next(-128, 128), outZp = rng.Next(-128, 128);
            var ws = new float[cout];
            for (int i = 0; i < cout; i++) ws[i] = RandomScale(rng, 1e-3, 1e-1);
            float outScale = (float)(inScale * ws[0] * 80 * Math.Sqrt(cin) / RandomScale(rng, 16, 2000));
            var (actMin, actMax) = RandomClamp(rng, outZp);
            var wt = RandomInt8(rng, cout * cin, -127, 127);
            bool withBias = rng.Next(2) == 0;
            var bias = new int[cout];
            for (int i = 0; i < cout && withBias; i++) bias[i] = rng.Next(-20000, 20001);
            bool rank4Out = rng.Next(2) == 0;

            var hs = new OpHarness();
            int x = hs.Int8([n, h, w, c], inScale, inZp);
            int wi = hs.ConstInt8([cout, cin], wt, ws);
            int[] inputs = withBias ? [x, wi, hs.ConstInt32([cout], bias)] : (rng.Next(2) == 0 ? [x, wi] : [x, wi, -1]);
            int y = hs.Int8(rank4Out ? [n, 1, 1, cout] : [n, cout], outScale, outZp);
            var xv = RandomInt8(rng, n * cin);
            xv.CopyTo(hs.Int8Of(x));
            hs.Run(OpHarness.Op(OpCode.FullyConnected, inputs, y, [actMin, actMax]));

            var expected = new int[n * cout];
            for (int b = 0; b < n; b++)
                for (int oc = 0; oc < cout; oc++)
                {
                    double sum = bias[oc] * ((double)inScale * ws[oc]);
                    for (int i = 0; i < cin; i++)
                        sum += inScale * (double)(xv[b * cin + i] - inZp) * (ws[oc] * (double)wt[oc * cin + i]);
                    expected[b * cout + oc] = QuantizeReal(sum, outScale, outZp, actMin, actMax);
                }
            checker.Check(hs.Int8Of(y), expected, () =>
                $"case {t}: n={n} input={h}x{w}x{c} cout={cout} bias={withBias} inScale={inScale:R} inZp={inZp} outScale={outScale:R} outZp={outZp} act=[{actMin},{actMax}]");
        }
        checker.AssertRarelyOffByOne();
    }

    [Fact]
    public void TransposeConv2DMatchesFloatScatterWithinOneLsb()
    {
        var rng = new Random(13);
        var checker = new Checker();
        for (int t = 0; t < 300; t++)
        {
            int n = rng.Next(1, 3), h = rng.Next(1, 6), w = rng.Next(1, 6), cin = rng.Next(1, 5), cout = rng.Next(1, 5);
            int kh = rng.Next(1, 5), kw = rng.Next(1, 5), sh = rng.Next(1, 4), sw = rng.Next(1, 4), dh = rng.Next(1, 3), dw = rng.Next(1, 3);
            int pt = rng.Next(3), pl = rng.Next(3), pb = rng.Next(3), pr = rng.Next(3);
            int oph = rng.Next(Math.Max(sh, dh)), opw = rng.Next(Math.Max(sw, dw));
            int oh = (h - 1) * sh - pt - pb + dh * (kh - 1) + oph + 1, ow = (w - 1) * sw - pl - pr + dw * (kw - 1) + opw + 1;
            if (oh < 1 || ow < 1) { t--; continue; }
            var (inScale, inZp, outScale, outZp, ws, actMin, actMax, wt, bias, hs, x, wi, b, y, xv) =
                RandomWeightedOp(rng, [n, h, w, cin], [cout, kh, kw, cin], [n, oh, ow, cout], cin * Math.Max(1, kh * kw / (sh * sw)));
            hs.Run(OpHarness.Op(OpCode.TransposeConv2D, [x, wi, b], y, [sh, sw, dh, dw, pt, pl, pb, pr, oph, opw, actMin, actMax]));

            // Independent scatter form: every input pixel adds its kernel footprint to the output.
            var acc = new double[n * oh * ow * cout];
            for (int bn = 0; bn < n; bn++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++)
                        for (int oc = 0; oc < cout; oc++)
                            acc[((bn * oh + oy) * ow + ox) * cout + oc] = bias[oc] * ((double)inScale * ws[oc]);
            for (int bn = 0; bn < n; bn++)
                for (int iy = 0; iy < h; iy++)
                    for (int ix = 0; ix < w; ix++)
                        for (int ky = 0; ky < kh; ky++)
                            for (int kx = 0; kx < kw; kx++)
                            {
                                int oy = iy * sh - pt + ky * dh, ox = ix * sw - pl + kx * dw;
                                if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
                                for (int oc = 0; oc < cout; oc++)
                                    for (int i = 0; i < cin; i++)
                                        acc[((bn * oh + oy) * ow + ox) * cout + oc] += inScale * (double)(xv[((bn * h + iy) * w + ix) * cin + i] - inZp)
                                            * (ws[oc] * (double)wt[((oc * kh + ky) * kw + kx) * cin + i]);
                            }
            var expected = new int[acc.Length];
            for (int i = 0; i < acc.Length; i++) expected[i] = QuantizeReal(acc[i], outScale, outZp, actMin, actMax);
            checker.Check(hs.Int8Of(y), expected, () =>
                $"case {t}: n={n} h={h} w={w} cin={cin} cout={cout} k={kh}x{kw} stride={sh},{sw} dilation={dh},{dw} pads(t,l,b,r)={pt},{pl},{pb},{pr} " +
                $"output_pad={oph},{opw} inScale={inScale:R} inZp={inZp} outScale={outScale:R} outZp={outZp} act=[{actMin},{actMax}]");
        }
        checker.AssertRarelyOffByOne();
    }

    /// <summary>
    /// The random quantized setup of a weighted op: input and output quantization (the output scale from the fan-in, so
    /// results spread over the int8 range), per-channel weight scales, weights in [-127, 127], bias, clamp, and an
    /// <see cref="OpHarness"/> holding input (random values), weights, bias and output tensors.
    /// </summary>
    private static (float InScale, int InZp, float OutScale, int OutZp, float[] Ws, int ActMin, int ActMax, sbyte[] Wt, int[] Bias,
        OpHarness Hs, int X, int W, int B, int Y, sbyte[] Xv) RandomWeightedOp(Random rng, int[] xShape, int[] wShape, int[] yShape, double fan)
    {
        int cout = wShape[0];
        float inScale = RandomScale(rng, 1e-3, 1);
        int inZp = rng.Next(-128, 128), outZp = rng.Next(-128, 128);
        var ws = new float[cout];
        for (int c = 0; c < cout; c++) ws[c] = RandomScale(rng, 1e-3, 1e-1);
        float outScale = (float)(inScale * ws[0] * 80 * Math.Sqrt(fan) / RandomScale(rng, 16, 2000));
        var (actMin, actMax) = RandomClamp(rng, outZp);
        var wt = RandomInt8(rng, wShape.Aggregate(1, (a, d) => a * d), -127, 127);
        var bias = new int[cout];
        for (int c = 0; c < cout; c++) bias[c] = rng.Next(-20000, 20001);
        var hs = new OpHarness();
        int x = hs.Int8(xShape, inScale, inZp);
        int wi = hs.ConstInt8(wShape, wt, ws);
        int b = hs.ConstInt32([cout], bias);
        int y = hs.Int8(yShape, outScale, outZp);
        var xv = RandomInt8(rng, xShape.Aggregate(1, (a, d) => a * d));
        xv.CopyTo(hs.Int8Of(x));
        return (inScale, inZp, outScale, outZp, ws, actMin, actMax, wt, bias, hs, x, wi, b, y, xv);
    }
}
