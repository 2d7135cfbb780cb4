// Benchmarks that compare against peers in one run (see bench/README.md).
using System.Globalization;
using System.Text;
using Cnn.Bench;
using Cnn.Edge;
using Cnn.Edge.Kernels;
using Cnn.Edge.Runtime;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.Error.WriteLine("""
        usage: Cnn.Bench models [--models a,b] [--threads 1,2] [--runs 50] [--warmup 5] [--isas Auto] [--fuse off,on]
                                [--onnx-dir bench/models] [--json FILE]
               (every suite running our interpreter takes --fuse-blocks: inverted-residual blocks fused, see InterpreterOptions.FuseBlocks)
               Cnn.Bench count MODEL K [--isa Auto] [--threads 1] [--op I | --kind KIND]   (K inferences, or one inference
                                        then op I, or every op of KIND, K times; for arm64-insn-count, see bench/README.md;
                                        MODEL.onnx: K inferences of ONNX Runtime on 1 thread, the peer)
               Cnn.Bench chunks MODEL K [--isa Auto] [--threads 4] [--markers]   (every chunk of the thread split run in turn:
                                        timed, or between markers for bench/arm64-threads.sh; see bench/README.md)
               Cnn.Bench layers MODEL [--ops]   (the ops of each KIND with their MACs)
               Cnn.Bench profile MODEL [--isa Auto] [--threads 1] [--top 15]   (per-op minimum time)
               Cnn.Bench first MODEL [--isa Auto] [--threads 1] [--top 15]     (per-op time of a fresh interpreter's first inference)
               Cnn.Bench layers-vs-ort MODEL [--threads 1] [--runs 20] [--onnx-dir bench/models]   (per-layer minimum time,
                                        ours and ONNX Runtime float's per-node kernel times from its profiler, side by side)
               Cnn.Bench diff MODEL [--isa Auto] [--threads 1]   (op-by-op comparison with the reference)
               Cnn.Bench write MODEL FILE.cnnq   (the model as an edge model file, for `cnn bench`)
        models: mobilenet_v2_1.0_224, mobilenet_v2_0.35_96, resnet18_224 (ours built with ModelBuilder, random int8
        weights; ONNX Runtime runs bench/export_models.py's torchvision exports, float and QDQ int8).
        """);
    return 2;
}

string Opt(string name, string def)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : def;
}

bool fuseBlocks = args.Contains("--fuse-blocks"); // the interpreter's default (no budget given): unfused

if (args[0] == "write")
{
    // The benchmark model as an edge model file, for `cnn bench FILE --vs bench/models/MODEL.onnx`.
    File.WriteAllBytes(args[2], Models.Build(args[1]));
    Console.WriteLine($"{args[1]} -> {args[2]}");
    return 0;
}

