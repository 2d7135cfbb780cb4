using Cnn.Trainer.Layers;

namespace Cnn.Trainer.Tests;

/// <summary>Forward values against hand-computed results (the gradient checks only prove self-consistency).</summary>
public class LayerSemanticsTests
{
    private static readonly RunContext Eval = new() { Training = false };

    [Fact]
    public void KernelLargerThanThePaddedInputIsRejected()
    {
        // (8 + 0 − 2·4 − 1) / 2 truncates to 0 in C#, which once gave a 1-pixel output reading outside the input.
        var g = new Kernels.ConvGeometry(1, 5, 1, 2, 0, 0, 1, 2);
        Assert.Equal(0, g.OutW(8));
        var conv = new Conv2d(2, 2, g, 2, false, new Random(1)) { Name = "dw" };
        var e = Assert.Throws<ModelSpecException>(() => conv.OutputShape([new Shape(2, 9, 8)]));
        Assert.Equal("dw", e.Layer);
    }

    [Fact]
    public void MaxPool2x2MatchesTheFirstMaximumRuleWithTies()
    {
        // Values from a few levels, so windows tie often; widths from 2 to 40 run the 8-output vector blocks, their
        // overlapping last block and the scalar rows. Output and gradient must equal the scalar rule exactly.
        var rng = new Random(5);
        for (int trial = 0; trial < 60; trial++)
        {
            int h = rng.Next(2, 20), w = rng.Next(2, 41);
            var pool = Pool2d.Max(2);
            var x = new Tensor(2, 3, h, w);
            for (int i = 0; i < x.Length; i++) x.Data[i] = rng.Next(4) - 1.5f;
            var y = pool.Forward([x], new RunContext { Training = true, Threads = 2 });
            var dy = new Tensor(y.N, y.C, y.H, y.W);
            for (int i = 0; i < dy.Length; i++) dy.Data[i] = (float)rng.NextDouble();
            var dx = pool.Backward(dy, [true], new RunContext { Training = true, Threads = 2 })[0]!;
            var dxRef = new float[x.Length];
            for (int p = 0; p < x.N * x.C; p++)
                for (int oy = 0; oy < h / 2; oy++)
                    for (int ox = 0; ox < w / 2; ox++)
                    {
                        int i = p * h * w + 2 * oy * w + 2 * ox, arg = i;
                        foreach (int j in new[] { i + 1, i + w, i + w + 1 }) if (x.Data[j] > x.Data[arg]) arg = j;
                        int o = p * (h / 2) * (w / 2) + oy * (w / 2) + ox;
                        Assert.True(x.Data[arg] == y.Data[o], $"{h}x{w}: y[{o}] = {y.Data[o]}, expected {x.Data[arg]}");
                        dxRef[arg] += dy.Data[o];
                    }
            for (int i = 0; i < dxRef.Length; i++) Assert.True(dxRef[i] == dx.Data[i], $"{h}x{w}: dx[{i}] = {dx.Data[i]}, expected {dxRef[i]}");
        }
    }

    [Fact]
    public void Conv2dMatchesNaiveLoopsForAllGeometries()
    {
        var rng = new Random(11);
        foreach (var (cin, cout, k, s, p, d, g) in new[] { (3, 4, 3, 1, 1, 1, 1), (4, 8, 3, 2, 1, 1, 4), (6, 6, 3, 1, 2, 2, 6), (5, 5, 3, 2, 1, 1, 5), (4, 4, 5, 3, 0, 1, 4), (2, 4, 1, 1, 0, 1, 2), (3, 5, 5, 2, 2, 1, 1) })
        {
            var conv = new Conv2d(cin, cout, new Kernels.ConvGeometry(k, k, s, s, p, p, d, d), g, true, rng);
            var x = new Tensor(2, cin, 9, 8);
            for (int i = 0; i < x.Length; i++) x.Data[i] = (float)rng.NextDouble() - 0.5f;
            var y = conv.Forward([x], new RunContext { Threads = 2 });
            int cinG = cin / g, coutG = cout / g;
            for (int n = 0; n < 2; n++)
                for (int oc = 0; oc < cout; oc++)
                    for (int oy = 0; oy < y.H; oy++)
                        for (int ox = 0; ox < y.W; ox++)
                        {
                            double acc = conv.Bias!.Value[oc];
                            int grp = oc / coutG;
                            for (int ic = 0; ic < cinG; ic++)
                                for (int ky = 0; ky < k; ky++)
                                    for (int kx = 0; kx < k; kx++)
                                    {
                                        int iy = oy * s - p + ky * d, ix = ox * s - p + kx * d;
                                        if (iy < 0 || iy >= 9 || ix < 0 || ix >= 8) continue;
                                        acc += conv.Weight.Value[((oc * cinG + ic) * k + ky) * k + kx] * x.Data[((n * cin + grp * cinG + ic) * 9 + iy) * 8 + ix];
                                    }
                            Assert.True(Math.Abs(acc - y.Data[((n * cout + oc) * y.H + oy) * y.W + ox]) < 1e-4, $"conv {cin}->{cout} k{k} s{s} p{p} d{d} g{g} at n{n} c{oc} y{oy} x{ox}");
                        }
        }
    }

