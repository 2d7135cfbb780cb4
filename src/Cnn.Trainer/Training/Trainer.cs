using System.Diagnostics;
using Cnn.Trainer.Data;
using Cnn.Trainer.Kernels;
using Cnn.Trainer.Layers;
using Cnn.Trainer.Optim;

namespace Cnn.Trainer.Training;

/// <summary>
/// Mini-batch training loop. Determinism: the shuffle, augmentation, mixup and dropout draws depend
/// only on (seed, epoch, sample), and every reduction runs in a fixed chunk order for a given thread
/// count, so the same seed and thread count give the same weights — also after a resume.
/// </summary>
public static class NetworkTrainer
{
    public static TrainHistory Fit(Network net, IDataset train, IDataset? validation, TrainOptions o,
        IProgress<EpochReport>? progress = null, IProgress<BatchReport>? batchProgress = null, CancellationToken cancel = default)
    {
        Validate(net, train, o);
        var pre = o.Preprocessing ?? Preprocessing.Measure(train);
        if (pre.Mean.Length != train.Channels || pre.Std.Length != train.Channels)
            throw new ArgumentException($"preprocessing has {pre.Mean.Length} means / {pre.Std.Length} stds for {train.Channels} channels");
        net.Labels ??= train.Labels;
        var opt = new Optimizer(net.Parameters, o.Optimizer, o.Momentum, o.Nesterov, o.WeightDecay);
        int batches = o.BatchesPerEpoch(train.Count);
        long totalSteps = (long)batches * o.Epochs;
        var schedule = new LrSchedule
        {
            Kind = o.Schedule, BaseLr = o.LearningRate, MinLr = o.MinLearningRate, WarmupSteps = (int)(o.WarmupEpochs * batches),
            StepEpochs = o.StepEpochs, Gamma = o.StepGamma, Patience = o.PlateauPatience,
        };
        var history = new List<EpochReport>();
        int startEpoch = 0;
        double bestAcc = double.NegativeInfinity; int sinceBest = 0;
        if (o.Resume && o.CheckpointPath is not null && File.Exists(o.CheckpointPath))
        {
            var ck = Checkpoint.Load(o.CheckpointPath, net, opt);
            startEpoch = ck.EpochsDone;
            schedule.PlateauFactor = ck.PlateauFactor;
            history.AddRange(ck.History);
            foreach (var e in history)
                if (e.ValidationAccuracy is { } va) { if (va > bestAcc) { bestAcc = va; sinceBest = 0; } else sinceBest++; }
        }

        var loader = new BatchLoader(train, pre, o.BatchSize, o.Threads);
        var ctx = new RunContext { Training = true, Threads = o.Threads };
        int outputs = net.Outputs.Length;
        var grads = new Tensor?[outputs];
        var gradBufs = new Tensor?[outputs];
        var order = new int[train.Count];
        var labelsB = new int[o.BatchSize];
        var lambdas = new float[o.BatchSize];
        bool stopped = false;
        for (int epoch = startEpoch; epoch < o.Epochs && !stopped; epoch++)
        {
            for (int i = 0; i < order.Length; i++) order[i] = i;
            // Seeds from SplitMix, not HashCode.Combine: HashCode is randomised per process, so runs differed between processes.
            new Random((int)new SplitMix(o.Seed, epoch, -17).Next()).Shuffle(order);
            ctx.Rng = new Random((int)new SplitMix(o.Seed, epoch, -29).Next());
            var sw = Stopwatch.StartNew();
            double lossSum = 0; long correct = 0, seen = 0;
            float lr = 0;
            for (int b = 0; b < batches; b++)
            {
                cancel.ThrowIfCancellationRequested();
                int start = b * o.BatchSize, count = Math.Min(o.BatchSize, train.Count - start);
                var x = loader.Load(order.AsSpan(start, count), o.Augmentation, o.Seed, epoch);
                var labels = loader.Labels.AsSpan(0, count);
                ReadOnlySpan<int> lb = default; ReadOnlySpan<float> lam = default;
                if (o.MixupAlpha > 0)
                {
                    var rng = new SplitMix(o.Seed, epoch, -1 - b);
                    float l = Augmenter.Beta(o.MixupAlpha, ref rng);
                    BatchLoader.Mix(x, l, labels, labelsB, count);
                    Array.Fill(lambdas, l);
                    lb = labelsB.AsSpan(0, count); lam = lambdas.AsSpan(0, count);
                }
                net.ZeroGrad();
                var logits = net.Forward(x, ctx);
                double loss = 0;
                for (int k = 0; k < outputs; k++)
                {
                    float w = k == 0 ? 1f : (k - 1 < o.AuxiliaryLossWeights.Length ? o.AuxiliaryLossWeights[k - 1] : 0f);
                    if (w == 0) { grads[k] = null; continue; }
                    var z = net.Output(k);
                    var g = Tensor.Ensure(ref gradBufs[k], z.N, z.C, z.H, z.W);
                    loss += SoftmaxCrossEntropy.Compute(z, labels, g, o.LabelSmoothing, lb, lam, w);
                    grads[k] = g;
                }
                net.Backward(grads, ctx);
                lr = schedule.At(opt.StepCount, epoch, totalSteps, batches);
                opt.Step(lr);
                lossSum += loss * count;
                for (int i = 0; i < count; i++)
                    if (SoftmaxCrossEntropy.ArgMax(logits.Sample(i)) == labels[i]) correct++;
                seen += count;
                batchProgress?.Report(new BatchReport(epoch + 1, o.Epochs, b + 1, batches, lossSum / seen, (double)correct / seen,
                    seen / Math.Max(1e-9, sw.Elapsed.TotalSeconds), sw.Elapsed.TotalSeconds));
            }
            double secs = sw.Elapsed.TotalSeconds;
            double? vLoss = null, vAcc = null;
            if (validation is not null && validation.Count > 0)
            {
                var ev = Evaluate(net, validation, pre, o.BatchSize, o.Threads);
                vLoss = ev.Loss; vAcc = ev.Accuracy;
                schedule.Observe(ev.Loss);
            }
            var rep = new EpochReport(epoch + 1, o.Epochs, lossSum / seen, (double)correct / seen, vLoss, vAcc, lr, secs, seen / secs);
            history.Add(rep);
            if (vAcc is { } acc && o.EarlyStoppingPatience > 0)
            {
                if (acc > bestAcc) { bestAcc = acc; sinceBest = 0; }
                else if (++sinceBest >= o.EarlyStoppingPatience) stopped = true;
            }
            if (o.CheckpointPath is not null)
                Checkpoint.Save(o.CheckpointPath, net, opt, epoch + 1, schedule.PlateauFactor, history);
            progress?.Report(rep);
        }
        return new TrainHistory(history, pre, stopped);
    }

