using System.Diagnostics;
using System.Runtime.InteropServices;
using Cnn.Edge;

namespace Cnn.Bench;

/// <summary>
/// `chunks MODEL K --threads N [--markers]`: the work of every chunk the interpreter splits each op into for N threads,
/// measured with every chunk run in turn on the calling thread, so that the figures do not depend on how many cores the
/// machine has or how the OS schedules the workers. bench/arm64-threads/bound.py turns them into the work of each of N
/// threads and the bound on the speed-up (the chunks of one op handed out in order to whichever thread is free first).
/// <para>Without --markers each chunk is timed (minimum over K inferences, ns). With --markers each chunk runs between
/// syscall(4242, id) and syscall(4243, id), id = op &lt;&lt; 12 | chunk, for bench/arm64-threads/threadcount.c, the QEMU
/// plugin that counts the instructions in between; 64 empty regions (id 0xFFFFFF) measure the markers' own cost, and
/// each inference as a whole is region 0xFFFFFE (its instructions outside the chunks: the input copy, the op loop).</para>
/// </summary>
internal static class ChunkSuite
{
    public const int EmptyRegion = 0xFFFFFF, InferenceRegion = 0xFFFFFE;

    [DllImport("libc.so.6", EntryPoint = "syscall")]
    private static extern long Syscall(long number, long id);

    public static int Run(string model, EdgeRunner r, int k, bool markers)
    {
        var m = r.Model;
        int ops = m.Ops.Count;
        int[] chunks = Enumerable.Range(0, ops).Select(r.ChunksOf).ToArray();
        if (chunks.Max() >= 1 << 12) throw new InvalidOperationException("more than 4095 chunks in one op: region ids overflow");
        Console.WriteLine($"model {model} isa={r.Isa} threads={r.Threads} inferences={k} unit={(markers ? "insns" : "ns")}");
        for (int i = 0; i < ops; i++)
            Console.WriteLine($"op {i} chunks {chunks[i]} kind {LayerKinds.Kind(m.Ops[i], m.Tensors)} macs {LayerKinds.Macs(m.Ops[i], m.Tensors)} name {m.Ops[i].Name} shape {string.Join('x', m.Tensors[m.Ops[i].Outputs[0]].Shape)}");
        if (markers)
        {
            for (int i = 0; i < 64; i++)
            {
                Syscall(4242, EmptyRegion);
                Syscall(4243, EmptyRegion);
            }
            for (int n = 0; n < k; n++)
            {
                Syscall(4242, InferenceRegion);
                r.WriteInput();
                for (int i = 0; i < ops; i++)
                    for (int c = 0; c < chunks[i]; c++)
                    {
                        Syscall(4242, i << 12 | c);
                        r.InvokeChunk(i, c);
                        Syscall(4243, i << 12 | c);
                    }
                Syscall(4243, InferenceRegion);
            }
            Console.WriteLine($"checksum={r.OutputChecksum()}");
            return 0;
        }
        var best = new long[ops][];
        for (int i = 0; i < ops; i++) best[i] = Enumerable.Repeat(long.MaxValue, chunks[i]).ToArray();
        for (int n = 0; n < k; n++)
        {
            r.WriteInput();
            for (int i = 0; i < ops; i++)
                for (int c = 0; c < chunks[i]; c++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    r.InvokeChunk(i, c);
                    best[i][c] = Math.Min(best[i][c], Stopwatch.GetTimestamp() - t0);
                }
        }
        double ns = 1e9 / Stopwatch.Frequency;
        for (int i = 0; i < ops; i++)
            for (int c = 0; c < chunks[i]; c++)
                Console.WriteLine($"region {i << 12 | c} ns {(long)(best[i][c] * ns)} calls 1");
        Console.WriteLine($"checksum={r.OutputChecksum()}");
        return 0;
    }
}
