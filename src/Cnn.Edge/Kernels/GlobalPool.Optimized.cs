using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Cnn.Edge.Runtime;
using Cnn.Edge.Runtime.Ops;

namespace Cnn.Edge.Kernels;

/// <summary>
/// Global average and max pooling vectorized over 16 channels, bit-identical to <see cref="GlobalAveragePoolReference"/>
/// and <see cref="GlobalMaxPoolReference"/>. The average sums 16 channels per pixel in int16 lanes (exact for 256
/// pixels at a time), flushes into int32, subtracts H·W·zp once and requantizes 4 lanes at a time with the ISA's rule.
/// <para>Threads: the work units are blocks of 16 channels of one batch item (<see cref="WorkUnits"/>); every channel is
/// computed lane by lane with the same operations whichever block, vector or tail it falls in, so any split of the units
/// gives the same bytes.</para>
/// </summary>
public sealed unsafe class GlobalPoolOptimized
{
    private const int Lanes = 16;
    private readonly GlobalPoolShape _s;
    private readonly bool _max;
    private readonly int _inZp, _mult, _shift, _outZp, _actMin, _actMax;

    public KernelIsa Isa { get; }

    private GlobalPoolOptimized(KernelIsa isa, in GlobalPoolShape s, bool max, int inZp, int mult, int shift, int outZp, int actMin, int actMax)
    {
        Isa = isa; _s = s; _max = max; _inZp = inZp; _mult = mult; _shift = shift; _outZp = outZp; _actMin = actMin; _actMax = actMax;
    }

    public static GlobalPoolOptimized? TryCreateAverage(KernelIsa isa, in GlobalPoolShape s, int inputZeroPoint, int multiplier, int shift,
        int outputZeroPoint, int actMin, int actMax)
    {
        isa = KernelSelector.Resolve(isa);
        if (isa == KernelIsa.Scalar || !Vector128.IsHardwareAccelerated) return null;
        return new GlobalPoolOptimized(isa, s, false, inputZeroPoint, multiplier, shift, outputZeroPoint, actMin, actMax);
    }

    public static GlobalPoolOptimized? TryCreateMax(KernelIsa isa, in GlobalPoolShape s)
    {
        isa = KernelSelector.Resolve(isa);
        if (isa == KernelIsa.Scalar || !Vector128.IsHardwareAccelerated) return null;
        return new GlobalPoolOptimized(isa, s, true, 0, 0, 0, 0, sbyte.MinValue, sbyte.MaxValue);
    }

    public void Run(ReadOnlySpan<sbyte> input, Span<sbyte> output) => Run(input, output, 0, WorkUnits);

    /// <summary>Blocks of 16 channels (the last one may be shorter) per batch item: the pieces a thread can take.</summary>
    public int WorkUnits => _s.Batch * Blocks;

    /// <summary>Elements read by one inference (to decide whether splitting pays).</summary>
    public long Elements => (long)_s.Batch * _s.Height * _s.Width * _s.Channels;

    private int Blocks => (_s.Channels + Lanes - 1) / Lanes;

