using System.Runtime.InteropServices;

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
    /// <summary>[Groups][KBlocks][NR][KBlock] int8 weights; for Avx2 the [N/16][K/2][16][2] layout of <see cref="Avx2Gemm.Pack"/>.</summary>
    public readonly sbyte[] W;
    /// <summary>[Groups*NR rounded up to 16] folded bias and requantization parameters (padding channels get zeros). For the
    /// 4x16 NEON tiles (<see cref="Dp16"/>, <see cref="Smlal16"/>) the bias is followed by a copy for each of the 4 rows of a
    /// tile, [16-channel group][row][16], so that every row's accumulators are loaded, not copied from row 0.</summary>
    public readonly int[] Bias, Mult, Left, RightPos, RightNeg;
    public readonly int OutZp, ActMin, ActMax;
    /// <summary>Some channel has a positive shift (a left shift before the multiply); the AVX2 kernel skips that step otherwise.</summary>
    public readonly bool AnyLeftShift;
    /// <summary>Some channel's multiplier is int.MinValue (the only SQRDMULH saturation; the 512-bit epilogue tests for it only then).</summary>
    public readonly bool AnyMinMultiplier;
    /// <summary>Avx2: the weights are packed as int8, not int16 (plans that only ever multiply one row: only <see cref="Avx2Gemm.Tile1"/> reads them).</summary>
    public readonly bool NarrowWeights;
    /// <summary>AdvSimd only: no weight is -128, so two int8 products summed in an int16 lane stay within
    /// ±(128*127*2) = ±32512 and SMULL+SMLAL2 may pair them before the SADALP into int32.</summary>
    public readonly bool PairProducts;
    /// <summary>AdvSimdDp only: W is laid out for <see cref="Int8Gemm.TileDp16"/> instead: channels in groups of
    /// <see cref="NRDp"/> (the last one 8 wide when at most 8 channels remain), each [K/4][channel][4 bytes], so
    /// one 16-byte vector holds 4 channels x 4 k and SDOT by element multiplies it by 4 k of one row of A.</summary>
    public readonly bool Dp16;
    public const int NRDp = 16;
    /// <summary>Dp16 with K ≥ <see cref="Six16MinK"/>: pointwise rows streamed in 6-row tiles (<see cref="Int8Gemm"/>'s 6x16 SDOT
    /// tile: 24 accumulators, each weight vector shared by 6 rows), then 4-row tiles for the rest.</summary>
    public readonly bool Six16;
    public const int Six16MinK = 96;
    /// <summary>AdvSimd with K ≤ <see cref="SmlalMaxK"/>: int16 weights (in the bytes of <see cref="W"/>) laid out [16 channels][K8][channel]
    /// (K8 = K rounded up to 8; the last group 8 wide when at most 8 channels remain) for <see cref="Int8Gemm"/>'s 4x16
    /// SMLAL-by-element tiles: no horizontal reduction and a 16-channel epilogue, which pays where K is small (Cortex-A72
    /// instruction counts under QEMU of MobileNetV2's pointwise layers (bench/arm64-layers.sh): 7 % fewer than the 4x4 tiles at
    /// K = 56 on 3x3 pixels, 11 % more at K = 64 on 14x14).</summary>
    public readonly bool Smlal16;
    public const int SmlalMaxK = 56;
    public readonly int K8;
    /// <summary>The 4x16 tiles' loop bounds, fixed at load: K in whole 16-k blocks and the quads (4 k) of the last partial
    /// block that hold real weights (Dp16); K in whole 8-k blocks and the k of the last partial one (Smlal16); the channel
    /// groups of 16 real channels, and the last group after them: 16 wide with 9-15 real channels, 8 wide with 8, 8 wide
    /// with 1-7, or none.</summary>
    public readonly int KFull16, TailQuads, KFull8, Tail8, FullGroups;
    public readonly Int8Gemm.LastGroupKind LastGroup;
    /// <summary>Avx2 only: the constants of the 512-bit tile's folded requantization, when the plan's bounds allow it (else null).</summary>
    public readonly FoldedRequant? Folded;
    /// <summary>Avx2 with AVX-512BW, N % 32 in (16, 24]: the last block's ≤ 8 channels packed again two k pairs per register
    /// (<see cref="Avx2Gemm.PackHalf"/>, pinned; the plan holds <see cref="_halfBlock"/> alive), for the 512-bit tile's
    /// <see cref="Avx2Gemm"/> last two blocks; else null.</summary>
    public readonly unsafe short* HalfBlock;
    private readonly short[]? _halfBlock;
    /// <summary>Which NEON requantization the shifts allow.</summary>
    public readonly ArmRequantKind RequantKind;

    /// <param name="weights">[N, K] row-major int8 weights (one row per output channel).</param>
    /// <param name="bias">[N] int32, or empty.</param>
    /// <param name="oneRow">Avx2 only: every GEMM of the plan has one row (batch-1 FullyConnected), so the weights stay int8
    /// (<see cref="NarrowWeights"/>).</param>
    public GemmPlan(KernelIsa isa, int n, int k, ReadOnlySpan<sbyte> weights, ReadOnlySpan<int> bias,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, int inZp, int outZp, int actMin, int actMax, bool oneRow = false)
    {
        if (weights.Length < n * k || multipliers.Length < n || shifts.Length < n || (!bias.IsEmpty && bias.Length < n))
            throw new ArgumentException($"GEMM of N={n}, K={k}: weights, multipliers, shifts or bias too short");
        Isa = isa;
        N = n; K = k;
        KBlocks = (k + KBlock - 1) / KBlock;
        Kp = KBlocks * KBlock;
        Groups = (n + NR - 1) / NR;
        OutZp = outZp; ActMin = actMin; ActMax = actMax;
        int np = (n + Avx2Gemm.NB - 1) / Avx2Gemm.NB * Avx2Gemm.NB; // ≥ Groups * NR; the AVX2 and NEON 4x16 kernels read 16 channels at a time
        bool avx2 = isa == KernelIsa.Avx2;
        Dp16 = isa == KernelIsa.AdvSimdDp;
        Six16 = Dp16 && k >= Six16MinK;
        K8 = (k + 7) / 8 * 8;
        KFull16 = k / KBlock * KBlock;
        TailQuads = (k - KFull16 + 3) / 4;
        KFull8 = k / 8 * 8;
        Tail8 = k - KFull8;
        FullGroups = n / NRDp;
        int rest = n % NRDp;
        LastGroup = rest > NRDp / 2 ? Int8Gemm.LastGroupKind.Wide : rest == NRDp / 2 ? Int8Gemm.LastGroupKind.Narrow8
            : rest > 0 ? Int8Gemm.LastGroupKind.Narrow : Int8Gemm.LastGroupKind.None;
        Smlal16 = isa == KernelIsa.AdvSimd && k <= SmlalMaxK;
        NarrowWeights = avx2 && oneRow;
        W = new sbyte[avx2 ? Avx2Gemm.PackedBytes(n, k, NarrowWeights) : Dp16 ? np * Kp : Smlal16 ? 2 * np * K8 : Groups * KBlocks * NR * KBlock];
        Span<short> w16 = Smlal16 ? MemoryMarshal.Cast<sbyte, short>(W.AsSpan()) : default;
        Bias = new int[Dp16 || Smlal16 ? (1 + MR) * np : np]; Mult = new int[np]; Left = new int[np]; RightPos = new int[np]; RightNeg = new int[np];
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
                int g16 = c / NRDp, width = n - g16 * NRDp <= NRDp / 2 ? NRDp / 2 : NRDp;
                if (Dp16) W[(long)g16 * NRDp * Kp + ((i / 4) * width + c % NRDp) * 4 + i % 4] = w;
                else if (Smlal16) w16[g16 * NRDp * K8 + i * width + c % NRDp] = w;
                else if (!avx2) W[((g * KBlocks + i / KBlock) * NR + lane) * KBlock + i % KBlock] = w;
            }
            // |sum| ≤ 128 K, |inZp| ≤ 128: the products may wrap, and wrap back in the final accumulator.
            int folded = unchecked((bias.IsEmpty ? 0 : bias[c]) - inZp * sum);
            // VPDPBUSD multiplies unsigned by signed bytes: the kernel feeds a + 128, so remove 128 Σ w.
            if (isa == KernelIsa.AvxVnni) folded = unchecked(folded - 128 * sum);
            Bias[c] = folded;
            Mult[c] = multipliers[c];
            Left[c] = Math.Max(shifts[c], 0);
            AnyLeftShift |= shifts[c] > 0;
            AnyMinMultiplier |= multipliers[c] == int.MinValue;
            RightPos[c] = Math.Max(-shifts[c], 0);
            RightNeg[c] = -RightPos[c];
        }
        PairProducts = !hasMinus128;
        if (Dp16 || Smlal16)
            for (int c = 0; c < np; c++)
                for (int r = 0; r < MR; r++) Bias[np + (c / NRDp * MR + r) * NRDp + c % NRDp] = Bias[c];
        RequantKind = ArmRequant.Classify(shifts[..n]);
        if (RequantKind == ArmRequantKind.RightShiftOnly && actMin >= outZp) RequantKind = ArmRequantKind.RightShiftClamped;
        if (avx2)
        {
            Avx2Gemm.Pack(weights, n, k, W, NarrowWeights);
            // Only the 512-bit tile reads it; one-row plans run Tile1 only (256-bit, its own epilogue).
            if (!NarrowWeights && System.Runtime.Intrinsics.X86.Avx512BW.IsSupported)
            {
                Folded = FoldedRequant.TryCreate(n, k, weights, bias, multipliers, shifts, inZp, outZp, actMin, actMax);
                int rem = n % (2 * Avx2Gemm.NB);
                if (rem > Avx2Gemm.NB && rem <= Avx2Gemm.NB + Avx2Gemm.NB / 2)
                {
                    _halfBlock = GC.AllocateArray<short>(Avx2Gemm.HalfPackedShorts(k), pinned: true);
                    Avx2Gemm.PackHalf(weights, n, k, _halfBlock);
                    unsafe { HalfBlock = (short*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_halfBlock)); }
                }
            }
        }
    }
}
