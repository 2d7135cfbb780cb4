using Cnn.Edge.Runtime;
using static Cnn.Edge.Tests.Kernels.QuantTestUtil;

namespace Cnn.Edge.Tests.Ops;

/// <summary>Add, Concat, Reshape, ChannelShuffle, Softmax, Quantize and Dequantize through OpFactory against float computations.</summary>
public class ElementwiseOpTests
{
    [Fact]
    public void AddOfDifferentScalesMatchesFloatWithinOneLsb()
    {
        var rng = new Random(31);
        var checker = new Checker();
        for (int t = 0; t < 400; t++)
        {
            int[] shape = [rng.Next(1, 3), rng.Next(1, 6), rng.Next(1, 6), rng.Next(1, 9)];
            int count = shape[0] * shape[1] * shape[2] * shape[3];
            float sa = RandomScale(rng, 1e-3, 1), sb = sa * RandomScale(rng, 0.05, 20), so = Math.Max(sa, sb) * RandomScale(rng, 0.3, 4);
            int za = rng.Next(-128, 128), zb = rng.Next(-128, 128), zo = rng.Next(-128, 128);
            var (actMin, actMax) = RandomClamp(rng, zo);
            var hs = new OpHarness();
            int a = hs.Int8(shape, sa, za), b = hs.Int8(shape, sb, zb), y = hs.Int8(shape, so, zo);
            var av = RandomInt8(rng, count);
            var bv = RandomInt8(rng, count);
            av.CopyTo(hs.Int8Of(a));
            bv.CopyTo(hs.Int8Of(b));
            hs.Run(OpHarness.Op(OpCode.Add, [a, b], y, [actMin, actMax]));
            var expected = new int[count];
            for (int i = 0; i < count; i++)
                expected[i] = QuantizeReal(sa * (double)(av[i] - za) + sb * (double)(bv[i] - zb), so, zo, actMin, actMax);
            checker.Check(hs.Int8Of(y), expected, () => $"case {t}: shape=[{string.Join(",", shape)}] a=({sa:R},{za}) b=({sb:R},{zb}) out=({so:R},{zo}) act=[{actMin},{actMax}]");
        }
        checker.AssertRarelyOffByOne();
    }

    [Fact]
    public void ConcatRequantizesEveryInputWithinOneLsb()
    {
        var rng = new Random(32);
        var checker = new Checker();
        for (int t = 0; t < 300; t++)
        {
            int inputs = rng.Next(2, 6);
            bool rank2 = rng.Next(4) == 0;
            int n = rng.Next(1, 3), h = rank2 ? 1 : rng.Next(1, 5), w = rank2 ? 1 : rng.Next(1, 5);
            float so = RandomScale(rng, 1e-3, 1);
            int zo = rng.Next(-128, 128);
            var (actMin, actMax) = RandomClamp(rng, zo);
            var hs = new OpHarness();
            var ids = new int[inputs];
            var cs = new int[inputs];
            var scales = new float[inputs];
            var zps = new int[inputs];
            var values = new sbyte[inputs][];
            int total = 0;
            for (int i = 0; i < inputs; i++)
            {
                cs[i] = rng.Next(1, 7);
                total += cs[i];
                // A third of the inputs share the output quantization (the common no-requantize case).
                bool same = rng.Next(3) == 0;
                scales[i] = same ? so : so * RandomScale(rng, 0.1, 10);
                zps[i] = same ? zo : rng.Next(-128, 128);
                ids[i] = hs.Int8(rank2 ? [n, cs[i]] : [n, h, w, cs[i]], scales[i], zps[i]);
                values[i] = RandomInt8(rng, n * h * w * cs[i]);
                values[i].CopyTo(hs.Int8Of(ids[i]));
            }
            int y = hs.Int8(rank2 ? [n, total] : [n, h, w, total], so, zo);
            hs.Run(OpHarness.Op(OpCode.Concat, ids, y, [actMin, actMax]));
            var expected = new int[n * h * w * total];
            for (int p = 0; p < n * h * w; p++)
            {
                int off = 0;
                for (int i = 0; i < inputs; i++)
                {
                    for (int c = 0; c < cs[i]; c++)
                        expected[p * total + off + c] = QuantizeReal(scales[i] * (double)(values[i][p * cs[i] + c] - zps[i]), so, zo, actMin, actMax);
                    off += cs[i];
                }
            }
            checker.Check(hs.Int8Of(y), expected, () =>
                $"case {t}: n={n} h={h} w={w} channels=[{string.Join(",", cs)}] scales=[{string.Join(",", scales.Select(s => s.ToString("R")))}] " +
                $"zps=[{string.Join(",", zps)}] out=({so:R},{zo}) act=[{actMin},{actMax}]");
        }
        // Scale ratios near 1 are requantized with a shift of a bit or two, where the rule's double
        // rounding often differs from the float model's single rounding by one LSB.
        checker.AssertRarelyOffByOne(0.05);
    }

