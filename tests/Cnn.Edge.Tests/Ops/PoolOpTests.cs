using Cnn.Edge.Runtime;
using static Cnn.Edge.Tests.Kernels.QuantTestUtil;

namespace Cnn.Edge.Tests.Ops;

/// <summary>Pooling ops through OpShapes + OpFactory against float computations (PyTorch semantics).</summary>
public class PoolOpTests
{
    private record struct PoolCase(int N, int H, int W, int C, int KH, int KW, int SH, int SW, int PT, int PL, int PB, int PR, bool Ceil, bool IncludePad)
    {
        public static PoolCase Random(Random rng)
        {
            while (true)
            {
                int kh = rng.Next(1, 5), kw = rng.Next(1, 5);
                var c = new PoolCase(rng.Next(1, 3), rng.Next(1, 9), rng.Next(1, 9), rng.Next(1, 6), kh, kw,
                    rng.Next(1, 4), rng.Next(1, 4), rng.Next(kh), rng.Next(kw), rng.Next(kh), rng.Next(kw), rng.Next(2) == 0, rng.Next(2) == 0);
                if (c.H + c.PT + c.PB >= kh && c.W + c.PL + c.PR >= kw) return c;
            }
        }

        /// <summary>PyTorch's output size, written independently of OpShapes.</summary>
        public readonly (int OH, int OW) Output()
        {
            static int Size(int i, int p0, int p1, int k, int s, bool ceil)
            {
                double v = (double)(i + p0 + p1 - k) / s;
                int o = (int)(ceil ? Math.Ceiling(v) : Math.Floor(v)) + 1;
                if (ceil && (o - 1) * s >= i + p0) o--;
                return o;
            }
            return (Size(H, PT, PB, KH, SH, Ceil), Size(W, PL, PR, KW, SW, Ceil));
        }

        public readonly int[] Params(int actMin, int actMax) => [KH, KW, SH, SW, PT, PL, PB, PR, Ceil ? 1 : 0, IncludePad ? 1 : 0, actMin, actMax];
    }

    [Fact]
    public void MaxPoolRandomMatchesFloatExactly()
    {
        var rng = new Random(21);
        int cases = 0;
        for (int t = 0; t < 400; t++)
        {
            var (pc, oh, ow, scale, zp, actMin, actMax, xv, got) = RunRandomPool(rng, OpCode.MaxPool2D);
            for (int n = 0; n < pc.N; n++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++)
                        for (int c = 0; c < pc.C; c++)
                        {
                            double best = double.NegativeInfinity;
                            for (int ky = 0; ky < pc.KH; ky++)
                                for (int kx = 0; kx < pc.KW; kx++)
                                {
                                    int iy = oy * pc.SH - pc.PT + ky, ix = ox * pc.SW - pc.PL + kx;
                                    if (iy >= 0 && iy < pc.H && ix >= 0 && ix < pc.W)
                                        best = Math.Max(best, scale * (double)(xv[((n * pc.H + iy) * pc.W + ix) * pc.C + c] - zp));
                                }
                            Assert.False(double.IsNegativeInfinity(best), $"case {t}: empty window {pc}");
                            int expected = QuantizeReal(best, scale, zp, actMin, actMax);
                            int g = got[((n * oh + oy) * ow + ox) * pc.C + c];
                            if (g != expected) Assert.Fail($"case {t}: {pc} act=[{actMin},{actMax}] at ({n},{oy},{ox},{c}): got {g}, expected {expected}");
                        }
            cases++;
        }
        Assert.Equal(400, cases);
    }

    [Fact]
    public void AveragePoolRandomMatchesFloatWithinOneLsb()
    {
        var rng = new Random(22);
        var checker = new Checker();
        for (int t = 0; t < 400; t++)
        {
            var (pc, oh, ow, scale, zp, actMin, actMax, xv, got) = RunRandomPool(rng, OpCode.AveragePool2D);
            var expected = new int[pc.N * oh * ow * pc.C];
            int e = 0;
            for (int n = 0; n < pc.N; n++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++)
                        for (int c = 0; c < pc.C; c++)
                        {
                            // PyTorch: padding is real 0; with count_include_pad the divisor counts the padded
                            // positions the window covers (not what hangs beyond the padding in ceil mode).
                            double sum = 0;
                            int valid = 0, padded = 0;
                            for (int ky = 0; ky < pc.KH; ky++)
                                for (int kx = 0; kx < pc.KW; kx++)
                                {
                                    int iy = oy * pc.SH - pc.PT + ky, ix = ox * pc.SW - pc.PL + kx;
                                    if (iy >= pc.H + pc.PB || ix >= pc.W + pc.PR) continue;
                                    if (iy >= 0 && iy < pc.H && ix >= 0 && ix < pc.W)
                                    {
                                        sum += scale * (double)(xv[((n * pc.H + iy) * pc.W + ix) * pc.C + c] - zp);
                                        valid++;
                                    }
                                    else padded++;
                                }
                            double mean = sum / (pc.IncludePad ? valid + padded : valid);
                            // The spec rounds the mean in the quantized domain (q, not q - zp), as TFLite does.
                            double q = Math.Round(mean / scale + zp, MidpointRounding.AwayFromZero);
                            expected[e++] = (int)Math.Clamp(q, actMin, actMax);
                        }
            checker.Check(got, expected, () => $"case {t}: {pc} scale={scale:R} zp={zp} act=[{actMin},{actMax}]");
        }
        checker.AssertRarelyOffByOne();
    }

