using System.Buffers.Binary;
using Cnn.Edge.Format;

namespace Cnn.Edge.Tests;

/// <summary>Hand-made corruptions, each expected to be named by the loader's section (and the checksum recomputed so the deep checks run).</summary>
public class LoaderTests
{
    internal static int U32(byte[] f, int at) => BinaryPrimitives.ReadInt32LittleEndian(f.AsSpan(at));
    internal static void Put(byte[] f, int at, int v) => BinaryPrimitives.WriteInt32LittleEndian(f.AsSpan(at), v);
    internal static void PutF(byte[] f, int at, float v) => BinaryPrimitives.WriteSingleLittleEndian(f.AsSpan(at), v);
    internal static void Reseal(byte[] f) => Put(f, ModelLayout.HCrc, (int)Crc32.OfModelFile(f));

    private static int TensorRecord(byte[] f, int i) => U32(f, ModelLayout.HTensorsOffset) + i * ModelLayout.TensorRecordSize;
    private static int PlanEntry(byte[] f, int i) => U32(f, ModelLayout.HPlanOffset) + ModelLayout.PlanHeaderSize + 4 * i;

    private static ModelFormatException Rejects(byte[] f, string section, bool reseal = true)
    {
        if (reseal) Reseal(f);
        var e = Assert.Throws<ModelFormatException>(() => EdgeModel.Load(f));
        Assert.Equal(section, e.Section);
        Assert.False(string.IsNullOrEmpty(e.Expected));
        Assert.False(string.IsNullOrEmpty(e.Actual));
        Assert.InRange(e.Offset, 0, f.Length);
        return e;
    }

    private static (byte[] File, EdgeModel Model) Fresh()
    {
        byte[] f = BuilderModels.Branchy();
        return (f, EdgeModel.Load(f));
    }

    [Fact]
    public void HeaderProblemsAreNamed()
    {
        var (f, _) = Fresh();
        Assert.Contains("truncated", Rejects(f[..40], "header", reseal: false).Hint);
        Assert.Contains("truncated", Rejects(f[..^1], "header", reseal: false).Hint);

        byte[] g = (byte[])f.Clone();
        g[0] = (byte)'X';
        Assert.Contains("not a Cnn edge model", Rejects(g, "header").Hint);

        g = (byte[])f.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(g.AsSpan(4), 2);
        var e = Rejects(g, "header");
        Assert.Equal("2.0", e.Actual);
        Assert.Contains("format 1.0", e.Hint);

        g = (byte[])f.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(g.AsSpan(6), 3);
        Assert.Contains("newer", Rejects(g, "header").Hint);

        g = (byte[])f.Clone();
        g[^1] ^= 0x10; // checksum left as it was
        e = Rejects(g, "header", reseal: false);
        Assert.Equal(ModelLayout.HCrc, e.Offset);
        Assert.Contains("corrupt", e.Hint);

        g = (byte[])f.Clone();
        Put(g, ModelLayout.HTensorCount, 70000);
        Assert.Equal(ModelLayout.HTensorCount, Rejects(g, "header").Offset);

        g = (byte[])f.Clone();
        Put(g, ModelLayout.HDataOffset, U32(g, ModelLayout.HDataOffset) + 4); // data no longer 64-aligned
        Assert.Equal(ModelLayout.HDataOffset, Rejects(g, "header").Offset);
    }

    [Fact]
    public void TensorProblemsAreNamed()
    {
        var (f, m) = Fresh();
        int input = m.Inputs[0];
        int weights = m.Tensors.First(t => t.IsConstant && t.Type == TensorType.Int8).Index;

        byte[] g = (byte[])f.Clone();
        Put(g, TensorRecord(g, input) + ModelLayout.TZeroPoint, 200);
        Assert.Contains("[-128, 127]", Rejects(g, "tensors").Expected);

        g = (byte[])f.Clone();
        PutF(g, TensorRecord(g, input) + ModelLayout.TScale, float.NaN);
        Assert.Contains("positive and finite", Rejects(g, "tensors").Expected);

        g = (byte[])f.Clone();
        PutF(g, TensorRecord(g, input) + ModelLayout.TScale, -0.5f);
        Rejects(g, "tensors");

        g = (byte[])f.Clone();
        Put(g, TensorRecord(g, weights) + ModelLayout.TZeroPoint, 1);
        Assert.Contains("zero point 0", Rejects(g, "tensors").Expected);

        g = (byte[])f.Clone();
        Put(g, TensorRecord(g, weights) + ModelLayout.TScalesCount, m.Tensors[weights].Shape[0] - 1);
        Assert.Contains("one scale per output channel", Rejects(g, "tensors").Expected);

        g = (byte[])f.Clone();
        PutF(g, U32(g, TensorRecord(g, weights) + ModelLayout.TScalesOffset), 0f);
        Assert.Contains("channel scale", Rejects(g, "tensors").Expected);

        g = (byte[])f.Clone();
        Put(g, TensorRecord(g, weights) + ModelLayout.TDataOffset, g.Length - 64);
        Rejects(g, "tensors");

        g = (byte[])f.Clone();
        Put(g, TensorRecord(g, input) + ModelLayout.TShape + 4, -3);
        Rejects(g, "tensors");

        g = (byte[])f.Clone();
        Put(g, TensorRecord(g, input) + ModelLayout.TShape + 4, 1 << 20);
        Put(g, TensorRecord(g, input) + ModelLayout.TShape + 8, 1 << 20);
        Assert.Contains("elements", Rejects(g, "tensors").Expected);

        g = (byte[])f.Clone();
        int name = U32(g, ModelLayout.HStringsOffset) + U32(g, TensorRecord(g, input) + ModelLayout.TNameOffset);
        g[name] = 0xC3; g[name + 1] = 0x28; // an invalid 2-byte UTF-8 sequence
        Assert.Equal("UTF-8 text", Rejects(g, "tensors").Expected);

        g = (byte[])f.Clone();
        g[TensorRecord(g, input) + ModelLayout.TType] = 9;
        Rejects(g, "tensors");
    }

