namespace Cnn.Edge.AotTests;

/// <summary>
/// Kernels through the interpreter: every ISA this CPU supports against KernelIsa.Scalar (the
/// reference), bit for bit, over random shapes; and the interpreter's fixed-memory promises.
/// </summary>
public static class ModelChecks
{
    public static void Conv2DMatchesScalar() => Sweep(RandomModels.Conv2D, seed: 101, cases: 120);

    public static void FullyConnectedMatchesScalar() => Sweep(RandomModels.FullyConnected, seed: 202, cases: 120);

    public static void NetworkMatchesScalar() => Sweep(RandomModels.Network, seed: 303, cases: 12);

    /// <summary>After construction an inference allocates nothing, whatever the ISA (DESIGN.md: memory).</summary>
    public static void InvokeAllocatesNothing()
    {
        var (file, what) = RandomModels.Network(new Random(404));
        var model = EdgeModel.Load(file);
        foreach (var isa in Cpu.SupportedIsas())
        {
            using var interp = new Interpreter(model, new InterpreterOptions { Isa = isa });
            RandomModels.Int8(new Random(1), interp.InputInt8().Length).CopyTo(interp.InputInt8());
            interp.Invoke();
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 50; i++) interp.Invoke();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Expect.Equal(0L, allocated, $"bytes allocated by 50 invokes with {isa} ({what})");
        }
    }

    /// <summary>A budget below the plan is refused at construction, naming the missing bytes.</summary>
    public static void BudgetBelowPlanIsRefused()
    {
        var (file, _) = RandomModels.Network(new Random(505));
        var model = EdgeModel.Load(file);
        long budget = model.Plan.ArenaBytes / 2;
        var e = Expect.Throws<ArenaBudgetException>(() => new Interpreter(model, new InterpreterOptions { BudgetBytes = budget }), "budget of half the arena");
        Expect.True(e.MissingBytes > 0 && e.RequiredBytes > budget, $"ArenaBudgetException says required {e.RequiredBytes}, missing {e.MissingBytes} for budget {budget}");
    }

    private static void Sweep(Func<Random, (byte[] File, string Description)> make, int seed, int cases)
    {
        var isas = Cpu.SupportedIsas();
        if (isas.Count < 2) throw new SkipException("this CPU has no SIMD ISA to compare with Scalar");
        var rng = new Random(seed);
        for (int c = 0; c < cases; c++)
        {
            var (file, what) = make(rng);
            var model = EdgeModel.Load(file);
            var input = RandomModels.Int8(rng, model.Tensors[model.Inputs[0]].ElementCount);
            var expected = Run(model, KernelIsa.Scalar, input);
            foreach (var isa in isas)
            {
                if (isa == KernelIsa.Scalar) continue;
                Expect.SameBytes(expected, Run(model, isa, input), $"case {c} {isa} vs Scalar, {what}");
            }
        }
    }

    private static sbyte[] Run(EdgeModel model, KernelIsa isa, sbyte[] input)
    {
        using var interp = new Interpreter(model, new InterpreterOptions { Isa = isa });
        input.CopyTo(interp.InputInt8());
        interp.Invoke();
        return interp.OutputInt8().ToArray();
    }
}
