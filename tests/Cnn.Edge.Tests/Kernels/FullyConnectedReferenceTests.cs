using Cnn.Edge.Kernels;
using static Cnn.Edge.Tests.Kernels.QuantTestUtil;

namespace Cnn.Edge.Tests.Kernels;

public class FullyConnectedReferenceTests
{
    [Fact]
    public void HandComputedTwoBatchesTwoOutputs()
    {
        // x zero point 2; w = [[1,2,3],[-1,0,1]]; bias [5,-5]; multipliers 1 and 0.25; out zero point 10.
        var (m1, s1) = Requantize.QuantizeMultiplier(1.0);
        var (mq, sq) = Requantize.QuantizeMultiplier(0.25);
        sbyte[] x = [3, 4, 5, 2, 2, 12];
        sbyte[] w = [1, 2, 3, -1, 0, 1];
        var y = new sbyte[4];
        FullyConnectedReference.Run(new FullyConnectedShape(2, 3, 2), x, 2, w, [5, -5], [m1, mq], [s1, sq], 10, -128, 127, y);
        // batch 0: x-zp = [1,2,3]: 1+4+9+5 = 19 -> 29; -1+3-5 = -3 -> -0.75 -> -1 -> 9
        // batch 1: x-zp = [0,0,10]: 30+5 = 35 -> 45; 10-5 = 5 -> 5*0.25 = 1.25 -> 12, not 11: the rule
        // rounds twice (docs/quantization.md): the high multiply gives 2.5 -> 3 (ties up), then 3/2 -> 2.
        Assert.Equal(new sbyte[] { 29, 9, 45, 12 }, y);
    }

    [Fact]
    public void RandomShapesMatchFloatWithinOneLsb()
    {
        var rng = new Random(7);
        var checker = new Checker();
        for (int t = 0; t < 500; t++)
        {
            int n = rng.Next(1, 4), cin = rng.Next(1, 200), cout = rng.Next(1, 20);
            float inScale = RandomScale(rng, 1e-3, 1);
            int inZp = rng.Next(-128, 128), outZp = rng.Next(-128, 128);
            var wScales = new float[cout];
            for (int c = 0; c < cout; c++) wScales[c] = RandomScale(rng, 1e-3, 1e-1);
            float outScale = (float)(inScale * wScales[0] * 80 * Math.Sqrt(cin) / RandomScale(rng, 16, 2000));
            var x = RandomInt8(rng, n * cin);
            var w = RandomInt8(rng, cout * cin, -127, 127);
            bool hasBias = rng.Next(4) != 0;
            var bias = new int[cout];
            for (int c = 0; c < cout && hasBias; c++) bias[c] = rng.Next(-50000, 50001);
            var (actMin, actMax) = RandomClamp(rng, outZp);
            var real = new double[cout];
            for (int c = 0; c < cout; c++) real[c] = (double)inScale * wScales[c] / outScale;
            var (mult, shift) = Multipliers(real);
            var y = new sbyte[n * cout];
            FullyConnectedReference.Run(new FullyConnectedShape(n, cin, cout), x, inZp, w, hasBias ? bias : [], mult, shift, outZp, actMin, actMax, y);

            var expected = new int[n * cout];
            for (int b = 0; b < n; b++)
                for (int oc = 0; oc < cout; oc++)
                {
                    double sum = bias[oc] * ((double)inScale * wScales[oc]);
                    for (int i = 0; i < cin; i++)
                        sum += inScale * (double)(x[b * cin + i] - inZp) * (wScales[oc] * (double)w[oc * cin + i]);
                    expected[b * cout + oc] = QuantizeReal(sum, outScale, outZp, actMin, actMax);
                }
            checker.Check(y, expected, () =>
                $"case {t}: n={n} cin={cin} cout={cout} inScale={inScale:R} inZp={inZp} outScale={outScale:R} outZp={outZp} act=[{actMin},{actMax}] bias={hasBias}");
        }
        checker.AssertRarelyOffByOne();
    }
}
