using Cnn.Trainer.Layers;
using Cnn.Trainer.Models;
using Cnn.Trainer.Optim;

namespace Cnn.Trainer.Tests;

/// <summary>
/// BatchNorm2d with its following activation fused into one pass each way, and its passes taken over by the
/// neighbouring convolutions (statistics, gradient sums, y and dx written sample by sample as they are read):
/// gradients against finite differences, and a network trained fused against the same network trained unfused
/// (which runs every layer on its own), bit for bit.
/// </summary>
[Collection(nameof(SerialCollection))]
public class FusionTests
{
    private static BatchNorm2d FusedBn(Activation act, int channels = 3)
    {
        var bn = new BatchNorm2d(channels);
        // γ, β spread the outputs over [-3, 7], so ReLU6 clips some and the negative side is exercised too.
        for (int c = 0; c < channels; c++) { bn.Gamma.Value[c] = 3f + 0.25f * c; bn.Beta.Value[c] = 2f - 0.5f * c; }
        bn.Fuse(act);
        return bn;
    }

    // A γ or β probe moves every output of its channel, so a ±1e-2 step pushes some across an activation kink;
    // ±1e-3 keeps the probes on one side (float rounding stays far below the tolerance).
    [Fact] public void FusedBatchNormReluGradients() => GradientCheckTests.Check(FusedBn(Activation.Relu()), [new Shape(3, 4, 4)], n: 4, eps: 1e-3f);
    [Fact] public void FusedBatchNormRelu6Gradients() => GradientCheckTests.Check(FusedBn(Activation.Relu6()), [new Shape(3, 4, 4)], n: 4, eps: 1e-3f);
    [Fact] public void FusedBatchNormLeakyReluGradients() => GradientCheckTests.Check(FusedBn(Activation.LeakyRelu(0.1f)), [new Shape(3, 4, 4)], n: 4, eps: 1e-3f);

    [Fact]
    public void FusedBatchNormEvalGradients()
    {
        var bn = FusedBn(Activation.Relu6());
        for (int c = 0; c < 3; c++) { bn.RunningMean[c] = 0.1f * c; bn.RunningVar[c] = 0.5f + c; }
        GradientCheckTests.Check(bn, [new Shape(3, 4, 4)], n: 4, training: false, eps: 1e-3f);
    }

    [Fact]
    public void FusedForwardRelu6ClipsAndMatchesTheTwoLayers()
    {
        var rng = new Random(4);
        var x = new Tensor(5, 3, 7, 5);   // plane of 35: vector body and scalar tail
        for (int i = 0; i < x.Length; i++) x.Data[i] = (float)(rng.NextDouble() * 4 - 2);
        var ctx = new RunContext { Training = true, Threads = 2 };
        var fused = FusedBn(Activation.Relu6());
        var yf = fused.Forward([x], ctx).Data.AsSpan(0, x.Length).ToArray();
        var bn = FusedBn(Activation.Relu6()); bn.Fuse(null);
        var y = Activation.Relu6().Forward([bn.Forward([x], ctx)], ctx).Data.AsSpan(0, x.Length).ToArray();
        Assert.Equal(y, yf);
        Assert.Contains(6f, yf);
        Assert.Contains(0f, yf);
        Assert.Equal(bn.RunningMean, fused.RunningMean);
        Assert.Equal(bn.RunningVar, fused.RunningVar);
    }

    private static Network Custom(int seed)
    {
        var b = new NetworkBuilder(new Shape(2, 9, 9), seed);
        int x = b.ConvBnAct(NetworkBuilder.Input, 6, 3, act: "relu6", name: "a");
        x = b.ConvBnAct(x, 6, 3, groups: 6, act: "leaky", name: "b");
        // A BatchNorm read by an activation and an Add: two consumers, so it must not be fused.
        int c = b.Conv(x, 6, 1, bias: false, name: "c.conv");
        int bn = b.BatchNorm(c, "c.bn");
        int r = b.Relu(bn, "c.relu");
        x = b.Sum(r, bn, "c.add");
        x = b.GlobalAvgPool(x);
        x = b.Flatten(x);
        return b.Build(b.Linear(x, 4));
    }

    private static Network Create(string model, int seed) => model == "custom" ? Custom(seed) : Zoo.Create(model, new Shape(1, 28, 28), 10, seed);

