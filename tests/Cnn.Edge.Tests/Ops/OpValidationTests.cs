using Cnn.Edge.Runtime;

namespace Cnn.Edge.Tests.Ops;

/// <summary>Bad parameters, shapes and quantization give a ModelFormatException naming the op and the slot.</summary>
public class OpValidationTests
{
    // Conv2D slots: stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left, pad_bottom, pad_right, groups, act_min, act_max.
    private static readonly int[] GoodConv = [1, 1, 1, 1, 1, 1, 1, 1, 1, -128, 127];

    private static (OpHarness H, int X, int W, int B, int Y) ConvSetup(int cin = 4, int cout = 4, int k = 3, int groups = 1, int h = 5)
    {
        var hs = new OpHarness();
        int x = hs.Int8([1, h, h, cin], 0.1f, 0, "x");
        int w = hs.ConstInt8([cout, k, k, cin / groups], new sbyte[cout * k * k * (cin / groups)], Enumerable.Repeat(0.01f, cout).ToArray(), name: "w");
        int b = hs.ConstInt32([cout], new int[cout], "b");
        int y = hs.Int8([1, h, h, cout], 0.2f, 0, "y");
        return (hs, x, w, b, y);
    }

    private static ModelFormatException AssertRejected(OpHarness hs, OpInfo op, string expectedInHint)
    {
        var ex = Assert.Throws<ModelFormatException>(() => OpShapes.InferOutputShapes(op, hs.Tensors));
        Assert.Equal("ops", ex.Section);
        Assert.Equal(op.FileOffset, ex.Offset);
        Assert.Contains($"#{op.Index} '{op.Name}'", ex.Hint);
        Assert.Contains(expectedInHint, ex.Hint);
        // Prepare validates through OpShapes first, so it rejects the op the same way.
        var ex2 = Assert.Throws<ModelFormatException>(() => hs.Prepare(op));
        Assert.Equal(ex.Message, ex2.Message);
        return ex;
    }

    [Theory]
    [InlineData(0, 0, "stride_h")]
    [InlineData(1, -2, "stride_w")]
    [InlineData(2, 0, "dilation_h")]
    [InlineData(3, 0, "dilation_w")]
    [InlineData(4, -1, "pad_top")]
    [InlineData(7, -1, "pad_right")]
    [InlineData(8, 0, "groups")]
    [InlineData(8, 3, "groups")]
    [InlineData(9, -129, "act_min")]
    [InlineData(10, 128, "act_max")]
    [InlineData(9, 10, "act_min")] // act_min > act_max (127 -> set below)
    [InlineData(0, 1 << 21, "stride_h")]
    [InlineData(4, 1 << 21, "pad_top")]
    public void Conv2DBadParamsAreRejected(int slot, int value, string name)
    {
        var (hs, x, w, b, y) = ConvSetup();
        var p = (int[])GoodConv.Clone();
        p[slot] = value;
        if (slot == 9 && value == 10) p[10] = 5;
        AssertRejected(hs, OpHarness.Op(OpCode.Conv2D, [x, w, b], y, p, "conv_bad"), name);
    }

    [Fact]
    public void Conv2DShapeErrorsAreRejected()
    {
        var (hs, x, w, b, y) = ConvSetup();
        AssertRejected(hs, OpHarness.Op(OpCode.Conv2D, [x, w, b], y, GoodConv[..10], "conv"), "params");
        AssertRejected(hs, OpHarness.Op(OpCode.Conv2D, [x], y, GoodConv, "conv"), "inputs");
        AssertRejected(hs, OpHarness.Op(OpCode.Conv2D, [x, w, 99], y, GoodConv, "conv"), "input 2");
        AssertRejected(hs, OpHarness.Op(OpCode.Conv2D, [x, b, w], y, GoodConv, "conv"), "input 1");            // int32 weights
        AssertRejected(hs, OpHarness.Op(OpCode.Conv2D, [b, w, b], y, GoodConv, "conv"), "input 0");            // rank-1 int32 input
        int wrongBias = hs.ConstInt32([3], new int[3]);
        AssertRejected(hs, OpHarness.Op(OpCode.Conv2D, [x, w, wrongBias], y, GoodConv, "conv"), "bias");
        // Kernel larger than the padded input: 3x3 dilated by 4 spans 9 > 5 + 2.
        AssertRejected(hs, OpHarness.Op(OpCode.Conv2D, [x, w, b], y, [1, 1, 4, 1, 1, 1, 1, 1, 1, -128, 127], "conv"), "kernel height");
        // Weights' last dimension must be Cin / groups.
        var (hs2, x2, w2, b2, y2) = ConvSetup(cin: 4, cout: 4, groups: 1);
        AssertRejected(hs2, OpHarness.Op(OpCode.Conv2D, [x2, w2, b2], y2, [1, 1, 1, 1, 1, 1, 1, 1, 2, -128, 127], "grouped"), "weights");
    }

