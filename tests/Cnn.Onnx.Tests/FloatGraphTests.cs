using Cnn.Onnx.Proto;

namespace Cnn.Onnx.Tests;

public class FloatGraphTests
{
    /// <summary>A small Conv → Relu → Flatten → Gemm graph as the trainer would export it.</summary>
    internal static FloatGraph SmallGraph()
    {
        var g = new FloatGraph { Name = "small" };
        g.AddInput("input", [1, 1, 4, 4]);
        g.AddInitializer("conv.w", [2, 1, 3, 3], Enumerable.Range(0, 18).Select(i => i * 0.1f - 0.9f).ToArray());
        g.AddInitializer("conv.b", [2], [0.5f, -0.25f]);
        g.AddInitializer("fc.w", [3, 32], Enumerable.Range(0, 96).Select(i => (i % 7) * 0.01f).ToArray());
        g.AddInitializer("fc.b", [3], [1f, 2f, 3f]);
        g.AddInitializer("shape", [2], [1L, -1L]);
        g.AddNode("Conv", "conv", ["input", "conv.w", "conv.b"], ["c"],
            OnnxAttribute.IntList("kernel_shape", 3, 3), OnnxAttribute.IntList("pads", 1, 1, 1, 1));
        g.AddNode("Relu", "relu", ["c"], ["r"]);
        g.AddNode("Reshape", "flat", ["r", "shape"], ["f"]);
        g.AddNode("Gemm", "fc", ["f", "fc.w", "fc.b"], ["logits"], OnnxAttribute.IntValue("transB", 1), OnnxAttribute.FloatValue("alpha", 1f));
        g.AddOutput("logits", [1, 3]);
        g.Metadata["input.layout"] = "grey";
        g.Metadata["input.mean"] = "0.1307";
        return g;
    }

    [Fact]
    public void RoundTripKeepsNodesInitializersAttributesAndMetadata()
    {
        var g = SmallGraph();
        var back = FloatGraph.FromBytes(g.ToBytes());
        Assert.Equal(["conv", "relu", "flat", "fc"], back.Nodes.Select(n => n.Name));
        Assert.Equal(["input"], back.Inputs.Select(i => i.Name));
        Assert.Equal([1, 1, 4, 4], back.Inputs[0].Shape!);
        Assert.Equal([1, 3], back.Outputs[0].Shape!);
        Assert.Equal(g.Initializers["conv.w"].Floats, back.Initializers["conv.w"].Floats);
        Assert.Equal([2, 1, 3, 3], back.Initializers["conv.w"].Dims);
        Assert.Equal([1L, -1L], back.Initializers["shape"].Ints!);
        Assert.Equal([1L, 1, 1, 1], back.Nodes[0].GetInts("pads")!);
        Assert.Equal(1, back.Nodes[3].GetInt("transB", 0));
        Assert.Equal(1f, back.Nodes[3].GetFloat("alpha", 0));
        Assert.Equal("grey", back.Metadata["input.layout"]);
        Assert.Equal("0.1307", back.Metadata["input.mean"]);
        Assert.Equal(13, back.OpsetVersion);
    }

