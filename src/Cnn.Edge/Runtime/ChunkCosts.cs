namespace Cnn.Edge.Runtime;

/// <summary>
/// What a unit of each kind of work costs on one ISA's kernels, in the unit of <see cref="PreparedOp.PlanChunks"/>'s
/// work (and so of <c>InterpreterOptions.MinWorkPerChunk</c>): about one multiply-accumulate of a large pointwise convolution on
/// the fastest path, i.e. 1/8 of an instruction on ARM64. The interpreter uses them to decide how many chunks an op splits into
/// for the threads (none below the least work per chunk); they never change the output bytes.
/// <para>Measured (bench/arm64-threads.sh's per-chunk instruction counts, MobileNetV2 0.35 96 and 1.0 224, 2026-11-30): on
/// Cortex-A76 (SDOT) a pointwise MAC 0.12-0.13 instructions in large layers, a depthwise MAC 0.60-0.79, a global-pool element
/// read 1.3; on Cortex-A72 (no dot product) a pointwise MAC 0.32-0.44, the rest as on A76 (the same NEON code). An Add element
/// (15.2 then) is 3.8-4.2 instructions on both since the NEON Add of branch armadd (bench/arm64-counts.sh's add rows, divided by
/// the Adds' output elements: MobileNetV2 1.0 224 3.84, 0.35 96 4.14-4.22, ResNet-18 224 3.88), weighed 32. On x86 (Cnn.Bench
/// chunks, AVX2, ns) a pointwise MAC 0.018 ns in large layers, a depthwise MAC
/// 0.057-0.077, an Add element 0.53-0.62, a global-pool element 0.09-0.21.</para>
/// </summary>
/// <param name="PointwiseMac">A MAC of the GEMM paths (pointwise, gathered convolutions, fully connected).</param>
/// <param name="DepthwiseMac">A MAC of a depthwise convolution.</param>
/// <param name="AddElement">An output element of Add (three requantizations).</param>
/// <param name="PoolElement">An element read by a global pool.</param>
internal readonly record struct ChunkCosts(int PointwiseMac, int DepthwiseMac, int AddElement, int PoolElement)
{
    /// <summary>ARM64 with the dot product (Cortex-A76): 1/8 instruction per unit.</summary>
    public static readonly ChunkCosts AdvSimdDp = new(PointwiseMac: 1, DepthwiseMac: 5, AddElement: 32, PoolElement: 10);

    /// <summary>ARM64 without it (Cortex-A72/A53), and the portable Vector128 path: the same unit, so a pointwise MAC weighs 3.</summary>
    public static readonly ChunkCosts AdvSimd = new(PointwiseMac: 3, DepthwiseMac: 5, AddElement: 32, PoolElement: 10);

    /// <summary>x86 (AVX2, AVX-VNNI, AVX-512), relative to its own pointwise MAC: the measured ratios are 3.2-4.3 (depthwise), 29-34
    /// (Add) and 5-12 (global pool) against large layers' pointwise MACs, which the weights tuned before on x86 (4, 32, 8) lie in.</summary>
    public static readonly ChunkCosts X86 = new(PointwiseMac: 1, DepthwiseMac: 4, AddElement: 32, PoolElement: 8);

    /// <summary>The costs of a resolved ISA's kernels (the reference ops, Scalar, are weighed as x86's).</summary>
    public static ChunkCosts For(KernelIsa isa) => isa switch
    {
        KernelIsa.AdvSimdDp => AdvSimdDp,
        KernelIsa.AdvSimd or KernelIsa.Vector128 => AdvSimd,
        _ => X86,
    };
}
