namespace Cnn.Edge.Kernels;

/// <summary>
/// The specification of ChannelShuffle (ShuffleNet): the channel axis of length C = groups * K is
/// viewed as [groups, K], transposed to [K, groups] and flattened, i.e. for every position
/// y[k*groups + g] = x[g*K + k]. A permutation of bytes; quantization is unchanged.
/// </summary>
public static class ChannelShuffleReference
{
    /// <param name="outer">Number of positions (N*H*W).</param>
    public static void Run(int outer, int channels, int groups, ReadOnlySpan<sbyte> input, Span<sbyte> output)
    {
        int k = channels / groups;
        for (int o = 0; o < outer; o++)
        {
            ReadOnlySpan<sbyte> x = input.Slice(o * channels, channels);
            Span<sbyte> y = output.Slice(o * channels, channels);
            for (int g = 0; g < groups; g++)
                for (int i = 0; i < k; i++)
                    y[i * groups + g] = x[g * k + i];
        }
    }
}
