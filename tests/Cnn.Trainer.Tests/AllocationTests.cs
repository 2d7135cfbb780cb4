using Cnn.Trainer.Data;
using Cnn.Trainer.Layers;
using Cnn.Trainer.Models;
using Cnn.Trainer.Optim;
using Cnn.Trainer.Training;

namespace Cnn.Trainer.Tests;

[Collection(nameof(SerialCollection))]
public class AllocationTests
{
    /// <summary>
    /// A steady-state training step (load, forward, loss, backward, SGD) allocates nothing on the calling
    /// thread, which runs chunk 0 of every parallel region (the workers run the same code on other chunks).
    /// </summary>
    [Theory]
    [InlineData("mobilenet", 1)]
    [InlineData("mobilenet", 2)]
    [InlineData("lenet5", 2)]
    public void TrainingStepAllocatesNothing(string model, int threads)
    {
        var data = EmbeddedDatasets.FashionMnistSubset().Take(64);
        var net = Zoo.Create(model, new Shape(1, 28, 28), 10, seed: 1);
        var opt = new Optimizer(net.Parameters, OptimizerKind.Sgd, 0.9f);
        var loader = new BatchLoader(data, Preprocessing.FashionMnist, 16, threads);
        var ctx = new RunContext { Training = true, Threads = threads };
        var grad = new Tensor(16, 10, 1, 1);
        var grads = new Tensor?[] { grad };
        var order = Enumerable.Range(0, 64).ToArray();
        var aug = new Augmentation { CropPadding = 2, HorizontalFlip = true };
        void Step(int b)
        {
            var x = loader.Load(order.AsSpan(b % 4 * 16, 16), aug, 1, 0);
            var logits = net.Forward(x, ctx);
            SoftmaxCrossEntropy.Compute(logits, loader.Labels.AsSpan(0, 16), grad);
            net.ZeroGrad();
            net.Backward(grads, ctx);
            opt.Step(0.01f);
        }
        for (int b = 0; b < 3; b++) Step(b);   // first batches size the reused tensors and scratch
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int b = 0; b < 5; b++) Step(b);
        long bytes = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(bytes == 0, $"{model}, {threads} threads: {bytes} bytes allocated in 5 steady-state batches");
    }
}
