using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace Cnn.Edge.Kernels;

/// <summary>16 channels of one depthwise tap: acc[0..3] += (x - inZp) * w, x int8, w int16 (holding int8 values).</summary>
internal interface IDepthwiseStep
{
    static abstract void Step(ref Vector128<int> a0, ref Vector128<int> a1, ref Vector128<int> a2, ref Vector128<int> a3,
        Vector128<sbyte> x, Vector128<sbyte> zp8, Vector128<short> zp16, Vector128<short> wl, Vector128<short> wh);
}

/// <summary>NEON: SSUBL/SSUBL2 (x - zp exactly in int16), then SMLAL/SMLAL2 into int32: 6 instructions for 16 MACs.</summary>
internal readonly struct AdvSimdDepthwiseStep : IDepthwiseStep
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Step(ref Vector128<int> a0, ref Vector128<int> a1, ref Vector128<int> a2, ref Vector128<int> a3,
        Vector128<sbyte> x, Vector128<sbyte> zp8, Vector128<short> zp16, Vector128<short> wl, Vector128<short> wh)
    {
        Vector128<short> xl = AdvSimd.SubtractWideningLower(x.GetLower(), zp8.GetLower());
        Vector128<short> xh = AdvSimd.SubtractWideningUpper(x, zp8);
        a0 = AdvSimd.MultiplyWideningLowerAndAdd(a0, xl.GetLower(), wl.GetLower());
        a1 = AdvSimd.MultiplyWideningUpperAndAdd(a1, xl, wl);
        a2 = AdvSimd.MultiplyWideningLowerAndAdd(a2, xh.GetLower(), wh.GetLower());
        a3 = AdvSimd.MultiplyWideningUpperAndAdd(a3, xh, wh);
    }
}

/// <summary>Portable (and x86): |x - zp| ≤ 255 and |w| ≤ 128, so the int16 product (≤ 32640) is exact; then widen and add.</summary>
internal readonly struct PortableDepthwiseStep : IDepthwiseStep
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Step(ref Vector128<int> a0, ref Vector128<int> a1, ref Vector128<int> a2, ref Vector128<int> a3,
        Vector128<sbyte> x, Vector128<sbyte> zp8, Vector128<short> zp16, Vector128<short> wl, Vector128<short> wh)
    {
        (Vector128<short> xl, Vector128<short> xh) = Vector128.Widen(x);
        Vector128<short> pl = (xl - zp16) * wl;
        Vector128<short> ph = (xh - zp16) * wh;
        (Vector128<int> p0, Vector128<int> p1) = Vector128.Widen(pl);
        (Vector128<int> p2, Vector128<int> p3) = Vector128.Widen(ph);
        a0 += p0; a1 += p1; a2 += p2; a3 += p3;
    }
}

/// <summary>
/// Depthwise Conv2D with multiplier 1 (groups = Cin = Cout), any kernel size, stride, dilation and padding,
/// vectorized over 16 channels; bit-identical to <see cref="Conv2DReference"/>. Weights are repacked at load
/// to int16 [tap][Cp] (Cp = C rounded up to 16, zero padded) so one load feeds 8 channels of a tap.
/// Padding taps are skipped, as in the reference.
/// </summary>
internal sealed unsafe class DepthwiseConv
{
    private readonly Conv2DShape _s;
    private readonly KernelIsa _isa;
    private readonly int _cp, _inZp, _outZp, _actMin, _actMax;
    private readonly short[] _w;
    private readonly int[] _bias, _mult, _left, _rpos, _rneg, _shift;
    private readonly sbyte[] _wRaw;

    public DepthwiseConv(KernelIsa isa, in Conv2DShape s, ReadOnlySpan<sbyte> weights, ReadOnlySpan<int> bias,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, int inZp, int outZp, int actMin, int actMax)
    {
        _isa = isa; _s = s; _inZp = inZp; _outZp = outZp; _actMin = actMin; _actMax = actMax;
        int c = s.InputChannels, taps = s.KernelHeight * s.KernelWidth;
        _cp = (c + 15) & ~15;
        _w = new short[taps * _cp];
        _wRaw = weights.Slice(0, c * taps).ToArray();
        _bias = new int[_cp]; _mult = new int[_cp]; _left = new int[_cp]; _rpos = new int[_cp]; _rneg = new int[_cp]; _shift = new int[_cp];
        for (int ch = 0; ch < c; ch++)
        {
            for (int t = 0; t < taps; t++) _w[t * _cp + ch] = weights[ch * taps + t]; // [C, KH, KW, 1] -> [tap][C]
            _bias[ch] = bias.IsEmpty ? 0 : bias[ch];
            _mult[ch] = multipliers[ch];
            _shift[ch] = shifts[ch];
            _left[ch] = Math.Max(shifts[ch], 0);
            _rpos[ch] = Math.Max(-shifts[ch], 0);
            _rneg[ch] = -_rpos[ch];
        }
    }

