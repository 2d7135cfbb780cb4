using System.Diagnostics;
using Cnn.Trainer.Kernels;

/// <summary>
/// --kernels: the GEMM shapes of the benchmark models, timed alone (best of 300 groups of 10 calls, so other load on
/// the machine inflates the figures less than it would a mean); GFLOP/s counts a multiply-add as two.
/// </summary>
internal static class KernelBench
{
    public static int Run()
    {
        // The first passes run while the JIT still has the tier-0 code of the kernels; only the last is printed.
        for (int pass = 0; pass < 3; pass++) Pass(print: pass == 2);
        return 0;
    }

    /// <summary>Busy work of a given length per chunk, to time parallel regions (hand-off cost = region time − chunk time).</summary>
    private sealed class Spin(int iterations) : IChunked
    {
        public double Sink;
        public int OnWorker;
        private static readonly int Main = Environment.CurrentManagedThreadId;
        public void RunChunk(int op, int chunk, int start, int end)
        {
            if (Environment.CurrentManagedThreadId != Main) OnWorker++;
            double x = chunk;
            for (int i = 0; i < iterations; i++) x = x * 0.999999 + 1e-9;
            Sink += x;
        }
    }

    private static void Pass(bool print)
    {
        foreach (int iters in new[] { 100, 1000, 10000, 50000 })
        {
            var spin = new Spin(iters);
            Time(print, $"chunk of {iters} steps, serial", 1, () => spin.RunChunk(0, 0, 0, 1));
            Time(print, $"region of 2 such chunks, 2 threads", 1, () => Par.ForChunks(2, 2, spin));
            // Median too: a region's cost is its typical hand-off, not its best one.
            MedianRegion(print, iters, spin);
            if (print) Console.WriteLine($"  chunks run by the worker: {spin.OnWorker}");
        }
        var rng = new Random(1);
        float[] R(int n) { var a = new float[n]; for (int i = 0; i < n; i++) a[i] = (float)rng.NextDouble(); return a; }
        // name, m, n, k, A transposed (A stored [k, m])
        (string Name, int M, int N, int K, bool TransA)[] nn =
        [
            ("lenet conv1 fwd", 6, 784, 25, false), ("lenet conv2 fwd", 16, 100, 150, false), ("lenet conv2 dcol", 150, 100, 16, true),
            ("lenet conv2 dW (colT)", 16, 150, 100, false), ("lenet conv2 dWt (dyT)", 150, 16, 100, false),
            ("stem fwd", 32, 784, 9, false), ("ds1.pw fwd", 64, 196, 32, false), ("ds1.pw dx", 32, 196, 64, true),
            ("ds2.pw fwd", 128, 49, 64, false), ("ds2.pw dx", 64, 49, 128, true), ("ds2.pw dW", 128, 64, 49, false),
            ("ds3.pw fwd", 128, 49, 128, false), ("n=48", 128, 48, 128, false), ("n=64", 128, 64, 128, false), ("n=32", 128, 32, 128, false), ("4 samples", 128, 196, 128, false), ("8 samples", 128, 392, 128, false), ("16 samples", 128, 784, 128, false), ("ds3.pw dx", 128, 49, 128, true), ("ds3.pw dW", 128, 128, 49, false),
        ];
        foreach (var (name, m, n, k, transA) in nn)
        {
            var a = R(m * k); var b = R(k * n); var c = new float[m * n];
            int aRow = transA ? 1 : k, aCol = transA ? m : 1;
            Time(print, name + $" NN {m}x{n}x{k}", 2.0 * m * n * k, () => Gemm.NN(m, n, k, a, aRow, aCol, b, n, c, n));
        }
        (string Name, int M, int N, int K)[] nt = [("lenet conv2 dW", 16, 150, 100), ("lenet conv1 dW", 6, 25, 784), ("ds1.pw dW", 64, 32, 196), ("stem dW", 32, 9, 784)];
        foreach (var (name, m, n, k) in nt)
        {
            var a = R(m * k); var b = R(n * k); var c = new float[m * n];
            Time(print, name + $" NT {m}x{n}x{k}", 2.0 * m * n * k, () => Gemm.NT(m, n, k, a, k, b, k, c, n));
        }
        foreach (var (c, hw) in new[] { (128, 7), (32, 28) })
        {
            var bn = new Cnn.Trainer.Layers.BatchNorm2d(c);
            var x = new Cnn.Trainer.Tensor(64, c, hw, hw); R(x.Length).CopyTo(x.Data, 0);
            var dy = new Cnn.Trainer.Tensor(64, c, hw, hw); R(dy.Length).CopyTo(dy.Data, 0);
            var ctx = new Cnn.Trainer.Layers.RunContext { Training = true, Threads = 1 };
            Time(print, $"batchnorm fwd 64x{c}x{hw}x{hw}", x.Length, () => bn.Forward([x], ctx));
            Time(print, $"batchnorm bwd 64x{c}x{hw}x{hw}", x.Length, () => bn.Backward(dy, [true], ctx));
        }
        foreach (var (name, hw, stride) in new[] { ("ds1.dw 28x28 s2", 28, 2), ("ds2.dw 14x14 s2", 14, 2), ("ds3.dw 7x7 s1", 7, 1) })
        {
            var g = new ConvGeometry(3, 3, stride, stride, 1, 1, 1, 1);
            var plan = new DepthwisePlan(g, hw, hw); var scratch = plan.NewScratch();
            var x = R(hw * hw); var k = R(9); var y = new float[plan.OH * plan.OW]; var dk = new float[9]; var dx = new float[hw * hw];
            Time(print, $"depthwise fwd {name} (per plane)", 2.0 * 9 * y.Length, () => Depthwise.Forward(plan, scratch, x, k, 0.5f, y));
            Time(print, $"depthwise bwd {name} (per plane)", 4.0 * 9 * y.Length, () => Depthwise.Backward(plan, scratch, x, k, y, dk, dx));
        }
        foreach (var (name, ch, hw, kernel, pad) in new[] { ("lenet conv2", 6, 14, 5, 0), ("lenet conv1", 1, 28, 5, 2), ("stem", 1, 28, 3, 1) })
        {
            var g = new ConvGeometry(kernel, kernel, 1, 1, pad, pad, 1, 1);
            var img = R(ch * hw * hw); var col = new float[ch * kernel * kernel * g.OutH(hw) * g.OutW(hw)];
            Time(print, $"im2col {name}", col.Length, () => Im2Col.Forward(img, ch, hw, hw, g, col));
            Time(print, $"col2im {name}", col.Length, () => Im2Col.Backward(col, ch, hw, hw, g, img));
        }
        foreach (var (r, c) in new[] { (16, 100), (32, 196), (150, 100), (128, 49) })
        {
            var src = R(r * c); var dst = new float[r * c];
            Time(print, $"transpose {r}x{c}", r * c, () => Gemm.Transpose(src, r, c, dst));
        }
    }

    private static void MedianRegion(bool print, int iters, Spin spin)
    {
        var t = new double[2000];
        for (int i = 0; i < t.Length; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            Par.ForChunks(2, 2, spin);
            t[i] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }
        Array.Sort(t);
        if (print) Console.WriteLine($"  region ({iters} steps) median {t[t.Length / 2] * 1e6:F2} µs, 90th percentile {t[t.Length * 9 / 10] * 1e6:F2} µs");
    }

    private static void Time(bool print, string name, double flops, Action body)
    {
        // Best of many groups of 10 calls: a group is short enough to run between the time slices other processes take.
        double best = double.MaxValue;
        for (int run = 0; run < 300; run++)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int r = 0; r < 10; r++) body();
            best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalSeconds / 10);
        }
        if (print) Console.WriteLine($"{name,-40} {best * 1e6,8:F2} µs  {flops / best / 1e9,6:F1} GFLOP/s");
    }
}
