using Cnn.Edge.Kernels;
using static Cnn.Edge.Tests.Kernels.QuantTestUtil;

namespace Cnn.Edge.Tests.Kernels;

public class Conv2DReferenceTests
{
    private static readonly (int M, int S) One = Requantize.QuantizeMultiplier(1.0);
    private static readonly (int M, int S) Half = Requantize.QuantizeMultiplier(0.5);

    [Fact]
    public void HandComputed3x3SamePaddingWithZeroPointAndBias()
    {
        // x 3x3x1 = 1..9 with zero point 1 (real 0..8), w 3x3 of ones, pad 1 all round, multiplier 1.
        var s = new Conv2DShape(1, 3, 3, 1, 3, 3, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1);
        sbyte[] x = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        sbyte[] w = [1, 1, 1, 1, 1, 1, 1, 1, 1];
        var y = new sbyte[9];
        Conv2DReference.Run(s, x, 1, w, [10], [One.M], [One.S], -5, -128, 127, y);
        // Neighbourhood sums of 0..8 on a 3x3 grid (zero padded): corners 0+1+3+4=8, ...
        int[] sums = [8, 15, 12, 21, 36, 27, 20, 33, 24];
        Assert.Equal(sums.Select(v => (sbyte)(v + 10 - 5)).ToArray(), y);
    }

    [Fact]
    public void HandComputedStrideDilationAsymmetricPadAndClamp()
    {
        // x 1x4x4x1 = 0..15, zero point 0; 2x2 kernel [1,2;3,4] dilated by 2, stride 2, pad top 1 left 0.
        // OH = (4+1+0 - 2*1 - 1)/2 + 1 = 2, OW = (4 - 2 - 1)/2 + 1 = 1.
        var s = new Conv2DShape(1, 4, 4, 1, 2, 1, 1, 2, 2, 2, 2, 2, 2, 1, 0, 1);
        var x = Enumerable.Range(0, 16).Select(v => (sbyte)v).ToArray();
        sbyte[] w = [1, 2, 3, 4];
        var y = new sbyte[2];
        Conv2DReference.Run(s, x, 0, w, [], [Half.M], [Half.S], 0, -128, 20, y);
        // oy=0: rows -1 (pad) and 1; cols 0 and 2: 3*x[1,0] + 4*x[1,2] = 3*4 + 4*6 = 36 -> *0.5 = 18
        // oy=1: rows 1 and 3: 1*4 + 2*6 + 3*12 + 4*14 = 108 -> 54 -> clamped to 20
        Assert.Equal(new sbyte[] { 18, 20 }, y);
    }

    [Fact]
    public void HandComputedDepthwiseWithMultiplier()
    {
        // Depthwise 1x1 kernel, Cin = 2, multiplier 2: output channel c*2+j reads input channel c.
        var s = new Conv2DShape(1, 1, 1, 2, 1, 1, 4, 1, 1, 1, 1, 1, 1, 0, 0, 2);
        sbyte[] x = [3, -5];
        sbyte[] w = [1, 2, 3, -4];
        var y = new sbyte[4];
        Conv2DReference.Run(s, x, -1, w, [0, 1, 0, 0], [One.M, One.M, One.M, One.M], [One.S, One.S, One.S, One.S], 0, -128, 127, y);
        // (3+1)*1, (3+1)*2+1, (-5+1)*3, (-5+1)*-4
        Assert.Equal(new sbyte[] { 4, 9, -12, 16 }, y);
    }

    [Fact]
    public void RequantizationRoundsAsTheRuleSays()
    {
        // Multiplier 0.5 = (2^30, shift 0): the tie is met in the high multiply, which rounds up:
        // 3 -> 1.5 -> 2 and -3 -> -1.5 -> -1.
        var s = new Conv2DShape(1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 0, 0, 1);
        var y = new sbyte[2];
        Conv2DReference.Run(s, [3], 0, [1, -1], [], [Half.M, Half.M], [Half.S, Half.S], 0, -128, 127, y);
        Assert.Equal(new sbyte[] { 2, -1 }, y);
        // Multiplier 0.25 = (2^30, shift -1): the tie is met in the rounding shift, away from zero:
        // 6 -> 3 -> 1.5 -> 2 and -6 -> -3 -> -1.5 -> -2.
        var (qm, qs) = Requantize.QuantizeMultiplier(0.25);
        Conv2DReference.Run(s, [6], 0, [1, -1], [], [qm, qm], [qs, qs], 0, -128, 127, y);
        Assert.Equal(new sbyte[] { 2, -2 }, y);
    }