    private static void Validate(Network net, IDataset train, TrainOptions o)
    {
        if (train.Count == 0) throw new ArgumentException("the training set is empty");
        var s = net.InputShape;
        if (s.C != train.Channels || s.H != train.Height || s.W != train.Width)
            throw new ModelSpecException("(input)", $"network input is {s} but the data is {train.Channels}x{train.Height}x{train.Width}");
        if (net.Classes < train.Labels.Length)
            throw new ModelSpecException(net.Nodes[net.Outputs[0]].Layer.Name, $"has {net.Classes} outputs but the data has {train.Labels.Length} classes");
        for (int k = 1; k < net.Outputs.Length; k++)
            if (net.Nodes[net.Outputs[k]].Shape.Size < train.Labels.Length)
                throw new ModelSpecException(net.Nodes[net.Outputs[k]].Layer.Name, "auxiliary output has fewer outputs than classes");
        if (o.BatchSize <= 0 || o.Epochs <= 0 || o.Threads <= 0) throw new ArgumentException("batch size, epochs and threads must be positive");
        if (o.LearningRate <= 0 || float.IsNaN(o.LearningRate)) throw new ArgumentException("learning rate must be positive");
        if (o.LabelSmoothing is < 0 or >= 1) throw new ArgumentException("label smoothing must be in [0, 1)");
    }

    public sealed record Evaluation(double Loss, double Accuracy, int[] Predictions, int[,] Confusion);

