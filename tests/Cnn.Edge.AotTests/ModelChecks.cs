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

    /// <summary>
    /// The worker pool under NativeAOT: 2-4 threads, every op split (MinWorkPerChunk = 1), give the bytes of one
    /// thread with every ISA; a threaded inference allocates nothing; Dispose stops the workers.
    /// </summary>
    public static void ThreadsMatchOneThread()
    {
        var rng = new Random(606);
        for (int c = 0; c < 6; c++)
        {
            var (file, what) = RandomModels.Network(rng);
            var model = EdgeModel.Load(file);
            var input = RandomModels.Int8(rng, model.Tensors[model.Inputs[0]].ElementCount);
            foreach (var isa in Cpu.SupportedIsas())
            {
                var expected = Run(model, isa, input, threads: 1);
                for (int t = 2; t <= 4; t++)
                    Expect.SameBytes(expected, Run(model, isa, input, threads: t), $"case {c} {isa} {t} threads vs 1, {what}");
            }
        }
    }

    public static void ThreadedInvokeAllocatesNothing()
    {
        var (file, what) = RandomModels.Network(new Random(707));
        var model = EdgeModel.Load(file);
        var interp = new Interpreter(model, new InterpreterOptions { Threads = 3, MinWorkPerChunk = 1 });
        RandomModels.Int8(new Random(1), interp.InputInt8().Length).CopyTo(interp.InputInt8());
        interp.Invoke();
        long before = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < 50; i++) interp.Invoke();
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Expect.True(allocated < 1024, $"50 invokes on 3 threads allocated {allocated} bytes in the process ({what})");
        var disposer = new Thread(interp.Dispose);
        disposer.Start();
        Expect.True(disposer.Join(TimeSpan.FromSeconds(30)), "Dispose of a 3-thread interpreter returned within 30 s");
    }

    /// <summary>
    /// Workers that fall asleep between inferences (gaps longer than the pool's spin time, as a camera loop has) allocate
    /// nothing either: under NativeAOT a thread's first Monitor.Wait allocates its waiter, which the pool does at construction.
    /// </summary>
    public static void ThreadedInvokeAfterIdleAllocatesNothing()
    {
        var (file, what) = RandomModels.Network(new Random(708));
        var model = EdgeModel.Load(file);
        using var interp = new Interpreter(model, new InterpreterOptions { Threads = 3, MinWorkPerChunk = 1 });
        RandomModels.Int8(new Random(2), interp.InputInt8().Length).CopyTo(interp.InputInt8());
        interp.Invoke();
        long before = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < 5; i++)
        {
            Thread.Sleep(20); // well past the workers' spin (about 1 ms): they sleep on the monitor
            interp.Invoke();
        }
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Expect.True(allocated < 1024, $"5 invokes on 3 threads after idle gaps allocated {allocated} bytes in the process ({what})");
    }

    /// <summary>
    /// Fused inverted-residual blocks under NativeAOT: fused on 1-3 threads gives the Scalar bytes (and the unfused ISA's) with every ISA,
    /// and a fused inference, on one thread or three, allocates nothing.
    /// </summary>
    public static void FusedBlocksMatchScalarAndAllocateNothing()
    {
        var rng = new Random(808);
        for (int c = 0; c < 8; c++)
        {
            var (file, what) = RandomModels.InvertedResiduals(rng);
            var model = EdgeModel.Load(file);
            var input = RandomModels.Int8(rng, model.Tensors[model.Inputs[0]].ElementCount);
            var expected = Run(model, KernelIsa.Scalar, input);
            foreach (var isa in Cpu.SupportedIsas())
            {
                if (isa == KernelIsa.Scalar) continue;
                Expect.SameBytes(expected, Run(model, isa, input, fuse: false), $"case {c} {isa} unfused vs Scalar, {what}");
                for (int t = 1; t <= 3; t++)
                {
                    using var interp = new Interpreter(model, new InterpreterOptions { Isa = isa, Threads = t, MinWorkPerChunk = 1, FuseBlocks = true });
                    Expect.Equal(2, interp.FusedBlocks, $"fused blocks, case {c} {isa}, {what}");
                    input.CopyTo(interp.InputInt8());
                    interp.Invoke();
                    Expect.SameBytes(expected, interp.OutputInt8(), $"case {c} {isa} fused on {t} threads vs Scalar, {what}");
                    long before = GC.GetTotalAllocatedBytes(precise: true);
                    for (int i = 0; i < 20; i++) interp.Invoke();
                    long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
                    Expect.True(allocated < 1024, $"20 fused invokes on {t} threads allocated {allocated} bytes in the process ({isa}, {what})");
                }
            }
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

    private static sbyte[] Run(EdgeModel model, KernelIsa isa, sbyte[] input, int threads = 1, bool fuse = true)
    {
        using var interp = new Interpreter(model, new InterpreterOptions { Isa = isa, Threads = threads, MinWorkPerChunk = threads > 1 ? 1 : InterpreterOptions.DefaultMinWorkPerChunk, FuseBlocks = fuse });
        input.CopyTo(interp.InputInt8());
        interp.Invoke();
        return interp.OutputInt8().ToArray();
    }
}
