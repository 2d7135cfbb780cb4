using Cnn.Edge.Kernels;

namespace Cnn.Edge.Tests.Kernels;

public class Pool2DReferenceTests
{
    // x 1x3x3x1 = [[1,2,3],[4,5,6],[7,8,9]]
    private static readonly sbyte[] X = [1, 2, 3, 4, 5, 6, 7, 8, 9];

    [Fact]
    public void MaxPoolCeilModeKeepsThePartialLastWindow()
    {
        // 2x2 stride 2, no pad, ceil mode: OH = ceil((3-2)/2)+1 = 2; the last window holds row/col 2 only.
        var s = new PoolShape(1, 3, 3, 1, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0);
        var y = new sbyte[4];
        MaxPool2DReference.Run(s, X, -128, 127, y);
        Assert.Equal(new sbyte[] { 5, 6, 8, 9 }, y);
        MaxPool2DReference.Run(s, X, -128, 7, y); // fused clamp
        Assert.Equal(new sbyte[] { 5, 6, 7, 7 }, y);
    }

    [Fact]
    public void MaxPoolIgnoresPaddingEvenWhenInputsAreNegative()
    {
        var s = new PoolShape(1, 1, 2, 1, 1, 2, 1, 2, 1, 1, 0, 1, 0, 0); // 1x2 kernel, pad left 1
        var y = new sbyte[2];
        MaxPool2DReference.Run(s, [-100, -50], -128, 127, y);
        Assert.Equal(new sbyte[] { -100, -50 }, y);
    }

    [Fact]
    public void AveragePoolCountIncludePadAndRounding()
    {
        // 2x2 stride 1, pad 1 on every side: OH = 3+2-2+1 = 4. Corner window (0,0) covers padding + x[0,0].
        var s = new PoolShape(1, 3, 3, 1, 4, 4, 2, 2, 1, 1, 1, 1, 1, 1);
        var y = new sbyte[16];
        AveragePool2DReference.Run(s, countIncludePad: false, X, 0, -128, 127, y);
        Assert.Equal(1, y[0]);                 // 1/1
        Assert.Equal(2, y[1]);                 // (1+2)/2 = 1.5 -> 2 (ties away from zero)
        Assert.Equal(3, y[5]);                 // (1+2+4+5)/4 = 3
        AveragePool2DReference.Run(s, countIncludePad: true, X, 0, -128, 127, y);
        Assert.Equal(0, y[0]);                 // 1/4 = 0.25 -> 0
        Assert.Equal(1, y[1]);                 // 3/4 -> 1
        Assert.Equal(2, y[15]);                // 9/4 = 2.25 -> 2
        // zero point -3: padding holds -3. Window (0,0): (1 - 3*3)/4 = -2 exactly.
        AveragePool2DReference.Run(s, countIncludePad: true, X, -3, -128, 127, y);
        Assert.Equal(-2, y[0]);
    }

    [Fact]
    public void AveragePoolNegativeTiesRoundAwayFromZero()
    {
        var s = new PoolShape(1, 1, 2, 1, 1, 1, 1, 2, 1, 1, 0, 0, 0, 0);
        var y = new sbyte[1];
        AveragePool2DReference.Run(s, false, [-1, -2], 0, -128, 127, y);
        Assert.Equal(-2, y[0]); // -1.5 -> -2
    }

    [Fact]
    public void AveragePoolCeilModeDivisorExcludesWhatHangsPastThePadding()
    {
        // H=W=3, kernel 2, stride 2, no pad, ceil: last window [2,4) is clipped to [2,3) even with
        // count_include_pad (PyTorch): the divisor of window (1,1) is 1, so y = x[2,2] = 9.
        var s = new PoolShape(1, 3, 3, 1, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0);
        var y = new sbyte[4];
        AveragePool2DReference.Run(s, true, X, 0, -128, 127, y);
        Assert.Equal(new sbyte[] { 3, 5, 8, 9 }, y); // (1+2+4+5)/4=3, (3+6)/2=4.5->5, (7+8)/2=7.5->8, 9
    }

    [Fact]
    public void GlobalPoolsHandComputed()
    {
        // 1x2x2x2: channel 0 = 1,3,5,7 ; channel 1 = -8,-6,-4,-2 (zero point 0).
        sbyte[] x = [1, -8, 3, -6, 5, -4, 7, -2];
        var s = new GlobalPoolShape(1, 2, 2, 2);
        var y = new sbyte[2];
        GlobalMaxPoolReference.Run(s, x, y);
        Assert.Equal(new sbyte[] { 7, -2 }, y);
        // Output scale half the input scale: mean * 2, multiplier in/(out*4) = 0.5.
        var (m, sh) = Requantize.QuantizeMultiplier(0.5);
        GlobalAveragePoolReference.Run(s, x, 0, m, sh, 1, -128, 127, y);
        Assert.Equal(new sbyte[] { 9, -9 }, y); // 16*0.5 = 8 (+1), -20*0.5 = -10 (+1)
    }
}