    [Fact]
    public void OutputShapeThatDoesNotFollowIsRejectedAtPrepare()
    {
        var (hs, x, w, b, _) = ConvSetup();
        int wrong = hs.Int8([1, 4, 5, 4], 0.2f, 0, "wrong");
        var ex = Assert.Throws<ModelFormatException>(() => hs.Prepare(OpHarness.Op(OpCode.Conv2D, [x, w, b], wrong, GoodConv, "c1")));
        Assert.Contains("[1,5,5,4]", ex.Expected);
        Assert.Contains("'c1'", ex.Hint);
    }

    [Theory]
    [InlineData(0, 0, "kernel_h")]
    [InlineData(2, 0, "stride_h")]
    [InlineData(4, 2, "pad_top")]      // pad ≥ kernel (2): a window of padding only
    [InlineData(6, -1, "pad_bottom")]
    [InlineData(8, 2, "ceil_mode")]
    [InlineData(9, -1, "count_include_pad")]
    [InlineData(10, -129, "act_min")]
    [InlineData(0, 9, "kernel height")] // kernel 9 > padded input 4
    public void PoolBadParamsAreRejected(int slot, int value, string name)
    {
        var hs = new OpHarness();
        int x = hs.Int8([1, 4, 4, 3], 0.1f, 0), y = hs.Int8([1, 2, 2, 3], 0.1f, 0);
        int[] p = [2, 2, 2, 2, 0, 0, 0, 0, 0, 0, -128, 127];
        p[slot] = value;
        AssertRejected(hs, OpHarness.Op(OpCode.AveragePool2D, [x], y, p, "pool"), name);
    }

    [Fact]
    public void OtherOpsRejectBadShapesAndParams()
    {
        var hs = new OpHarness();
        int a = hs.Int8([1, 2, 2, 4], 0.1f, 0), b = hs.Int8([1, 2, 2, 3], 0.1f, 0), y = hs.Int8([1, 2, 2, 4], 0.1f, 0);
        int f = hs.Activation(TensorType.Float32, [1, 2, 2, 4]);
        AssertRejected(hs, OpHarness.Op(OpCode.Add, [a, b], y, [-128, 127], "add"), "input 1");
        AssertRejected(hs, OpHarness.Op(OpCode.Add, [a, a], y, [], "add"), "params");
        AssertRejected(hs, OpHarness.Op(OpCode.Concat, [a], y, [-128, 127], "cat"), "inputs");
        int other = hs.Int8([1, 3, 2, 4], 0.1f, 0);
        AssertRejected(hs, OpHarness.Op(OpCode.Concat, [a, other], y, [-128, 127], "cat"), "input 1 dimension 1");
        AssertRejected(hs, OpHarness.Op(OpCode.ChannelShuffle, [a], y, [3], "shuffle"), "groups");
        AssertRejected(hs, OpHarness.Op(OpCode.ChannelShuffle, [a], y, [0], "shuffle"), "groups");
        AssertRejected(hs, OpHarness.Op(OpCode.Softmax, [a], y, [BitConverter.SingleToInt32Bits(float.NaN)], "sm"), "beta");
        AssertRejected(hs, OpHarness.Op(OpCode.Softmax, [a], y, [BitConverter.SingleToInt32Bits(-1f)], "sm"), "beta");
        AssertRejected(hs, OpHarness.Op(OpCode.Softmax, [f], y, [BitConverter.SingleToInt32Bits(1f)], "sm"), "input 0");
        AssertRejected(hs, OpHarness.Op(OpCode.Quantize, [a], y, [], "q"), "input 0");
        AssertRejected(hs, OpHarness.Op(OpCode.Dequantize, [a], y, [], "dq"), "output 0 type");
        AssertRejected(hs, OpHarness.Op(OpCode.GlobalMaxPool, [a], y, [0], "gmp"), "params");
        AssertRejected(hs, OpHarness.Op((OpCode)99, [a], y, [], "mystery"), "code");
        int fcW = hs.ConstInt8([2, 15], new sbyte[30], [1f, 1f]);
        int fcY = hs.Int8([1, 2], 0.1f, 0);
        AssertRejected(hs, OpHarness.Op(OpCode.FullyConnected, [a, fcW], fcY, [-128, 127], "fc"), "weights");
        var tw = hs.ConstInt8([2, 3, 3, 4], new sbyte[72], [1f, 1f]);
        int ty = hs.Int8([1, 4, 4, 2], 0.1f, 0);
        AssertRejected(hs, OpHarness.Op(OpCode.TransposeConv2D, [a, tw], ty, [2, 2, 1, 1, 0, 0, 0, 0, 2, 0, -128, 127], "up"), "output_pad_h");
        AssertRejected(hs, OpHarness.Op(OpCode.TransposeConv2D, [a, tw], ty, [1, 1, 1, 1, 5, 0, 5, 0, 0, 0, -128, 127], "up"), "height");
    }

