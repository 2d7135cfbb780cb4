using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Cnn.Edge.Runtime;
using Cnn.Edge.Runtime.Ops;

namespace Cnn.Edge.Kernels;

/// <summary>
/// Max and average pooling vectorized over 16 channels (Vector128: SMAX / SADDW on NEON, PMAXSB / PMOVSX on x86),
/// bit-identical to <see cref="MaxPool2DReference"/> and <see cref="AveragePool2DReference"/>. Channel tails of 8
/// use 8-byte loads (no read past the input), fewer than 8 the reference formula. The average's sum is exact in
/// int16 lanes for windows of up to 256 elements (|sum| ≤ 256·128), int32 beyond; its division (one divisor per
/// window) rounds half away from zero per lane, as the reference does.
/// </summary>
public sealed unsafe class Pool2DOptimized
{
    private const int Lanes = 16;
    private readonly PoolShape _s;
    private readonly bool _max, _countIncludePad;
    private readonly int _zp, _actMin, _actMax;

    /// <summary>The ISA the kernel was prepared for (the portable Vector128 code serves every SIMD ISA).</summary>
    public KernelIsa Isa { get; }

    private Pool2DOptimized(KernelIsa isa, in PoolShape s, bool max, bool countIncludePad, int zeroPoint, int actMin, int actMax)
    {
        Isa = isa; _s = s; _max = max; _countIncludePad = countIncludePad; _zp = zeroPoint; _actMin = actMin; _actMax = actMax;
    }

    /// <summary>Max pooling, or null for the Scalar ISA (the reference runs then).</summary>
    public static Pool2DOptimized? TryCreateMax(KernelIsa isa, in PoolShape s, int actMin, int actMax)
        => Resolve(isa) is KernelIsa.Scalar ? null : new Pool2DOptimized(Resolve(isa), s, true, false, 0, actMin, actMax);

    /// <summary>Average pooling, or null for the Scalar ISA.</summary>
    public static Pool2DOptimized? TryCreateAverage(KernelIsa isa, in PoolShape s, bool countIncludePad, int zeroPoint, int actMin, int actMax)
        => Resolve(isa) is KernelIsa.Scalar ? null : new Pool2DOptimized(Resolve(isa), s, false, countIncludePad, zeroPoint, actMin, actMax);

    /// <summary>Vector128 is what these kernels use; without hardware acceleration the reference is faster.</summary>
    private static KernelIsa Resolve(KernelIsa isa)
    {
        isa = KernelSelector.Resolve(isa);
        return Vector128.IsHardwareAccelerated ? isa : KernelIsa.Scalar;
    }

    /// <summary>Same contract as the reference's Run.</summary>
    public void Run(ReadOnlySpan<sbyte> input, Span<sbyte> output) => Run(input, output, 0, _s.Batch * _s.OutputHeight);

    /// <summary>Output rows [row0, row1) of the flattened (n, oy) range.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Run(ReadOnlySpan<sbyte> input, Span<sbyte> output, int row0, int row1)
    {
        ref readonly PoolShape s = ref _s;
        int c = s.Channels;
        fixed (sbyte* x = input)
        fixed (sbyte* y = output)
        {
            for (int row = row0; row < row1; row++)
            {
                int n = row / s.OutputHeight, oy = row - n * s.OutputHeight;
                int hs = oy * s.StrideH - s.PadTop;
                int he = Math.Min(hs + s.KernelHeight, s.InputHeight + s.PadBottom);
                int y0 = Math.Max(hs, 0), y1 = Math.Min(he, s.InputHeight);
                sbyte* dst = y + (long)row * s.OutputWidth * c;
                for (int ox = 0; ox < s.OutputWidth; ox++, dst += c)
                {
                    int ws = ox * s.StrideW - s.PadLeft;
                    int we = Math.Min(ws + s.KernelWidth, s.InputWidth + s.PadRight);
                    int x0 = Math.Max(ws, 0), x1 = Math.Min(we, s.InputWidth);
                    sbyte* win = x + (((long)n * s.InputHeight + y0) * s.InputWidth + x0) * c;
                    int h = y1 - y0, w = x1 - x0;
                    long rowStride = (long)s.InputWidth * c;
                    if (_max)
                    {
                        MaxWindow(win, h, w, c, rowStride, dst);
                    }
                    else
                    {
                        int valid = h * w;
                        int divisor = _countIncludePad ? (he - hs) * (we - ws) : valid;
                        AverageWindow(win, h, w, c, rowStride, dst, valid, divisor);
                    }
                }
            }
        }
    }

