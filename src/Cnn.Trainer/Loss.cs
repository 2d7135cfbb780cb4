namespace Cnn.Trainer;

/// <summary>
/// Softmax cross-entropy averaged over the batch, with label smoothing and soft (mixup) targets.
/// Target distribution t = (1−ε)·mix + ε/K; loss = −Σ t·log softmax(z); ∂loss/∂z = (softmax(z) − t)/N·weight.
/// </summary>
public static class SoftmaxCrossEntropy
{
    /// <summary>Hard labels, or mixup pairs (labelsB with weight 1−lambda[n]) when labelsB is given.</summary>
    public static double Compute(Tensor logits, ReadOnlySpan<int> labels, Tensor? grad, float labelSmoothing = 0f,
        ReadOnlySpan<int> labelsB = default, ReadOnlySpan<float> lambda = default, float weight = 1f)
    {
        int n = logits.N, k = logits.SampleSize;
        double total = 0;
        Span<double> p = k <= 1024 ? stackalloc double[k] : new double[k];
        for (int i = 0; i < n; i++)
        {
            var z = logits.Data.AsSpan(i * k, k);
            float max = float.NegativeInfinity;
            foreach (float v in z) max = Math.Max(max, v);
            double sum = 0;
            for (int j = 0; j < k; j++) { p[j] = Math.Exp(z[j] - max); sum += p[j]; }
            double logSum = Math.Log(sum);
            float lam = lambda.IsEmpty ? 1f : lambda[i];
            float offTarget = labelSmoothing / k;
            double loss = 0;
            for (int j = 0; j < k; j++)
            {
                double t = offTarget + (1 - labelSmoothing) * ((j == labels[i] ? lam : 0f) + (!labelsB.IsEmpty && j == labelsB[i] ? 1 - lam : 0f));
                double logp = z[j] - max - logSum;
                if (t != 0) loss -= t * logp;
                if (grad is not null) grad.Data[i * k + j] = (float)((p[j] / sum - t) / n * weight);
            }
            total += loss;
        }
        return total / n * weight;
    }

    public static int ArgMax(ReadOnlySpan<float> v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
        return best;
    }
}
