#if WITH_ORT
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Cnn.Bench;

/// <summary>ONNX Runtime (CPU provider, all graph optimizations) on one fixed random input: the peer.</summary>
public sealed class OrtRunner : IDisposable
{
    private readonly InferenceSession _session;
    private readonly List<NamedOnnxValue> _inputs;

    /// <param name="profilePrefix">When given, ONNX Runtime's own profiler records every node's kernel time
    /// (<see cref="EndProfiling"/> returns the JSON file).</param>
    public OrtRunner(string path, int threads, string? profilePrefix = null)
    {
        var o = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        if (profilePrefix is not null)
        {
            o.EnableProfiling = true;
            o.ProfileOutputPathPrefix = profilePrefix;
        }
        _session = new InferenceSession(path, o);
        var meta = _session.InputMetadata.First();
        int[] dims = meta.Value.Dimensions.Select(d => d <= 0 ? 1 : d).ToArray();
        var rng = new Random(5);
        var data = new float[dims.Aggregate(1, (a, b) => a * b)];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 2 - 1);
        _inputs = [NamedOnnxValue.CreateFromTensor(meta.Key, new DenseTensor<float>(data, dims))];
    }

    public void Invoke()
    {
        using var r = _session.Run(_inputs);
    }

    /// <summary>Stops the profiler; the path of its JSON trace (Chrome trace events).</summary>
    public string EndProfiling() => _session.EndProfiling();

    public void Dispose() => _session.Dispose();
}
#endif
