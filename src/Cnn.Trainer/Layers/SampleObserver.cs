namespace Cnn.Trainer.Layers;

/// <summary>
/// A reduction over a tensor that the layer writing it runs sample by sample, right after each sample is
/// written and still in cache, instead of a later pass over the whole tensor from memory. A BatchNorm2d
/// takes its batch statistics from the convolution before it this way (forward) and its gradient sums from
/// the convolution after it (backward); see <see cref="Network.FuseBatchNormActivations"/>.
/// </summary>
internal interface ISampleObserver
{
    /// <summary>Before the producer's parallel region that writes <paramref name="t"/>: false when nothing is wanted this time.</summary>
    bool Begin(Tensor t, RunContext ctx);

    /// <summary>Sample <paramref name="n"/> of the tensor has been written (called from any thread; samples are disjoint).</summary>
    void Sample(int n, ReadOnlySpan<float> sample);

    /// <summary>After the region: every sample was observed, the reductions belong to <paramref name="t"/>.</summary>
    void End(Tensor t);
}

/// <summary>
/// A tensor whose samples the layer reading it has written on demand, just before it reads each one, instead of
/// one pass over memory that it would read back later: a BatchNorm2d's output (read by the convolution after it)
/// and its dx (read by the convolution that produced its input).
/// </summary>
internal interface IDeferredTensor
{
    /// <summary>
    /// The owner leaves the tensor to this writer (set by <see cref="Network"/> when it wires the reader; cleared
    /// by either side's reset, so a layer taken into another network never waits for a reader it lost).
    /// </summary>
    bool Active { get; set; }

    /// <summary>True when <paramref name="t"/> is the tensor this writer still owes.</summary>
    bool IsPending(Tensor t);

    /// <summary>Writes sample <paramref name="n"/> (called from any thread; samples are disjoint).</summary>
    void WriteSample(int n);

    /// <summary>Every sample has been written.</summary>
    void Complete();
}

/// <summary>A layer that reads its input sample by sample, so the layer before can write it, and reduce its gradient, per sample.</summary>
internal interface ISampleReader
{
    /// <summary>False where this layer's kernels do not run by samples (then the hooks below stay unset).</summary>
    bool ReadsSamples { get; }

    /// <summary>Writes the input sample by sample as this layer reads it (set by <see cref="Network"/>).</summary>
    IDeferredTensor? InputWriter { get; set; }

    /// <summary>Reduces each input-gradient sample right after this layer writes it (set by <see cref="Network"/>).</summary>
    ISampleObserver? InputGradientObserver { get; set; }
}