    [Fact]
    public void PrepareRejectsBadQuantization()
    {
        // Per-channel scale count must match Cout.
        var hs = new OpHarness();
        int x = hs.Int8([1, 3, 3, 2], 0.1f, 0, "x");
        int w = hs.ConstInt8([2, 1, 1, 2], new sbyte[4], [0.1f], name: "w");
        int y = hs.Int8([1, 3, 3, 2], 0.1f, 0, "y");
        var ex = Assert.Throws<ModelFormatException>(() => hs.Prepare(OpHarness.Op(OpCode.Conv2D, [x, w], y, [1, 1, 1, 1, 0, 0, 0, 0, 1, -128, 127], "conv1")));
        Assert.Contains("channel scales", ex.Hint);

        // Zero, negative and NaN scales.
        foreach (float bad in new[] { 0f, -1f, float.NaN, float.PositiveInfinity })
        {
            var h2 = new OpHarness();
            int a = h2.Int8([1, 2, 2, 1], bad, 0, "a"), b = h2.Int8([1, 2, 2, 1], 0.1f, 0), o = h2.Int8([1, 2, 2, 1], 0.1f, 0);
            var e2 = Assert.Throws<ModelFormatException>(() => h2.Prepare(OpHarness.Op(OpCode.Add, [a, b], o, [-128, 127], "res")));
            Assert.Contains("'a' quantization", e2.Hint);
            var h3 = new OpHarness();
            int cx = h3.Int8([1, 1, 1, 1], 0.1f, 0);
            int cw = h3.ConstInt8([1, 1, 1, 1], [1], [bad]);
            int cy = h3.Int8([1, 1, 1, 1], 0.1f, 0);
            Assert.Throws<ModelFormatException>(() => h3.Prepare(OpHarness.Op(OpCode.Conv2D, [cx, cw], cy, [1, 1, 1, 1, 0, 0, 0, 0, 1, -128, 127])));
        }

        // Zero point out of range.
        var hz = new OpHarness();
        int zx = hz.Int8([1, 2, 2, 1], 0.1f, 200), zy = hz.Int8([1, 1, 1, 1], 0.1f, 0);
        Assert.Throws<ModelFormatException>(() => hz.Prepare(OpHarness.Op(OpCode.GlobalAveragePool, [zx], zy, [-128, 127])));

        // Pools, reshape and shuffle do not requantize: the output must share the input's quantization.
        var hp = new OpHarness();
        int px = hp.Int8([1, 2, 2, 1], 0.1f, 0), py = hp.Int8([1, 1, 1, 1], 0.2f, 0);
        var ep = Assert.Throws<ModelFormatException>(() => hp.Prepare(OpHarness.Op(OpCode.MaxPool2D, [px], py, [2, 2, 1, 1, 0, 0, 0, 0, 0, 0, -128, 127], "mp")));
        Assert.Contains("does not requantize", ep.Hint);
        Assert.Throws<ModelFormatException>(() => hp.Prepare(OpHarness.Op(OpCode.GlobalMaxPool, [px], py, [])));

        // Int8 softmax output must be scale 1/256, zero point -128.
        var hs2 = new OpHarness();
        int sx = hs2.Int8([1, 10], 0.1f, 0), sy = hs2.Int8([1, 10], 1f / 255, -128);
        Assert.Throws<ModelFormatException>(() => hs2.Prepare(OpHarness.Op(OpCode.Softmax, [sx], sy, [BitConverter.SingleToInt32Bits(1f)])));

        // A multiplier too large to represent (output scale 2^-40 of the input's).
        var hm = new OpHarness();
        int mx = hm.Int8([1, 1, 1, 2], 1f, 0), my = hm.Int8([1, 1, 1, 2], 1e-12f, 0);
        var em = Assert.Throws<ModelFormatException>(() => hm.Prepare(OpHarness.Op(OpCode.GlobalAveragePool, [mx], my, [-128, 127], "gap")));
        Assert.Contains("'gap'", em.Hint);
        Assert.Throws<ModelFormatException>(() => hm.Prepare(OpHarness.Op(OpCode.Concat, [mx, mx], hm.Int8([1, 1, 1, 4], 1e-12f, 0), [-128, 127])));
        // Add's output multiplier is 2 * max(sa, sb) / (2^20 * so): 2e24 here.
        Assert.Throws<ModelFormatException>(() => hm.Prepare(OpHarness.Op(OpCode.Add, [mx, mx], hm.Int8([1, 1, 1, 2], 1e-30f, 0), [-128, 127])));
    }