    [Theory]
    [InlineData("custom", 1)]
    [InlineData("custom", 2)]
    [InlineData("mobilenet", 2)]
    [InlineData("resnet", 1)]
    public void FusedTrainingEqualsUnfusedBitForBit(string model, int threads)
    {
        var fused = Create(model, 5);
        var plain = Create(model, 5);
        plain.FuseBatchNormActivations = false;
        Assert.True(fused.FuseBatchNormActivations);
        var fusedBns = fused.Nodes.Select(n => n.Layer).OfType<BatchNorm2d>().Where(bn => bn.FusedActivation is not null).ToArray();
        Assert.NotEmpty(fusedBns);
        Assert.All(plain.Nodes.Select(n => n.Layer).OfType<BatchNorm2d>(), bn => Assert.Null(bn.FusedActivation));
        if (model == "custom") Assert.Null(((BatchNorm2d)fused["c.bn"]).FusedActivation);

        var shape = fused.InputShape;
        var rng = new Random(9);
        const int n = 8;
        var x = new Tensor(n, shape.C, shape.H, shape.W);
        var labels = new int[n];
        var grad = new Tensor(n, fused.Classes, 1, 1);
        var ctx = new RunContext { Training = true, Threads = threads };
        var opts = new[] { fused, plain }.Select(net => new Optimizer(net.Parameters, OptimizerKind.Sgd, 0.9f)).ToArray();
        for (int step = 0; step < 3; step++)
        {
            for (int i = 0; i < x.Length; i++) x.Data[i] = (float)(rng.NextDouble() * 2 - 1);
            for (int i = 0; i < n; i++) labels[i] = rng.Next(fused.Classes);
            int k = 0;
            foreach (var net in new[] { fused, plain })
            {
                SoftmaxCrossEntropy.Compute(net.Forward(x, ctx), labels, grad);
                net.ZeroGrad();
                net.Backward([grad], ctx);
                opts[k++].Step(0.05f);
            }
        }
        var pf = fused.Parameters.ToArray(); var pp = plain.Parameters.ToArray();
        for (int i = 0; i < pf.Length; i++) Assert.True(pf[i].Value.AsSpan().SequenceEqual(pp[i].Value), $"{model}: parameter {i} ({pf[i].Name}) differs");
        for (int i = 0; i < fused.Nodes.Count; i++)
        {
            var bf = fused.Nodes[i].Layer.Buffers; var bp = plain.Nodes[i].Layer.Buffers;
            for (int j = 0; j < bf.Count; j++) Assert.True(bf[j].Value.AsSpan().SequenceEqual(bp[j].Value), $"{model}: {fused.Nodes[i].Layer.Name}.{bf[j].Name} differs");
        }
        var eval = new RunContext { Training = false, Threads = threads };
        var yf = fused.Forward(x, eval).Data.AsSpan(0, grad.Length).ToArray();
        var yp = plain.Forward(x, eval).Data.AsSpan(0, grad.Length).ToArray();
        Assert.Equal(yp, yf);
    }

    [Fact]
    public void FusionCanBeSwitchedOffAndOnAgain()
    {
        var net = Zoo.Create("mobilenet", new Shape(1, 28, 28), 10, 1);
        int fusedCount = net.Nodes.Count(nd => nd.Layer is BatchNorm2d { FusedActivation: not null });
        Assert.Equal(net.Nodes.Count(nd => nd.Layer is BatchNorm2d), fusedCount);
        net.FuseBatchNormActivations = false;
        Assert.DoesNotContain(net.Nodes, nd => nd.Layer is BatchNorm2d { FusedActivation: not null } or Activation { FusedInto: not null });
        net.FuseBatchNormActivations = true;
        Assert.Equal(fusedCount, net.Nodes.Count(nd => nd.Layer is Activation { FusedInto: not null }));
    }

    [Fact]
    public void ConvolutionsTakeOverTheBatchNormPasses()
    {
        var net = Zoo.Create("mobilenet", new Shape(1, 28, 28), 10, 1);
        Conv2d Conv(string name) => (Conv2d)net[name];
        BatchNorm2d Bn(string name) => (BatchNorm2d)net[name];
        foreach (var (bn, producer, consumer) in new[] { ("stem.bn", "stem.conv", "ds1.dw.conv"), ("ds1.dw.bn", "ds1.dw.conv", "ds1.pw.conv"),
            ("ds1.pw.bn", "ds1.pw.conv", "ds2.dw.conv"), ("ds2.dw.bn", "ds2.dw.conv", "ds2.pw.conv"), ("ds2.pw.bn", "ds2.pw.conv", "ds3.dw.conv"),
            ("ds3.dw.bn", "ds3.dw.conv", "ds3.pw.conv"), ("ds3.pw.bn", "ds3.pw.conv", "gap") })
        {
            Assert.Same(Bn(bn).InputStats, Conv(producer).OutputObserver);
            Assert.Same(Bn(bn).InputGradient, Conv(producer).OutputGradientWriter);
            Assert.True(Bn(bn).InputGradient.Active, bn);
            var reader = (ISampleReader)net[consumer];
            Assert.Same(Bn(bn).GradientSums, reader.InputGradientObserver);
            Assert.Same(Bn(bn).Output, reader.InputWriter);
            Assert.True(Bn(bn).Output.Active, bn);
        }
        Assert.Null(Conv("stem.conv").InputGradientObserver);
        Assert.Null(Conv("stem.conv").InputWriter);

        net.FuseBatchNormActivations = false;
        foreach (var node in net.Nodes)
            if (node.Layer is Conv2d c) Assert.True(c.OutputObserver is null && c.InputGradientObserver is null && c.InputWriter is null && c.OutputGradientWriter is null, c.Name);
            else if (node.Layer is ISampleReader r) Assert.True(r.InputWriter is null && r.InputGradientObserver is null, node.Layer.Name);
            else if (node.Layer is BatchNorm2d b) Assert.False(b.Output.Active || b.InputGradient.Active, b.Name);

        // A BatchNorm read by two layers (custom net's c.bn) writes its own output; its producer still takes over the rest.
        var custom = Custom(1);
        var cbn = (BatchNorm2d)custom["c.bn"];
        Assert.False(cbn.Output.Active);
        Assert.True(cbn.InputGradient.Active);
        Assert.Same(cbn.InputStats, ((Conv2d)custom["c.conv"]).OutputObserver);
    }

