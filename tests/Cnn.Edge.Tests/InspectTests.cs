using System.Text.Json;

namespace Cnn.Edge.Tests;

public class InspectTests(ITestOutputHelper output)
{
    [Fact]
    public void JsonHoldsTheArenaThePeakAndEveryOpWithMacsAndLiveBytes()
    {
        string dir = Directory.CreateTempSubdirectory("cnn-inspect-").FullName;
        try
        {
            string path = Path.Combine(dir, "chain.cnnq");
            BuilderModels.ChainBuilder().BuildToFile(path);
            EdgeModel m = EdgeModel.LoadFile(path);
            InspectReport report = InspectReport.From(m);
            output.WriteLine(report.ToString());
            using JsonDocument doc = JsonDocument.Parse(report.ToJson());
            JsonElement root = doc.RootElement;

            Assert.Equal(m.Plan.ArenaBytes, root.GetProperty("arena_bytes").GetInt32());
            Assert.Equal(m.Plan.LowerBoundBytes, root.GetProperty("lower_bound_bytes").GetInt32());
            Assert.Equal(m.Ops[m.Plan.PeakOpIndex].Name, root.GetProperty("peak_op").GetString());
            JsonElement[] ops = [.. root.GetProperty("ops").EnumerateArray()];
            Assert.Equal(m.Ops.Count, ops.Length);
            for (int i = 0; i < ops.Length; i++)
            {
                Assert.Equal(m.Ops[i].Name, ops[i].GetProperty("name").GetString());
                Assert.Equal(m.Ops[i].Code.ToString(), ops[i].GetProperty("type").GetString());
                Assert.Equal(m.Plan.LiveBytesPerOp[i], ops[i].GetProperty("live_bytes").GetInt64());
            }
            // Hand-computed MACs: conv1 16x16 outputs x 8 channels x 3x3x3; fc 10x16; pools and softmax 0.
            JsonElement Op(string name) => ops.Single(o => o.GetProperty("name").GetString() == name);
            Assert.Equal(16L * 16 * 8 * 27, Op("conv1").GetProperty("macs").GetInt64());
            Assert.Equal(8L * 8 * 16 * 72, Op("conv2").GetProperty("macs").GetInt64());
            Assert.Equal(4L * 4 * 16 * 144, Op("conv3").GetProperty("macs").GetInt64());
            Assert.Equal(160, Op("fc").GetProperty("macs").GetInt64());
            Assert.Equal(0, Op("pool1").GetProperty("macs").GetInt64());
            // conv1 parameters: 216 int8 weights + 8 int32 biases + 8 float scales.
            Assert.Equal(216 + 32 + 32, Op("conv1").GetProperty("parameter_bytes").GetInt64());
            Assert.Equal([1, 16, 16, 8], Op("conv1").GetProperty("output_shape").EnumerateArray().Select(e => e.GetInt32()));
            Assert.Equal("rgb", root.GetProperty("metadata").GetProperty("input.layout").GetString());
            Assert.Equal("float32", root.GetProperty("inputs")[0].GetProperty("type").GetString());
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void TransposeConvMacsCountEveryInputPixelTimesTheKernel()
    {
        var b = new ModelBuilder();
        var rng = new Random(1);
        int x = b.AddInput("x", TensorType.Int8, [1, 3, 5, 4], 0.1f, 0);
        var (w, bias) = BuilderModels.Weights(b, "up", rng, 6, 2, 2, 4);
        int y = b.TransposeConv2D("up", x, w, bias, new TransposeConvParams(2, 2, 1, 1, 0, 0, 0, 0, 0, 0, -128, 127), 0.1f, 0);
        b.MarkOutput(y);
        EdgeModel m = EdgeModel.Load(b.Build());
        Assert.Equal([1, 6, 10, 6], m.Tensors[y].Shape);
        // 3*5 input pixels x 4 channels, each scattered to 2x2 positions x 6 output channels.
        Assert.Equal(15L * 4 * 4 * 6, InspectReport.From(m).Ops[0].Macs);
    }
}