    [Fact]
    public void ConcatOfSameQuantizationCopiesExactly()
    {
        var hs = new OpHarness();
        int a = hs.Int8([1, 1, 2, 2], 0.1f, 5), b = hs.Int8([1, 1, 2, 1], 0.1f, 5), y = hs.Int8([1, 1, 2, 3], 0.1f, 5);
        new sbyte[] { -128, 127, 1, 2 }.CopyTo(hs.Int8Of(a));
        new sbyte[] { 9, -9 }.CopyTo(hs.Int8Of(b));
        hs.Run(OpHarness.Op(OpCode.Concat, [a, b], y, [-128, 127]));
        Assert.Equal(new sbyte[] { -128, 127, 9, 1, 2, -9 }, hs.Int8Of(y).ToArray());
    }

    [Fact]
    public void ReshapeCopiesBytesAndChecksElementCount()
    {
        var hs = new OpHarness();
        int x = hs.Int8([1, 2, 2, 3], 0.5f, 1), y = hs.Int8([1, 12], 0.5f, 1);
        var v = Enumerable.Range(-6, 12).Select(i => (sbyte)i).ToArray();
        v.CopyTo(hs.Int8Of(x));
        hs.Run(OpHarness.Op(OpCode.Reshape, [x], y, []));
        Assert.Equal(v, hs.Int8Of(y).ToArray());

        int bad = hs.Int8([1, 11], 0.5f, 1);
        var ex = Assert.Throws<ModelFormatException>(() => hs.Prepare(OpHarness.Op(OpCode.Reshape, [x], bad, [], "flatten")));
        Assert.Contains("flatten", ex.Hint);
        int requant = hs.Int8([1, 12], 0.25f, 1);
        Assert.Throws<ModelFormatException>(() => hs.Prepare(OpHarness.Op(OpCode.Reshape, [x], requant, [])));
    }

    [Fact]
    public void ReshapeRandomShapesKeepEveryByte()
    {
        var rng = new Random(36);
        for (int t = 0; t < 300; t++)
        {
            int[] dims = [rng.Next(1, 4), rng.Next(1, 5), rng.Next(1, 5), rng.Next(1, 7)];
            int count = dims[0] * dims[1] * dims[2] * dims[3];
            int[] target = rng.Next(3) switch { 0 => [dims[0], count / dims[0]], 1 => [count], _ => [dims[0], dims[1] * dims[2], 1, dims[3]] };
            var type = rng.Next(3) switch { 0 => TensorType.Int8, 1 => TensorType.Float32, _ => TensorType.Int32 };
            var hs = new OpHarness();
            int x = hs.Activation(type, dims, type == TensorType.Int8 ? 0.5f : 0, 0);
            int y = hs.Activation(type, target, type == TensorType.Int8 ? 0.5f : 0, 0);
            int bytes = count * TensorInfo.ElementSize(type);
            var v = new byte[bytes];
            rng.NextBytes(v);
            v.CopyTo(hs.Arena.Slice(hs.Tensors[x].ArenaOffset, bytes));
            hs.Run(OpHarness.Op(OpCode.Reshape, [x], y, []));
            Assert.True(v.AsSpan().SequenceEqual(hs.Arena.Slice(hs.Tensors[y].ArenaOffset, bytes)),
                $"case {t}: {type} [{string.Join(",", dims)}] -> [{string.Join(",", target)}]");
        }
    }

