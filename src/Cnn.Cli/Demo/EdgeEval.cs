using System.Globalization;
using Cnn.Edge;
using Cnn.Trainer.Data;

namespace Cnn.Cli.Demo;

/// <summary>
/// Runs an int8 edge model over a labelled data set exactly as the device would (same interpreter,
/// same kernels), with the preprocessing the model's metadata declares.
/// </summary>
public static class EdgeEval
{
    public sealed record Result(double Accuracy, int[] Predictions, int[,] Confusion, double MedianMs);

    /// <summary>x = (pixel · input.pixel_scale − input.mean[c]) / input.std[c], defaults 1/255, 0, 1.</summary>
    public static (float PixelScale, float[] Mean, float[] Std) Preprocessing(EdgeModel model, int channels)
    {
        float scale = Get(model, "input.pixel_scale") is { } s ? float.Parse(s, CultureInfo.InvariantCulture) : 1f / 255f;
        float[] Parse(string key, float dflt)
        {
            if (Get(model, key) is not { } v) return Enumerable.Repeat(dflt, channels).ToArray();
            var parts = v.Split(',').Select(p => float.Parse(p, CultureInfo.InvariantCulture)).ToArray();
            if (parts.Length == 1) return Enumerable.Repeat(parts[0], channels).ToArray();
            if (parts.Length != channels)
                throw new CliException(ExitCodes.BadInput, $"model metadata {key} has {parts.Length} values for {channels} channels");
            return parts;
        }
        return (scale, Parse("input.mean", 0f), Parse("input.std", 1f));
    }

    private static string? Get(EdgeModel m, string key) => m.Metadata.TryGetValue(key, out var v) ? v : null;

    public static Result Evaluate(EdgeModel model, IDataset data, InterpreterOptions? options = null, Action<double>? progress = null)
    {
        using var interp = new Interpreter(model, options);
        var input = model.Tensors[model.Inputs[0]];
        // NHWC [1, H, W, C]; the data set gives C·H·W bytes per sample.
        if (input.Shape is not [1, var h, var w, var c] || h != data.Height || w != data.Width || c != data.Channels)
            throw new CliException(ExitCodes.BadInput,
                $"model input {input.Name} is [{string.Join('x', input.Shape)}] but the data set has {data.Channels}x{data.Height}x{data.Width} images (CHW)");
        var (pixelScale, mean, std) = Preprocessing(model, c);
        var output = model.Tensors[model.Outputs[0]];
        int classes = output.ElementCount;
        var confusion = new int[data.Labels.Length, Math.Max(classes, data.Labels.Length)];
        var preds = new int[data.Count];
        var bytes = new byte[c * h * w];
        var times = new double[data.Count];
        long correct = 0;
        for (int n = 0; n < data.Count; n++)
        {
            data.GetPixels(n, bytes);
            if (input.Type == TensorType.Float32)
            {
                var x = interp.InputFloat();
                for (int y = 0; y < h * w; y++)
                    for (int ch = 0; ch < c; ch++)
                        x[y * c + ch] = (bytes[ch * h * w + y] * pixelScale - mean[ch]) / std[ch];
            }
            else
            {
                var x = interp.InputInt8();
                for (int y = 0; y < h * w; y++)
                    for (int ch = 0; ch < c; ch++)
                    {
                        float v = (bytes[ch * h * w + y] * pixelScale - mean[ch]) / std[ch];
                        // The device's rounding (Cnn.Edge.Devices InputSpec): half away from zero, in double.
                        x[y * c + ch] = Cnn.Quantize.Calibration.QuantParams.Quantize(v, input.Scale, input.ZeroPoint);
                    }
            }
            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            interp.Invoke();
            times[n] = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            int best = 0;
            if (output.Type == TensorType.Float32)
            {
                var o = interp.OutputFloat();
                for (int k = 1; k < classes; k++) if (o[k] > o[best]) best = k;
            }
            else
            {
                var o = interp.OutputInt8();
                for (int k = 1; k < classes; k++) if (o[k] > o[best]) best = k;
            }
            preds[n] = best;
            int label = data.Label(n);
            confusion[label, best]++;
            if (best == label) correct++;
            if ((n & 63) == 0) progress?.Invoke(n);
        }
        Array.Sort(times);
        return new Result(data.Count == 0 ? 0 : correct / (double)data.Count, preds, confusion, times.Length == 0 ? 0 : times[times.Length / 2]);
    }
}