    [Fact]
    public void OpProblemsAreNamedWithTheOp()
    {
        var (f, m) = Fresh();
        int ops = U32(f, ModelLayout.HOpsOffset);

        byte[] g = (byte[])f.Clone();
        Put(g, ops + ModelLayout.OpHeaderSize, 5000); // first op's first input
        var e = Rejects(g, "ops");
        Assert.Equal(ops + ModelLayout.OpHeaderSize, e.Offset);

        g = (byte[])f.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(g.AsSpan(ops), 99);
        Assert.Contains("op code", Rejects(g, "ops").Expected);

        // Conv stride 1 -> 2 on op 0: its output shape no longer matches the stored tensor.
        g = (byte[])f.Clone();
        OpInfo conv = m.Ops[0];
        Assert.Equal(OpCode.Conv2D, conv.Code);
        Put(g, ops + ModelLayout.OpHeaderSize + 4 * (conv.Inputs.Length + conv.Outputs.Length), 2);
        e = Rejects(g, "ops");
        Assert.Equal(conv.FileOffset, e.Offset);
        Assert.Contains("'a'", e.Hint);

        // Op 1 reads its own output: a tensor read before it is written.
        g = (byte[])f.Clone();
        int op1 = (int)m.Ops[1].FileOffset;
        Put(g, op1 + ModelLayout.OpHeaderSize, m.Ops[1].Outputs[0]);
        Assert.Contains("read before", Rejects(g, "ops").Actual);

        // The weights slot pointing at an activation.
        g = (byte[])f.Clone();
        Put(g, ops + ModelLayout.OpHeaderSize + 4, m.Inputs[0]);
        Assert.Contains("constant", Rejects(g, "ops").Expected);
    }

    [Fact]
    public void PlanProblemsAreNamed()
    {
        var (f, m) = Fresh();
        ArenaPlan p = m.Plan;
        // Two activations alive together at the peak op, moved onto one offset.
        var alive = p.AliveAt(p.PeakOpIndex);
        byte[] g = (byte[])f.Clone();
        Put(g, PlanEntry(g, alive[1]), m.Tensors[alive[0]].ArenaOffset);
        var e = Rejects(g, "plan");
        Assert.Contains("alive at the same time", e.Expected);

        g = (byte[])f.Clone();
        Put(g, PlanEntry(g, alive[0]), p.ArenaBytes);
        Assert.Contains("inside the", Rejects(g, "plan").Expected);

        g = (byte[])f.Clone();
        Put(g, PlanEntry(g, alive[0]), m.Tensors[alive[0]].ArenaOffset + 8);
        Rejects(g, "plan");

        g = (byte[])f.Clone();
        Put(g, U32(g, ModelLayout.HPlanOffset) + ModelLayout.PLowerBound, p.LowerBoundBytes - 16);
        Assert.Contains("lower bound", Rejects(g, "plan").Expected);

        g = (byte[])f.Clone();
        Put(g, U32(g, ModelLayout.HPlanOffset) + ModelLayout.PArenaBytes, p.ArenaBytes + 16);
        Assert.Contains("arena size", Rejects(g, "plan").Expected);

        int constant = m.Tensors.First(t => t.IsConstant).Index;
        g = (byte[])f.Clone();
        Put(g, PlanEntry(g, constant), 0);
        Rejects(g, "plan");
    }

    [Fact]
    public void IoAndMetadataProblemsAreNamed()
    {
        ModelBuilder b = BuilderModels.BranchyBuilder();
        b.SetMetadata("k1", "v");
        b.SetMetadata("k2", "v");
        byte[] f = b.Build();
        EdgeModel m = EdgeModel.Load(f);

        byte[] g = (byte[])f.Clone();
        Put(g, U32(g, ModelLayout.HIoOffset), m.Tensors.First(t => t.IsConstant).Index);
        Rejects(g, "io");

        // Second key made to point at the first key's bytes.
        g = (byte[])f.Clone();
        int md = U32(g, ModelLayout.HMetadataOffset);
        Put(g, md + 16, U32(g, md));
        Put(g, md + 20, U32(g, md + 4));
        Assert.Equal("distinct keys", Rejects(g, "metadata").Expected);
    }
}
