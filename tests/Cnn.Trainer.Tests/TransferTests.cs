using Cnn.Onnx;
using Cnn.Trainer.Data;
using Cnn.Trainer.Layers;
using Cnn.Trainer.Models;
using Cnn.Trainer.Onnx;
using Cnn.Trainer.Training;

namespace Cnn.Trainer.Tests;

public class TransferTests
{
    [Theory]
    [InlineData("shufflenet")]
    [InlineData("inception")]
    [InlineData("resnet")]
    [InlineData("lenet5")]
    public void ImportOfExportReproducesTheForward(string name)
    {
        var net = Zoo.Create(name, new Shape(1, 28, 28), 10, seed: 3);
        foreach (var n in net.Nodes)
            if (n.Layer is BatchNorm2d bn) { bn.RunningMean[0] = 0.3f; bn.RunningVar[^1] = 2f; }
        var bytes = OnnxExport.ToGraph(net, Preprocessing.Mnist).ToBytes();
        var (back, pre) = OnnxImport.FromGraph(FloatGraph.FromBytes(bytes));
        Assert.Equal(Preprocessing.Mnist.Mean, pre.Mean);
        Assert.Equal(net.ParameterCount, back.ParameterCount);
        var x = new Tensor(2, 1, 28, 28);
        var rng = new Random(2);
        for (int i = 0; i < x.Length; i++) x.Data[i] = (float)rng.NextDouble();
        var a = net.Forward(x, new RunContext()).Data.AsSpan(0, 20).ToArray();
        var b = back.Forward(x, new RunContext()).Data.AsSpan(0, 20).ToArray();
        Assert.Equal(a, b);
    }

    [Fact]
    public void ReplacedHeadTrainsWithFrozenBackbone()
    {
        var src = Zoo.Create("mobilenet", new Shape(1, 28, 28), 10, seed: 1);
        var (imported, pre) = OnnxImport.FromGraph(FloatGraph.FromBytes(OnnxExport.ToGraph(src, Preprocessing.FashionMnist).ToBytes()));
        // 3-class task: labels 0..2 of the Fashion subset
        var all = EmbeddedDatasets.FashionMnistSubset();
        var idx = Enumerable.Range(0, all.Count).Where(i => all.Label(i) < 3).Take(90).ToArray();
        var sub = all.Subset(idx);
        var three = new InMemoryDataset(Enumerable.Range(0, sub.Count).SelectMany(i => { var p = new byte[784]; sub.GetPixels(i, p); return p; }).ToArray(),
            Enumerable.Range(0, sub.Count).Select(sub.Label).ToArray(), 1, 28, 28, ["top", "trouser", "pullover"]);
        var net = Transfer.ReplaceHead(imported, 3, three.Labels, seed: 2);
        Transfer.FreezeBackbone(net);
        Assert.Equal(3, net.Classes);
        var stem = ((Conv2d)net["stem.conv"]).Weight.Value.ToArray();
        var bnMean = ((BatchNorm2d)net["stem.bn"]).RunningMean.ToArray();
        var hist = NetworkTrainer.Fit(net, three, null, new TrainOptions { Epochs = 3, BatchSize = 30, Threads = 2, Preprocessing = pre, LearningRate = 0.1f },
            cancel: TestContext.Current.CancellationToken);
        Assert.Equal(stem, ((Conv2d)net["stem.conv"]).Weight.Value);
        Assert.Equal(bnMean, ((BatchNorm2d)net["stem.bn"]).RunningMean);
        Assert.True(hist.Last.TrainLoss < hist.Epochs[0].TrainLoss, "head training should lower the loss");
    }

    [Fact]
    public void UnsupportedOperatorIsNamed()
    {
        var g = new FloatGraph();
        g.AddInput("input", [1, 1, 4, 4]);
        g.AddNode("Softsign", "weird", ["input"], ["y"]);
        g.AddOutput("y", [1, 1, 4, 4]);
        var ex = Assert.Throws<OnnxFormatException>(() => OnnxImport.FromGraph(g));
        Assert.Contains("weird", ex.Message);
        Assert.Contains("Softsign", ex.Message);
    }
}
