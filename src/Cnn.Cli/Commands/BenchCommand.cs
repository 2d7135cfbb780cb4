using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
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
/// <c>cnn bench MODEL [--threads N] [--vs model.onnx] [--json]</c>: median latency of the int8 edge model,
/// and of ONNX Runtime on the float ONNX model (and its int8 QDQ form, MODEL.qdq.onnx beside it or --vs-int8)
/// measured in the same run, so the ratio is meaningful on a noisy machine.
/// </summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var model = new Argument<FileInfo>("model") { Description = "Int8 edge model (.cnnq)" };
        var threads = new Option<int>("--threads", "-t") { Description = "Threads (ONNX Runtime intra-op threads; the edge runtime runs its kernels on one thread)", DefaultValueFactory = _ => 1 };
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
            if (t < 1) throw new CliException(ExitCodes.Usage, $"--threads must be at least 1, got {t}");
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
            var runner = new Runner(edge, pr.GetValue(isa));
            var (ours, first) = Measure(runner.Invoke, w, n);
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
                    ["ort_float_median_ms"] = ortFloat is double f ? Math.Round(f, 4) : null,
                    ["ort_int8_median_ms"] = ortInt8 is double q ? Math.Round(q, 4) : null,
                });
            }
            else
            {
                ctx.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{file.Name}: median {ours:F3} ms over {n} runs (first {first:F3} ms), ISA {runner.Isa}, threads {t}"));
                if (ortFloat is double f) ctx.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ONNX Runtime float: median {f:F3} ms  (ours / ORT float = {ours / f:F2})"));
                if (ortInt8 is double q) ctx.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ONNX Runtime int8:  median {q:F3} ms  (ours / ORT int8 = {ours / q:F2})"));
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>Median (ms) of <paramref name="runs"/> timed calls after <paramref name="warmup"/>, and the first call's time.</summary>
    internal static (double Median, double First) Measure(Action run, int warmup, int runs)
    {
        long t0 = Stopwatch.GetTimestamp();
        run();
        double first = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        for (int i = 1; i < warmup; i++) run();
        var times = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            long s = Stopwatch.GetTimestamp();
            run();
            times[i] = Stopwatch.GetElapsedTime(s).TotalMilliseconds;
        }
        Array.Sort(times);
        return (runs % 2 == 1 ? times[runs / 2] : (times[runs / 2 - 1] + times[runs / 2]) / 2, first);
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
        return Measure(() => { using var r = session.Run(inputs); }, warmup, runs).Median;
#else
        throw new CliException(ExitCodes.NotAvailable, $"--vs {Path.GetFileName(path)}: ONNX Runtime is not in this build of cnn");
#endif
    }

    /// <summary>Runs the model's ops as the interpreter does: prepared once (weights packed) with one ISA, one arena.</summary>
    private sealed class Runner
    {
        private readonly PreparedOp[] _ops;
        private readonly byte[] _arena, _scratch, _input;
        private readonly int _inputOffset;
        public KernelIsa Isa { get; }

        public Runner(EdgeModel model, KernelIsa isa)
        {
            Isa = KernelSelector.Resolve(isa);
            _ops = new PreparedOp[model.Ops.Count];
            int scratch = 0;
            for (int i = 0; i < _ops.Length; i++)
            {
                _ops[i] = OpFactory.Prepare(model.Ops[i], model.Tensors, Isa);
                scratch = Math.Max(scratch, _ops[i].ScratchBytes);
            }
            _arena = new byte[model.Plan.ArenaBytes];
            _scratch = new byte[scratch];
            var x = model.Tensors[model.Inputs[0]];
            _input = new byte[x.ByteLength];
            _inputOffset = x.ArenaOffset;
            var rng = new Random(5);
            if (x.Type == TensorType.Float32)
            {
                Span<float> f = MemoryMarshal.Cast<byte, float>(_input.AsSpan());
                for (int i = 0; i < f.Length; i++) f[i] = (float)rng.NextDouble();
            }
            else
            {
                rng.NextBytes(_input);
            }
        }

        public void Invoke()
        {
            // The arena may reuse the input's bytes once it is dead: write it every time, as a camera loop does.
            _input.CopyTo(_arena, _inputOffset);
            foreach (var op in _ops) op.Invoke(_arena, _scratch);
        }
    }
}
