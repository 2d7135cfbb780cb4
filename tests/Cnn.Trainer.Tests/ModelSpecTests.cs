using Cnn.Trainer.Layers;
using Cnn.Trainer.Models;

namespace Cnn.Trainer.Tests;

public class ModelSpecTests
{
    private const string Good = """
    { "name": "mine", "input": [1, 28, 28], "classes": 10,
      "layers": [
        { "type": "conv", "name": "stem", "out": 16, "kernel": 3, "stride": 2 },
        { "type": "bn" }, { "type": "relu6" },
        { "type": "dwsep", "name": "ds", "out": 32, "stride": 2 },
        { "type": "conv", "name": "side", "inputs": ["ds"], "out": 32, "kernel": 1, "in": 32 },
        { "type": "add", "name": "res", "inputs": ["ds", "side"] },
        { "type": "inception", "name": "inc", "branches": [8, 8, 8, 4, 4, 4] },
        { "type": "gap" }, { "type": "flatten" },
        { "type": "linear", "name": "fc", "out": 0, "in": 24 } // 0 = classes
      ] }
    """;

    [Fact]
    public void JsonSpecBuildsTheDescribedGraph()
    {
        var net = ModelSpec.Parse(Good).Build(seed: 1);
        Assert.Equal(10, net.Classes);
        Assert.Equal(new Shape(32, 7, 7), net.Nodes[net.IndexOf("res")].Shape);
        Assert.Equal(new Shape(24, 7, 7), net.Nodes[net.IndexOf("inc.concat")].Shape);
        Assert.IsType<Activation>(net.Nodes[2].Layer);
        var again = ModelSpec.Parse(ModelSpec.Parse(Good).ToJson()).Build(seed: 1);
        Assert.Equal(net.ParameterCount, again.ParameterCount);
    }

    [Theory]
    [InlineData("\"in\": 24", "\"in\": 30", "fc", "declares 30 input features but receives 24")]
    [InlineData("\"inputs\": [\"ds\", \"side\"]", "\"inputs\": [\"stem\", \"side\"]", "res", "same shape")]
    [InlineData("\"out\": 0, \"in\": 24", "\"out\": 7, \"in\": 24", "fc", "\"classes\" is 10")]
    [InlineData("\"kernel\": 1, \"in\": 32", "\"kernel\": 1, \"in\": 16", "side", "declares 16 input channels")]
    [InlineData("\"type\": \"gap\"", "\"type\": \"globalpool\"", "globalpool8", "unknown layer type")]
    [InlineData("\"inputs\": [\"ds\"]", "\"inputs\": [\"nope\"]", "side", "'nope' is not an earlier layer")]
    public void InconsistentSpecsAreRejectedNamingTheLayer(string from, string to, string layer, string message)
    {
        var ex = Assert.Throws<ModelSpecException>(() => ModelSpec.Parse(Good.Replace(from, to)).Build());
        Assert.Equal(layer, ex.Layer);
        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void MalformedJsonNamesThePosition()
    {
        var ex = Assert.Throws<ModelSpecException>(() => ModelSpec.Parse("{ \"input\": [1, 28, 28], \"classes\": 10, \"layerz\": [] }"));
        Assert.Contains("layerz", ex.Message);
    }
}