    /// <summary>Output rows [row0, row1) of the flattened (n, oy) range.</summary>
    public void Run(ReadOnlySpan<sbyte> input, Span<sbyte> output, int row0, int row1)
    {
        switch (_isa)
        {
            case KernelIsa.AdvSimd or KernelIsa.AdvSimdDp: Run<AdvSimdDepthwiseStep, AdvSimdRequant>(input, output, row0, row1); break;
            case KernelIsa.Avx2 or KernelIsa.AvxVnni: Run<PortableDepthwiseStep, X86Requant>(input, output, row0, row1); break;
            default: Run<PortableDepthwiseStep, ScalarLaneRequant>(input, output, row0, row1); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // kernels run optimized from the first inference (no tier-0 JIT)
    private void Run<TStep, TReq>(ReadOnlySpan<sbyte> input, Span<sbyte> output, int row0, int row1)
        where TStep : struct, IDepthwiseStep where TReq : struct, IRequant4
    {
        ref readonly Conv2DShape s = ref _s;
        int c = s.InputChannels;
        long inLen = input.Length;
        Vector128<sbyte> zp8 = Vector128.Create((sbyte)_inZp);
        Vector128<short> zp16 = Vector128.Create((short)_inZp);
        Vector128<int> ozp = Vector128.Create(_outZp), lo = Vector128.Create(_actMin), hi = Vector128.Create(_actMax);
        int cp = _cp, kw = s.KernelWidth;
        long xStep = (long)s.DilationW * c, yStep = (long)s.DilationH * s.InputWidth * c;
        fixed (sbyte* x = input)
        fixed (sbyte* y = output)
        fixed (short* w = _w)
        fixed (int* bias = _bias, mult = _mult, left = _left, rpos = _rpos, rneg = _rneg)
        {
            for (int row = row0; row < row1; row++)
            {
                int n = row / s.OutputHeight, oy = row - n * s.OutputHeight;
                long inBatch = (long)n * s.InputHeight * s.InputWidth * c;
                int iy0 = oy * s.StrideH - s.PadTop;
                // Valid ky: 0 <= iy0 + ky*DH < H.
                int kyLo = iy0 >= 0 ? 0 : (-iy0 + s.DilationH - 1) / s.DilationH;
                int kyHi = Math.Min(s.KernelHeight, (s.InputHeight - iy0 + s.DilationH - 1) / s.DilationH);
                for (int ox = 0; ox < s.OutputWidth; ox++)
                {
                    int ix0 = ox * s.StrideW - s.PadLeft;
                    int kxLo = ix0 >= 0 ? 0 : (-ix0 + s.DilationW - 1) / s.DilationW;
                    int kxHi = Math.Min(s.KernelWidth, (s.InputWidth - ix0 + s.DilationW - 1) / s.DilationW);
                    sbyte* dst = y + ((long)row * s.OutputWidth + ox) * c;
                    long pixBase = inBatch + ((long)iy0 * s.InputWidth + ix0) * c;
                    // The last input pixel the window touches, to know whether a 16-byte load of a channel tail stays inside the input.
                    long lastPix = inBatch + ((long)(iy0 + (kyHi - 1) * s.DilationH) * s.InputWidth + ix0 + (kxHi - 1) * s.DilationW) * c;
                    int c0 = 0;
                    for (; c0 < c; c0 += 16)
                    {
                        int count = Math.Min(16, c - c0);
                        if (count < 16 && lastPix + c0 + 16 > inLen) break; // would read past the input: scalar tail
                        Vector128<int> a0 = Vector128.Load(bias + c0), a1 = Vector128.Load(bias + c0 + 4);
                        Vector128<int> a2 = Vector128.Load(bias + c0 + 8), a3 = Vector128.Load(bias + c0 + 12);
                        for (int ky = kyLo; ky < kyHi; ky++)
                        {
                            // Strength-reduced pointers: one add each per tap, no multiplies in the tap loop.
                            sbyte* xp = x + pixBase + ky * yStep + kxLo * xStep + c0;
                            short* wt = w + (ky * kw + kxLo) * cp + c0;
                            for (int kx = kxLo; kx < kxHi; kx++, xp += xStep, wt += cp)
                            {
                                Vector128<sbyte> xv = Vector128.Load(xp);
                                Vector128<short> wl = Vector128.Load(wt), wh = Vector128.Load(wt + 8);
                                // The step is written out here (not through a ref-taking helper) so the four
                                // accumulators stay in registers: passing them by ref made the JIT keep them on the stack.
                                if (typeof(TStep) == typeof(AdvSimdDepthwiseStep))
                                {
                                    Vector128<short> xl = AdvSimd.SubtractWideningLower(xv.GetLower(), zp8.GetLower());
                                    Vector128<short> xh = AdvSimd.SubtractWideningUpper(xv, zp8);
                                    a0 = AdvSimd.MultiplyWideningLowerAndAdd(a0, xl.GetLower(), wl.GetLower());
                                    a1 = AdvSimd.MultiplyWideningUpperAndAdd(a1, xl, wl);
                                    a2 = AdvSimd.MultiplyWideningLowerAndAdd(a2, xh.GetLower(), wh.GetLower());
                                    a3 = AdvSimd.MultiplyWideningUpperAndAdd(a3, xh, wh);
                                }
                                else
                                {
                                    (Vector128<short> xl, Vector128<short> xh) = Vector128.Widen(xv);
                                    (Vector128<int> p0, Vector128<int> p1) = Vector128.Widen((xl - zp16) * wl);
                                    (Vector128<int> p2, Vector128<int> p3) = Vector128.Widen((xh - zp16) * wh);
                                    a0 += p0; a1 += p1; a2 += p2; a3 += p3;
                                }
                            }
                        }
                        Vector128<int> r0 = Clamp(TReq.Apply(a0, Vector128.Load(mult + c0), Vector128.Load(left + c0), Vector128.Load(rpos + c0), Vector128.Load(rneg + c0)) + ozp, lo, hi);
                        Vector128<int> r1 = Clamp(TReq.Apply(a1, Vector128.Load(mult + c0 + 4), Vector128.Load(left + c0 + 4), Vector128.Load(rpos + c0 + 4), Vector128.Load(rneg + c0 + 4)) + ozp, lo, hi);
                        Vector128<int> r2 = Clamp(TReq.Apply(a2, Vector128.Load(mult + c0 + 8), Vector128.Load(left + c0 + 8), Vector128.Load(rpos + c0 + 8), Vector128.Load(rneg + c0 + 8)) + ozp, lo, hi);
                        Vector128<int> r3 = Clamp(TReq.Apply(a3, Vector128.Load(mult + c0 + 12), Vector128.Load(left + c0 + 12), Vector128.Load(rpos + c0 + 12), Vector128.Load(rneg + c0 + 12)) + ozp, lo, hi);
                        Vector128<sbyte> packed = Vector128.Narrow(Vector128.Narrow(r0, r1), Vector128.Narrow(r2, r3));
                        if (count == 16) packed.Store(dst + c0);
                        else for (int i = 0; i < count; i++) dst[c0 + i] = packed.GetElement(i);
                    }
                    for (int ch = c0; ch < c; ch++) dst[ch] = ScalarChannel(x, n, iy0, ix0, ch, kyLo, kyHi, kxLo, kxHi);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Clamp(Vector128<int> v, Vector128<int> lo, Vector128<int> hi) => Vector128.Min(Vector128.Max(v, lo), hi);

    private sbyte ScalarChannel(sbyte* x, int n, int iy0, int ix0, int ch, int kyLo, int kyHi, int kxLo, int kxHi)
    {
        ref readonly Conv2DShape s = ref _s;
        int c = s.InputChannels;
        int acc = _bias[ch];
        for (int ky = kyLo; ky < kyHi; ky++)
        {
            int iy = iy0 + ky * s.DilationH;
            for (int kx = kxLo; kx < kxHi; kx++)
            {
                int ix = ix0 + kx * s.DilationW;
                acc += (x[(((long)n * s.InputHeight + iy) * s.InputWidth + ix) * c + ch] - _inZp) * _wRaw[(ch * s.KernelHeight + ky) * s.KernelWidth + kx];
            }
        }
        return Requantize.ToInt8(acc, _mult[ch], _shift[ch], _outZp, _actMin, _actMax);
    }
}
