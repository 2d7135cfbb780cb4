using System.Buffers.Binary;
using System.Text;
using Cnn.Edge.Format;

namespace Cnn.Edge.Tests;

public class FormatTests
{
    [Fact]
    public void Crc32MatchesTheZlibCheckValue()
    {
        Assert.Equal(0xCBF43926u, Crc32.Compute(Encoding.ASCII.GetBytes("123456789")));
        Assert.Equal(0u, Crc32.Compute([]));
    }

    [Fact]
    public void HeaderFieldsAreWhereTheDocumentSaysTheyAre()
    {
        byte[] f = BuilderModels.Chain();
        Assert.Equal("CNNQ", Encoding.ASCII.GetString(f, 0, 4));
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(f.AsSpan(4)));
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(f.AsSpan(6)));
        Assert.Equal(80u, BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(8)));
        Assert.Equal((uint)f.Length, BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(12)));
        Assert.Equal(Crc32.OfModelFile(f), BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(16)));
        var copy = (byte[])f.Clone();
        copy.AsSpan(16, 4).Clear();
        Assert.Equal(Crc32.Compute(copy), BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(16)));
        Assert.Equal(80u, BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(24))); // tensors right after the header
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(72)) % 64); // data section 64-aligned
    }

    [Fact]
    public void RoundTripKeepsTensorsOpsIoAndMetadata()
    {
        ModelBuilder b = BuilderModels.ChainBuilder();
        EdgeModel m = EdgeModel.Load(b.Build());
        Assert.Equal(b.TensorCount, m.Tensors.Count);
        Assert.Equal(b.OpCount, m.Ops.Count);
        Assert.Equal("rgb", m.Metadata["input.layout"]);
        Assert.Equal(["image"], m.Inputs.Select(i => m.Tensors[i].Name));
        Assert.Equal(["softmax"], m.Outputs.Select(i => m.Tensors[i].Name));
        OpInfo conv1 = m.Ops.Single(o => o.Name == "conv1");
        Assert.Equal(OpCode.Conv2D, conv1.Code);
        Assert.Equal([1, 1, 1, 1, 1, 1, 1, 1, 1, -20, 127], conv1.Params);
        Assert.Equal([1, 16, 16, 8], m.Tensors[conv1.Outputs[0]].Shape);
        TensorInfo w = m.Tensors[conv1.Inputs[1]];
        Assert.True(w.IsConstant);
        Assert.Equal(-1, w.ArenaOffset);
        Assert.Equal(8, w.ChannelScales!.Length);
        Assert.Equal(8 * 3 * 3 * 3, m.ConstantBytes(w.Index).Length);
        Assert.Equal(0.05f, m.Tensors[conv1.Outputs[0]].Scale);
        Assert.Equal(-20, m.Tensors[conv1.Outputs[0]].ZeroPoint);
    }

    [Fact]
    public unsafe void ConstantsAreSlicesOfOneAlignedPinnedBufferNotCopies()
    {
        EdgeModel m = EdgeModel.Load(BuilderModels.Branchy());
        object? owner = null;
        foreach (TensorInfo t in m.Tensors.Where(t => t.IsConstant))
        {
            Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(t.Data, out ArraySegment<byte> seg));
            owner ??= seg.Array;
            Assert.Same(owner, seg.Array); // one buffer for the whole file
            fixed (byte* p = t.Data.Span) Assert.Equal(0, (long)p % 64);
        }
        // The same span twice: in place, not a fresh copy per call.
        var wi = m.Tensors.First(t => t.IsConstant).Index;
        Assert.True(m.ConstantBytes(wi) == m.ConstantBytes(wi));
    }

    [Fact]
    public void LoadFileReadsWhatBuildToFileWrote()
    {
        string dir = Directory.CreateTempSubdirectory("cnn-format-").FullName;
        try
        {
            string path = Path.Combine(dir, "chain.cnnq");
            BuilderModels.ChainBuilder().BuildToFile(path);
            Assert.Equal([path], Directory.GetFiles(dir)); // no temp file left behind
            EdgeModel m = EdgeModel.LoadFile(path);
            Assert.Equal(new FileInfo(path).Length, m.FileBytes);
        }
        finally { Directory.Delete(dir, true); }
    }
}
