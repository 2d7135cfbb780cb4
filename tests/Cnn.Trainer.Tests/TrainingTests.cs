using Cnn.Trainer.Data;
using Cnn.Trainer.Layers;
using Cnn.Trainer.Models;
using Cnn.Trainer.Optim;
using Cnn.Trainer.Training;

namespace Cnn.Trainer.Tests;

internal sealed class SyncProgress<T>(Action<T> action) : IProgress<T>
{
    public void Report(T value) => action(value);
}

public class TrainingTests
{
    private static float[] Weights(Network net) => net.Parameters.SelectMany(p => p.Value)
        .Concat(net.Nodes.SelectMany(n => n.Layer.Buffers).SelectMany(b => b.Value)).ToArray();

    [Fact]
    public void LeNetLearnsEmbeddedMnistSubset()
    {
        var train = EmbeddedDatasets.MnistSubset().Take(1500);
        var test = EmbeddedDatasets.MnistSubset(test: true).Take(500);
        var net = Zoo.LeNet5(new Shape(1, 28, 28), 10, seed: 1);
        var hist = NetworkTrainer.Fit(net, train, test, new TrainOptions { Epochs = 2, BatchSize = 32, Threads = 2, Preprocessing = Preprocessing.Mnist, Seed = 1 }, cancel: TestContext.Current.CancellationToken);
        Assert.Equal(2, hist.Epochs.Count);
        Assert.True(hist.Epochs[1].TrainLoss < hist.Epochs[0].TrainLoss, $"loss did not fall: {hist.Epochs[0].TrainLoss} -> {hist.Epochs[1].TrainLoss}");
        Assert.True(hist.Epochs[1].TrainLoss < Math.Log(10) * 0.3, $"loss {hist.Epochs[1].TrainLoss} vs ln 10 for chance");
        Assert.True(hist.Last.ValidationAccuracy > 0.85, $"test accuracy {hist.Last.ValidationAccuracy:P2} after 2 epochs on 2000 images");
    }

    private static TrainHistory TinyRun(Network net, int threads, int seed, TrainOptions? o = null, string? ckpt = null, bool resume = false,
        IProgress<EpochReport>? progress = null, CancellationTokenSource? cancel = null)
    {
        var data = EmbeddedDatasets.FashionMnistSubset().Take(160);
        o ??= new TrainOptions();
        o = o with
        {
            Epochs = o.Epochs == 3 ? 2 : o.Epochs, BatchSize = 32, Threads = threads, Seed = seed, Preprocessing = Preprocessing.FashionMnist,
            CheckpointPath = ckpt, Resume = resume, Augmentation = new Augmentation { CropPadding = 2, HorizontalFlip = true },
            MixupAlpha = 0.4f, LabelSmoothing = 0.1f,
        };
        return NetworkTrainer.Fit(net, data, null, o, progress, null, cancel?.Token ?? TestContext.Current.CancellationToken);
    }

    /// <summary>Small but covers the parallel paths: strided conv, BN, depthwise, pointwise, dropout, pooling.</summary>
    private static Network Small(int seed)
    {
        var b = new NetworkBuilder(new Shape(1, 28, 28), seed);
        int x = b.ConvBnAct(NetworkBuilder.Input, 8, 3, 2);
        x = Zoo.DepthwiseSeparable(b, x, 16, 2, "ds");
        x = b.Dropout(b.Flatten(b.GlobalAvgPool(x)), 0.2f);
        return b.Build(b.Linear(x, 10));
    }

    [Fact]
    public void SameSeedAndThreadsGiveIdenticalWeights()
    {
        var a = Small(3); TinyRun(a, 2, 5);
        var b = Small(3); TinyRun(b, 2, 5);
        Assert.Equal(Weights(a), Weights(b));
        var c = Small(3); TinyRun(c, 2, 6);
        Assert.NotEqual(Weights(a), Weights(c));
    }

