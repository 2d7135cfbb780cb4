using Cnn.Onnx;
using Cnn.Trainer.Data;
using Cnn.Trainer.Layers;
using Cnn.Trainer.Models;
using Cnn.Trainer.Onnx;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Cnn.Trainer.Tests;

public class OnnxExportTests
{
    /// <summary>Randomises BatchNorm statistics and affine parameters so that eval mode differs from identity.</summary>
    private static void Perturb(Network net, int seed)
    {
        var rng = new Random(seed);
        foreach (var n in net.Nodes)
            if (n.Layer is BatchNorm2d bn)
                for (int c = 0; c < bn.Channels; c++)
                {
                    bn.RunningMean[c] = (float)(rng.NextDouble() - 0.5) * 0.2f;
                    bn.RunningVar[c] = 0.5f + (float)rng.NextDouble();
                    bn.Gamma.Value[c] = 0.5f + (float)rng.NextDouble();
                    bn.Beta.Value[c] = (float)(rng.NextDouble() - 0.5) * 0.2f;
                }
    }

    public static TheoryData<string> AllNames() => new(Zoo.Names);

    [Theory]
    [MemberData(nameof(AllNames))]
    public void ExportedModelMatchesOnnxRuntime(string name)
    {
        var shape = name is "vgg" or "densenet" ? new Shape(3, 16, 16) : new Shape(1, 28, 28);
        var net = Zoo.Create(name, shape, 10, seed: 5);
        Perturb(net, 6);
        var pre = new Preprocessing(1f / 255f, Enumerable.Repeat(0.5f, shape.C).ToArray(), Enumerable.Repeat(0.25f, shape.C).ToArray());
        var graph = OnnxExport.ToGraph(net, pre, name, batch: -1);
        var bytes = graph.ToBytes();
        Assert.Contains(graph.Nodes, n => n.OpType == "Conv");
        if (net.Nodes.Any(n => n.Layer is BatchNorm2d)) Assert.Contains(graph.Nodes, n => n.OpType == "BatchNormalization");

        var x = new Tensor(2, shape.C, shape.H, shape.W);
        var rng = new Random(8);
        for (int i = 0; i < x.Length; i++) x.Data[i] = (float)(rng.NextDouble() * 2 - 1);
        var expected = net.Forward(x, new RunContext { Training = false, Threads = 2 }).Data.AsSpan(0, 20).ToArray();

        using var session = new InferenceSession(bytes);
        using var input = OrtValue.CreateTensorValueFromMemory(x.Data.AsSpan(0, x.Length).ToArray(), [2, shape.C, shape.H, shape.W]);
        using var run = new RunOptions();
        using var outputs = session.Run(run, [OnnxExport.InputName], [input], [OnnxExport.OutputName]);
        var actual = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        Assert.Equal(20, actual.Length);
        for (int i = 0; i < 20; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4 * Math.Max(1, Math.Abs(expected[i])), $"{name} logit {i}: trainer {expected[i]}, onnxruntime {actual[i]}");
    }

    [Fact]
    public void MetadataCarriesPreprocessingAndLabelsAndFileRoundTrips()
    {
        var net = Zoo.LeNet5(new Shape(1, 28, 28), 10);
        net.Labels = Idx.FashionMnistLabels;
        string dir = Directory.CreateTempSubdirectory("cnn-onnx").FullName;
        try
        {
            string path = Path.Combine(dir, "m.onnx");
            OnnxExport.Save(net, path, Preprocessing.FashionMnist);
            var g = FloatGraph.Load(path);
            Assert.Equal(13, g.OpsetVersion);
            Assert.Equal("grey", g.Metadata["input.layout"]);
            Assert.Equal(1f / 255f, float.Parse(g.Metadata["input.pixel_scale"], System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal("0.286", g.Metadata["input.mean"]);
            Assert.Equal("0.353", g.Metadata["input.std"]);
            Assert.Equal("Ankle boot", g.Metadata["labels"].Split(',')[9]);
            Assert.Equal([1, 1, 28, 28], g.Inputs[0].Shape!);
            Assert.Equal(OnnxExport.OutputName, g.Outputs[0].Name);
            Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void ConvTransposeAndRelu6ExportMatchOnnxRuntime()
    {
        var b = new NetworkBuilder(new Shape(1, 8, 8), 3);
        int h = b.Conv(NetworkBuilder.Input, 4, 3, stride: 2, padding: 1);
        h = b.Relu6(b.ConvTranspose(h, 3, 3, stride: 2, padding: 1, outputPadding: 1));
        h = b.LeakyRelu(h, 0.2f);
        h = b.AvgPool(h, 3, 2, 1);
        var net = b.Build(b.Linear(h, 5));
        foreach (var p in net.Parameters) for (int i = 0; i < p.Value.Length; i++) p.Value[i] *= 8;   // push some values past 6
        var x = new Tensor(1, 1, 8, 8);
        for (int i = 0; i < x.Length; i++) x.Data[i] = (i % 7) - 3;
        var expected = net.Forward(x, new RunContext()).Data.AsSpan(0, 5).ToArray();
        using var session = new InferenceSession(OnnxExport.ToGraph(net, Preprocessing.Unit(1)).ToBytes());
        using var input = OrtValue.CreateTensorValueFromMemory(x.Data.AsSpan(0, x.Length).ToArray(), [1, 1, 8, 8]);
        using var run = new RunOptions();
        using var outputs = session.Run(run, [OnnxExport.InputName], [input], [OnnxExport.OutputName]);
        var actual = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        for (int i = 0; i < 5; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4 * Math.Max(1, Math.Abs(expected[i])), $"logit {i}: {expected[i]} vs {actual[i]}");
    }
}
