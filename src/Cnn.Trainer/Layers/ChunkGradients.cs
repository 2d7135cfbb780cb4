using Cnn.Trainer.Kernels;

namespace Cnn.Trainer.Layers;

/// <summary>
/// Weight and bias gradients of a layer whose batch is split into chunks: each chunk sums into its own
/// buffers, then the chunks are added in order, so the result depends only on the thread count.
/// </summary>
internal sealed class ChunkGradients
{
    private float[][] _w = [], _b = [];

    /// <summary>Runs <paramref name="op"/> of <paramref name="layer"/> over the batch in chunks, then adds the chunks' gradients to the parameters.</summary>
    public void Run(IChunked layer, int op, int batch, int threads, Parameter weight, Parameter? bias, int biases)
    {
        Ensure(Par.Chunks(batch, threads), weight.Value.Length, biases);
        Par.ForChunks(batch, threads, layer, op);
        AddTo(weight, bias);
    }

    private void Ensure(int chunks, int weights, int biases)
    {
        if (_w.Length == chunks && _w[0].Length == weights && _b[0].Length == biases) return;
        _w = new float[chunks][]; _b = new float[chunks][];
        for (int i = 0; i < chunks; i++) { _w[i] = new float[weights]; _b[i] = new float[biases]; }
    }

    /// <summary>The cleared buffers of one chunk.</summary>
    public (float[] Weight, float[] Bias) Begin(int chunk)
    {
        Array.Clear(_w[chunk]); Array.Clear(_b[chunk]);
        return (_w[chunk], _b[chunk]);
    }

    private void AddTo(Parameter weight, Parameter? bias)
    {
        for (int c = 0; c < _w.Length; c++)
        {
            Gemm.Axpy(1f, _w[c], weight.Grad);
            if (bias is not null) Gemm.Axpy(1f, _b[c], bias.Grad);
        }
    }
}
