// Benchmarks that compare against peers in one run (see bench/README.md).
using System.Globalization;
using System.Text;
using Cnn.Bench;
using Cnn.Edge;
using Cnn.Edge.Kernels;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.Error.WriteLine("""
        usage: Cnn.Bench models [--models a,b] [--threads 1,2] [--runs 50] [--warmup 5] [--isas Scalar,Auto]
                                [--onnx-dir bench/models] [--json FILE]
               Cnn.Bench count MODEL K [--isa Auto] [--op I | --kind KIND]   (K inferences, or one inference then
                                        op I, or every op of KIND, K times; for arm64-insn-count, see bench/README.md;
                                        MODEL.onnx: K inferences of ONNX Runtime on 1 thread, the peer)
               Cnn.Bench layers MODEL [--ops]   (the ops of each KIND with their MACs)
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
    var runner = new EdgeRunner(EdgeModel.Load(Models.Build(model)), Enum.Parse<KernelIsa>(Opt("--isa", "Auto")));
    int op = int.Parse(Opt("--op", "-1"), CultureInfo.InvariantCulture);
    string kind = Opt("--kind", "");
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
    Console.WriteLine($"{model} isa={runner.Isa} inferences={k} checksum={runner.OutputChecksum()}");
    return 0;
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
    // Op-by-op comparison of an ISA against the reference on one model (debugging aid).
    var m = EdgeModel.Load(Models.Build(args[1]));
    var a = new EdgeRunner(m, KernelIsa.Scalar);
    var b = new EdgeRunner(m, Enum.Parse<KernelIsa>(Opt("--isa", "Auto")));
    for (int i = 0; i < m.Ops.Count; i++)
    {
        a.InvokeOp(i); b.InvokeOp(i);
        int d = a.OpOutput(i).CommonPrefixLength(b.OpOutput(i));
        if (d < a.OpOutput(i).Length)
        {
            Console.WriteLine($"op {i} {m.Ops[i]} differs at byte {d}: inputs {string.Join(",", m.Ops[i].Inputs.Select(t => t < 0 ? "-" : m.Tensors[t].ToString()))}");
            return 1;
        }
    }
    Console.WriteLine("identical");
    return 0;
}
if (args[0] == "profile")
{
    // Per-op time (sum over 10 inferences) of one model and ISA: where the time goes.
    var m = EdgeModel.Load(Models.Build(args[1]));
    var r = new EdgeRunner(m, Enum.Parse<KernelIsa>(Opt("--isa", "Auto")));
    r.Invoke();
    // Minimum over 20 inferences per op: the machine is shared, the minimum is the least disturbed.
    var per = Enumerable.Repeat(double.MaxValue, m.Ops.Count).ToArray();
    for (int k = 0; k < 20; k++)
        for (int i = 0; i < m.Ops.Count; i++)
        {
            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            r.InvokeOp(i);
            per[i] = Math.Min(per[i], System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        }
    foreach (int i in Enumerable.Range(0, per.Length).OrderByDescending(i => per[i]).Take(int.Parse(Opt("--top", "15"))))
        Console.WriteLine($"{per[i],9:F3} ms  {m.Ops[i]}  in {m.Tensors[m.Ops[i].Inputs[0]]} -> {m.Tensors[m.Ops[i].Outputs[0]]}");
    Console.WriteLine($"{per.Sum(),9:F3} ms  total");
    return 0;
}
if (args[0] != "models") { Console.Error.WriteLine($"unknown suite '{args[0]}'"); return 2; }
string[] names = Opt("--models", string.Join(',', Models.Names)).Split(',');
int[] threads = Opt("--threads", "1,2").Split(',').Select(int.Parse).ToArray();
int runs = int.Parse(Opt("--runs", "50"), CultureInfo.InvariantCulture);
int warmup = int.Parse(Opt("--warmup", "5"), CultureInfo.InvariantCulture);
KernelIsa[] isas = Opt("--isas", "Scalar,Auto").Split(',').Select(Enum.Parse<KernelIsa>).ToArray();
string onnxDir = Opt("--onnx-dir", Path.Combine(AppContext.BaseDirectory, "../../../../models"));
string? jsonPath = Opt("--json", "") is { Length: > 0 } j ? j : null;

var rows = new List<string>();
var json = new StringBuilder("[\n");
Console.WriteLine($"# {Environment.ProcessorCount} cores, best ISA {KernelSelector.Best}, {runs} runs after {warmup} warm-ups, medians in ms");
Console.WriteLine("| model | threads | ours ISA | ours median | ours first | ORT float | ORT int8 (QDQ) | ours/ORT float | ours/ORT int8 |");
Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
foreach (string name in names)
{
    var model = EdgeModel.Load(Models.Build(name));
    var ours = new Dictionary<KernelIsa, (double Median, double First)>();
    long? checksum = null;
    foreach (var isa in isas)
    {
        var r = new EdgeRunner(model, isa);
        // The reference is slow on big models: a few runs are enough to show the "before".
        int n = r.Isa == KernelIsa.Scalar ? Math.Min(runs, 3) : runs;
        ours[isa] = Stats.Measure(r.Invoke, r.Isa == KernelIsa.Scalar ? 1 : warmup, n);
        long c = r.OutputChecksum();
        if (checksum is long prev && prev != c) throw new InvalidOperationException($"{name}: ISA {r.Isa} output differs from the first ISA's");
        checksum = c;
    }
    foreach (int t in threads)
    {
        double ortF = double.NaN, ortQ = double.NaN;
#if WITH_ORT
        string f = Path.Combine(onnxDir, name + ".onnx"), q = Path.Combine(onnxDir, name + ".qdq.onnx");
        if (File.Exists(f)) using (var o = new OrtRunner(f, t)) ortF = Stats.Measure(o.Invoke, warmup, runs).MedianMs;
        if (File.Exists(q)) using (var o = new OrtRunner(q, t)) ortQ = Stats.Measure(o.Invoke, warmup, runs).MedianMs;
#endif
        foreach (var (isa, m) in ours)
        {
            string line = $"| {name} | {t} | {KernelSelector.Resolve(isa)} | {m.Median:F2} | {m.First:F2} | {ortF:F2} | {ortQ:F2} | {m.Median / ortF:F2} | {m.Median / ortQ:F2} |";
            Console.WriteLine(line);
            json.Append($"  {{\"model\":\"{name}\",\"threads\":{t},\"isa\":\"{KernelSelector.Resolve(isa)}\",\"median_ms\":{m.Median:F4},\"first_ms\":{m.First:F4}," +
                $"\"ort_float_median_ms\":{Num(ortF)},\"ort_int8_median_ms\":{Num(ortQ)}}},\n");
        }
    }
}
if (jsonPath is not null) File.WriteAllText(jsonPath, json.ToString().TrimEnd(',', '\n') + "\n]\n");
return 0;

static string Num(double v) => double.IsNaN(v) ? "null" : v.ToString("F4", CultureInfo.InvariantCulture);
