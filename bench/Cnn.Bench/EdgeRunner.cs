using Cnn.Edge;

namespace Cnn.Bench;

/// <summary>
/// Our runtime as a device runs it: an <see cref="Interpreter"/> with a chosen ISA and thread count, fed one
/// fixed random input before every inference (the plan may reuse the input's bytes once it is dead).
/// Invoke allocates nothing.
/// </summary>
public sealed class EdgeRunner : IDisposable
{
    private readonly Interpreter _it;
    private readonly sbyte[] _input;

    public EdgeModel Model { get; }
    public KernelIsa Isa => _it.Isa;
    public int Threads => _it.Threads;

    /// <summary>Inverted-residual blocks fused into one op each (<see cref="InterpreterOptions.FuseBlocks"/>).</summary>
    public int FusedBlocks => _it.FusedBlocks;
    public int ArenaBytes => _it.ArenaBytes;
    public int ScratchBytes => _it.ScratchBytes;

    public EdgeRunner(EdgeModel model, KernelIsa isa, int threads = 1, bool fuse = true)
    {
        Model = model;
        _it = new Interpreter(model, new InterpreterOptions { Isa = isa, Threads = threads, FuseBlocks = fuse });
        _input = new sbyte[_it.InputInt8().Length];
        new Random(5).NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(_input.AsSpan()));
    }

    /// <summary>One inference: writes the input, runs every op.</summary>
    public void Invoke()
    {
        WriteInput();
        _it.Invoke();
    }

    /// <summary>One inference, calling <paramref name="afterOp"/> after each op (per-op timing).</summary>
    public void Invoke(Action<int> afterOp)
    {
        _input.CopyTo(_it.InputInt8());
        _it.Invoke(afterOp);
    }

    public void InvokeOp(int i) => _it.InvokeOp(i);

    /// <summary>Each op's minimum time (ms) over <paramref name="runs"/> inferences after one, timed between afterOp callbacks
    /// (the machine is shared: the minimum is the least disturbed).</summary>
    public double[] PerOpMinimaMs(int runs)
    {
        Invoke();
        var per = Enumerable.Repeat(double.MaxValue, Model.Ops.Count).ToArray();
        for (int k = 0; k < runs; k++)
        {
            long last = System.Diagnostics.Stopwatch.GetTimestamp();
            Invoke(i =>
            {
                long now = System.Diagnostics.Stopwatch.GetTimestamp();
                per[i] = Math.Min(per[i], System.Diagnostics.Stopwatch.GetElapsedTime(last, now).TotalMilliseconds);
                last = now;
            });
        }
        return per;
    }

    /// <summary>Writes the input (before running an inference op by op or chunk by chunk).</summary>
    public void WriteInput() => _input.CopyTo(_it.InputInt8());

    /// <summary>Into how many chunks op <paramref name="i"/> splits on this runner's threads.</summary>
    public int ChunksOf(int i) => _it.ChunksOf(i);

    /// <summary>Chunk <paramref name="c"/> of op <paramref name="i"/> on the calling thread.</summary>
    public void InvokeChunk(int i, int c) => _it.InvokeChunk(i, c);

    public ReadOnlySpan<byte> OpOutput(int i) => _it.TensorBytes(Model.Ops[i].Outputs[0]);

    /// <summary>Whether op <paramref name="i"/>'s output is in the arena (not inside a fused block).</summary>
    public bool HasOpOutput(int i) => _it.IsMaterialized(Model.Ops[i].Outputs[0]);

    /// <summary>A checksum of the output, to check that every ISA and thread count computes the same thing.</summary>
    public long OutputChecksum()
    {
        long sum = 0;
        foreach (byte b in _it.TensorBytes(Model.Outputs[0])) sum = sum * 31 + b;
        return sum;
    }

    public void Dispose() => _it.Dispose();
}