    /// <summary>Eval-mode forward over a data set (BatchNorm uses running statistics, dropout off).</summary>
    public static Evaluation Evaluate(Network net, IDataset data, Preprocessing pre, int batchSize = 256, int threads = 1)
    {
        var loader = new BatchLoader(data, pre, batchSize, threads);
        var ctx = new RunContext { Training = false, Threads = threads };
        var idx = Enumerable.Range(0, data.Count).ToArray();
        int k = data.Labels.Length;
        var confusion = new int[k, Math.Max(k, net.Classes)];
        var preds = new int[data.Count];
        double loss = 0; long correct = 0;
        for (int start = 0; start < data.Count; start += batchSize)
        {
            int count = Math.Min(batchSize, data.Count - start);
            var x = loader.Load(idx.AsSpan(start, count), null, 0, 0);
            var logits = net.Forward(x, ctx);
            var labels = loader.Labels.AsSpan(0, count);
            loss += SoftmaxCrossEntropy.Compute(logits, labels, null) * count;
            for (int i = 0; i < count; i++)
            {
                int p = SoftmaxCrossEntropy.ArgMax(logits.Sample(i));
                preds[start + i] = p;
                confusion[labels[i], p]++;
                if (p == labels[i]) correct++;
            }
        }
        return new Evaluation(loss / data.Count, (double)correct / data.Count, preds, confusion);
    }
}

/// <summary>Turns sample indices into a normalised, optionally augmented input batch (reused tensor, parallel over samples).</summary>
internal sealed class BatchLoader : IChunked
{
    private readonly IDataset _data;
    private readonly Preprocessing _pre;
    private readonly int _threads;
    private readonly byte[][] _px;
    private readonly float[][] _f0, _f1;
    private Tensor? _x;
    public int[] Labels { get; }

    public BatchLoader(IDataset data, Preprocessing pre, int batch, int threads)
    {
        _data = data; _pre = pre; _threads = threads;
        int size = data.Channels * data.Height * data.Width;
        int chunks = Math.Max(1, threads);
        _px = Enumerable.Range(0, chunks).Select(_ => new byte[size]).ToArray();
        _f0 = Enumerable.Range(0, chunks).Select(_ => new float[size]).ToArray();
        _f1 = Enumerable.Range(0, chunks).Select(_ => new float[size]).ToArray();
        Labels = new int[batch];
        _idx = new int[batch];
    }

    private readonly int[] _idx;

    private Augmentation? _aug;
    private int _seed, _epoch;

    public Tensor Load(ReadOnlySpan<int> indices, Augmentation? aug, int seed, int epoch)
    {
        int n = indices.Length;
        var x = Tensor.Ensure(ref _x, n, _data.Channels, _data.Height, _data.Width);
        indices.CopyTo(_idx);
        _aug = aug is { Any: true } ? aug : null;
        _seed = seed; _epoch = epoch;
        Par.ForChunks(n, _threads, this);
        return x;
    }

    void IChunked.RunChunk(int op, int chunk, int i0, int i1)
    {
        int c = _data.Channels, h = _data.Height, w = _data.Width, plane = h * w;
        var x = _x!; var idx = _idx;
        var px = _px[chunk]; var f0 = _f0[chunk]; var f1 = _f1[chunk];
        for (int i = i0; i < i1; i++)
        {
            _data.GetPixels(idx[i], px);
            Labels[i] = _data.Label(idx[i]);
            for (int k = 0; k < px.Length; k++) f0[k] = px[k];
            var src = f0;
            if (_aug is not null)
            {
                var rng = new SplitMix(_seed, _epoch, idx[i]);
                Augmenter.Apply(_aug, f0, f1, c, h, w, ref rng);
                src = f1;
            }
            var dst = x.Sample(i);
            for (int ch = 0; ch < c; ch++)
            {
                float scale = _pre.PixelScale / _pre.Std[ch], shift = -_pre.Mean[ch] / _pre.Std[ch];
                for (int k = 0; k < plane; k++) dst[ch * plane + k] = src[ch * plane + k] * scale + shift;
            }
        }
    }

    /// <summary>Mixup with the reversed batch: x_i = λ·x_i + (1−λ)·x_{n−1−i}.</summary>
    public static void Mix(Tensor x, float lambda, ReadOnlySpan<int> labels, int[] labelsB, int n)
    {
        int size = x.SampleSize;
        for (int i = 0; i < n / 2; i++)
        {
            var a = x.Sample(i); var b = x.Sample(n - 1 - i);
            for (int k = 0; k < size; k++)
            {
                float va = a[k], vb = b[k];
                a[k] = lambda * va + (1 - lambda) * vb;
                b[k] = lambda * vb + (1 - lambda) * va;
            }
        }
        for (int i = 0; i < n; i++) labelsB[i] = labels[n - 1 - i];
    }
}
