namespace Cnn.Edge.Tests;

public class BuilderTests
{
    [Fact]
    public void TypedHelpersInferOutputShapes()
    {
        var b = new ModelBuilder();
        var rng = new Random(4);
        int x = b.AddInput("x", TensorType.Int8, [1, 9, 11, 4], 0.1f, 0);
        var (w, bias) = BuilderModels.Weights(b, "c", rng, 6, 3, 3, 4);
        // stride 2, pads (1,0,1,0): OH = (9+2-3)/2+1 = 5, OW = (11+0-3)/2+1 = 5.
        int c = b.Conv2D("c", x, w, bias, new ConvParams(2, 2, 1, 1, 1, 0, 1, 0, 1, -128, 127), 0.1f, 0);
        Assert.Equal([1, 5, 5, 6], b.ShapeOf(c));
        var (dw, db) = BuilderModels.Weights(b, "dw", rng, 12, 3, 3, 1); // channel multiplier 2
        int d = b.DepthwiseConv2D("dw", c, dw, db, BuilderModels.Conv(), 0.1f, 0);
        Assert.Equal([1, 5, 5, 12], b.ShapeOf(d));
        int p = b.AveragePool2D("avg", d, new PoolParams(2, 2, 2, 2, 0, 0, 0, 0, true, false, -128, 127));
        Assert.Equal([1, 3, 3, 12], b.ShapeOf(p)); // ceil mode: (5-2)/2 rounded up + 1
        int g = b.GlobalMaxPool("gmax", p);
        Assert.Equal([1, 1, 1, 12], b.ShapeOf(g));
        int r = b.Reshape("flat", g, [1, 12]);
        var (fw, fb) = BuilderModels.Weights(b, "fc", rng, 3, 0, 0, 12);
        int fc = b.FullyConnected("fc", r, fw, fb, 0.2f, 0);
        Assert.Equal([1, 3], b.ShapeOf(fc));
        int sm = b.Softmax("sm", fc);
        b.MarkOutput(sm);
        EdgeModel m = EdgeModel.Load(b.Build());
        Assert.Equal(TensorType.Float32, m.Tensors[sm].Type);
        Assert.Equal(6, m.Ops[1].Params[8]); // depthwise: groups = the 6 input channels
    }

    [Fact]
    public void AnInconsistentOpIsRefusedAndLeavesTheBuilderUnchanged()
    {
        var b = new ModelBuilder();
        var rng = new Random(4);
        int x = b.AddInput("x", TensorType.Int8, [1, 4, 4, 3], 0.1f, 0);
        var (w, bias) = BuilderModels.Weights(b, "c", rng, 6, 3, 3, 5); // Cin 5 != 3
        int tensors = b.TensorCount;
        var e = Assert.Throws<ModelFormatException>(() => b.Conv2D("c", x, w, bias, BuilderModels.Conv(), 0.1f, 0));
        Assert.Contains("'c'", e.Message);
        Assert.Equal(tensors, b.TensorCount);
        Assert.Equal(0, b.OpCount);
        Assert.Throws<ModelFormatException>(() => b.Reshape("r", x, [1, 47])); // 47 != 48 elements
        Assert.Equal(tensors, b.TensorCount);
        Assert.Throws<ArgumentOutOfRangeException>(() => b.AddActivation("y", TensorType.Int8, [1, 2], 0f));
        Assert.Throws<ArgumentException>(() => b.AddConstantInt8("w", [2, 2], new sbyte[3], [1f, 1f]));
        Assert.Throws<ArgumentOutOfRangeException>(() => b.AddConstantInt8("w", [1, 2], [5, -128], [1f]));
        Assert.Throws<InvalidOperationException>(() => b.Build()); // no op, no output
    }

    [Fact]
    public void BuildVerifiesRawOpsByLoadingThem()
    {
        var b = new ModelBuilder();
        int x = b.AddInput("x", TensorType.Int8, [1, 4, 4, 2], 0.1f, 0);
        int y = b.AddActivation("y", TensorType.Int8, [1, 4, 4, 2], 0.1f, 0); // wrong: pool 2x2 s2 gives 2x2
        b.AddOp(OpCode.MaxPool2D, "pool", [x], [y], ModelBuilder.Slots(BuilderModels.Pool()));
        b.MarkOutput(y);
        var e = Assert.Throws<ModelFormatException>(() => b.Build());
        Assert.Equal("ops", e.Section);
        Assert.Contains("pool", e.Message);
    }

    [Fact]
    public void WritingAFileReplacesItWholeAndLeavesNoTemporaryFile()
    {
        string dir = Directory.CreateTempSubdirectory("cnn-builder-").FullName;
        try
        {
            string path = Path.Combine(dir, "m.cnnq");
            File.WriteAllText(path, "old contents");
            byte[] bytes = BuilderModels.Branchy();
            ModelBuilder.WriteFileAtomically(path, bytes);
            Assert.Equal(bytes, File.ReadAllBytes(path));
            Assert.Single(Directory.GetFiles(dir));
            Assert.Throws<DirectoryNotFoundException>(() => ModelBuilder.WriteFileAtomically(Path.Combine(dir, "no", "m.cnnq"), bytes));
            Assert.Single(Directory.GetFiles(dir));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void MetadataIsKeptAndTheLastValueOfAKeyWins()
    {
        var b = BuilderModels.BranchyBuilder();
        b.SetMetadata("input.layout", "grey");
        b.SetMetadata("input.layout", "rgb");
        b.SetMetadata("labels", "zero,one,二");
        EdgeModel m = EdgeModel.Load(b.Build());
        Assert.Equal("rgb", m.Metadata["input.layout"]);
        Assert.Equal("zero,one,二", m.Metadata["labels"]);
        Assert.Equal(2, m.Metadata.Count);
    }
}
