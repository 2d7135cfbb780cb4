namespace Cnn.Edge.Tests;

public class InterpreterTests
{
    [Fact]
    public void InvokeAllocatesNothingOverAThousandRuns()
    {
        foreach (byte[] file in new[] { BuilderModels.Chain(), BuilderModels.Branchy() })
        {
            using var it = new Interpreter(EdgeModel.Load(file));
            var rng = new Random(3);
            if (it.Model.Tensors[it.Model.Inputs[0]].Type == TensorType.Float32)
                foreach (ref float v in it.InputFloat()) v = (float)rng.NextDouble();
            else
                foreach (ref sbyte v in it.InputInt8()) v = (sbyte)rng.Next(-128, 128);
            // Warm-up: the JIT, tiered compilation and static initializers may allocate once.
            for (int i = 0; i < 50; i++) it.Invoke();
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1000; i++) it.Invoke();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.Equal(0, allocated);
        }
    }

    [Fact]
    public void WarmUpAtLoadLeavesAZeroedArenaAndTheSameOutputs()
    {
        byte[] file = BuilderModels.Branchy();
        using var warm = new Interpreter(EdgeModel.Load(file));
        using var cold = new Interpreter(EdgeModel.Load(file), new InterpreterOptions { WarmUp = false });
        for (int t = 0; t < warm.Model.Tensors.Count; t++)
            if (!warm.Model.Tensors[t].IsConstant)
                Assert.True(warm.TensorBytes(t).IndexOfAnyExcept((byte)0) < 0, $"tensor {t} is not zero after the warm-up");
        foreach (var it in new[] { warm, cold })
        {
            var r = new Random(9);
            if (it.Model.Tensors[it.Model.Inputs[0]].Type == TensorType.Float32)
                foreach (ref float v in it.InputFloat()) v = (float)r.NextDouble();
            else
                foreach (ref sbyte v in it.InputInt8()) v = (sbyte)r.Next(-128, 128);
            it.Invoke();
        }
        int o = warm.Model.Outputs[0];
        Assert.True(warm.TensorBytes(o).SequenceEqual(cold.TensorBytes(o)));
    }

    [Fact]
    public void ChainModelRunsEndToEndAndTheSoftmaxSumsToOne()
    {
        using var it = new Interpreter(EdgeModel.Load(BuilderModels.Chain()));
        var rng = new Random(5);
        foreach (ref float v in it.InputFloat()) v = (float)rng.NextDouble() * 2 - 1;
        it.Invoke();
        ReadOnlySpan<float> probs = it.OutputFloat();
        Assert.Equal(10, probs.Length);
        float sum = 0;
        foreach (float p in probs) { Assert.InRange(p, 0f, 1f); sum += p; }
        Assert.InRange(sum, 0.99f, 1.01f);
        Assert.Throws<InvalidOperationException>(() => it.InputInt8());
        Assert.Throws<ArgumentOutOfRangeException>(() => it.OutputFloat(1));
    }

    [Fact]
    public void QuantizeThenDequantizeRoundTripsThroughTheArena()
    {
        var b = new ModelBuilder();
        int x = b.AddInput("x", TensorType.Float32, [1, 2, 2, 5]);
        int q = b.Quantize("q", x, 0.1f, 3);
        int d = b.Dequantize("d", q);
        b.MarkOutput(d);
        using var it = new Interpreter(EdgeModel.Load(b.Build()));
        float[] values = [-12.8f, -1.04f, -0.05f, 0, 0.04f, 0.26f, 1, 3.3f, 9.9f, 12.4f, 12.5f, 30f, -30f, 0.15f, 0.149f, 5, -5, 7.77f, 2.2f, -2.2f];
        values.CopyTo(it.InputFloat());
        it.Invoke();
        ReadOnlySpan<float> got = it.OutputFloat();
        for (int i = 0; i < values.Length; i++)
        {
            // int8 with scale 0.1 and zero point 3 covers [-13.1, 12.4]: values outside saturate.
            float expected = Math.Clamp(MathF.Round(values[i] / 0.1f, MidpointRounding.AwayFromZero) + 3, -128, 127) - 3;
            Assert.True(Math.Abs(got[i] - expected * 0.1f) < 1e-5f, $"element {i}: {values[i]} -> {got[i]}, expected {expected * 0.1f}");
        }
    }

    [Fact]
    public void AfterOpCallbackSeesEachOpOutputWhileAlive()
    {
        EdgeModel m = EdgeModel.Load(BuilderModels.Branchy());
        using var it = new Interpreter(m);
        it.InputInt8().Fill(7);
        var seen = new List<int>();
        it.Invoke(i =>
        {
            seen.Add(i);
            Assert.Equal(m.Tensors[m.Ops[i].Outputs[0]].ByteLength, it.TensorBytes(m.Ops[i].Outputs[0]).Length);
        });
        Assert.Equal(Enumerable.Range(0, m.Ops.Count), seen);
    }

    [Fact]
    public void ABudgetBelowThePlanIsRefusedWithThePeakOpAndTheMissingBytes()
    {
        EdgeModel m = EdgeModel.Load(BuilderModels.Branchy());
        long needed;
        using (var it = new Interpreter(m)) needed = it.ArenaBytes + it.ScratchBytes;
        using (new Interpreter(m, new InterpreterOptions { BudgetBytes = needed })) { }
        var e = Assert.Throws<ArenaBudgetException>(() => new Interpreter(m, new InterpreterOptions { BudgetBytes = needed - 100 }));
        Assert.Equal(100, e.MissingBytes);
        Assert.Equal(needed, e.RequiredBytes);
        Assert.Equal(m.Plan.PeakOpIndex, e.PeakOpIndex);
        Assert.Equal(m.Ops[m.Plan.PeakOpIndex].Name, e.PeakOpName);
        Assert.Equal(m.Plan.AliveAt(m.Plan.PeakOpIndex).Count, e.AliveTensors.Count);
        Assert.Contains("100 bytes missing", e.Message);
        Assert.Contains(e.PeakOpName, e.Message);
    }

    [Fact]
    public void EveryIsaThisCpuSupportsGivesTheScalarOutputsBitForBit()
    {
        EdgeModel m = EdgeModel.Load(BuilderModels.Branchy());
        var rng = new Random(8);
        var input = new sbyte[m.Tensors[m.Inputs[0]].ElementCount];
        foreach (ref sbyte v in input.AsSpan()) v = (sbyte)rng.Next(-128, 128);
        sbyte[] Run(KernelIsa isa)
        {
            using var it = new Interpreter(m, new InterpreterOptions { Isa = isa });
            input.CopyTo(it.InputInt8());
            it.Invoke();
            return it.OutputInt8().ToArray();
        }
        sbyte[] reference = Run(KernelIsa.Scalar);
        foreach (KernelIsa isa in Cnn.Edge.Kernels.KernelSelector.Supported())
            Assert.True(reference.AsSpan().SequenceEqual(Run(isa)), $"{isa} differs from Scalar");
        Assert.True(reference.AsSpan().SequenceEqual(Run(KernelIsa.Auto)));
    }
}