    private void MaxWindow(sbyte* win, int h, int w, int c, long rowStride, sbyte* dst)
    {
        Vector128<sbyte> lo = Vector128.Create((sbyte)_actMin), hi = Vector128.Create((sbyte)_actMax);
        int c0 = 0;
        for (; c0 + Lanes / 2 <= c; c0 += Lanes)
        {
            bool full = c0 + Lanes <= c;
            Vector128<sbyte> m = Vector128.Create(sbyte.MinValue);
            for (int iy = 0; iy < h; iy++)
            {
                sbyte* p = win + iy * rowStride + c0;
                for (int ix = 0; ix < w; ix++, p += c) m = Vector128.Max(m, Load(p, full));
            }
            Store(Vector128.Min(Vector128.Max(m, lo), hi), dst + c0, full);
            if (!full) { c0 += Lanes / 2; break; }
        }
        for (; c0 < c; c0++)
        {
            int m = sbyte.MinValue;
            for (int iy = 0; iy < h; iy++)
                for (int ix = 0; ix < w; ix++) m = Math.Max(m, win[iy * rowStride + (long)ix * c + c0]);
            dst[c0] = (sbyte)Math.Clamp(m, _actMin, _actMax);
        }
    }

    private void AverageWindow(sbyte* win, int h, int w, int c, long rowStride, sbyte* dst, int valid, int divisor)
    {
        int pad = (divisor - valid) * _zp; // padding holds the real value 0, i.e. zp
        int c0 = 0;
        for (; c0 + Lanes / 2 <= c; c0 += Lanes)
        {
            bool full = c0 + Lanes <= c;
            Vector128<int> s0 = Vector128.Create(pad), s1 = s0, s2 = s0, s3 = s0;
            Vector128<short> t0 = default, t1 = default;
            int inShort = 0;
            for (int iy = 0; iy < h; iy++)
            {
                sbyte* p = win + iy * rowStride + c0;
                for (int ix = 0; ix < w; ix++, p += c)
                {
                    (Vector128<short> l, Vector128<short> u) = Vector128.Widen(Load(p, full));
                    t0 += l; t1 += u;
                    if (++inShort == 256) Flush(ref t0, ref t1, ref s0, ref s1, ref s2, ref s3, ref inShort);
                }
            }
            Flush(ref t0, ref t1, ref s0, ref s1, ref s2, ref s3, ref inShort);
            Vector128<int> r0 = Divide(s0, divisor), r1 = Divide(s1, divisor), r2 = Divide(s2, divisor), r3 = Divide(s3, divisor);
            Vector128<int> lo = Vector128.Create(_actMin), hi = Vector128.Create(_actMax);
            Vector128<sbyte> b = Vector128.Narrow(
                Vector128.Narrow(Vector128.Min(Vector128.Max(r0, lo), hi), Vector128.Min(Vector128.Max(r1, lo), hi)),
                Vector128.Narrow(Vector128.Min(Vector128.Max(r2, lo), hi), Vector128.Min(Vector128.Max(r3, lo), hi)));
            Store(b, dst + c0, full);
            if (!full) { c0 += Lanes / 2; break; }
        }
        for (; c0 < c; c0++)
        {
            int sum = pad;
            for (int iy = 0; iy < h; iy++)
                for (int ix = 0; ix < w; ix++) sum += win[iy * rowStride + (long)ix * c + c0];
            dst[c0] = (sbyte)Math.Clamp(Requantize.DivideRoundAwayFromZero(sum, divisor), _actMin, _actMax);
        }
    }