    /// <summary>Work units [unit0, unit1) of <see cref="WorkUnits"/>: unit u is channels [16·(u mod blocks), +16) of batch item u / blocks.</summary>
    public void Run(ReadOnlySpan<sbyte> input, Span<sbyte> output, int unit0, int unit1)
    {
        int blocks = Blocks;
        for (int u = unit0; u < unit1;)
        {
            int n = u / blocks, b0 = u - n * blocks, b1 = Math.Min(blocks, b0 + (unit1 - u));
            int c0 = b0 * Lanes, c1 = Math.Min(_s.Channels, b1 * Lanes);
            if (_max) RunMax(input, output, n, c0, c1);
            else
                switch (Isa)
                {
                    case KernelIsa.AdvSimd or KernelIsa.AdvSimdDp: RunAverage<AdvSimdRequant>(input, output, n, c0, c1); break;
                    case KernelIsa.Avx2 or KernelIsa.AvxVnni: RunAverage<X86Requant>(input, output, n, c0, c1); break;
                    default: RunAverage<ScalarLaneRequant>(input, output, n, c0, c1); break;
                }
            u += b1 - b0;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    /// <summary>Channels [cStart, cEnd) of batch item n (cStart a multiple of 16).</summary>
    private void RunMax(ReadOnlySpan<sbyte> input, Span<sbyte> output, int n, int cStart, int cEnd)
    {
        int hw = _s.Height * _s.Width, c = _s.Channels;
        fixed (sbyte* x = input)
        fixed (sbyte* y = output)
        {
            sbyte* src = x + (long)n * hw * c, dst = y + (long)n * c;
            int c0 = cStart;
            for (; c0 + Lanes / 2 <= cEnd; c0 += Lanes)
            {
                bool full = c0 + Lanes <= cEnd;
                Vector128<sbyte> m = Vector128.Create(sbyte.MinValue);
                sbyte* p = src + c0;
                for (int i = 0; i < hw; i++, p += c) m = Vector128.Max(m, Pool2DOptimized.Load(p, full));
                Pool2DOptimized.Store(m, dst + c0, full);
                if (!full) { c0 += Lanes / 2; break; }
            }
            for (; c0 < cEnd; c0++)
            {
                int m = sbyte.MinValue;
                for (int i = 0; i < hw; i++) m = Math.Max(m, src[(long)i * c + c0]);
                dst[c0] = (sbyte)m;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RunAverage<TReq>(ReadOnlySpan<sbyte> input, Span<sbyte> output, int n, int cStart, int cEnd) where TReq : struct, IRequant4
    {
        int hw = _s.Height * _s.Width, c = _s.Channels;
        // |Σ q| ≤ 8,421,504·128 < 2^31 (OpShapes' cap on H·W), and Σ (q - zp) = Σ q - H·W·zp exactly modulo 2^32.
        Vector128<int> offset = Vector128.Create(unchecked(-hw * _inZp));
        Vector128<int> mult = Vector128.Create(_mult), left = Vector128.Create(Math.Max(_shift, 0));
        Vector128<int> rpos = Vector128.Create(Math.Max(-_shift, 0)), rneg = -rpos;
        Vector128<int> zp = Vector128.Create(_outZp), lo = Vector128.Create(_actMin), hi = Vector128.Create(_actMax);
        fixed (sbyte* x = input)
        fixed (sbyte* y = output)
        {
            sbyte* src = x + (long)n * hw * c, dst = y + (long)n * c;
            int c0 = cStart;
            for (; c0 + Lanes / 2 <= cEnd; c0 += Lanes)
            {
                bool full = c0 + Lanes <= cEnd;
                Vector128<int> s0 = offset, s1 = offset, s2 = offset, s3 = offset;
                sbyte* p = src + c0;
                for (int i = 0; i < hw;)
                {
                    Vector128<short> t0 = default, t1 = default;
                    for (int end = Math.Min(hw, i + 256); i < end; i++, p += c)
                    {
                        (Vector128<short> l, Vector128<short> u) = Vector128.Widen(Pool2DOptimized.Load(p, full));
                        t0 += l; t1 += u;
                    }
                    (Vector128<int> a, Vector128<int> b) = Vector128.Widen(t0);
                    (Vector128<int> d, Vector128<int> e) = Vector128.Widen(t1);
                    s0 += a; s1 += b; s2 += d; s3 += e;
                }
                Vector128<int> r0 = Vector128.Min(Vector128.Max(TReq.Apply(s0, mult, left, rpos, rneg) + zp, lo), hi);
                Vector128<int> r1 = Vector128.Min(Vector128.Max(TReq.Apply(s1, mult, left, rpos, rneg) + zp, lo), hi);
                Vector128<int> r2 = Vector128.Min(Vector128.Max(TReq.Apply(s2, mult, left, rpos, rneg) + zp, lo), hi);
                Vector128<int> r3 = Vector128.Min(Vector128.Max(TReq.Apply(s3, mult, left, rpos, rneg) + zp, lo), hi);
                Pool2DOptimized.Store(Vector128.Narrow(Vector128.Narrow(r0, r1), Vector128.Narrow(r2, r3)), dst + c0, full);
                if (!full) { c0 += Lanes / 2; break; }
            }
            for (; c0 < cEnd; c0++)
            {
                int acc = 0;
                for (int i = 0; i < hw; i++) acc += src[(long)i * c + c0] - _inZp;
                dst[c0] = Requantize.ToInt8(acc, _mult, _shift, _outZp, _actMin, _actMax);
            }
        }
    }
}

/// <summary>A vectorized global pool, whole or per chunk of 16-channel blocks (so a batch of 1 splits too).</summary>
internal sealed class GlobalPoolOptimizedOp(GlobalPoolOptimized kernel, TensorView input, TensorView output) : PreparedOp
{
    public override void Invoke(Span<byte> arena, Span<byte> scratch) => kernel.Run(input.Int8(arena), output.OutInt8(arena));

    public override int PlanChunks(int threads, int minWorkPerChunk)
        => ChunkCount(ChunkCosts.For(kernel.Isa).PoolElement * kernel.Elements, kernel.WorkUnits, threads, minWorkPerChunk);

    public override void InvokeChunk(int chunk, int chunks, Span<byte> arena, Span<byte> scratch)
    {
        var (u0, u1) = ChunkRange(kernel.WorkUnits, chunk, chunks);
        kernel.Run(input.Int8(arena), output.OutInt8(arena), u0, u1);
    }
}