    [Fact]
    public void SaveWritesThroughTempFileAndLoadReadsIt()
    {
        string dir = Directory.CreateTempSubdirectory("onnx-test").FullName;
        try
        {
            string path = Path.Combine(dir, "m.onnx");
            SmallGraph().Save(path);
            Assert.Equal(["m.onnx"], Directory.GetFiles(dir).Select(Path.GetFileName));
            Assert.Equal(4, FloatGraph.Load(path).Nodes.Count);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void NodesOutOfOrderAreSorted()
    {
        var g = SmallGraph();
        g.Nodes.Reverse();
        var back = FloatGraph.FromModel(g.ToModel());
        Assert.Equal(["conv", "relu", "flat", "fc"], back.Nodes.Select(n => n.Name));
    }

    [Fact]
    public void UndefinedInputIsRejectedNamingTheNode()
    {
        var g = SmallGraph();
        g.Nodes[1].Inputs[0] = "nowhere";
        var e = Assert.Throws<OnnxFormatException>(() => FloatGraph.FromModel(g.ToModel()));
        Assert.Contains("'relu'", e.Message);
        Assert.Contains("'nowhere'", e.Message);
    }

    [Fact]
    public void CycleIsRejected()
    {
        var g = new FloatGraph();
        g.AddInput("x", [1, 4]);
        g.AddNode("Add", "a", ["x", "d"], ["b"]);
        g.AddNode("Relu", "c", ["b"], ["d"]);
        g.AddOutput("d");
        var e = Assert.Throws<OnnxFormatException>(() => FloatGraph.FromModel(g.ToModel()));
        Assert.Contains("cycle", e.Message);
        Assert.Contains("'a'", e.Message);
    }

    [Fact]
    public void DuplicateOutputIsRejected()
    {
        var g = SmallGraph();
        g.Nodes[1].Outputs[0] = "c";
        Assert.Throws<OnnxFormatException>(() => FloatGraph.FromModel(g.ToModel()));
    }

    [Fact]
    public void DataThatDoesNotMatchDimsIsRejected()
    {
        var m = SmallGraph().ToModel();
        var w = m.Graph!.Initializer.First(t => t.Name == "conv.w");
        w.Dims[0] = 3; // declares 27 floats, holds 18
        var e = Assert.Throws<OnnxFormatException>(() => FloatGraph.FromModel(m));
        Assert.Contains("conv.w", e.Message);
        Assert.Contains("raw_data", e.Message);
    }

    [Fact]
    public void HugeDimensionsAreRejectedBeforeAllocating()
    {
        var m = SmallGraph().ToModel();
        var w = m.Graph!.Initializer.First(t => t.Name == "conv.w");
        w.Dims.Clear();
        w.Dims.AddRange([1L << 20, 1L << 20]);
        var e = Assert.Throws<OnnxFormatException>(() => FloatGraph.FromModel(m));
        Assert.Contains("elements", e.Message);
        w.Dims.Clear();
        w.Dims.AddRange([-1, 18]);
        Assert.Throws<OnnxFormatException>(() => FloatGraph.FromModel(m));
    }

    [Fact]
    public void TooManyDimensionsAreRejected()
    {
        var m = SmallGraph().ToModel();
        var w = m.Graph!.Initializer.First(t => t.Name == "conv.b");
        w.Dims.Clear();
        w.Dims.AddRange(Enumerable.Repeat(1L, 20));
        Assert.Throws<OnnxFormatException>(() => FloatGraph.FromModel(m));
    }

    [Fact]
    public void FileOverSizeLimitIsRejected()
    {
        byte[] bytes = SmallGraph().ToBytes();
        var e = Assert.Throws<OnnxFormatException>(() => FloatGraph.FromBytes(bytes, new OnnxReadLimits { MaxFileBytes = 100 }));
        Assert.Contains("limit", e.Message);
    }

    [Fact]
    public void NotProtobufIsRejected()
    {
        Assert.Throws<OnnxFormatException>(() => FloatGraph.FromBytes("hello, this is not onnx"u8.ToArray()));
        Assert.Throws<OnnxFormatException>(() => FloatGraph.FromBytes([]));
    }

    [Fact]
    public void TruncatedAndMutatedFilesFailCleanly()
    {
        byte[] good = SmallGraph().ToBytes();
        var rng = new Random(1234);
        int rejected = 0;
        for (int trial = 0; trial < 400; trial++)
        {
            byte[] bad;
            if (trial < 100)
            {
                bad = good[..rng.Next(good.Length)];
            }
            else
            {
                bad = (byte[])good.Clone();
                int flips = 1 + rng.Next(4);
                for (int f = 0; f < flips; f++) bad[rng.Next(bad.Length)] = (byte)rng.Next(256);
            }
            try
            {
                FloatGraph.FromBytes(bad);
            }
            catch (OnnxFormatException)
            {
                rejected++;
            }
        }
        // Every truncation cuts into a sub-message or a value; most mutations break something.
        Assert.True(rejected >= 100, $"only {rejected} of 400 corrupt files were rejected");
    }

    [Fact]
    public void UnknownFieldsAreSkipped()
    {
        byte[] good = SmallGraph().ToBytes();
        // Append field 20 (ModelProto.training_info, not read here) with a small length-delimited payload.
        byte[] extra = [0xA2, 0x01, 3, 1, 2, 3]; // tag (20 << 3) | 2 = 162 as a two-byte varint
        var g = FloatGraph.FromBytes([.. good, .. extra]);
        Assert.Equal(4, g.Nodes.Count);
    }

    [Fact]
    public void PackedAndUnpackedRepeatedFieldsBothRead()
    {
        // TensorProto: dims=2 (unpacked, field 1 varint), dims=2 (again), data_type=FLOAT, float_data unpacked x4.
        var bytes = new List<byte> { 0x08, 2, 0x08, 2, 0x10, 1 };
        foreach (float f in new[] { 1f, 2f, 3f, 4f })
        {
            bytes.Add((4 << 3) | 5);
            bytes.AddRange(BitConverter.GetBytes(f));
        }
        var t = OnnxTensor.FromProto(OnnxProtoReader.ReadTensor([.. bytes]), OnnxReadLimits.Default);
        Assert.Equal([2, 2], t.Dims);
        Assert.Equal([1f, 2f, 3f, 4f], t.Floats!);
    }
}
