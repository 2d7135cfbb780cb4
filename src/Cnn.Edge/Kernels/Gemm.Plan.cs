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
    /// <summary>AdvSimd with K ≤ <see cref="SmlalMaxK"/>: int16 weights in <see cref="W16"/> laid out [16 channels][K8][channel]
    /// (K8 = K rounded up to 8; the last group 8 wide when at most 8 channels remain) for <see cref="Int8Gemm"/>'s 4x16
    /// SMLAL-by-element tiles: no horizontal reduction and a 16-channel epilogue, which pays where K is small.</summary>
    public readonly bool Smlal16;
    public const int SmlalMaxK = 64;
    public readonly int K8;
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
        K8 = (k + 7) / 8 * 8;
        Smlal16 = isa == KernelIsa.AdvSimd && k <= SmlalMaxK;
        if (Smlal16)
        {
            int np16 = (n + NRDp - 1) / NRDp * NRDp;
            W16 = new short[np16 * K8];
            var bias16 = new int[np16]; var mult16 = new int[np16]; var left16 = new int[np16]; var rpos16 = new int[np16]; var rneg16 = new int[np16];
            for (int c = 0; c < n; c++)
            {
                int g16 = c / NRDp, width = n - g16 * NRDp <= NRDp / 2 ? NRDp / 2 : NRDp;
                for (int i = 0; i < k; i++) W16[(long)g16 * NRDp * K8 + i * width + c % NRDp] = weights[c * k + i];
                bias16[c] = Bias[c]; mult16[c] = Mult[c]; left16[c] = Left[c]; rpos16[c] = RightPos[c]; rneg16[c] = RightNeg[c];
            }
            Bias = bias16; Mult = mult16; Left = left16; RightPos = rpos16; RightNeg = rneg16;
            W = [];
        }
        else if (isa == KernelIsa.Avx2)
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
