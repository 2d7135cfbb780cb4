using System.Diagnostics;
using System.Globalization;
using Cnn.Trainer.Data;
using Cnn.Trainer.Layers;
using Cnn.Trainer.Models;
using Cnn.Trainer.Training;

// Usage: Cnn.Bench.Trainer [--model lenet5|mobilenet|...] [--data DIR] [--epochs N] [--threads T] [--batch B]
//        [--limit N] [--torch] [--torch-passive] [--torch-python /usr/bin/python3]
// Trains the model with the issue's recipe (SGD momentum 0.9, lr 0.05 cosine) on an IDX folder and
// prints seconds per epoch and test accuracy; with --torch it runs bench/Cnn.Bench.Trainer/torch_ref.py
// with the same model, batch, threads and epochs right after, and prints the ratio.
var opts = new Dictionary<string, string>();
for (int i = 0; i < args.Length; i++)
    if (args[i].StartsWith("--", StringComparison.Ordinal))
        opts[args[i][2..]] = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : "true";
string Opt(string k, string d) => opts.TryGetValue(k, out var v) ? v : d;
string model = Opt("model", "lenet5");
string dataDir = Opt("data", Path.Combine(FindRoot(), "..", "shared", "data", model == "lenet5" ? "mnist" : "fashion-mnist"));
int epochs = int.Parse(Opt("epochs", "3"), CultureInfo.InvariantCulture);
int threads = int.Parse(Opt("threads", "2"), CultureInfo.InvariantCulture);
int batch = int.Parse(Opt("batch", "64"), CultureInfo.InvariantCulture);
int limit = int.Parse(Opt("limit", "0"), CultureInfo.InvariantCulture);

if (Opt("kernels", "false") == "true") return KernelBench.Run();
if (Opt("profile", "false") == "true")
{
    // Per-layer forward/backward CPU milliseconds over 30 batches of random data (after 5 warm-up batches).
    var pnet = Zoo.Create(model, new Shape(1, 28, 28), 10, seed: 1);
    var fwd = new double[pnet.Nodes.Count]; var bwd = new double[pnet.Nodes.Count];
    var fwdWall = new double[pnet.Nodes.Count]; var bwdWall = new double[pnet.Nodes.Count];
    var ctx = new RunContext { Training = true, Threads = threads };
    var x = new Cnn.Trainer.Tensor(batch, 1, 28, 28);
    var rng = new Random(1);
    for (int i = 0; i < x.Length; i++) x.Data[i] = (float)rng.NextDouble();
    var g = new Cnn.Trainer.Tensor(batch, 10, 1, 1);
    var labels = Enumerable.Range(0, batch).Select(i => i % 10).ToArray();
    // Per-layer figures are process CPU time (clock_gettime), so a loaded machine does not inflate them;
    // the hook runs after each layer, so the CPU time since the previous mark is that layer's.
    double cpu0 = 0, mark = 0; var sw = new Stopwatch();
    for (int it = 0; it < 35; it++)
    {
        if (it == 5) { pnet.Profile = (i, back, wall) => { double now = CpuSeconds(); (back ? bwd : fwd)[i] += now - mark; mark = now; (back ? bwdWall : fwdWall)[i] += wall; }; cpu0 = CpuSeconds(); sw.Start(); }
        mark = CpuSeconds();
        var y = pnet.Forward(x, ctx);
        Cnn.Trainer.SoftmaxCrossEntropy.Compute(y, labels, g);
        pnet.ZeroGrad();
        mark = CpuSeconds();
        pnet.Backward([g], ctx);
    }
    double cpu = CpuSeconds() - cpu0;
    for (int i = 0; i < pnet.Nodes.Count; i++)
        Console.WriteLine($"{pnet.Nodes[i].Layer.Name,-14} {pnet.Nodes[i].Layer.Kind,-14} {pnet.Nodes[i].Shape,-10} fwd {fwd[i] / 30 * 1000,7:F2} ms  bwd {bwd[i] / 30 * 1000,7:F2} ms CPU; wall fwd {fwdWall[i] / 30 * 1000,7:F2} ms  bwd {bwdWall[i] / 30 * 1000,7:F2} ms");
    Console.WriteLine($"total fwd {fwd.Sum() / 30 * 1000:F2} ms bwd {bwd.Sum() / 30 * 1000:F2} ms CPU per batch (layers' wall {(fwdWall.Sum() + bwdWall.Sum()) / 30 * 1000:F2} ms); wall {sw.Elapsed.TotalMilliseconds / 30:F1} ms, cpu {cpu / 30 * 1000:F1} ms per batch");
    return 0;
}
if (!Directory.Exists(dataDir)) { Console.Error.WriteLine($"data folder not found: {dataDir}"); return 2; }
var train = Idx.LoadFolder(dataDir, "train");
var test = Idx.LoadFolder(dataDir, "t10k");
if (limit > 0) { train = train.Take(limit); test = test.Take(Math.Max(1000, limit / 6)); }
var pre = Preprocessing.Measure(train);
var net = Zoo.Create(model, new Shape(1, 28, 28), 10, seed: 1);
Console.WriteLine($"model {model}: {net.ParameterCount} parameters; {train.Count} train / {test.Count} test from {dataDir}; batch {batch}, {threads} threads, {epochs} epochs");
var o = new TrainOptions { Epochs = epochs, BatchSize = batch, Threads = threads, LearningRate = 0.05f, Momentum = 0.9f, Preprocessing = pre, Seed = 1 };
double cpuStart = CpuSeconds();
var hist = NetworkTrainer.Fit(net, train, null, o, new Progress<EpochReport>(_ => { }));
double cpuPerEpoch = (CpuSeconds() - cpuStart) / epochs;
var ev = NetworkTrainer.Evaluate(net, test, pre, 256, threads);
var secs = hist.Epochs.Select(e => e.Seconds).ToArray();
foreach (var e in hist.Epochs)
    Console.WriteLine($"  epoch {e.Epoch}: loss {e.TrainLoss:F4} train acc {e.TrainAccuracy:P2} {e.Seconds:F2} s ({e.ImagesPerSecond:F0} img/s)");
