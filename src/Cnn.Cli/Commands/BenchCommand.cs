using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Cnn.Edge;
using Cnn.Edge.Kernels;
using Cnn.Edge.Runtime;
#if WITH_ORT
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
#endif

namespace Cnn.Cli.Commands;

/// <summary>
/// <c>cnn bench MODEL [--threads N] [--vs model.onnx] [--json]</c>: median latency of the int8 edge model on N
/// threads, its first inference after load, and ONNX Runtime on the float ONNX model (and its int8 QDQ form,
/// MODEL.qdq.onnx beside it or --vs-int8) with N intra-op threads, measured in the same run, so the ratio is
/// meaningful on a noisy machine.
/// </summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var model = new Argument<FileInfo>("model") { Description = "Int8 edge model (.cnnq)" };
        var threads = new Option<int>("--threads", "-t") { Description = "Threads of the edge runtime and of ONNX Runtime (intra-op)", DefaultValueFactory = _ => 1 };
        var vs = new Option<FileInfo?>("--vs") { Description = "Float ONNX model to run in ONNX Runtime as the peer" };
        var vsInt8 = new Option<FileInfo?>("--vs-int8") { Description = "Int8 QDQ ONNX model for ONNX Runtime (default: the --vs file with .qdq.onnx, when present)" };
        var runs = new Option<int>("--runs", "-n") { Description = "Timed inferences (the median is reported)", DefaultValueFactory = _ => 50 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed inferences first", DefaultValueFactory = _ => 5 };
        var isa = new Option<KernelIsa>("--isa") { Description = "Force a kernel ISA (Auto picks the best this CPU supports)", DefaultValueFactory = _ => KernelIsa.Auto };
        var json = CliRunner.JsonOption();
        var cmd = new Command("bench", "Measure inference latency (median), optionally against ONNX Runtime float and int8 in the same run.")
        {
            model, threads, vs, vsInt8, runs, warmup, isa, json,
        };
        cmd.WithExamples(
            "cnn bench model.cnnq",
            "cnn bench model.cnnq --threads 2 --vs model.onnx --json",
            "cnn bench model.cnnq --isa Scalar --runs 5   # the reference kernels, for comparison");
        cmd.SetGuardedAction(json, (pr, ctx) =>
        {
            var file = CliRunner.ExistingFile(pr.GetValue(model), "model file");
            int t = pr.GetValue(threads), n = pr.GetValue(runs), w = pr.GetValue(warmup);
            if (t < 1 || t > Interpreter.MaxThreads) throw new CliException(ExitCodes.Usage, $"--threads must be in 1..{Interpreter.MaxThreads}, got {t}");
            if (n < 1 || w < 0) throw new CliException(ExitCodes.Usage, $"--runs must be ≥ 1 and --warmup ≥ 0, got {n} and {w}");
            FileInfo? onnx = pr.GetValue(vs), onnxInt8 = pr.GetValue(vsInt8);
            if (onnx is not null) CliRunner.ExistingFile(onnx, "--vs ONNX model");
            if (onnxInt8 is not null) CliRunner.ExistingFile(onnxInt8, "--vs-int8 ONNX model");
            if (onnxInt8 is null && onnx is not null)
            {
                string guess = Path.ChangeExtension(onnx.FullName, null) + ".qdq.onnx";
                if (File.Exists(guess)) onnxInt8 = new FileInfo(guess);
            }

            var edge = EdgeModel.LoadFile(file.FullName);
            // The JIT compiles on first use, NativeAOT on the device does not: one inference on a throw-away interpreter
            // first, so that first_ms is the first inference after load as the device sees it (packing is at load).
            using (var jit = new Runner(edge, pr.GetValue(isa), t)) jit.Invoke();
            using var runner = new Runner(edge, pr.GetValue(isa), t);
            var (ours, first, _) = Latency.Measure(runner.Invoke, w, n);
            double? ortFloat = null, ortInt8 = null;
            if (onnx is not null) ortFloat = MeasureOrt(onnx.FullName, t, w, n);
            if (onnxInt8 is not null) ortInt8 = MeasureOrt(onnxInt8.FullName, t, w, n);

            if (ctx.Json)
            {
                ctx.WriteJson(new JsonObject
                {
                    ["model"] = file.Name,
                    ["isa"] = runner.Isa.ToString(),
                    ["threads"] = t,
                    ["runs"] = n,
                    ["median_ms"] = Math.Round(ours, 4),
                    ["first_ms"] = Math.Round(first, 4),
                    ["first_over_median"] = Math.Round(first / ours, 3),
                    ["ort_float_median_ms"] = ortFloat is double f ? Math.Round(f, 4) : null,
                    ["ort_int8_median_ms"] = ortInt8 is double q ? Math.Round(q, 4) : null,
                });
            }
            else
            {
                ctx.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{file.Name}: median {ours:F3} ms over {n} runs (first after load {first:F3} ms = {first / ours:F2}x), ISA {runner.Isa}, threads {t}"));
                if (ortFloat is double f) ctx.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ONNX Runtime float: median {f:F3} ms  (ours / ORT float = {ours / f:F2})"));
                if (ortInt8 is double q) ctx.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ONNX Runtime int8:  median {q:F3} ms  (ours / ORT int8 = {ours / q:F2})"));
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static double MeasureOrt(string path, int threads, int warmup, int runs)
    {
#if WITH_ORT
        using var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        using var session = new InferenceSession(path, options);
        var meta = session.InputMetadata.First();
        if (meta.Value.ElementType != typeof(float))
            throw new CliException(ExitCodes.BadInput, $"{Path.GetFileName(path)}: input '{meta.Key}' is {meta.Value.ElementType.Name}, expected float");
        int[] dims = meta.Value.Dimensions.Select(d => d <= 0 ? 1 : d).ToArray();
        var data = new float[dims.Aggregate(1, (a, b) => a * b)];
        var rng = new Random(5);
        for (int i = 0; i < data.Length; i++) data[i] = (float)rng.NextDouble();
        var inputs = new List<NamedOnnxValue> { NamedOnnxValue.CreateFromTensor(meta.Key, new DenseTensor<float>(data, dims)) };
        return Latency.Measure(() => { using var r = session.Run(inputs); }, warmup, runs).MedianMs;
#else
        throw new CliException(ExitCodes.NotAvailable, $"--vs {Path.GetFileName(path)}: ONNX Runtime is not in this build of cnn");
#endif
    }

    /// <summary>The interpreter (weights packed and workers started at load) fed one fixed random input before every inference.</summary>
    private sealed class Runner : IDisposable
    {
        private readonly Interpreter _it;
        private readonly sbyte[] _int8 = [];
        private readonly float[] _float = [];
        public KernelIsa Isa => _it.Isa;

        public Runner(EdgeModel model, KernelIsa isa, int threads)
        {
            _it = new Interpreter(model, new InterpreterOptions { Isa = isa, Threads = threads });
            var rng = new Random(5);
            if (model.Tensors[model.Inputs[0]].Type == TensorType.Float32)
            {
                _float = new float[_it.InputFloat().Length];
                for (int i = 0; i < _float.Length; i++) _float[i] = (float)rng.NextDouble();
            }
            else
            {
                _int8 = new sbyte[_it.InputInt8().Length];
                for (int i = 0; i < _int8.Length; i++) _int8[i] = (sbyte)rng.Next(-128, 128);
            }
        }

        public void Invoke()
        {
            // The arena may reuse the input's bytes once it is dead: write it every time, as a camera loop does.
            if (_float.Length > 0) _float.CopyTo(_it.InputFloat());
            else _int8.CopyTo(_it.InputInt8());
            _it.Invoke();
        }

        public void Dispose() => _it.Dispose();
    }
}
