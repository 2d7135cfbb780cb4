using Cnn.Trainer.Layers;

namespace Cnn.Trainer.Tests;

/// <summary>
/// Every layer's analytic gradients (inputs and parameters) against central finite differences of
/// L = Σ y·r for a fixed random r, with the loss accumulated in double.
/// </summary>
public class GradientCheckTests
{
    private static Tensor Random(int n, Shape s, Random rng, float scale = 1f)
    {
        var t = new Tensor(n, s.C, s.H, s.W);
        for (int i = 0; i < t.Length; i++) t.Data[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return t;
    }

    private static double Loss(Layer layer, Tensor[] xs, float[] r, bool training)
    {
        var ctx = new RunContext { Training = training, Threads = 2, Rng = new Random(7) };
        var y = layer.Forward(xs, ctx);
        double s = 0;
        for (int i = 0; i < y.Length; i++) s += (double)y.Data[i] * r[i];
        return s;
    }

    internal static void Check(Layer layer, Shape[] shapes, int n = 3, bool training = true, double tol = 2e-2, int seed = 1, bool distinct = false, float eps = 1e-2f)
    {
        var rng = new Random(seed);
        var xs = shapes.Select(s => Random(n, s, rng)).ToArray();
        if (distinct)
            // values at least 0.05 apart, so a ±0.01 probe never changes which element a max picks
            foreach (var x in xs)
            {
                var perm = Enumerable.Range(0, x.Length).OrderBy(_ => rng.Next()).ToArray();
                for (int i = 0; i < x.Length; i++) x.Data[i] = perm[i] * 0.05f - x.Length * 0.025f;
            }
        var outShape = layer.OutputShape(shapes);
        var ctx = new RunContext { Training = training, Threads = 2, Rng = new Random(7) };
        var y = layer.Forward(xs, ctx);
        Assert.Equal(outShape, new Shape(y.C, y.H, y.W));
        var r = new float[y.Length];
        for (int i = 0; i < r.Length; i++) r[i] = (float)(rng.NextDouble() * 2 - 1);
        var dy = new Tensor(y.N, y.C, y.H, y.W);
        r.CopyTo(dy.Data, 0);
        foreach (var p in layer.Parameters) Array.Clear(p.Grad);
        var dxs = layer.Backward(dy, shapes.Select(_ => true).ToArray(), ctx).Select(d => d?.Data.AsSpan(0, d.Length).ToArray()).ToArray();
        var pgrads = layer.Parameters.Select(p => (float[])p.Grad.Clone()).ToArray();

        void Compare(string what, float[] data, int len, Func<int, float> analytic)
        {
            var rr = new Random(seed + 99);
            int samples = Math.Min(len, 40);
            for (int t = 0; t < samples; t++)
            {
                int i = len <= 40 ? t : rr.Next(len);
                float old = data[i];
                data[i] = old + eps; double lp = Loss(layer, xs, r, training);
                data[i] = old - eps; double lm = Loss(layer, xs, r, training);
                data[i] = old;
                double numeric = (lp - lm) / (2 * eps);
                double a = analytic(i);
                double err = Math.Abs(numeric - a) / Math.Max(1.0, Math.Abs(numeric) + Math.Abs(a));
                Assert.True(err < tol, $"{layer.Kind} {what}[{i}]: analytic {a}, numeric {numeric}, rel err {err}");
            }
        }

        for (int k = 0; k < xs.Length; k++)
        {
            Assert.NotNull(dxs[k]);
            var dk = dxs[k]!;
            Compare($"input{k}", xs[k].Data, xs[k].Length, i => dk[i]);
        }
        var ps = layer.Parameters;
        for (int k = 0; k < ps.Count; k++)
        {
            var g = pgrads[k];
            Compare(ps[k].Name, ps[k].Value, ps[k].Value.Length, i => g[i]);
        }
    }

    private static readonly Random Rng = new(3);

    [Theory]
    [InlineData(3, 4, 3, 1, 1, 1, 1, true)]
    [InlineData(4, 6, 3, 2, 1, 1, 2, true)]
    [InlineData(4, 4, 3, 1, 2, 2, 4, false)]   // depthwise, dilated
    [InlineData(4, 8, 3, 2, 0, 1, 4, true)]    // depthwise multiplier 2 (im2col path)
    [InlineData(4, 4, 3, 2, 1, 1, 4, true)]    // depthwise stride 2 (direct kernel)
    [InlineData(3, 3, 5, 3, 1, 1, 3, false)]   // depthwise stride 3, 5x5
    [InlineData(5, 3, 1, 1, 0, 1, 1, true)]    // pointwise fast path
    [InlineData(2, 3, 5, 1, 2, 1, 1, true)]
    public void Conv2d(int cin, int cout, int k, int stride, int pad, int dil, int groups, bool bias)
        => Check(new Conv2d(cin, cout, new Kernels.ConvGeometry(k, k, stride, stride, pad, pad, dil, dil), groups, bias, Rng), [new Shape(cin, 7, 6)]);

    [Theory]
    [InlineData(3, 2, 3, 2, 1, 1, 1)]
    [InlineData(4, 4, 2, 2, 0, 0, 2)]
    [InlineData(2, 3, 3, 1, 1, 0, 1)]
    public void ConvTranspose2d(int cin, int cout, int k, int stride, int pad, int outPad, int groups)
        => Check(new ConvTranspose2d(cin, cout, k, stride, pad, outPad, 1, groups, true, Rng), [new Shape(cin, 4, 5)]);

    [Fact] public void BatchNormTrain() => Check(new BatchNorm2d(3), [new Shape(3, 4, 4)], n: 4, training: true);
    [Fact] public void BatchNormEval()
    {
        var bn = new BatchNorm2d(3);
        bn.RunningMean[1] = 0.5f; bn.RunningVar[2] = 2f; bn.Gamma.Value[0] = 1.5f;
        Check(bn, [new Shape(3, 4, 4)], training: false);
    }

    [Fact] public void Relu() => Check(Activation.Relu(), [new Shape(2, 3, 3)]);
    [Fact] public void Relu6() => Check(Activation.Relu6(), [new Shape(2, 3, 3)]);  // inputs in (-1,1): the 6 clip is tested in LayerSemanticsTests
    [Fact] public void LeakyRelu() => Check(Activation.LeakyRelu(0.1f), [new Shape(2, 3, 3)]);
    [Fact] public void MaxPool() => Check(Pool2d.Max(2), [new Shape(2, 6, 6)], distinct: true);
    [Fact] public void MaxPoolOverlapPadded() => Check(Pool2d.Max(3, 2, 1), [new Shape(2, 7, 7)], distinct: true);
    [Fact] public void AvgPool() => Check(Pool2d.Avg(3, 2, 1), [new Shape(2, 7, 7)]);
    [Fact] public void GlobalAvgPool() => Check(Pool2d.GlobalAvg(), [new Shape(3, 4, 5)]);
    [Fact] public void GlobalMaxPool() => Check(Pool2d.GlobalMax(), [new Shape(3, 4, 5)], distinct: true);
    [Fact] public void Linear() => Check(new Linear(2 * 3 * 3, 5, true, Rng), [new Shape(2, 3, 3)]);
    [Fact] public void Dropout() => Check(new Dropout(0.3f), [new Shape(2, 3, 3)]);
    [Fact] public void Flatten() => Check(new Flatten(), [new Shape(2, 3, 3)]);
    [Fact] public void Add() => Check(new Add(), [new Shape(2, 3, 3), new Shape(2, 3, 3)]);
    [Fact] public void Concat() => Check(new Concat(3), [new Shape(2, 3, 3), new Shape(1, 3, 3), new Shape(3, 3, 3)]);
    [Fact] public void ChannelShuffle() => Check(new ChannelShuffle(2), [new Shape(6, 2, 2)]);

    [Fact]
    public void SoftmaxCrossEntropyWithSmoothingAndMixup()
    {
        var rng = new Random(5);
        var z = Random(4, new Shape(5, 1, 1), rng, 3f);
        int[] a = [0, 3, 4, 1], b = [2, 3, 0, 4];
        float[] lam = [0.3f, 1f, 0.6f, 0.9f];
        var g = new Tensor(4, 5, 1, 1);
        SoftmaxCrossEntropy.Compute(z, a, g, 0.1f, b, lam);
        const float eps = 1e-3f;
        for (int i = 0; i < z.Length; i++)
        {
            float old = z.Data[i];
            z.Data[i] = old + eps; double lp = SoftmaxCrossEntropy.Compute(z, a, null, 0.1f, b, lam);
            z.Data[i] = old - eps; double lm = SoftmaxCrossEntropy.Compute(z, a, null, 0.1f, b, lam);
            z.Data[i] = old;
            Assert.Equal((lp - lm) / (2 * eps), g.Data[i], 3);
        }
    }
}