    [Fact]
    public void GlobalAveragePoolAnyOutputScaleMatchesFloat()
    {
        var rng = new Random(23);
        var checker = new Checker();
        for (int t = 0; t < 300; t++)
        {
            int n = rng.Next(1, 3), h = rng.Next(1, 12), w = rng.Next(1, 12), c = rng.Next(1, 9);
            float inScale = RandomScale(rng, 1e-3, 1), outScale = inScale * RandomScale(rng, 0.05, 2);
            int inZp = rng.Next(-128, 128), outZp = rng.Next(-128, 128);
            var (actMin, actMax) = RandomClamp(rng, outZp);
            var hs = new OpHarness();
            int x = hs.Int8([n, h, w, c], inScale, inZp), y = hs.Int8([n, 1, 1, c], outScale, outZp);
            var xv = RandomInt8(rng, n * h * w * c);
            xv.CopyTo(hs.Int8Of(x));
            hs.Run(OpHarness.Op(OpCode.GlobalAveragePool, [x], y, [actMin, actMax]));
            var expected = new int[n * c];
            for (int b = 0; b < n; b++)
                for (int ch = 0; ch < c; ch++)
                {
                    double sum = 0;
                    for (int p = 0; p < h * w; p++) sum += inScale * (double)(xv[(b * h * w + p) * c + ch] - inZp);
                    expected[b * c + ch] = QuantizeReal(sum / (h * w), outScale, outZp, actMin, actMax);
                }
            checker.Check(hs.Int8Of(y), expected, () => $"case {t}: n={n} h={h} w={w} c={c} inScale={inScale:R} inZp={inZp} outScale={outScale:R} outZp={outZp} act=[{actMin},{actMax}]");
        }
        // Small H*W gives multipliers near 1, where the rule's two roundings (high multiply, then a
        // shift of only a few bits) often land one LSB from the single rounding of the float model.
        checker.AssertRarelyOffByOne(0.05);
    }

    [Fact]
    public void GlobalMaxPoolMatchesMaxExactly()
    {
        var rng = new Random(24);
        for (int t = 0; t < 300; t++)
        {
            int n = rng.Next(1, 3), h = rng.Next(1, 10), w = rng.Next(1, 10), c = rng.Next(1, 9);
            var hs = new OpHarness();
            int x = hs.Int8([n, h, w, c], 0.1f, 3), y = hs.Int8([n, 1, 1, c], 0.1f, 3);
            var xv = RandomInt8(rng, n * h * w * c);
            xv.CopyTo(hs.Int8Of(x));
            hs.Run(OpHarness.Op(OpCode.GlobalMaxPool, [x], y, []));
            for (int b = 0; b < n; b++)
                for (int ch = 0; ch < c; ch++)
                {
                    int max = -128;
                    for (int p = 0; p < h * w; p++) max = Math.Max(max, xv[(b * h * w + p) * c + ch]);
                    Assert.True(max == hs.Int8Of(y)[b * c + ch], $"case {t}: n={n} h={h} w={w} c={c} batch {b} channel {ch}");
                }
        }
    }

    /// <summary>A random pooling case (shape, scale, zero point, clamp, input values) run through OpFactory; returns the output.</summary>
    private static (PoolCase Pc, int Oh, int Ow, float Scale, int Zp, int ActMin, int ActMax, sbyte[] Xv, sbyte[] Got) RunRandomPool(Random rng, OpCode code)
    {
        var pc = PoolCase.Random(rng);
        var (oh, ow) = pc.Output();
        float scale = RandomScale(rng, 1e-3, 1);
        int zp = rng.Next(-128, 128);
        var (actMin, actMax) = RandomClamp(rng, zp);
        var hs = new OpHarness();
        int x = hs.Int8([pc.N, pc.H, pc.W, pc.C], scale, zp), y = hs.Int8([pc.N, oh, ow, pc.C], scale, zp);
        var xv = RandomInt8(rng, pc.N * pc.H * pc.W * pc.C);
        xv.CopyTo(hs.Int8Of(x));
        hs.Run(OpHarness.Op(code, [x], y, pc.Params(actMin, actMax)));
        return (pc, oh, ow, scale, zp, actMin, actMax, xv, hs.Int8Of(y).ToArray());
    }
}
