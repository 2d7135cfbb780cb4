using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Cnn.Trainer.Kernels;

/// <summary>
/// The few vector operations the float kernels need, over one System.Runtime.Intrinsics width.
/// Kernels are generic over an <see cref="ISimd{TV}"/> struct, so the JIT compiles one copy per
/// width with no virtual call in the loop (the TensorPrimitives pattern); <see cref="Simd.Width"/>
/// picks the widest the machine accelerates, once.
/// </summary>
internal interface ISimd<TV> where TV : unmanaged
{
    static abstract int Count { get; }
    static abstract TV Zero { get; }
    static abstract TV Splat(float x);
    static abstract TV Load(ref float p, nuint i);
    static abstract void Store(TV v, ref float p, nuint i);
    static abstract TV Add(TV a, TV b);
    /// <summary>a·b + c with one rounding.</summary>
    static abstract TV Fma(TV a, TV b, TV c);
    static abstract float Sum(TV v);
}

internal struct V128 : ISimd<Vector128<float>>
{
    public static int Count => Vector128<float>.Count;
    public static Vector128<float> Zero => Vector128<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Splat(float x) => Vector128.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Load(ref float p, nuint i) => Vector128.LoadUnsafe(ref p, i);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector128<float> v, ref float p, nuint i) => v.StoreUnsafe(ref p, i);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Fma(Vector128<float> a, Vector128<float> b, Vector128<float> c) => Vector128.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector128<float> v) => Vector128.Sum(v);
}

internal struct V256 : ISimd<Vector256<float>>
{
    public static int Count => Vector256<float>.Count;
    public static Vector256<float> Zero => Vector256<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Splat(float x) => Vector256.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(ref float p, nuint i) => Vector256.LoadUnsafe(ref p, i);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<float> v, ref float p, nuint i) => v.StoreUnsafe(ref p, i);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector256<float> v) => Vector256.Sum(v);
}

internal struct V512 : ISimd<Vector512<float>>
{
    public static int Count => Vector512<float>.Count;
    public static Vector512<float> Zero => Vector512<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Splat(float x) => Vector512.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(ref float p, nuint i) => Vector512.LoadUnsafe(ref p, i);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<float> v, ref float p, nuint i) => v.StoreUnsafe(ref p, i);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Fma(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector512<float> v) => Vector512.Sum(v);
}

/// <summary>Vector widths a kernel can run at; results differ between widths only in summation order.</summary>
public enum SimdWidth { V128 = 128, V256 = 256, V512 = 512 }

public static class Simd
{
    /// <summary>The widest accelerated width (512 on AVX-512 machines, 256 on AVX2, 128 on NEON/SSE).</summary>
    public static SimdWidth Best { get; } =
        Vector512.IsHardwareAccelerated ? SimdWidth.V512 : Vector256.IsHardwareAccelerated ? SimdWidth.V256 : SimdWidth.V128;

    /// <summary>
    /// Width used by the trainer's kernels. Same seed, threads and width give the same weights;
    /// tests force each width to compare them with the scalar loops.
    /// </summary>
    public static SimdWidth Width { get; set; } = FromEnvironment() ?? Best;

    /// <summary>CNN_SIMD_WIDTH=128|256|512 forces a width (benchmarks, comparisons); it cannot exceed <see cref="Best"/>.</summary>
    private static SimdWidth? FromEnvironment() =>
        int.TryParse(Environment.GetEnvironmentVariable("CNN_SIMD_WIDTH"), out int bits) && bits is 128 or 256 or 512 && bits <= (int)Best
            ? (SimdWidth)bits : null;

    /// <summary>Floats per vector at <see cref="Width"/>; buffers keep this much zeroed slack after the data.</summary>
    public static int Lanes => (int)Width / 32;

    /// <summary>Slack that covers the widest vector, so buffers sized once work at any width.</summary>
    public const int MaxLanes = 16;
}
