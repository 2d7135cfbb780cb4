using Cnn.Edge.Kernels;

namespace Cnn.Edge.Tests.Kernels;

public class ElementwiseReferenceTests
{
    [Fact]
    public void AddOfDifferentScales()
    {
        // a: scale 0.5 zp 0, b: scale 0.25 zp 4, out: scale 1 zp -10.
        var p = AddReference.ComputeParams(0.5, 0, 0.25, 4, 1.0, -10, -128, 127);
        var y = new sbyte[3];
        AddReference.Run(p, [10, -10, 100], [8, 0, 100], y);
        // 5 + 1 = 6 -> -4 ; -5 - 1 = -6 -> -16 ; 50 + 24 = 74 -> 64
        Assert.Equal(new sbyte[] { -4, -16, 64 }, y);
        var relu = AddReference.ComputeParams(0.5, 0, 0.25, 4, 1.0, -10, -10, 127);
        AddReference.Run(relu, [10, -10, 100], [8, 0, 100], y);
        Assert.Equal(new sbyte[] { -4, -10, 64 }, y);
    }

    [Fact]
    public void ConcatRequantizesEachInputIntoItsSlice()
    {
        var y = new sbyte[2 * 3];
        var (one, oneShift) = Requantize.QuantizeMultiplier(1.0);
        var (two, twoShift) = Requantize.QuantizeMultiplier(2.0);
        // input A [2,1] already at the output quantization; input B [2,2] with half... twice the scale and zp 1.
        ConcatReference.RunInput(2, 1, 3, 0, [5, -7], 3, one, oneShift, 3, -128, 127, y);
        ConcatReference.RunInput(2, 2, 3, 1, [1, 2, 0, 100], 1, two, twoShift, 3, -128, 127, y);
        Assert.Equal(new sbyte[] { 5, 3, 5, -7, 1, 127 }, y); // (q-1)*2+3; 99*2+3 saturates
    }

    [Fact]
    public void ChannelShuffleTransposesGroups()
    {
        // C = 6, groups 2: [a0 a1 a2 | b0 b1 b2] -> [a0 b0 a1 b1 a2 b2]
        var y = new sbyte[12];
        ChannelShuffleReference.Run(2, 6, 2, [0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32], y);
        Assert.Equal(new sbyte[] { 0, 10, 1, 11, 2, 12, 20, 30, 21, 31, 22, 32 }, y);
        ChannelShuffleReference.Run(1, 6, 3, [0, 1, 2, 10, 11, 12], y.AsSpan(0, 6)); // [0 1 | 2 10 | 11 12]
        Assert.Equal(new sbyte[] { 0, 2, 11, 1, 10, 12 }, y.AsSpan(0, 6).ToArray());
    }

    [Fact]
    public void TransposeConvStride2HandComputed()
    {
        // x 1x2x1x1 = [1, 2], w 1x3x1x1 = [1, 10, 100], stride 2, no pads: OH = (2-1)*2 + 3 = 5.
        // Scatter: x0 lands on rows 0,1,2 as 1,10,100; x1 on rows 2,3,4 as 2,20,200 -> rows [1,10,102,20,200].
        var s = new TransposeConv2DShape(1, 2, 1, 1, 5, 1, 1, 3, 1, 2, 1, 1, 1, 0, 0);
        var (m, sh) = Requantize.QuantizeMultiplier(0.5);
        var y = new sbyte[5];
        TransposeConv2DReference.Run(s, [1, 2], 0, [1, 10, 100], [], [m], [sh], 0, -128, 127, y);
        Assert.Equal(new sbyte[] { 1, 5, 51, 10, 100 }, y); // halves; 0.5 -> 1 (ties up in the high multiply)
        // pad_top 1 crops the first row: OH = 4, rows [10,102,20,200].
        var cropped = s with { OutputHeight = 4, PadTop = 1 };
        TransposeConv2DReference.Run(cropped, [1, 2], 0, [1, 10, 100], [0], [m], [sh], 0, -128, 127, y.AsSpan(0, 4));
        Assert.Equal(new sbyte[] { 5, 51, 10, 100 }, y.AsSpan(0, 4).ToArray());
    }

    [Fact]
    public void SoftmaxOfEqualAndDominantInputs()
    {
        int[] table = SoftmaxReference.BuildExpTable(1.0, 0.1);
        Assert.Equal(1 << 30, table[0]);
        Assert.Equal(Math.Round(Math.Exp(-0.1 * 7) * (1 << 30)), table[7]);
        var f = new float[4];
        SoftmaxReference.RunFloat(1, 4, [3, 3, 3, 3], table, f);
        Assert.All(f, v => Assert.Equal(0.25f, v));
        var q = new sbyte[4];
        SoftmaxReference.RunInt8(1, 4, [3, 3, 3, 3], table, q);
        Assert.All(q, v => Assert.Equal(-128 + 64, v));
        SoftmaxReference.RunInt8(1, 4, [127, -128, -128, -128], SoftmaxReference.BuildExpTable(1.0, 1.0), q);
        Assert.Equal(new sbyte[] { 127, -128, -128, -128 }, q); // p = 1 saturates at 255/256
    }

    [Fact]
    public void ExpIsAccurateAndExactAtZero()
    {
        Assert.Equal(1.0, SoftmaxReference.ExpNonPositive(0));
        for (double x = -50; x <= 0; x += 0.037)
            Assert.True(Math.Abs(SoftmaxReference.ExpNonPositive(x) / Math.Exp(x) - 1) < 1e-14, $"x={x}");
        Assert.Equal(0, SoftmaxReference.ExpNonPositive(-800));
    }

    [Fact]
    public void QuantizeRoundsHalfAwayFromZeroAndSaturates()
    {
        var q = new sbyte[8];
        QuantizeReference.Run([0.25f, -0.25f, 0.75f, 100f, -100f, float.NaN, float.PositiveInfinity, 0.2f], 0.5f, 1, q);
        Assert.Equal(new sbyte[] { 2, 0, 3, 127, -128, 1, 127, 1 }, q); // 0.5->1, -0.5->-1, 1.5->2, ..., 0.4->0
        var f = new float[3];
        DequantizeReference.Run([1, -128, 127], 0.5f, 1, f);
        Assert.Equal(new float[] { 0f, -64.5f, 63f }, f);
    }
}

public class ActivationRangeTests
{
    [Fact]
    public void ReluAndRelu6BecomeClamps()
    {
        Assert.Equal((-5, 127), Requantize.ActivationRange(0, double.PositiveInfinity, 0.1f, -5));
        Assert.Equal((-5, 55), Requantize.ActivationRange(0, 6, 0.1f, -5));          // 6/0.1 = 60 -> -5 + 60
        Assert.Equal((-128, 127), Requantize.ActivationRange(double.NegativeInfinity, double.PositiveInfinity, 0.1f, 0));
        Assert.Equal((127, 127), Requantize.ActivationRange(0, 6, 0.01f, 127));      // saturated: only 127 remains
        Assert.Throws<ArgumentOutOfRangeException>(() => Requantize.ActivationRange(1, 0, 0.1f, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Requantize.ActivationRange(0, 6, 0f, 0));
    }
}