    /// <summary>Adds the int16 partial sums (at most 256 elements: exact) into the int32 sums and clears them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Flush(ref Vector128<short> t0, ref Vector128<short> t1, ref Vector128<int> s0, ref Vector128<int> s1,
        ref Vector128<int> s2, ref Vector128<int> s3, ref int count)
    {
        (Vector128<int> a, Vector128<int> b) = Vector128.Widen(t0);
        (Vector128<int> d, Vector128<int> e) = Vector128.Widen(t1);
        s0 += a; s1 += b; s2 += d; s3 += e;
        t0 = default; t1 = default; count = 0;
    }

    /// <summary>Per-lane <see cref="Requantize.DivideRoundAwayFromZero"/> (no vector integer division: 4 scalar divides).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Divide(Vector128<int> v, int d)
        => Vector128.Create(Requantize.DivideRoundAwayFromZero(v.GetElement(0), d), Requantize.DivideRoundAwayFromZero(v.GetElement(1), d),
            Requantize.DivideRoundAwayFromZero(v.GetElement(2), d), Requantize.DivideRoundAwayFromZero(v.GetElement(3), d));

    /// <summary>16 channels, or (not full) 8 channels zero extended: no read past a tail of 8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<sbyte> Load(sbyte* p, bool full)
        => full ? Vector128.Load(p) : Vector128.CreateScalar(Unsafe.ReadUnaligned<long>(p)).AsSByte();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Store(Vector128<sbyte> v, sbyte* p, bool full)
    {
        if (full) v.Store(p);
        else Unsafe.WriteUnaligned(p, v.AsInt64().ToScalar());
    }
}

/// <summary>OpFactory's hook for the vectorized pools (prepared at load with the same shape and parameters as the reference op).</summary>
internal static class OptimizedPools
{
    public static PreparedOp? Pool2D(KernelIsa isa, OpCode code, in PoolShape shape, bool countIncludePad, int zeroPoint, int actMin, int actMax, TensorView x, TensorView y)
    {
        var k = code == OpCode.MaxPool2D
            ? Pool2DOptimized.TryCreateMax(isa, shape, actMin, actMax)
            : Pool2DOptimized.TryCreateAverage(isa, shape, countIncludePad, zeroPoint, actMin, actMax);
        return k is null ? null : new Pool2DOptimizedOp(k, shape, x, y);
    }

    public static PreparedOp? GlobalAverage(KernelIsa isa, in GlobalPoolShape shape, int inZp, int mult, int shift, int outZp, int actMin, int actMax, TensorView x, TensorView y)
        => GlobalPoolOptimized.TryCreateAverage(isa, shape, inZp, mult, shift, outZp, actMin, actMax) is { } k ? new GlobalPoolOptimizedOp(k, x, y) : null;

    public static PreparedOp? GlobalMax(KernelIsa isa, in GlobalPoolShape shape, TensorView x, TensorView y)
        => GlobalPoolOptimized.TryCreateMax(isa, shape) is { } k ? new GlobalPoolOptimizedOp(k, x, y) : null;
}

/// <summary>A vectorized pool, whole or per chunk of output rows (the kernel's own row-range entry: no sub-windows needed).</summary>
internal sealed class Pool2DOptimizedOp(Pool2DOptimized kernel, PoolShape shape, TensorView input, TensorView output) : PreparedOp
{
    public override void Invoke(Span<byte> arena, Span<byte> scratch) => kernel.Run(input.Int8(arena), output.OutInt8(arena));

    public override int PlanChunks(int threads, int minWorkPerChunk)
        => ChunkCount(PoolRows.Work(shape), shape.Batch * shape.OutputHeight, threads, minWorkPerChunk);

    public override void InvokeChunk(int chunk, int chunks, Span<byte> arena, Span<byte> scratch)
    {
        var (r0, r1) = ChunkRange(shape.Batch * shape.OutputHeight, chunk, chunks);
        kernel.Run(input.Int8(arena), output.OutInt8(arena), r0, r1);
    }
}