    [Fact]
    public void ChannelShuffleIsTheReshapeTransposeOfPyTorch()
    {
        var rng = new Random(33);
        for (int t = 0; t < 300; t++)
        {
            int groups = rng.Next(1, 6), k = rng.Next(1, 6), c = groups * k, positions = rng.Next(1, 10);
            var hs = new OpHarness();
            int x = hs.Int8([1, 1, positions, c], 0.1f, 0), y = hs.Int8([1, 1, positions, c], 0.1f, 0);
            var v = RandomInt8(rng, positions * c);
            v.CopyTo(hs.Int8Of(x));
            hs.Run(OpHarness.Op(OpCode.ChannelShuffle, [x], y, [groups]));
            // x.view(g, k).transpose(0, 1).flatten(): output index (i, j) over [k, g] reads input (j, i) over [g, k].
            for (int p = 0; p < positions; p++)
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < groups; j++)
                        Assert.True(v[p * c + j * k + i] == hs.Int8Of(y)[p * c + i * groups + j], $"case {t}: groups={groups} channels={c} position {p}");
        }
    }

    [Fact]
    public void SoftmaxFloatAndInt8MatchDoubleSoftmax()
    {
        var rng = new Random(34);
        var checker = new Checker();
        double maxFloatError = 0;
        for (int t = 0; t < 300; t++)
        {
            int rows = rng.Next(1, 4), classes = rng.Next(1, 40);
            float scale = RandomScale(rng, 1e-3, 0.5), beta = RandomScale(rng, 0.2, 3);
            int zp = rng.Next(-128, 128);
            var hs = new OpHarness();
            int x = hs.Int8([rows, classes], scale, zp);
            int yf = hs.Activation(TensorType.Float32, [rows, classes]);
            int yq = hs.Int8([rows, classes], 1f / 256, -128);
            var v = RandomInt8(rng, rows * classes);
            v.CopyTo(hs.Int8Of(x));
            int betaBits = BitConverter.SingleToInt32Bits(beta);
            hs.Run(OpHarness.Op(OpCode.Softmax, [x], yf, [betaBits]));
            hs.Run(OpHarness.Op(OpCode.Softmax, [x], yq, [betaBits]));
            var expected = new int[rows * classes];
            for (int r = 0; r < rows; r++)
            {
                double max = double.NegativeInfinity, sum = 0;
                for (int c = 0; c < classes; c++) max = Math.Max(max, scale * (double)(v[r * classes + c] - zp));
                for (int c = 0; c < classes; c++) sum += Math.Exp(beta * (scale * (double)(v[r * classes + c] - zp) - max));
                for (int c = 0; c < classes; c++)
                {
                    double p = Math.Exp(beta * (scale * (double)(v[r * classes + c] - zp) - max)) / sum;
                    maxFloatError = Math.Max(maxFloatError, Math.Abs(hs.FloatOf(yf)[r * classes + c] - p));
                    expected[r * classes + c] = QuantizeReal(p, 1.0 / 256, -128, -128, 127);
                }
            }
            checker.Check(hs.Int8Of(yq), expected, () => $"case {t}: rows={rows} classes={classes} scale={scale:R} zp={zp} beta={beta:R}");
        }
        checker.AssertRarelyOffByOne();
        Assert.True(maxFloatError < 1e-6, $"float softmax max abs error {maxFloatError}");
    }

    [Fact]
    public void QuantizeThenDequantizeRoundTripsWithinHalfAStep()
    {
        var rng = new Random(35);
        for (int t = 0; t < 300; t++)
        {
            int count = rng.Next(1, 64);
            float scale = RandomScale(rng, 1e-3, 1);
            int zp = rng.Next(-128, 128);
            var hs = new OpHarness();
            int f = hs.Activation(TensorType.Float32, [1, count]);
            int q = hs.Int8([1, count], scale, zp);
            int back = hs.Activation(TensorType.Float32, [1, count]);
            var values = new float[count];
            for (int i = 0; i < count; i++) values[i] = (float)((rng.NextDouble() * 300 - 150) * scale);
            values.CopyTo(hs.FloatOf(f));
            hs.Run(OpHarness.Op(OpCode.Quantize, [f], q, []));
            hs.Run(OpHarness.Op(OpCode.Dequantize, [q], back, []));
            for (int i = 0; i < count; i++)
            {
                int expected = QuantizeReal(values[i], scale, zp, -128, 127);
                Assert.True(expected == hs.Int8Of(q)[i], $"case {t}: x={values[i]:R} scale={scale:R} zp={zp}: got {hs.Int8Of(q)[i]}, expected {expected}");
                Assert.Equal(scale * (expected - zp), hs.FloatOf(back)[i]);
                if (expected > -128 && expected < 127)
                    Assert.True(Math.Abs(hs.FloatOf(back)[i] - values[i]) <= scale * 0.5001, $"case {t}: round trip of {values[i]:R}");
            }
        }
    }
}
