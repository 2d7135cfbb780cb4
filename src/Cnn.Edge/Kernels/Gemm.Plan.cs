namespace Cnn.Edge.Kernels;

/// <summary>
/// Weights of one int8 GEMM (C[m, n] = requant(bias[n] + Σ_k (A[m, k] - inZp) * W[n, k])) packed at load
/// for the 4x4 microkernels of <see cref="Int8Gemm"/>: channels in groups of <see cref="NR"/>, K padded with
/// zero weights to a multiple of <see cref="KBlock"/>, laid out [group][kBlock][channel in group][16 bytes] so
/// that the kernel streams them linearly. The input zero point is folded into the bias:
/// Σ (a - zp) w = Σ a w - zp Σ w, exact modulo 2^32, hence the same final accumulator as the reference.
/// </summary>
internal sealed class GemmPlan
{
    public const int NR = 4;
    public const int MR = 4;
    public const int KBlock = 16;

    public readonly KernelIsa Isa;
    public readonly int N, K, Kp, KBlocks, Groups;
    /// <summary>[Groups][KBlocks][NR][KBlock] int8 weights (every ISA but Avx2).</summary>
    public readonly sbyte[] W;
    /// <summary>The same layout widened to int16 for the AVX2 VPMADDWD kernel; empty otherwise.</summary>
    public readonly short[] W16;
    /// <summary>[Groups*NR] folded bias and requantization parameters (padding channels get zeros).</summary>
    public readonly int[] Bias, Mult, Left, RightPos, RightNeg;
    public readonly int OutZp, ActMin, ActMax;
    /// <summary>AdvSimd only: no weight is -128, so two int8 products summed in an int16 lane stay within
    /// ±(128*127*2) = ±32512 and SMULL+SMLAL2 may pair them before the SADALP into int32.</summary>
    public readonly bool PairProducts;
    /// <summary>AdvSimdDp only: W is laid out for <see cref="Int8Gemm.TileDp16"/> instead: channels in groups of
    /// <see cref="NRDp"/> (the last one 8 wide when at most 8 channels remain), each [K/4][channel][4 bytes], so
    /// one 16-byte vector holds 4 channels x 4 k and SDOT by element multiplies it by 4 k of one row of A.</summary>
    public readonly bool Dp16;
    public const int NRDp = 16;
    /// <summary>Which NEON requantization the shifts allow.</summary>
    public readonly ArmRequantKind RequantKind;

    /// <param name="weights">[N, K] row-major int8 weights (one row per output channel).</param>
    /// <param name="bias">[N] int32, or empty.</param>
    public GemmPlan(KernelIsa isa, int n, int k, ReadOnlySpan<sbyte> weights, ReadOnlySpan<int> bias,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, int inZp, int outZp, int actMin, int actMax)
    {
        if (weights.Length < n * k || multipliers.Length < n || shifts.Length < n || (!bias.IsEmpty && bias.Length < n))
            throw new ArgumentException($"GEMM of N={n}, K={k}: weights, multipliers, shifts or bias too short");
        Isa = isa;
        N = n; K = k;
        KBlocks = (k + KBlock - 1) / KBlock;
        Kp = KBlocks * KBlock;
        Groups = (n + NR - 1) / NR;
        OutZp = outZp; ActMin = actMin; ActMax = actMax;
        Dp16 = isa == KernelIsa.AdvSimdDp;
        int np = Dp16 ? (n + NRDp - 1) / NRDp * NRDp : Groups * NR;
        W = new sbyte[Dp16 ? np * Kp : Groups * KBlocks * NR * KBlock];
        Bias = new int[np]; Mult = new int[np]; Left = new int[np]; RightPos = new int[np]; RightNeg = new int[np];
        bool hasMinus128 = false;
        for (int c = 0; c < n; c++)
        {
            int g = c / NR, lane = c % NR;
            int sum = 0;
            for (int i = 0; i < k; i++)
            {
                sbyte w = weights[c * k + i];
                hasMinus128 |= w == sbyte.MinValue;
                sum += w;
                if (Dp16)
                {
                    int g16 = c / NRDp, width = Math.Min(NRDp, n - g16 * NRDp) <= NRDp / 2 ? NRDp / 2 : NRDp;
                    W[(long)g16 * NRDp * Kp + ((i / 4) * width + c % NRDp) * 4 + i % 4] = w;
                }
                else
                {
                    W[((g * KBlocks + i / KBlock) * NR + lane) * KBlock + i % KBlock] = w;
                }
            }
            // |sum| ≤ 128 K, |inZp| ≤ 128: the products may wrap, and wrap back in the final accumulator.
            int folded = unchecked((bias.IsEmpty ? 0 : bias[c]) - inZp * sum);
            // VPDPBUSD multiplies unsigned by signed bytes: the kernel feeds a + 128, so remove 128 Σ w.
            if (isa == KernelIsa.AvxVnni) folded = unchecked(folded - 128 * sum);
            Bias[c] = folded;
            Mult[c] = multipliers[c];
            Left[c] = Math.Max(shifts[c], 0);
            RightPos[c] = Math.Max(-shifts[c], 0);
            RightNeg[c] = -RightPos[c];
        }
        PairProducts = !hasMinus128;
        RequantKind = ArmRequant.Classify(shifts[..n]);
        if (isa == KernelIsa.Avx2)
        {
            W16 = new short[W.Length];
            for (int i = 0; i < W.Length; i++) W16[i] = W[i];
            W = [];
        }
        else
        {
            W16 = [];
        }
    }
}
