#if WITH_ORT
using System.Text.Json;
using Cnn.Edge;

namespace Cnn.Bench;

/// <summary>
/// Layer by layer against ONNX Runtime float (`Cnn.Bench layers-vs-ort MODEL`): our per-op minimum times (as `profile`) beside
/// ONNX Runtime's own per-node kernel times (SessionOptions.EnableProfiling, minimum over the same number of inferences).
/// ORT (all optimizations, AVX-512) runs the model in NCHWc blocks with ReLU6 and the residual Add fused into the
/// convolutions, so its k-th Conv is matched with our k-th Conv2D and the residual Add that follows it; its layout
/// reorders, global pool, flatten and Gemm are matched by kind.
/// </summary>
public static class CompareSuite
{
    public static int Run(string name, string onnx, int threads, int runs, bool fuse)
    {
        var m = EdgeModel.Load(Models.Build(name));
        double[] ours;
        using (var r = new EdgeRunner(m, KernelIsa.Auto, threads, fuse)) ours = r.PerOpMinimaMs(runs);
        var (ortNames, ortOps, ortMin) = OrtPerNodeMinima(onnx, threads, runs);

        int[] convs = Enumerable.Range(0, m.Ops.Count).Where(i => m.Ops[i].Code == OpCode.Conv2D).ToArray();
        int[] ortConvs = Enumerable.Range(0, ortNames.Count).Where(i => ortOps[i] == "Conv").ToArray();
        if (convs.Length != ortConvs.Length)
        {
            Console.Error.WriteLine($"{name}: {convs.Length} Conv2D ops here, {ortConvs.Length} Conv nodes in {onnx}: cannot match");
            return 1;
        }
        var kindOurs = new Dictionary<string, double>();
        var kindOrt = new Dictionary<string, double>();
        void AddTo(Dictionary<string, double> d, string k, double v) => d[k] = d.GetValueOrDefault(k) + v;

        Console.WriteLine($"{name}: {threads} thread(s), minimum of {runs} inferences per op; ms");
        Console.WriteLine("| # | layer | kind | MACs (M) | ours | ORT float | ours/ORT |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        var claimed = new bool[m.Ops.Count];
        for (int j = 0; j < convs.Length; j++)
        {
            int i = convs[j];
            var op = m.Ops[i];
            double t = ours[i];
            claimed[i] = true;
            string extra = "";
            // The residual Add that consumes this conv's output: ORT runs it inside the conv (NCHWc Sum).
            int next = i + 1;
            if (next < m.Ops.Count && m.Ops[next].Code == OpCode.Add && m.Ops[next].Inputs.Contains(op.Outputs[0]))
            {
                t += ours[next];
                claimed[next] = true;
                extra = " + Add";
            }
            string kind = Kind(m, op);
            AddTo(kindOurs, kind, t);
            AddTo(kindOrt, kind, ortMin[ortConvs[j]]);
            var x = m.Tensors[op.Inputs[0]].Shape; var y = m.Tensors[op.Outputs[0]].Shape;
            Console.WriteLine($"| {i} | {x[1]}x{x[2]}x{x[3]} → {y[1]}x{y[2]}x{y[3]}{extra} | {kind} | {LayerKinds.Macs(op, m.Tensors) / 1e6:F1} | " +
                $"{t:F3} | {ortMin[ortConvs[j]]:F3} | {t / ortMin[ortConvs[j]]:F2} |");
        }
        double restOurs = Enumerable.Range(0, m.Ops.Count).Where(i => !claimed[i]).Sum(i => ours[i]);
        double restOrt = Enumerable.Range(0, ortNames.Count).Where(i => ortOps[i] != "Conv").Sum(i => ortMin[i]);
        string restNames = string.Join(", ", Enumerable.Range(0, m.Ops.Count).Where(i => !claimed[i]).Select(i => m.Ops[i].Code.ToString()).Distinct());
        string ortRest = string.Join(", ", Enumerable.Range(0, ortNames.Count).Where(i => ortOps[i] != "Conv").Select(i => ortOps[i]).Distinct());
        Console.WriteLine($"| | rest: ours {restNames}; ORT {ortRest} | other | | {restOurs:F3} | {restOrt:F3} | {restOurs / restOrt:F2} |");
        AddTo(kindOurs, "other", restOurs);
        AddTo(kindOrt, "other", restOrt);
        Console.WriteLine();
        Console.WriteLine("| kind | ours | ORT float | ours/ORT | ours at 0.8x ORT |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (string k in kindOurs.Keys)
            Console.WriteLine($"| {k} | {kindOurs[k]:F3} | {kindOrt[k]:F3} | {kindOurs[k] / kindOrt[k]:F2} | {0.8 * kindOrt[k]:F3} |");
        double so = ours.Sum(), sr = ortMin.Sum();
        Console.WriteLine($"| total | {so:F3} | {sr:F3} | {so / sr:F2} | {0.8 * sr:F3} |");
        return 0;
    }

    /// <summary>Expand (1x1, more outputs than inputs), project (1x1, fewer), depthwise, or stem (any other conv).</summary>
    private static string Kind(EdgeModel m, OpInfo op)
    {
        string k = LayerKinds.Kind(op, m.Tensors);
        if (k != "pointwise") return k == "conv" ? "conv (stem, KxK)" : k;
        return m.Tensors[op.Outputs[0]].Shape[3] > m.Tensors[op.Inputs[0]].Shape[3] ? "pointwise expand" : "pointwise project";
    }

    /// <summary>ONNX Runtime's per-node kernel times (ms), minimum over <paramref name="runs"/> inferences after 3 warm-ups,
    /// nodes in execution order.</summary>
    private static (List<string> Names, List<string> Ops, List<double> Min) OrtPerNodeMinima(string onnx, int threads, int runs)
    {
        string prefix = Path.Combine(Path.GetTempPath(), $"cnn-bench-ort-{Environment.ProcessId}");
        string file;
        using (var o = new OrtRunner(onnx, threads, prefix))
        {
            for (int i = 0; i < runs + 3; i++) o.Invoke();
            file = o.EndProfiling();
        }
        var names = new List<string>();
        var ops = new List<string>();
        var min = new List<double>();
        var index = new Dictionary<string, int>();
        var seen = new Dictionary<string, int>();
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                if (e.GetProperty("cat").GetString() != "Node") continue;
                string n = e.GetProperty("name").GetString()!;
                if (!n.EndsWith("_kernel_time", StringComparison.Ordinal)) continue;
                seen[n] = seen.GetValueOrDefault(n) + 1;
                if (seen[n] <= 3) { if (!index.ContainsKey(n)) { index[n] = names.Count; names.Add(n); ops.Add(e.GetProperty("args").GetProperty("op_name").GetString()!); min.Add(double.MaxValue); } continue; }
                double ms = e.GetProperty("dur").GetDouble() / 1000;
                min[index[n]] = Math.Min(min[index[n]], ms);
            }
        }
        finally { File.Delete(file); }
        return (names, ops, min);
    }
}
#endif