    [Fact]
    public void ResumeFromCheckpointContinuesExactly()
    {
        string dir = Directory.CreateTempSubdirectory("cnn-ckpt").FullName;
        try
        {
            string ck = Path.Combine(dir, "run.ckpt");
            var full = Small(4);
            TinyRun(full, 2, 9, new TrainOptions { Epochs = 2, Optimizer = OptimizerKind.AdamW, LearningRate = 0.003f, WeightDecay = 0.01f });

            // interrupted after the first epoch (as a kill would, after the checkpoint was renamed into place)
            var cts = new CancellationTokenSource();
            var part = Small(4);
            Assert.Throws<OperationCanceledException>(() => TinyRun(part, 2, 9,
                new TrainOptions { Epochs = 2, Optimizer = OptimizerKind.AdamW, LearningRate = 0.003f, WeightDecay = 0.01f }, ck,
                progress: new SyncProgress<EpochReport>(_ => cts.Cancel()), cancel: cts));
            Assert.True(File.Exists(ck));
            Assert.Empty(Directory.GetFiles(dir, "*.tmp"));

            var resumed = Small(99);   // different init: everything must come from the checkpoint
            var hist = TinyRun(resumed, 2, 9, new TrainOptions { Epochs = 2, Optimizer = OptimizerKind.AdamW, LearningRate = 0.003f, WeightDecay = 0.01f }, ck, resume: true);
            Assert.Equal(2, hist.Epochs.Count);
            Assert.Equal(Weights(full), Weights(resumed));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void CorruptOrMismatchedCheckpointIsRejected()
    {
        string dir = Directory.CreateTempSubdirectory("cnn-ckpt").FullName;
        try
        {
            string ck = Path.Combine(dir, "a.ckpt");
            var net = Zoo.ConvNet(new Shape(1, 28, 28), 10);
            Checkpoint.Save(ck, net, null, 1, 1f, []);
            Checkpoint.Load(ck, Zoo.ConvNet(new Shape(1, 28, 28), 10));
            var ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(ck, Zoo.LeNet5(new Shape(1, 28, 28), 10)));
            Assert.Contains("architecture", ex.Message);
            var bytes = File.ReadAllBytes(ck);
            bytes[bytes.Length / 2] ^= 0x40;
            File.WriteAllBytes(ck, bytes);
            Assert.Contains("checksum", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(ck, net)).Message);
            File.WriteAllBytes(ck, bytes[..20]);
            Assert.Throws<InvalidDataException>(() => Checkpoint.Load(ck, net));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void CrashBeforeRenameLeavesThePreviousCheckpointIntact()
    {
        string dir = Directory.CreateTempSubdirectory("cnn-ckpt").FullName;
        try
        {
            string ck = Path.Combine(dir, "a.ckpt");
            var net = Zoo.ConvNet(new Shape(1, 28, 28), 10, seed: 1);
            Checkpoint.Save(ck, net, null, 1, 1f, []);
            var before = File.ReadAllBytes(ck);
            var other = Zoo.ConvNet(new Shape(1, 28, 28), 10, seed: 2);
            AtomicFile.BeforeRename = tmp =>
            {
                Assert.True(File.Exists(tmp));          // the new checkpoint is complete on disk but not yet in place
                throw new IOException("simulated crash");
            };
            try { Assert.Throws<IOException>(() => Checkpoint.Save(ck, other, null, 2, 1f, [])); }
            finally { AtomicFile.BeforeRename = null; }
            Assert.Equal(before, File.ReadAllBytes(ck));
            Assert.Equal(1, Checkpoint.Load(ck, Zoo.ConvNet(new Shape(1, 28, 28), 10)).EpochsDone);
            Assert.Single(Directory.GetFiles(dir));      // no temporary file left behind
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void EarlyStoppingStopsWhenValidationStalls()
    {
        var data = EmbeddedDatasets.MnistSubset().Take(64);
        var net = Zoo.ConvNet(new Shape(1, 28, 28), 10, 1);
        // a learning rate this small cannot move the validation accuracy: patience 1 stops after epoch 2
        var hist = NetworkTrainer.Fit(net, data, data, new TrainOptions { Epochs = 6, LearningRate = 1e-9f, Threads = 1, EarlyStoppingPatience = 1, Preprocessing = Preprocessing.Mnist }, cancel: TestContext.Current.CancellationToken);
        Assert.True(hist.StoppedEarly);
        Assert.Equal(2, hist.Epochs.Count);
    }

    [Fact]
    public void AuxiliaryHeadReceivesGradient()
    {
        var data = EmbeddedDatasets.MnistSubset().Take(32);
        Network Build()
        {
            var b = new NetworkBuilder(new Shape(1, 28, 28), 1);
            int x = b.ConvBnAct(NetworkBuilder.Input, 8, 3, 2);
            int aux = b.Linear(b.Flatten(b.GlobalAvgPool(x)), 10, name: "aux.fc");
            x = b.ConvBnAct(x, 8, 3, 2);
            return b.Build(b.Linear(b.Flatten(b.GlobalMaxPool(x)), 10, name: "fc"), aux);
        }
        var net = Build();
        var aux = (Linear)net["aux.fc"];
        var w0 = (float[])aux.Weight.Value.Clone();
        NetworkTrainer.Fit(net, data, null, new TrainOptions { Epochs = 1, BatchSize = 16, Threads = 2, AuxiliaryLossWeights = [0.3f], Preprocessing = Preprocessing.Mnist }, cancel: TestContext.Current.CancellationToken);
        Assert.NotEqual(w0, aux.Weight.Value);
        var net2 = Build();
        NetworkTrainer.Fit(net2, data, null, new TrainOptions { Epochs = 1, BatchSize = 16, Threads = 2, Preprocessing = Preprocessing.Mnist }, cancel: TestContext.Current.CancellationToken);
        Assert.Equal(w0, ((Linear)net2["aux.fc"]).Weight.Value);  // weight 0: head untouched
    }

    [Fact]
    public void LastPartialBatchIsDroppedUnlessKept()
    {
        var data = EmbeddedDatasets.MnistSubset().Take(100);
        (int Batches, double Images) Run(bool dropLast, int batch)
        {
            int batches = 0; double images = 0;
            var net = Zoo.LeNet5(new Shape(1, 28, 28), 10, seed: 1);
            var o = new TrainOptions { Epochs = 1, BatchSize = batch, Threads = 2, DropLast = dropLast, Preprocessing = Preprocessing.Mnist };
            NetworkTrainer.Fit(net, data, null, o, progress: new SyncProgress<EpochReport>(e => images = e.ImagesPerSecond * e.Seconds),
                batchProgress: new SyncProgress<BatchReport>(r =>
                {
                    batches = r.Batch;
                    Assert.Equal(o.BatchesPerEpoch(data.Count), r.Batches);
                }), cancel: TestContext.Current.CancellationToken);
            return (batches, images);
        }
        var drop = Run(true, 32);
        Assert.Equal(3, drop.Batches);  // 100 = 3·32 + 4: the 4 are skipped, as PyTorch's drop_last=True
        Assert.Equal(96, drop.Images, 1e-3);
        var keep = Run(false, 32);
        Assert.Equal(4, keep.Batches);
        Assert.Equal(100, keep.Images, 1e-3);
        Assert.Equal(1, Run(true, 128).Batches);  // a set smaller than one batch still trains
    }

    [Fact]
    public void FrozenParametersDoNotMove()
    {
        var data = EmbeddedDatasets.MnistSubset().Take(64);
        var net = Zoo.LeNet5(new Shape(1, 28, 28), 10, 1);
        foreach (var p in net.Parameters) p.Frozen = true;
        var head = (Linear)net["fc3"];
        head.Weight.Frozen = false;
        var conv = ((Conv2d)net["conv1"]).Weight.Value.ToArray();
        var hw = head.Weight.Value.ToArray();
        NetworkTrainer.Fit(net, data, null, new TrainOptions { Epochs = 1, Threads = 1, Preprocessing = Preprocessing.Mnist }, cancel: TestContext.Current.CancellationToken);
        Assert.Equal(conv, ((Conv2d)net["conv1"]).Weight.Value);
        Assert.NotEqual(hw, head.Weight.Value);
    }
}