if (args[0] == "count")
{
    // Runs K inferences and nothing else: the instruction-count difference between K and 0 divided by K
    // is the per-inference figure (model building and packing cancel out).
    string model = args[1];
    int k = int.Parse(args[2], CultureInfo.InvariantCulture);
    if (model.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
    {
        // The peer under the same QEMU: ONNX Runtime, one intra-op thread, K inferences of the ONNX file.
#if WITH_ORT
        using var ort = new OrtRunner(model, 1);
        for (int i = 0; i < k; i++) ort.Invoke();
        Console.WriteLine($"{Path.GetFileName(model)} onnxruntime threads=1 inferences={k}");
        return 0;
#else
        Console.Error.WriteLine("this build has no ONNX Runtime (built with -p:NoOrt=true)");
        return 2;
#endif
    }
    int op = IntOpt("--op", -1);
    string kind = Opt("--kind", "");
    // Per-op and per-kind counts measure the layers' kernels: unfused (a fused block runs at its last op, the others do nothing).
    using var runner = new EdgeRunner(EdgeModel.Load(Models.Build(model)), Enum.Parse<KernelIsa>(Opt("--isa", "Auto")), IntOpt("--threads", 1),
        fuseBlocks && op < 0 && kind.Length == 0);
    if (kind.Length > 0)
    {
        // Every op of one kind K times after one full inference: instructions per layer type.
        if (Array.IndexOf(LayerKinds.Names, kind) < 0) throw new ArgumentException($"unknown kind '{kind}'; known: {string.Join(", ", LayerKinds.Names)}");
        var m = runner.Model;
        int[] ops = Enumerable.Range(0, m.Ops.Count).Where(i => LayerKinds.Kind(m.Ops[i], m.Tensors) == kind).ToArray();
        runner.Invoke();
        for (int i = 0; i < k; i++) foreach (int o in ops) runner.InvokeOp(o);
        Console.WriteLine($"{model} isa={runner.Isa} kind={kind} ops={ops.Length} macs_per_run={ops.Sum(o => LayerKinds.Macs(m.Ops[o], m.Tensors))} runs={k}");
        return 0;
    }
    if (op >= 0)
    {
        // One op K times after one full inference (its input is then valid): per-op instruction counts.
        runner.Invoke();
        for (int i = 0; i < k; i++) runner.InvokeOp(op);
        Console.WriteLine($"{model} isa={runner.Isa} op={runner.Model.Ops[op]} runs={k}");
        return 0;
    }
    for (int i = 0; i < k; i++) runner.Invoke();
    Console.WriteLine($"{model} isa={runner.Isa} threads={runner.Threads} fused_blocks={runner.FusedBlocks} arena_bytes={runner.ArenaBytes} scratch_bytes={runner.ScratchBytes} inferences={k} checksum={runner.OutputChecksum()}");
    return 0;
}

if (args[0] == "chunks")
{
    using var runner = new EdgeRunner(EdgeModel.Load(Models.Build(args[1])), Enum.Parse<KernelIsa>(Opt("--isa", "Auto")), IntOpt("--threads", 4), fuseBlocks);
    return ChunkSuite.Run(args[1], runner, int.Parse(args[2], CultureInfo.InvariantCulture), args.Contains("--markers"));
}

if (args[0] == "layers")
{
    var m = EdgeModel.Load(Models.Build(args[1]));
    foreach (string kind in LayerKinds.Names)
    {
        int[] ops = Enumerable.Range(0, m.Ops.Count).Where(i => LayerKinds.Kind(m.Ops[i], m.Tensors) == kind).ToArray();
        Console.WriteLine($"{kind,-10} ops={ops.Length,3} macs={ops.Sum(o => LayerKinds.Macs(m.Ops[o], m.Tensors))}");
        if (args.Contains("--ops"))
            foreach (int o in ops)
                Console.WriteLine($"    op {o,3} macs={LayerKinds.Macs(m.Ops[o], m.Tensors),10}  {m.Tensors[m.Ops[o].Inputs[0]]} -> {m.Tensors[m.Ops[o].Outputs[0]]}");
    }
    return 0;
}
if (args[0] == "diff")
{
    // Op-by-op comparison of an ISA and thread count against the reference on one model (debugging aid).
    var m = EdgeModel.Load(Models.Build(args[1]));
    using var a = new EdgeRunner(m, KernelIsa.Scalar);
    using var b = new EdgeRunner(m, Enum.Parse<KernelIsa>(Opt("--isa", "Auto")), IntOpt("--threads", 1), fuseBlocks);
    var expected = new byte[m.Ops.Count][];
    a.Invoke(i => expected[i] = a.OpOutput(i).ToArray());
    int differs = -1;
    b.Invoke(i =>
    {
        if (differs < 0 && b.HasOpOutput(i) && expected[i].AsSpan().CommonPrefixLength(b.OpOutput(i)) < expected[i].Length) differs = i;
    });
    if (differs >= 0)
    {
        var op = m.Ops[differs];
        Console.WriteLine($"op {differs} {op} differs: inputs {string.Join(",", op.Inputs.Select(t => t < 0 ? "-" : m.Tensors[t].ToString()))}");
        return 1;
    }
    Console.WriteLine("identical");
    return 0;
}
if (args[0] == "layers-vs-ort")
{
#if WITH_ORT
    string onnxFile = Path.Combine(Opt("--onnx-dir", Path.Combine(AppContext.BaseDirectory, "../../../../models")), args[1] + ".onnx");
    return CompareSuite.Run(args[1], onnxFile, IntOpt("--threads", 1), IntOpt("--runs", 20), fuseBlocks);
#else
    Console.Error.WriteLine("this build has no ONNX Runtime (built with -p:NoOrt=true)");
    return 2;
#endif
}
if (args[0] == "profile")
{
    // Per-op time of one model, ISA and thread count: where the time goes. Minimum over 20 inferences per op
    // (the machine is shared, the minimum is the least disturbed), timed between afterOp callbacks.
    var m = EdgeModel.Load(Models.Build(args[1]));
    using var r = new EdgeRunner(m, Enum.Parse<KernelIsa>(Opt("--isa", "Auto")), IntOpt("--threads", 1), fuseBlocks);
    double[] per = r.PerOpMinimaMs(20);
    Console.WriteLine($"{args[1]} isa={r.Isa} threads={r.Threads}");
    foreach (int i in Enumerable.Range(0, per.Length).OrderByDescending(i => per[i]).Take(IntOpt("--top", 15)))
        Console.WriteLine($"{per[i],9:F3} ms  {m.Ops[i]}  in {m.Tensors[m.Ops[i].Inputs[0]]} -> {m.Tensors[m.Ops[i].Outputs[0]]}");
    Console.WriteLine($"{per.Sum(),9:F3} ms  total of per-op minima");
    return 0;
}
if (args[0] == "first")
{
    // Where the first inference of a fresh interpreter spends its extra time: per-op time of that first inference
    // (after a JIT warm-up on another interpreter, as `models` measures "first") beside the op's minimum over 20 more.
    var m = EdgeModel.Load(Models.Build(args[1]));
    var isa = Enum.Parse<KernelIsa>(Opt("--isa", "Auto"));
    var first = new double[m.Ops.Count];
    long last = 0;
    Action<int> afterOp = i =>
    {
        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        first[i] = System.Diagnostics.Stopwatch.GetElapsedTime(last, now).TotalMilliseconds;
        last = now;
    };
    using (var jit = new EdgeRunner(m, isa, IntOpt("--threads", 1), fuseBlocks)) jit.Invoke(afterOp); // the callback compiled too
    using var r = new EdgeRunner(m, isa, IntOpt("--threads", 1), fuseBlocks);
    last = System.Diagnostics.Stopwatch.GetTimestamp();
    r.Invoke(afterOp);
    double[] min = r.PerOpMinimaMs(20);
    Console.WriteLine($"{args[1]} isa={r.Isa} threads={r.Threads}: first inference per op vs minimum, largest differences");
    foreach (int i in Enumerable.Range(0, first.Length).OrderByDescending(i => first[i] - min[i]).Take(IntOpt("--top", 15)))
        Console.WriteLine($"{first[i],9:F3} ms {min[i],9:F3} ms  {m.Ops[i]}  in {m.Tensors[m.Ops[i].Inputs[0]]} -> {m.Tensors[m.Ops[i].Outputs[0]]}");
    Console.WriteLine($"{first.Sum(),9:F3} ms {min.Sum(),9:F3} ms  total");
    return 0;
}
if (args[0] != "models") { Console.Error.WriteLine($"unknown suite '{args[0]}'"); return 2; }
string[] names = Opt("--models", string.Join(',', Models.Names)).Split(',');
int[] threads = Opt("--threads", "1,2").Split(',').Select(int.Parse).ToArray();
int runs = IntOpt("--runs", 50);
int warmup = IntOpt("--warmup", 5);
KernelIsa[] isas = Opt("--isas", "Auto").Split(',').Select(Enum.Parse<KernelIsa>).ToArray();
bool[] fuses = Opt("--fuse", fuseBlocks ? "on" : "off").Split(',').Select(f => f == "on").ToArray();
string onnxDir = Opt("--onnx-dir", Path.Combine(AppContext.BaseDirectory, "../../../../models"));
string? jsonPath = Opt("--json", "") is { Length: > 0 } j ? j : null;

var json = new StringBuilder("[\n");
Console.WriteLine($"# {Environment.ProcessorCount} cores, best ISA {KernelSelector.Best}, {runs} runs after {warmup} warm-ups, medians in ms; " +
    "first = the first inference of a fresh interpreter (after a JIT warm-up on another one), first/median target ≤ 1.2");
Console.WriteLine("| model | threads | ours ISA | fused blocks | arena + scratch bytes | ours median | ours first | first/median | ORT float | ORT int8 (QDQ) | ours/ORT float | ours/ORT int8 |");
Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|");
foreach (string name in names)
{
    var model = EdgeModel.Load(Models.Build(name));
    long? checksum = null;
    foreach (int t in threads)
    {
        double ortF = double.NaN, ortQ = double.NaN;
#if WITH_ORT
        string f = Path.Combine(onnxDir, name + ".onnx"), q = Path.Combine(onnxDir, name + ".qdq.onnx");
        if (File.Exists(f)) using (var o = new OrtRunner(f, t)) ortF = Latency.Measure(o.Invoke, warmup, runs).MedianMs;
        if (File.Exists(q)) using (var o = new OrtRunner(q, t)) ortQ = Latency.Measure(o.Invoke, warmup, runs).MedianMs;
#endif
        foreach (var isa in isas)
        foreach (bool fuse in fuses)
        {
            // The JIT compiles on first use; NativeAOT (the device) does not. One inference on a throw-away interpreter
            // first, so that "first" below is the first inference after load, as on the device.
            using (var jit = new EdgeRunner(model, isa, t, fuse)) jit.Invoke();
            using var r = new EdgeRunner(model, isa, t, fuse);
            // The reference is slow on big models: a few runs are enough to show the "before".
            int n = r.Isa == KernelIsa.Scalar ? Math.Min(runs, 3) : runs;
            var m = Latency.Measure(r.Invoke, r.Isa == KernelIsa.Scalar ? 1 : warmup, n);
            long c = r.OutputChecksum();
            if (checksum is long prev && prev != c) throw new InvalidOperationException($"{name}: ISA {r.Isa} on {t} threads gives other output bytes");
            checksum = c;
            Console.WriteLine($"| {name} | {t} | {r.Isa} | {r.FusedBlocks} | {r.ArenaBytes} + {r.ScratchBytes} | {m.MedianMs:F2} | {m.FirstMs:F2} | {m.FirstOverMedian:F2} | {ortF:F2} | {ortQ:F2} | {m.MedianMs / ortF:F2} | {m.MedianMs / ortQ:F2} |");
            json.Append($"  {{\"model\":\"{name}\",\"threads\":{t},\"isa\":\"{r.Isa}\",\"fused_blocks\":{r.FusedBlocks},\"arena_bytes\":{r.ArenaBytes},\"scratch_bytes\":{r.ScratchBytes},\"median_ms\":{m.MedianMs:F4},\"first_ms\":{m.FirstMs:F4}," +
                $"\"ort_float_median_ms\":{Num(ortF)},\"ort_int8_median_ms\":{Num(ortQ)}}},\n");
        }
    }
}
if (jsonPath is not null) File.WriteAllText(jsonPath, json.ToString().TrimEnd(',', '\n') + "\n]\n");
return 0;

int IntOpt(string name, int def) => int.Parse(Opt(name, def.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

static string Num(double v) => double.IsNaN(v) ? "null" : v.ToString("F4", CultureInfo.InvariantCulture);
