namespace Cnn.Edge.Tests.Simd;

/// <summary>Whole models through the Interpreter: every ISA this CPU has gives the reference's output bytes.</summary>
public class ModelEquivalenceTests
{
    [Fact]
    public void EverySupportedIsaMatchesTheScalarInterpreterOnBuilderModels()
    {
        int compared = 0;
        foreach (byte[] file in new[] { BuilderModels.Chain(), BuilderModels.Branchy() })
        {
            var model = EdgeModel.Load(file);
            byte[] expected = Run(model, KernelIsa.Scalar);
            foreach (KernelIsa isa in Cnn.Edge.Kernels.KernelSelector.Supported())
            {
                if (isa == KernelIsa.Scalar) continue;
                byte[] got = Run(model, isa);
                Assert.True(expected.AsSpan().SequenceEqual(got), $"{isa}: output of a {model.Ops.Count}-op builder model differs from the scalar reference");
                compared++;
            }
        }
        Assert.True(compared > 0, "no optimized ISA on this CPU");
    }

    private static byte[] Run(EdgeModel model, KernelIsa isa)
    {
        using var it = new Interpreter(model, new InterpreterOptions { Isa = isa });
        Assert.Equal(isa, it.Isa);
        var rng = new Random(11);
        if (model.Tensors[model.Inputs[0]].Type == TensorType.Float32)
            foreach (ref float v in it.InputFloat()) v = (float)(rng.NextDouble() * 2 - 1);
        else
            foreach (ref sbyte v in it.InputInt8()) v = (sbyte)rng.Next(-128, 128);
        it.Invoke();
        return it.TensorBytes(model.Outputs[0]).ToArray();
    }
}
