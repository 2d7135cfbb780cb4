namespace Cnn.Onnx.Tests;

/// <summary>Files written by torch.onnx.export (tests/fixtures/make_fixtures.py) read, and survive a write/read round trip.</summary>
public class PyTorchFileTests
{
    private static string Fixture(string name)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
        {
            string p = Path.Combine(d.FullName, "tests", "fixtures", "onnx", name);
            if (File.Exists(p)) return p;
        }
        throw new FileNotFoundException("fixture not found above " + AppContext.BaseDirectory, name);
    }

    [Theory]
    [InlineData("lenet5.onnx", "Conv", 2)]
    [InlineData("dwsep_bn.onnx", "BatchNormalization", 7)]
    [InlineData("mobilenet_v2_035_96.onnx", "Conv", 52)]
    public void ReadsPyTorchExportAndRoundTrips(string file, string op, int count)
    {
        var g = FloatGraph.Load(Fixture(file));
        Assert.Equal(count, g.Nodes.Count(n => n.OpType == op));
        Assert.Equal("input", g.Inputs[0].Name);
        Assert.Equal(13, g.OpsetVersion);
        Assert.Equal("pytorch", g.ProducerName);

        var back = FloatGraph.FromBytes(g.ToBytes());
        Assert.Equal(g.Nodes.Select(n => n.ToString()), back.Nodes.Select(n => n.ToString()));
        Assert.Equal(g.Initializers.Count, back.Initializers.Count);
        foreach (var (name, t) in g.Initializers)
        {
            Assert.Equal(t.Dims, back.Initializers[name].Dims);
            Assert.Equal(t.Floats ?? [], back.Initializers[name].Floats ?? []);
            Assert.Equal(t.Ints ?? [], back.Initializers[name].Ints ?? []);
        }
        Assert.Equal(g.Metadata, back.Metadata);
    }

    [Fact]
    public void ReadsTrainerMetadata()
    {
        var g = FloatGraph.Load(Fixture("lenet5.onnx"));
        Assert.Equal("grey", g.Metadata["input.layout"]);
        Assert.Equal("0.3081", g.Metadata["input.std"]);
    }
}
