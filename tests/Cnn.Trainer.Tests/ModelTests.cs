using Cnn.Trainer.Layers;
using Cnn.Trainer.Models;

namespace Cnn.Trainer.Tests;

public class ModelTests
{
    [Theory]
    [MemberData(nameof(AllNames))]
    public void NamedModelRunsForwardAndBackward(string name)
    {
        foreach (var shape in new[] { new Shape(1, 28, 28), new Shape(3, 32, 32) })
        {
            var net = Zoo.Create(name, shape, 7, seed: 2);
            Assert.Equal(7, net.Classes);
            var x = new Tensor(2, shape.C, shape.H, shape.W);
            var rng = new Random(1);
            for (int i = 0; i < x.Length; i++) x.Data[i] = (float)rng.NextDouble();
            var ctx = new RunContext { Training = true, Threads = 2 };
            var y = net.Forward(x, ctx);
            Assert.Equal((2, 7), (y.N, y.SampleSize));
            Assert.All(y.Data.Take(y.Length), v => Assert.True(float.IsFinite(v)));
            var g = new Tensor(2, 7, 1, 1);
            SoftmaxCrossEntropy.Compute(y, [1, 3], g);
            net.ZeroGrad();
            net.Backward([g], ctx);
            Assert.All(net.Parameters, p => Assert.True(p.Grad.Any(v => v != 0) || p.Name == "bias" && p.Value.Length == 0, $"{name}: {p.Name} got no gradient"));
        }
    }

    public static TheoryData<string> AllNames() => new(Zoo.Names);

    [Fact]
    public void ResidualNetworkGradientsMatchFiniteDifferences()
    {
        // Exercises fan-out accumulation in Network.Backward (the shortcut feeds two consumers).
        var b = new NetworkBuilder(new Shape(2, 5, 5), 3);
        int x = b.Conv(NetworkBuilder.Input, 4, 3, padding: 1, name: "stem");
        int y = b.Relu(b.Conv(x, 4, 3, padding: 1, name: "c1"));
        int z = b.Concat([b.Sum(y, x, "add"), x], "cat");
        var net = b.Build(b.Linear(b.Flatten(b.GlobalAvgPool(z)), 3, name: "fc"));
        var input = new Tensor(2, 2, 5, 5);
        var rng = new Random(4);
        for (int i = 0; i < input.Length; i++) input.Data[i] = (float)rng.NextDouble() - 0.5f;
        int[] labels = [0, 2];
        var ctx = new RunContext { Training = true, Threads = 1 };
        double Loss() => SoftmaxCrossEntropy.Compute(net.Forward(input, ctx), labels, null);
        var logits = net.Forward(input, ctx);
        var g = new Tensor(2, 3, 1, 1);
        SoftmaxCrossEntropy.Compute(logits, labels, g);
        net.ZeroGrad();
        net.Backward([g], ctx);
        var stem = ((Conv2d)net["stem"]).Weight;
        for (int i = 0; i < stem.Value.Length; i += 5)
        {
            float old = stem.Value[i];
            stem.Value[i] = old + 1e-2f; double lp = Loss();
            stem.Value[i] = old - 1e-2f; double lm = Loss();
            stem.Value[i] = old;
            double num = (lp - lm) / 2e-2;
            Assert.True(Math.Abs(num - stem.Grad[i]) < 2e-3 + 0.02 * Math.Abs(num), $"stem.weight[{i}]: analytic {stem.Grad[i]}, numeric {num}");
        }
    }
}