    /// <summary>conv → BN → ReLU → global average pooling (which writes the BatchNorm's output and reduces its gradient) → fc.</summary>
    private static Network PooledTail(int seed)
    {
        var b = new NetworkBuilder(new Shape(2, 9, 9), seed);
        int x = b.ConvBnAct(NetworkBuilder.Input, 5, 1, name: "a");
        return b.Build(b.Linear(b.Flatten(b.GlobalAvgPool(x)), 4));
    }

    [Theory]
    [InlineData(false, 1)]
    [InlineData(false, 2)]
    [InlineData(true, 2)]
    public void NetworkWithTheConvolutionHooksMatchesFiniteDifferences(bool pooledTail, int threads)
    {
        // Custom: conv → BN → ReLU6 → depthwise conv → BN → LeakyReLU → pointwise conv → BN (two consumers) → ReLU + Add → pool → fc.
        var net = pooledTail ? PooledTail(3) : Custom(3);
        if (pooledTail) Assert.True(((BatchNorm2d)net["a.bn"]).Output.Active);
        var rng = new Random(11);
        const int n = 3;
        var x = new Tensor(n, 2, 9, 9);
        for (int i = 0; i < x.Length; i++) x.Data[i] = (float)(rng.NextDouble() * 2 - 1);
        var r = new Tensor(n, net.Classes, 1, 1);
        for (int i = 0; i < r.Length; i++) r.Data[i] = (float)(rng.NextDouble() * 2 - 1);
        var ctx = new RunContext { Training = true, Threads = threads };
        double Loss()
        {
            var y = net.Forward(x, ctx);
            double s = 0;
            for (int i = 0; i < r.Length; i++) s += (double)y.Data[i] * r.Data[i];
            return s;
        }
        Loss();
        net.ZeroGrad();
        net.Backward([r], ctx);
        const float eps = 1e-3f;
        int checkedCount = 0;
        foreach (var node in net.Nodes)
            foreach (var p in node.Layer.Parameters)
            {
                var grad = (float[])p.Grad.Clone();
                for (int t = 0; t < Math.Min(p.Value.Length, 12); t++)
                {
                    int i = t * 7919 % p.Value.Length;
                    float old = p.Value[i];
                    p.Value[i] = old + eps; double lp = Loss();
                    p.Value[i] = old - eps; double lm = Loss();
                    p.Value[i] = old;
                    double numeric = (lp - lm) / (2 * eps);
                    double err = Math.Abs(numeric - grad[i]) / Math.Max(1.0, Math.Abs(numeric) + Math.Abs(grad[i]));
                    Assert.True(err < 2e-2, $"{node.Layer.Name}.{p.Name}[{i}]: analytic {grad[i]}, numeric {numeric}, rel err {err}");
                    checkedCount++;
                }
            }
        Assert.True(checkedCount > 20);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LayersCalledOnTheirOwnDoAllTheirWork(bool training)
    {
        // Outside Network.Forward/Backward (as the CLI demo runs the first conv → BN → ReLU for its feature maps) a
        // wired BatchNorm must write its output and dx itself: nobody else will.
        var wired = Zoo.Create("mobilenet", new Shape(1, 28, 28), 10, 4);
        var plain = Zoo.Create("mobilenet", new Shape(1, 28, 28), 10, 4);
        plain.FuseBatchNormActivations = false;
        Assert.True(((BatchNorm2d)wired["stem.bn"]).Output.Active);
        var rng = new Random(2);
        var x = new Tensor(3, 1, 28, 28);
        for (int i = 0; i < x.Length; i++) x.Data[i] = (float)rng.NextDouble();
        var dy = new Tensor(3, 32, 28, 28);
        for (int i = 0; i < dy.Length; i++) dy.Data[i] = (float)(rng.NextDouble() - 0.5);
        float[] Run(Network net, out float[] dx)
        {
            var ctx = new RunContext { Training = training, Threads = 2 };
            var y = net["stem.conv"].Forward([x], ctx);
            y = net["stem.bn"].Forward([y], ctx);
            y = net["stem.relu"].Forward([y], ctx);
            var result = y.Data.AsSpan(0, y.Length).ToArray();
            var g = net["stem.relu"].Backward(dy, [true], ctx)[0]!;
            var d = net["stem.bn"].Backward(g, [true], ctx)[0]!;
            dx = d.Data.AsSpan(0, d.Length).ToArray();
            return result;
        }
        var yPlain = Run(plain, out var dxPlain);
        var yWired = Run(wired, out var dxWired);
        Assert.Equal(yPlain, yWired);
        Assert.Equal(dxPlain, dxWired);
        Assert.Contains(yWired, v => v > 0);
    }
}
