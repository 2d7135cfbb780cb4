using Cnn.Edge.Kernels;
using Cnn.Edge.Runtime;
using static Cnn.Edge.Tests.Kernels.QuantTestUtil;

namespace Cnn.Edge.Tests.Ops;

/// <summary>LeakyRelu, Pad2D and broadcasting Add (the int8 ops for imported ONNX LeakyRelu, unfoldable Pad and broadcast Add) through OpFactory.</summary>
public class ActivationAndPadOpTests
{
    [Fact]
    public void LeakyReluMatchesFloatWithinOneLsb()
    {
        var rng = new Random(51);
        var checker = new Checker();
        for (int t = 0; t < 400; t++)
        {
            int[] shape = rng.Next(4) == 0 ? [1, rng.Next(1, 40)] : [rng.Next(1, 3), rng.Next(1, 6), rng.Next(1, 6), rng.Next(1, 9)];
            int count = shape.Aggregate(1, (a, b) => a * b);
            float alpha = t % 7 == 0 ? -(float)rng.NextDouble() : rng.Next(3) switch { 0 => 0.01f, 1 => 0.2f, _ => (float)rng.NextDouble() * 2 };
            float si = RandomScale(rng, 1e-3, 1), so = si * RandomScale(rng, 0.2, 5);
            int zi = rng.Next(-128, 128), zo = rng.Next(-128, 128);
            var hs = new OpHarness();
            int x = hs.Int8(shape, si, zi), y = hs.Int8(shape, so, zo);
            var xv = RandomInt8(rng, count);
            xv.CopyTo(hs.Int8Of(x));
            hs.Run(OpHarness.Op(OpCode.LeakyRelu, [x], y, [BitConverter.SingleToInt32Bits(alpha)]));
            var expected = new int[count];
            for (int i = 0; i < count; i++)
            {
                double real = si * (double)(xv[i] - zi);
                expected[i] = QuantizeReal(real >= 0 ? real : alpha * real, so, zo, -128, 127);
            }
            checker.Check(hs.Int8Of(y), expected, () => $"case {t}: shape=[{string.Join(",", shape)}] in=({si:R},{zi}) out=({so:R},{zo}) alpha={alpha:R}");
        }
        checker.AssertRarelyOffByOne();
    }