    [Fact]
    public void BatchNormTracksRunningStatisticsLikePyTorch()
    {
        var bn = new BatchNorm2d(1, momentum: 0.1f);
        var x = new Tensor(2, 1, 1, 2);
        x.Data[0] = 1; x.Data[1] = 2; x.Data[2] = 3; x.Data[3] = 6;   // mean 3, biased var 3.5, unbiased 14/3
        var y = bn.Forward([x], new RunContext { Training = true });
        Assert.Equal(0.3f, bn.RunningMean[0], 5);
        Assert.Equal(0.9f + 0.1f * 14f / 3f, bn.RunningVar[0], 5);
        Assert.Equal((1 - 3) / MathF.Sqrt(3.5f + 1e-5f), y.Data[0], 5);
        var ye = bn.Forward([x], Eval);
        Assert.Equal((6 - 0.3f) / MathF.Sqrt(bn.RunningVar[0] + 1e-5f), ye.Data[3], 5);
    }

    [Fact]
    public void Relu6ClipsAtSixAndPoolsPickWindows()
    {
        var x = new Tensor(1, 1, 2, 2);
        x.Data[0] = -1; x.Data[1] = 3; x.Data[2] = 7; x.Data[3] = 6.5f;
        Assert.Equal(new[] { 0f, 3f, 6f, 6f }, Activation.Relu6().Forward([x], Eval).Data);
        Assert.Equal(7f, Pool2d.Max(2).Forward([x], Eval).Data[0]);
        Assert.Equal(15.5f / 4, Pool2d.GlobalAvg().Forward([x], Eval).Data[0]);
        // padded average counts the zeros (count_include_pad = true)
        Assert.Equal(-1f / 4, Pool2d.Avg(2, 2, 1).Forward([x], Eval).Data[0]);
    }

    [Fact]
    public void ChannelShuffleInterleavesGroups()
    {
        var x = new Tensor(1, 6, 1, 1);
        for (int i = 0; i < 6; i++) x.Data[i] = i;
        Assert.Equal(new[] { 0f, 3f, 1f, 4f, 2f, 5f }, new ChannelShuffle(2).Forward([x], Eval).Data);
    }

    [Fact]
    public void DropoutIsIdentityInEvalAndScalesInTraining()
    {
        var x = new Tensor(1, 1000, 1, 1);
        Array.Fill(x.Data, 1f);
        var d = new Dropout(0.5f);
        Assert.All(d.Forward([x], Eval).Data, v => Assert.Equal(1f, v));
        var y = d.Forward([x], new RunContext { Training = true, Rng = new Random(1) }).Data;
        Assert.All(y, v => Assert.True(v == 0f || v == 2f));
        Assert.InRange(y.Count(v => v == 0f), 400, 600);
    }

    [Fact]
    public void InconsistentShapesAreRejectedNamingTheLayer()
    {
        var b = new NetworkBuilder(new Shape(1, 28, 28));
        int h = b.Conv(NetworkBuilder.Input, 8, 3, name: "stem");
        var ex = Assert.Throws<ModelSpecException>(() => b.Add(new Conv2d(4, 8, 3) { Name = "bad_conv" }, h));
        Assert.Equal("bad_conv", ex.Layer);
        Assert.Contains("expects 4 input channels, got 8", ex.Message);
        int p = b.MaxPool(h, 2);
        var ex2 = Assert.Throws<ModelSpecException>(() => b.Sum(h, p, name: "res_add"));
        Assert.Equal("res_add", ex2.Layer);
        var ex3 = Assert.Throws<ModelSpecException>(() => b.Conv(p, 4, 15, name: "too_big"));
        Assert.Contains("does not fit", ex3.Message);
    }
}