    [Fact]
    public void PrepareRejectsAccumulatorsThatCouldOverflowInt32()
    {
        // FC with Cin = 70,000 weights of 127: 255 * 127 * 70,000 > int.MaxValue.
        const int cin = 70_000;
        var hs = new OpHarness();
        int x = hs.Int8([1, cin], 0.1f, 0);
        int w = hs.ConstInt8([1, cin], Enumerable.Repeat((sbyte)127, cin).ToArray(), [0.01f]);
        int y = hs.Int8([1, 1], 1f, 0);
        var ex = Assert.Throws<ModelFormatException>(() => hs.Prepare(OpHarness.Op(OpCode.FullyConnected, [x, w], y, [-128, 127], "huge_fc")));
        Assert.Contains("int32 accumulator", ex.Expected);
        // The same size with small weights is fine: the bound is computed from the actual weights.
        var ok = new OpHarness();
        int x2 = ok.Int8([1, cin], 0.1f, 0);
        int w2 = ok.ConstInt8([1, cin], Enumerable.Repeat((sbyte)1, cin).ToArray(), [0.01f]);
        int y2 = ok.Int8([1, 1], 1f, 0);
        Assert.NotNull(ok.Prepare(OpHarness.Op(OpCode.FullyConnected, [x2, w2], y2, [-128, 127])));
    }

    [Fact]
    public void PrepareRejectsActivationWeightsAndConstantOutputs()
    {
        var hs = new OpHarness();
        int x = hs.Int8([1, 2], 0.1f, 0), wAct = hs.Int8([1, 2], 0.1f, 0), y = hs.Int8([1, 1], 0.1f, 0);
        Assert.Throws<ModelFormatException>(() => hs.Prepare(OpHarness.Op(OpCode.FullyConnected, [x, wAct], y, [-128, 127])));
        int c = hs.ConstInt8([1, 2], [1, 2], null, 0.1f);
        var ex = Assert.Throws<ModelFormatException>(() => hs.Prepare(OpHarness.Op(OpCode.Reshape, [x], c, [])));
        Assert.Contains("output 0", ex.Hint);
    }
}