    [Fact]
    public void RandomShapesMatchFloatConvolutionWithinOneLsb()
    {
        var rng = new Random(20261124);
        var checker = new Checker();
        for (int t = 0; t < 600; t++)
        {
            int n = rng.Next(1, 3);
            int groups = rng.Next(4) switch { 0 => 1, 1 => 2, 2 => 3, _ => rng.Next(1, 9) };
            bool depthwise = rng.Next(3) == 0;
            int cg = depthwise ? 1 : rng.Next(1, 6);
            int cin = groups * cg;
            int coutPerGroup = rng.Next(1, 4);
            int cout = groups * coutPerGroup;
            int kh = rng.Next(1, 5), kw = rng.Next(1, 5);
            int sh = rng.Next(1, 4), sw = rng.Next(1, 4);
            int dh = rng.Next(1, 4), dw = rng.Next(1, 4);
            int pt = rng.Next(0, 4), pl = rng.Next(0, 4), pb = rng.Next(0, 4), pr = rng.Next(0, 4);
            int h = rng.Next(1, 10), w = rng.Next(1, 10);
            int ohNum = h + pt + pb - dh * (kh - 1) - 1, owNum = w + pl + pr - dw * (kw - 1) - 1;
            if (ohNum < 0 || owNum < 0) { t--; continue; }
            int oh = ohNum / sh + 1, ow = owNum / sw + 1;
            var shape = new Conv2DShape(n, h, w, cin, oh, ow, cout, kh, kw, sh, sw, dh, dw, pt, pl, groups);

            float inScale = RandomScale(rng, 1e-3, 1);
            int inZp = rng.Next(-128, 128);
            int outZp = rng.Next(-128, 128);
            var wScales = new float[cout];
            for (int c = 0; c < cout; c++) wScales[c] = RandomScale(rng, 1e-3, 1e-1);
            // Output scale sized so the typical accumulator lands in about ±64..±2000 output units:
            // exercises both the interior and saturation.
            double typical = inScale * wScales[0] * 80 * Math.Sqrt(kh * kw * cg);
            float outScale = (float)(typical / RandomScale(rng, 16, 2000));
            var x = RandomInt8(rng, n * h * w * cin);
            var wt = RandomInt8(rng, cout * kh * kw * cg, -127, 127);
            var bias = new int[cout];
            bool hasBias = rng.Next(4) != 0;
            for (int c = 0; c < cout && hasBias; c++) bias[c] = rng.Next(-20000, 20001);
            var (actMin, actMax) = RandomClamp(rng, outZp);
            var real = new double[cout];
            for (int c = 0; c < cout; c++) real[c] = (double)inScale * wScales[c] / outScale;
            var (mult, shift) = Multipliers(real);

            var y = new sbyte[n * oh * ow * cout];
            Conv2DReference.Run(shape, x, inZp, wt, hasBias ? bias : [], mult, shift, outZp, actMin, actMax, y);

            // Independent float computation: dequantize, convolve in double, quantize.
            var expected = new int[y.Length];
            int e = 0;
            for (int b = 0; b < n; b++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++)
                        for (int oc = 0; oc < cout; oc++)
                        {
                            int g = oc / coutPerGroup;
                            double sum = bias[oc] * ((double)inScale * wScales[oc]);
                            for (int ky = 0; ky < kh; ky++)
                                for (int kx = 0; kx < kw; kx++)
                                    for (int i = 0; i < cg; i++)
                                    {
                                        int iy = oy * sh - pt + ky * dh, ix = ox * sw - pl + kx * dw;
                                        double xv = iy < 0 || iy >= h || ix < 0 || ix >= w ? 0.0
                                            : inScale * (x[((b * h + iy) * w + ix) * cin + g * cg + i] - inZp);
                                        sum += xv * (wScales[oc] * (double)wt[((oc * kh + ky) * kw + kx) * cg + i]);
                                    }
                            expected[e++] = QuantizeReal(sum, outScale, outZp, actMin, actMax);
                        }
            checker.Check(y, expected, () =>
                $"case {t}: {shape} inScale={inScale:R} inZp={inZp} outScale={outScale:R} outZp={outZp} act=[{actMin},{actMax}] bias={hasBias}");
        }
        checker.AssertRarelyOffByOne();
    }
}