var sorted = secs.Order().ToArray();
double median = sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
Console.WriteLine($"cnn-trainer {model}: test accuracy {ev.Accuracy:P2}, median {median:F2} s/epoch, {cpuPerEpoch:F2} CPU s/epoch");
// Same seed, threads and vector width give the same weights; this hash makes builds and machines comparable.
using (var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256))
{
    foreach (var n in net.Nodes)
    {
        foreach (var p in n.Layer.Parameters) sha.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(p.Value.AsSpan()));
        foreach (var b in n.Layer.Buffers) sha.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(b.Value.AsSpan()));
    }
    Console.WriteLine($"weights sha256 {Convert.ToHexStringLower(sha.GetHashAndReset())[..16]} ({threads} threads, {Cnn.Trainer.Kernels.Simd.Width}, trainer JIT optimizer {(System.Reflection.CustomAttributeExtensions.GetCustomAttribute<DebuggableAttribute>(typeof(Cnn.Trainer.Network).Assembly)?.IsJITOptimizerDisabled == true ? "disabled" : "enabled")})");
}

if (Opt("torch", "false") == "true")
{
    string script = Path.Combine(FindRoot(), "bench", "Cnn.Bench.Trainer", "torch_ref.py");
    var psi = new ProcessStartInfo(Opt("torch-python", "/usr/bin/python3"))
    {
        ArgumentList = { script, "--model", model, "--data", dataDir, "--epochs", epochs.ToString(CultureInfo.InvariantCulture),
            "--threads", threads.ToString(CultureInfo.InvariantCulture), "--batch", batch.ToString(CultureInfo.InvariantCulture),
            "--limit", limit.ToString(CultureInfo.InvariantCulture) },
        RedirectStandardOutput = true,
    };
    // --torch-passive: libgomp threads sleep instead of spinning at barriers. Under other load on the machine the
    // default spin-waiting makes PyTorch's 2-thread runs many times slower; this shows it without that effect.
    if (Opt("torch-passive", "false") == "true") psi.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
    using var p = Process.Start(psi)!;
    double torchMedian = double.NaN, torchCpu = double.NaN;
    while (p.StandardOutput.ReadLine() is { } line)
    {
        Console.WriteLine("  torch| " + line);
        if (line.StartsWith("median_seconds_per_epoch ", StringComparison.Ordinal))
            torchMedian = double.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture);
        if (line.StartsWith("median_cpu_seconds_per_epoch ", StringComparison.Ordinal))
            torchCpu = double.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture);
    }
    p.WaitForExit();
    if (p.ExitCode != 0 || double.IsNaN(torchMedian)) { Console.Error.WriteLine("PyTorch reference failed (apt-get install python3-torch)"); return 1; }
    Console.WriteLine($"ratio cnn-trainer / pytorch seconds per epoch: {median / torchMedian:F2} ({median:F2} s vs {torchMedian:F2} s)");
    Console.WriteLine($"ratio cnn-trainer / pytorch CPU seconds per epoch: {cpuPerEpoch / torchCpu:F2} ({cpuPerEpoch:F2} s vs {torchCpu:F2} s)");
}
return 0;

static double CpuSeconds()
{
    Span<long> ts = stackalloc long[2];
    // CLOCK_PROCESS_CPUTIME_ID = 2 on Linux
    if (Native.clock_gettime(2, ref ts[0]) != 0) return Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
    return ts[0] + ts[1] * 1e-9;
}

static string FindRoot()
{
    var d = new DirectoryInfo(AppContext.BaseDirectory);
    while (d is not null && !File.Exists(Path.Combine(d.FullName, "Cnn.sln"))) d = d.Parent;
    return d?.FullName ?? Directory.GetCurrentDirectory();
}

static partial class Native
{
    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "clock_gettime")]
    internal static partial int clock_gettime(int clock, ref long timespec);
}