    [Theory]
    [InlineData(PadMode.Constant)]
    [InlineData(PadMode.Reflect)]
    [InlineData(PadMode.Edge)]
    public void Pad2DCopiesTheInputIntoTheWindowAndFillsTheBorder(PadMode mode)
    {
        var rng = new Random(52);
        for (int t = 0; t < 200; t++)
        {
            int n = rng.Next(1, 3), h = rng.Next(1, 6), w = rng.Next(1, 6), c = rng.Next(1, 5);
            int pt = rng.Next(0, 3), pl = rng.Next(0, 3), pb = rng.Next(0, 3), pr = rng.Next(0, 3);
            if (mode == PadMode.Reflect) (pt, pb, pl, pr) = (Math.Min(pt, h - 1), Math.Min(pb, h - 1), Math.Min(pl, w - 1), Math.Min(pr, w - 1));
            int zp = rng.Next(-128, 128), fill = rng.Next(2) == 0 ? zp : rng.Next(-128, 128);
            var hs = new OpHarness();
            int x = hs.Int8([n, h, w, c], 0.05f, zp);
            int oh = h + pt + pb, ow = w + pl + pr;
            int y = hs.Int8([n, oh, ow, c], 0.05f, zp);
            var xv = RandomInt8(rng, n * h * w * c);
            xv.CopyTo(hs.Int8Of(x));
            hs.Run(OpHarness.Op(OpCode.Pad2D, [x], y, [pt, pl, pb, pr, fill, (int)mode]));
            var got = hs.Int8Of(y);
            for (int b = 0; b < n; b++)
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++)
                        for (int k = 0; k < c; k++)
                        {
                            int iy = i - pt, ix = j - pl;
                            bool inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
                            if (mode == PadMode.Edge) (iy, ix, inside) = (Math.Clamp(iy, 0, h - 1), Math.Clamp(ix, 0, w - 1), true);
                            if (mode == PadMode.Reflect)
                            {
                                // Mirror about the border element (not repeated): -1 → 1, h → h - 2.
                                iy = iy < 0 ? -iy : iy >= h ? 2 * (h - 1) - iy : iy;
                                ix = ix < 0 ? -ix : ix >= w ? 2 * (w - 1) - ix : ix;
                                inside = true;
                            }
                            int want = inside ? xv[((b * h + iy) * w + ix) * c + k] : fill;
                            Assert.True(want == got[((b * oh + i) * ow + j) * c + k],
                                $"case {t}: {mode} [{n},{h},{w},{c}] pads=({pt},{pl},{pb},{pr}) fill={fill} at ({b},{i},{j},{k}): {got[((b * oh + i) * ow + j) * c + k]} != {want}");
                        }
        }
    }

    [Fact]
    public void BroadcastingAddMatchesFloatWithinOneLsb()
    {
        var rng = new Random(53);
        var checker = new Checker();
        for (int t = 0; t < 300; t++)
        {
            int rank = rng.Next(4) == 0 ? 2 : 4;
            var shape = Enumerable.Range(0, rank).Select(_ => rng.Next(1, 5)).ToArray();
            // Each input keeps a dimension or has 1 there (at least one input keeps it); ones mark broadcasting.
            int[] sa = new int[rank], sb = new int[rank];
            for (int d = 0; d < rank; d++)
            {
                int pick = rng.Next(3);
                sa[d] = pick == 1 ? 1 : shape[d];
                sb[d] = pick == 2 ? 1 : shape[d];
            }
            int Count(int[] s) => s.Aggregate(1, (x, y) => x * y);
            float fa = RandomScale(rng, 1e-3, 1), fb = fa * RandomScale(rng, 0.1, 10), fo = Math.Max(fa, fb) * RandomScale(rng, 0.5, 3);
            int za = rng.Next(-128, 128), zb = rng.Next(-128, 128), zo = rng.Next(-128, 128);
            var hs = new OpHarness();
            int a = hs.Int8(sa, fa, za), b = hs.Int8(sb, fb, zb), y = hs.Int8(shape, fo, zo);
            var av = RandomInt8(rng, Count(sa));
            var bv = RandomInt8(rng, Count(sb));
            av.CopyTo(hs.Int8Of(a));
            bv.CopyTo(hs.Int8Of(b));
            hs.Run(OpHarness.Op(OpCode.Add, [a, b], y, [-128, 127]));
            var expected = new int[Count(shape)];
            var idx = new int[rank];
            for (int i = 0; i < expected.Length; i++)
            {
                int ia = 0, ib = 0;
                for (int d = 0; d < rank; d++)
                {
                    ia = ia * sa[d] + (sa[d] == 1 ? 0 : idx[d]);
                    ib = ib * sb[d] + (sb[d] == 1 ? 0 : idx[d]);
                }
                expected[i] = QuantizeReal(fa * (double)(av[ia] - za) + fb * (double)(bv[ib] - zb), fo, zo, -128, 127);
                for (int d = rank - 1; d >= 0 && ++idx[d] == shape[d]; d--) idx[d] = 0;
            }
            checker.Check(hs.Int8Of(y), expected, () => $"case {t}: a=[{string.Join(",", sa)}] b=[{string.Join(",", sb)}] out=[{string.Join(",", shape)}]");
        }
        checker.AssertRarelyOffByOne();

        var bad = new OpHarness();
        int x = bad.Int8([1, 2, 2, 4], 0.1f, 0), c = bad.Int8([1, 1, 1, 3], 0.1f, 0), r3 = bad.Int8([2, 2, 4], 0.1f, 0), o = bad.Int8([1, 2, 2, 4], 0.1f, 0);
        Rejected(bad, OpHarness.Op(OpCode.Add, [x, c], o, [-128, 127], "add"), "input 1 dimension 3");
        Rejected(bad, OpHarness.Op(OpCode.Add, [x, r3], o, [-128, 127], "add"), "input 1");
    }

    [Fact]
    public void BadParamsAndQuantizationAreRejectedNamingTheSlot()
    {
        var hs = new OpHarness();
        int x = hs.Int8([1, 2, 2, 3], 0.1f, 0), y = hs.Int8([1, 2, 2, 3], 0.1f, 0);
        int flat = hs.Int8([1, 12], 0.1f, 0);
        int padded = hs.Int8([1, 4, 3, 3], 0.1f, 0);
        Rejected(hs, OpHarness.Op(OpCode.LeakyRelu, [x], y, [BitConverter.SingleToInt32Bits(float.NaN)], "lrelu"), "alpha");
        Rejected(hs, OpHarness.Op(OpCode.LeakyRelu, [x], y, [], "lrelu"), "params");
        Rejected(hs, OpHarness.Op(OpCode.Pad2D, [x], padded, [1, 0, 1, -1, 0, 0], "pad"), "pad_right");
        Rejected(hs, OpHarness.Op(OpCode.Pad2D, [x], padded, [1, 0, 1, 1, 200, 0], "pad"), "value");
        Rejected(hs, OpHarness.Op(OpCode.Pad2D, [flat], padded, [1, 0, 1, 1, 0, 0], "pad"), "input");
        Rejected(hs, OpHarness.Op(OpCode.Pad2D, [x], padded, [1, 0, 1, 1, 0], "pad"), "params");
        Rejected(hs, OpHarness.Op(OpCode.Pad2D, [x], padded, [1, 0, 1, 1, 0, 3], "pad"), "mode");
        int wide = hs.Int8([1, 6, 3, 3], 0.1f, 0);
        Rejected(hs, OpHarness.Op(OpCode.Pad2D, [x], wide, [2, 0, 2, 1, 0, 1], "pad"), "reflect");

        // Shapes are fine, quantization is not: a Pad that changes the scale, a LeakyRelu whose multiplier is too large.
        int requantized = hs.Int8([1, 4, 3, 3], 0.2f, 0);
        var e = Assert.Throws<ModelFormatException>(() => hs.Prepare(OpHarness.Op(OpCode.Pad2D, [x], requantized, [1, 0, 1, 1, 0, 0], "pad")));
        Assert.Contains("does not requantize", e.Hint);
        int tiny = hs.Int8([1, 2, 2, 3], 1e-9f, 0);
        e = Assert.Throws<ModelFormatException>(() => hs.Prepare(OpHarness.Op(OpCode.LeakyRelu, [x], tiny, [BitConverter.SingleToInt32Bits(0.1f)], "lrelu")));
        Assert.Contains("'lrelu'", e.Hint);
    }

    [Fact]
    public void BuilderWritesBothOpsIntoAFileTheLoaderAccepts()
    {
        var b = new ModelBuilder();
        int x = b.AddInput("x", TensorType.Int8, [1, 3, 3, 2], 0.1f, -10);
        int l = b.LeakyRelu("lrelu", x, 0.1f, 0.05f, 5);
        int p = b.Pad2D("pad", l, 1, 2, 0, 1, 5);
        b.MarkOutput(p);
        var model = EdgeModel.Load(b.Build());
        Assert.Equal([OpCode.LeakyRelu, OpCode.Pad2D], model.Ops.Select(o => o.Code));
        Assert.Equal([1, 4, 6, 2], model.Tensors[model.Outputs[0]].Shape);
        using var interp = new Interpreter(model);
        interp.InputInt8().Fill(-20); // real -1.0 → LeakyRelu -0.1 → -2 + 5 = 3
        interp.Invoke();
        var o = interp.OutputInt8().ToArray();
        Assert.Equal(5, o[0]);                         // top-left border: the fill
        Assert.Equal(3, o[(1 * 6 + 2) * 2]);           // first input pixel
        Assert.Equal(4 * 6 * 2 - 9 * 2, o.Count(v => v == 5));
    }

    private static void Rejected(OpHarness hs, OpInfo op, string inHint)
    {
        var e = Assert.Throws<ModelFormatException>(() => OpShapes.InferOutputShapes(op, hs.Tensors));
        Assert.Equal("ops", e.Section);
        Assert.Contains(inHint, e.Hint);
        Assert.Throws<ModelFormatException>(() => hs.Prepare(op));
    }
}
