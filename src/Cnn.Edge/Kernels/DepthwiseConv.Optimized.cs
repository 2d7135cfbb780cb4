using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Cnn.Edge.Kernels;

/// <summary>
/// Widening int8 multiply-accumulate over 16 channels: products of raw int8 inputs and int8 weights in int16
/// lanes (|x w| ≤ 128·128 = 16384), added into four int32 accumulators of 4 channels each.
/// </summary>
internal interface IDepthwiseArith
{
    /// <summary>Lanes 0-7 (<see cref="MulLo"/>) or 8-15 (<see cref="MulHi"/>) of x·w in int16.</summary>
    static abstract Vector128<short> MulLo(Vector128<sbyte> x, Vector128<sbyte> w);
    static abstract Vector128<short> MulHi(Vector128<sbyte> x, Vector128<sbyte> w);
    /// <summary>p + x·w in int16; the caller guarantees the sum of two products fits (no weight is -128).</summary>
    static abstract Vector128<short> MulAddLo(Vector128<short> p, Vector128<sbyte> x, Vector128<sbyte> w);
    static abstract Vector128<short> MulAddHi(Vector128<short> p, Vector128<sbyte> x, Vector128<sbyte> w);
    /// <summary>acc + lanes 0-3 (<see cref="AddWideLo"/>) or 4-7 (<see cref="AddWideHi"/>) of p, widened.</summary>
    static abstract Vector128<int> AddWideLo(Vector128<int> acc, Vector128<short> p);
    static abstract Vector128<int> AddWideHi(Vector128<int> acc, Vector128<short> p);
    /// <summary>Four requantized int32 vectors (zero point added) to 16 int8 lanes clamped to [lo, hi].</summary>
    static abstract Vector128<sbyte> Pack(Vector128<int> r0, Vector128<int> r1, Vector128<int> r2, Vector128<int> r3,
        Vector128<sbyte> lo8, Vector128<sbyte> hi8, Vector128<int> lo, Vector128<int> hi);
}

/// <summary>NEON: SMULL/SMULL2, SMLAL/SMLAL2, SADDW/SADDW2, and SQXTN narrowing (then the clamp on int8 lanes).</summary>
internal readonly struct AdvSimdDepthwiseArith : IDepthwiseArith
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<short> MulLo(Vector128<sbyte> x, Vector128<sbyte> w) => AdvSimd.MultiplyWideningLower(x.GetLower(), w.GetLower());
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<short> MulHi(Vector128<sbyte> x, Vector128<sbyte> w) => AdvSimd.MultiplyWideningUpper(x, w);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<short> MulAddLo(Vector128<short> p, Vector128<sbyte> x, Vector128<sbyte> w) => AdvSimd.MultiplyWideningLowerAndAdd(p, x.GetLower(), w.GetLower());
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<short> MulAddHi(Vector128<short> p, Vector128<sbyte> x, Vector128<sbyte> w) => AdvSimd.MultiplyWideningUpperAndAdd(p, x, w);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> AddWideLo(Vector128<int> acc, Vector128<short> p) => AdvSimd.AddWideningLower(acc, p.GetLower());
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> AddWideHi(Vector128<int> acc, Vector128<short> p) => AdvSimd.AddWideningUpper(acc, p);

    /// <summary>Saturating narrows commute with a clamp inside [-128, 127]: 6 SQXTN + SMAX/SMIN on 16 lanes instead of 8 on int32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> Pack(Vector128<int> r0, Vector128<int> r1, Vector128<int> r2, Vector128<int> r3,
        Vector128<sbyte> lo8, Vector128<sbyte> hi8, Vector128<int> lo, Vector128<int> hi)
    {
        Vector128<short> s01 = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(r0), r1);
        Vector128<short> s23 = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(r2), r3);
        Vector128<sbyte> b = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(s01), s23);
        return AdvSimd.Min(AdvSimd.Max(b, lo8), hi8);
    }
}

/// <summary>Portable Vector128 (and x86): widen, multiply in int16 (exact), widen, add; clamp on int32, then narrow.</summary>
internal readonly struct PortableDepthwiseArith : IDepthwiseArith
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<short> MulLo(Vector128<sbyte> x, Vector128<sbyte> w) => Vector128.WidenLower(x) * Vector128.WidenLower(w);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<short> MulHi(Vector128<sbyte> x, Vector128<sbyte> w) => Vector128.WidenUpper(x) * Vector128.WidenUpper(w);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<short> MulAddLo(Vector128<short> p, Vector128<sbyte> x, Vector128<sbyte> w) => p + MulLo(x, w);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<short> MulAddHi(Vector128<short> p, Vector128<sbyte> x, Vector128<sbyte> w) => p + MulHi(x, w);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> AddWideLo(Vector128<int> acc, Vector128<short> p) => acc + Vector128.WidenLower(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> AddWideHi(Vector128<int> acc, Vector128<short> p) => acc + Vector128.WidenUpper(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> Pack(Vector128<int> r0, Vector128<int> r1, Vector128<int> r2, Vector128<int> r3,
        Vector128<sbyte> lo8, Vector128<sbyte> hi8, Vector128<int> lo, Vector128<int> hi)
    {
        static Vector128<int> C(Vector128<int> v, Vector128<int> lo, Vector128<int> hi) => Vector128.Min(Vector128.Max(v, lo), hi);
        return Vector128.Narrow(Vector128.Narrow(C(r0, lo, hi), C(r1, lo, hi)), Vector128.Narrow(C(r2, lo, hi), C(r3, lo, hi)));
    }
}

/// <summary>
/// x86 (SSE4.1 on 128-bit vectors, selected for AVX2): PMOVSXBW + PMULLW, PMOVSXWD / PUNPCKHWD + PSRAD widening adds,
/// and the NEON <see cref="AdvSimdDepthwiseArith.Pack"/> scheme: PACKSSDW/PACKSSWB saturating narrows, then PMAXSB/PMINSB
/// on 16 int8 lanes (5 instructions instead of 8 int32 clamps and three masked narrows).
/// <para>The kernel's taps go through its PMADDWD routines (Taps2X86, Tap1X86) on x86; the Mul* members complete the
/// interface with the same arithmetic as <see cref="PortableDepthwiseArith"/>.</para>
/// </summary>
internal readonly struct X86DepthwiseArith : IDepthwiseArith
{
    /// <summary>Bytes 8-15 of v sign-extended to int16: PUNPCKHBW v, v puts each byte in both halves of a word, PSRAW 8 keeps one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<short> WidenHi(Vector128<sbyte> v) => Sse2.ShiftRightArithmetic(Sse2.UnpackHigh(v, v).AsInt16(), 8);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<short> MulLo(Vector128<sbyte> x, Vector128<sbyte> w) => Sse2.MultiplyLow(Sse41.ConvertToVector128Int16(x), Sse41.ConvertToVector128Int16(w));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<short> MulHi(Vector128<sbyte> x, Vector128<sbyte> w) => Sse2.MultiplyLow(WidenHi(x), WidenHi(w));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<short> MulAddLo(Vector128<short> p, Vector128<sbyte> x, Vector128<sbyte> w) => Sse2.Add(p, MulLo(x, w));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<short> MulAddHi(Vector128<short> p, Vector128<sbyte> x, Vector128<sbyte> w) => Sse2.Add(p, MulHi(x, w));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> AddWideLo(Vector128<int> acc, Vector128<short> p) => Sse2.Add(acc, Sse41.ConvertToVector128Int32(p));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> AddWideHi(Vector128<int> acc, Vector128<short> p) => Sse2.Add(acc, Sse2.ShiftRightArithmetic(Sse2.UnpackHigh(p, p).AsInt32(), 16));

    /// <summary>Saturating narrows commute with a clamp inside [-128, 127] (as on NEON).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> Pack(Vector128<int> r0, Vector128<int> r1, Vector128<int> r2, Vector128<int> r3,
        Vector128<sbyte> lo8, Vector128<sbyte> hi8, Vector128<int> lo, Vector128<int> hi)
    {
        Vector128<sbyte> b = Sse2.PackSignedSaturate(Sse2.PackSignedSaturate(r0, r1), Sse2.PackSignedSaturate(r2, r3));
        return Sse41.Min(Sse41.Max(b, lo8), hi8);
    }
}

/// <summary>A compile-time flag for generic kernels (the JIT folds the branches it guards).</summary>
internal interface IFlag { static abstract bool Value { get; } }
internal readonly struct Yes : IFlag { public static bool Value => true; }
internal readonly struct No : IFlag { public static bool Value => false; }

/// <summary>How many input columns of a 3x3 window the next window (one stride on) reads too: 2 at stride 1, 1 at stride 2 (dilation 1), else 0.</summary>
internal interface IColumnShare { static abstract int Shared { get; } }
internal readonly struct ShareTwo : IColumnShare { public static int Shared => 2; }
internal readonly struct ShareOne : IColumnShare { public static int Shared => 1; }
internal readonly struct ShareNone : IColumnShare { public static int Shared => 0; }

/// <summary>Four int32 accumulators of 16 channels (A2, A3 unused by 8-channel tails).</summary>
internal struct Acc16
{
    public Vector128<int> A0, A1, A2, A3;
}

/// <summary>
/// Depthwise Conv2D with multiplier 1 (groups = Cin = Cout), any kernel size, stride, dilation and padding,
/// vectorized over 16 channels; bit-identical to <see cref="Conv2DReference"/>.
/// <para>Prepared at load: int8 weights packed [C/16][tap][16] (zero padded), the input zero point folded into the
/// bias (Σ (x - zp) w = Σ x w - zp Σ w, exact modulo 2^32, the reference's final accumulator), and per output pixel
/// an indirection of tap pointers where padding taps point at a row of zp bytes (contributing zp·w, which the
/// folded bias cancels: padding is the real value 0, as in the reference).</para>
/// <para>The products x·w of two taps are summed in int16 (SMULL + SMLAL: |sum| ≤ 2·128·127 = 32512 when no
/// weight is -128) before one widening add into int32: 8 instructions per 32 MACs for 16 channels. A layer
/// with a -128 weight adds each product alone. NEON 3×3 rows (<see cref="Rows9Arm"/>, A76 stride 1: <see cref="Rows9Dp"/>
/// with SDOT) run 16-channel blocks outer and two windows per step, their shared input columns loaded once; the windows
/// of the row with padding across run in the same call (<see cref="Edges9Arm"/>). On x86, PMADDWD sums the two products straight into int32 (exact for
/// any weights) from int16 weights interleaved by pairs of taps at load; layers whose shifts are all ≤ 0 (see
/// <see cref="X86RequantNoLeft"/>) run 32 channels at a time on 256-bit vectors, with weights, bias and requantization
/// parameters stored in the in-lane order of VPUNPCK/VPMADDWD (which VPACKSS restores). 3×3 kernels (MobileNet) run an
/// unrolled 9-tap block.</para>
/// </summary>
internal sealed unsafe partial class DepthwiseConv
{
    private const int Lanes = 16;
    private readonly Conv2DShape _s;
    private readonly KernelIsa _isa;
    private readonly int _taps, _cp, _inZp, _outZp, _actMin, _actMax;
    private readonly bool _pair;
    /// <summary>x86: every shift ≤ 0 and no multiplier is int.MinValue (see <see cref="X86RequantNoLeft"/>).</summary>
    private readonly bool _x86NoLeft;
    private readonly ArmRequantKind _requantKind;
    /// <summary>[C/16][tap][16] int8.</summary>
    private readonly sbyte[] _w;
    /// <summary>x86: [C/16][tap][16] int16, each pair of taps (t, t + 1) as PMADDWD operands: per 4 channels, (w[t], w[t + 1]) per channel;
    /// a last unpaired tap as 16 int16 in channel order. Empty on other ISAs.</summary>
    private readonly short[] _wX86 = [];
    /// <summary>x86: bias, multipliers and right shifts with each block of 32 wide channels in accumulator order (<see cref="WidePosition"/>).</summary>
    private readonly int[] _biasX86 = [], _multX86 = [], _rposX86 = [];
    private const int WideLanes = 32;

    /// <summary>Where channel ch of a 32-channel block sits in the four 256-bit accumulators: A[g] lane h holds channels 16 h + 4 g .. + 3.</summary>
    private static int WidePosition(int ch)
    {
        int r = ch % WideLanes, half = r / Lanes, q = r % Lanes;
        return ch - r + (q / 4) * 8 + half * 4 + q % 4;
    }
    /// <summary>Bytes of the input zero point: a padding tap's pixel (Cp bytes, +16 so a 16-byte load from any channel block stays
    /// inside), and as long as an input row (+16), so a 3x3 row whose only padding is above or below runs <see cref="Interior9"/>
    /// with each missing input row read from here at the same column offsets.</summary>
    private readonly sbyte[] _zpRow;
    /// <summary>[tap] offset in bytes of each tap from the window's top-left input pixel.</summary>
    private readonly long[] _tapOffset;
    private readonly int[] _bias, _mult, _left, _rpos, _rneg, _shift, _rawBias;
    private readonly sbyte[] _wRaw;
    /// <summary>A76 (Dp), 3x3: the SDOT operands of <see cref="Rows9Dp"/> (<see cref="PackDp"/>). Empty on other ISAs and kernel sizes.</summary>
    private readonly sbyte[] _wDp = [];

    /// <param name="allowAvx512">False keeps x86 on the 256/128-bit paths even where AVX-512 is available (tests of those paths).</param>
    public DepthwiseConv(KernelIsa isa, in Conv2DShape s, ReadOnlySpan<sbyte> weights, ReadOnlySpan<int> bias,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, int inZp, int outZp, int actMin, int actMax, bool allowAvx512 = true)
    {
        _isa = isa; _s = s; _inZp = inZp; _outZp = outZp; _actMin = actMin; _actMax = actMax;
        int c = s.InputChannels, taps = s.KernelHeight * s.KernelWidth;
        _taps = taps;
        _cp = (c + Lanes - 1) & ~(Lanes - 1);
        _w = new sbyte[taps * _cp];
        _wRaw = weights.Slice(0, c * taps).ToArray();
        _zpRow = new sbyte[Math.Max(_cp, s.InputWidth * c) + Lanes];
        _zpRow.AsSpan().Fill((sbyte)inZp);
        if (isa == KernelIsa.AdvSimdDp && taps == 9 && s.KernelWidth == 3) _wDp = PackDp(weights, c, _cp);
        _tapOffset = new long[taps];
        for (int ky = 0; ky < s.KernelHeight; ky++)
            for (int kx = 0; kx < s.KernelWidth; kx++)
                _tapOffset[ky * s.KernelWidth + kx] = ((long)ky * s.DilationH * s.InputWidth + (long)kx * s.DilationW) * c;
        _bias = new int[_cp]; _rawBias = new int[_cp]; _mult = new int[_cp]; _left = new int[_cp]; _rpos = new int[_cp]; _rneg = new int[_cp]; _shift = new int[_cp];
        bool minus128 = false;
        for (int ch = 0; ch < c; ch++)
        {
            int sum = 0;
            for (int t = 0; t < taps; t++)
            {
                sbyte w = weights[ch * taps + t]; // [C, KH, KW, 1]
                _w[((ch / Lanes) * taps + t) * Lanes + ch % Lanes] = w;
                sum += w;
                minus128 |= w == sbyte.MinValue;
            }
            _rawBias[ch] = bias.IsEmpty ? 0 : bias[ch];
            _bias[ch] = unchecked(_rawBias[ch] - inZp * sum);
            _mult[ch] = multipliers[ch];
            _shift[ch] = shifts[ch];
            _left[ch] = Math.Max(shifts[ch], 0);
            _rpos[ch] = Math.Max(-shifts[ch], 0);
            _rneg[ch] = -_rpos[ch];
        }
        _pair = !minus128;
        _requantKind = ArmRequant.Classify(shifts.Slice(0, c));
        _x86NoLeft = X86RequantNoLeft.Applies(multipliers.Slice(0, c), shifts.Slice(0, c));
        var folded = allowAvx512 && Avx512Applies(isa, _x86NoLeft) ? FoldedConstants(weights, c, taps, _rawBias, _mult, _shift, outZp) : null;
        _avx512 = folded is not null;
        if (folded is { } f)
        {
            bool k3 = taps == 9 && s.KernelWidth == 3;
            (_w512, _w512x2, _p512, _tail512) = Pack512(weights, c, taps, k3, _bias, _mult, f);
            if (k3 && c < Group && Group % c == 0)
            {
                _fold512 = Group / c;
                (_w512Fold, _p512Fold) = Pack512Folded(weights, c, taps, _bias, _mult, f);
            }
        }
        else if (isa is KernelIsa.Avx2 or KernelIsa.AvxVnni)
        {
            // Channels below `wide` run 32 at a time on 256-bit vectors (the X86RequantNoLeft layers).
            int wide = _x86NoLeft ? c / WideLanes * WideLanes : 0;
            _wX86 = new short[taps * _cp];
            _biasX86 = (int[])_bias.Clone(); _multX86 = (int[])_mult.Clone(); _rposX86 = (int[])_rpos.Clone();
            for (int ch = 0; ch < c; ch++)
            {
                int block = ch / Lanes, k = ch % Lanes;
                if (ch < wide)
                {
                    int at = WidePosition(ch);
                    _biasX86[at] = _bias[ch]; _multX86[at] = _mult[ch]; _rposX86[at] = _rpos[ch];
                }
                for (int t = 0; t < taps; t++)
                {
                    int pairStart = t & ~1;
                    bool paired = pairStart + 1 < taps;
                    int index;
                    if (ch < wide)
                    {
                        // [C/32][tap][32]: a pair of taps as 4 PMADDWD operands of 16 int16, lane h of operand g holding
                        // channels 16 h + 4 g .. + 3; a last unpaired tap as [channels 0-7 | 16-23], [8-15 | 24-31].
                        int r = ch % WideLanes, half = r / Lanes, q = r % Lanes;
                        int wideBase = ch / WideLanes * taps * WideLanes;
                        index = paired
                            ? wideBase + pairStart * WideLanes + (q / 4) * 16 + half * 8 + (q % 4) * 2 + (t & 1)
                            : wideBase + t * WideLanes + (q / 8) * 16 + half * 8 + q % 8;
                    }
                    else
                    {
                        int tapBase = (block * taps + pairStart) * Lanes;
                        index = paired ? tapBase + (k / 4) * 8 + (k % 4) * 2 + (t & 1) : tapBase + k;
                    }
                    _wX86[index] = weights[ch * taps + t];
                }
            }
        }
    }

    /// <summary>Output rows [row0, row1) of the flattened (n, oy) range, every channel.</summary>
    public void Run(ReadOnlySpan<sbyte> input, Span<sbyte> output, int row0, int row1) => Run(input, output, row0, row1, 0, ChannelBlocks);

    /// <summary>
    /// Channels per block for <see cref="Run(ReadOnlySpan{sbyte}, Span{sbyte}, int, int, int, int)"/>: a multiple of each packed
    /// layout's group (16 lanes; 32 on the 256-bit x86 and the AVX-512 paths), so a block starts a group in every layout.
    /// </summary>
    public const int ChannelBlock = 32;

    /// <summary>Blocks of <see cref="ChannelBlock"/> channels per output pixel (the last one may be shorter).</summary>
    public int ChannelBlocks => (_s.InputChannels + ChannelBlock - 1) / ChannelBlock;

    /// <summary>
    /// Output rows [row0, row1) of the flattened (n, oy) range, channel blocks [block0, block1) of each (see <see cref="ChannelBlock"/>).
    /// A block runs the code a whole row runs, on the packed data from its first group on; every path (64, 32, 16 or 8 lanes,
    /// masked or scalar) computes a channel as the reference does, so any split into rows and blocks gives the same bytes.
    /// </summary>
    public void Run(ReadOnlySpan<sbyte> input, Span<sbyte> output, int row0, int row1, int block0, int block1)
    {
        int ch0 = block0 * ChannelBlock, ch1 = Math.Min(_s.InputChannels, block1 * ChannelBlock);
        if (row0 >= row1 || ch0 >= ch1) return;
        var r = new Range(row0, row1, ch0, ch1);
        if (_isa is KernelIsa.AdvSimd or KernelIsa.AdvSimdDp)
        {
            switch (_requantKind)
            {
                case ArmRequantKind.RightShiftOnly: RunPair<AdvSimdDepthwiseArith, AdvSimdRequantRight>(input, output, r); break;
                case ArmRequantKind.NoLeftShift: RunPair<AdvSimdDepthwiseArith, AdvSimdRequantNoLeft>(input, output, r); break;
                default: RunPair<AdvSimdDepthwiseArith, AdvSimdRequant>(input, output, r); break;
            }
        }
        else if (_isa is KernelIsa.Avx2 or KernelIsa.AvxVnni)
        {
            // PMADDWD pairs taps exactly whatever the weights: no unpaired variant.
            if (_avx512) Run<X86DepthwiseArith, X86Requant512, Yes>(input, output, r);
            else if (_x86NoLeft) Run<X86DepthwiseArith, X86RequantNoLeft, Yes>(input, output, r);
            else Run<X86DepthwiseArith, X86Requant, Yes>(input, output, r);
        }
        else
        {
            RunPair<PortableDepthwiseArith, ScalarLaneRequant>(input, output, r);
        }
    }

    /// <summary>Output rows [Row0, Row1), channels [Ch0, Ch1) (Ch0 a multiple of <see cref="ChannelBlock"/>).</summary>
    private readonly record struct Range(int Row0, int Row1, int Ch0, int Ch1);

    private void RunPair<TA, TReq>(ReadOnlySpan<sbyte> input, Span<sbyte> output, Range r)
        where TA : struct, IDepthwiseArith where TReq : struct, IRequant4
    {
        if (_pair) Run<TA, TReq, Yes>(input, output, r);
        else Run<TA, TReq, No>(input, output, r);
    }

    /// <summary>What the per-row kernels need, pinned and vectorized once per call (passed by pointer: one argument).</summary>
    private struct Ctx
    {
        public sbyte* W, ZpRow, WDp;
        public int* Bias, Mult, Left, RPos, RNeg;
        /// <summary>C: the channels of this call (a block range); Stride: the channels of a pixel (bytes from one pixel to the next).</summary>
        public int C, Stride, Taps;
        public Vector128<int> Zp, Lo, Hi;
        public Vector128<sbyte> Lo8, Hi8;
        public short* W512, W512x2, W512Fold;
        public int* P512, P512Fold;
        public int Fold;
        public Out512 Out;
        /// <summary>NEON 3x3 rows: the first interior window, output and input widths, stride, left padding and dilation across.</summary>
        public int OxLo, OutW, InW, StrideW, PadL, DilW;
        /// <summary>Channels [0, ArmFull) of this row's windows with padding across were done with the interior ones (<see cref="Edges9Arm"/>); 0: none.</summary>
        public int ArmFull;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // kernels run optimized from the first inference (no tier-0 JIT)
    private void Run<TA, TReq, TPair>(ReadOnlySpan<sbyte> input, Span<sbyte> output, Range r)
        where TA : struct, IDepthwiseArith where TReq : struct, IRequant4 where TPair : struct, IFlag
    {
        ref readonly Conv2DShape s = ref _s;
        // c: bytes per pixel (all channels); cn: the channels of this call, from ch0 on (pointers below start at channel ch0).
        int c = s.InputChannels, taps = _taps, ch0 = r.Ch0, cn = r.Ch1 - r.Ch0;
        bool k3 = taps == 9 && s.KernelWidth == 3;
        sbyte** ptr = stackalloc sbyte*[taps];
        long dx = (long)s.DilationW * c, pixStep = (long)s.StrideW * c;
        // Output columns [oxLo, oxHi) have their whole window inside the input's width.
        int oxLo = Math.Min((s.PadLeft + s.StrideW - 1) / s.StrideW, s.OutputWidth);
        int span = s.InputWidth - 1 - (s.KernelWidth - 1) * s.DilationW + s.PadLeft;
        int oxHi = span < 0 ? oxLo : Math.Max(oxLo, Math.Min(s.OutputWidth, span / s.StrideW + 1));
        Ctx ctx;
        ctx.C = cn; ctx.Stride = c; ctx.Taps = taps;
        ctx.OxLo = oxLo; ctx.OutW = s.OutputWidth; ctx.InW = s.InputWidth; ctx.StrideW = s.StrideW; ctx.PadL = s.PadLeft; ctx.DilW = s.DilationW;
        ctx.Zp = Vector128.Create(_outZp); ctx.Lo = Vector128.Create(_actMin); ctx.Hi = Vector128.Create(_actMax);
        ctx.Lo8 = Vector128.Create((sbyte)_actMin); ctx.Hi8 = Vector128.Create((sbyte)_actMax);
        ctx.Out.Correct = FoldedRequant.NeedsCorrection(_outZp, _actMin); ctx.Out.Lo8 = Vector512.Create((sbyte)_actMin); ctx.Out.Hi8 = Vector512.Create((sbyte)_actMax);
        ctx.Out.Tail = _tail512;
        fixed (sbyte* xAll = input)
        fixed (sbyte* yAll = output)
        fixed (sbyte* zpRow = _zpRow, w = _w, wDp = _wDp)
        fixed (short* wX86 = _wX86)
        fixed (int* biasX86 = _biasX86, multX86 = _multX86, rposX86 = _rposX86)
        fixed (long* off = _tapOffset)
        fixed (int* bias = _bias, mult = _mult, left = _left, rpos = _rpos, rneg = _rneg)
        fixed (short* w512 = _w512, w512x2 = _w512x2, w512Fold = _w512Fold)
        fixed (int* p512 = _p512, p512Fold = _p512Fold)
        {
            // Channel ch0 starts a group of every layout: [C/16][tap][16] and [C/32][tap][32] put it at ch0 · taps elements,
            // the AVX-512 layouts at group ch0 / 32; constants in block order (x86, AVX-512) are permuted within groups only.
            sbyte* x = xAll + ch0, y = yAll + ch0;
            ctx.W512 = w512 + (long)ch0 * ((taps + 1) / 2) * 2; ctx.W512x2 = w512x2 + (long)ch0 * Pairs9x2.Length * 2; ctx.P512 = p512 + ch0 / Group * ParamInts;
            ctx.W512Fold = w512Fold; ctx.P512Fold = p512Fold; ctx.Fold = _fold512;
            bool x86 = typeof(TA) == typeof(X86DepthwiseArith);
            ctx.W = x86 ? (sbyte*)(wX86 + (long)ch0 * taps) : w + (long)ch0 * taps; ctx.ZpRow = zpRow;
            ctx.WDp = _wDp.Length == 0 ? null : wDp + (long)ch0 / Lanes * DpBlockBytes;
            ctx.Bias = (x86 ? biasX86 : bias) + ch0; ctx.Mult = (x86 ? multX86 : mult) + ch0; ctx.Left = left + ch0; ctx.RPos = (x86 ? rposX86 : rpos) + ch0; ctx.RNeg = rneg + ch0;
            for (int row = r.Row0; row < r.Row1; row++)
            {
                int n = row / s.OutputHeight, oy = row - n * s.OutputHeight;
                sbyte* inBatch = x + (long)n * s.InputHeight * s.InputWidth * c;
                int iy0 = oy * s.StrideH - s.PadTop;
                bool rowInside = iy0 >= 0 && iy0 + (s.KernelHeight - 1) * s.DilationH < s.InputHeight;
                sbyte* dstRow = y + (long)row * s.OutputWidth * c;
                sbyte* rowBase = inBatch + (long)iy0 * s.InputWidth * c;
                // Columns [oxLo, oxHi) through Interior9: the first channel it left to the scalar tail, or -1 when it did not run.
                int interiorFirst = -1;
                ctx.ArmFull = 0;
                // A row with padding above or below (not AVX-512, whose interior kernel steps rows by dy) reads each missing input
                // row from the zero-point row at the same column offsets: the padding taps of the indirect path, without the indirection.
                if (k3 && oxHi > oxLo && (rowInside || typeof(TReq) != typeof(X86Requant512)))
                {
                    // The run of interior 3x3 windows in one call: tap pointers straight from the top-left one of each kernel row.
                    long col0 = ((long)oxLo * s.StrideW - s.PadLeft) * c;
                    sbyte* zpZone = zpRow + ch0; // laid out as an input row from channel ch0 (x = xAll + ch0)
                    sbyte* p0 = RowOrZp(inBatch, iy0, s, c, zpZone) + col0;
                    sbyte* p1 = RowOrZp(inBatch, iy0 + s.DilationH, s, c, zpZone) + col0;
                    sbyte* p2 = RowOrZp(inBatch, iy0 + 2 * s.DilationH, s, c, zpZone) + col0;
                    sbyte* dst0 = dstRow + (long)oxLo * c;
                    interiorFirst = cn == c
                        ? Interior9<TA, TReq, TPair, Yes>(&ctx, p0, p1, p2, oxHi - oxLo, pixStep, dx, dst0)
                        : Interior9<TA, TReq, TPair, No>(&ctx, p0, p1, p2, oxHi - oxLo, pixStep, dx, dst0);
                }
                // The NEON interior kernel did every channel of every window (its edges too): nothing left in this row.
                if (ctx.ArmFull == cn) continue;
                for (int ox = 0; ox < s.OutputWidth; ox++)
                {
                    if (interiorFirst == cn && ox == oxLo) { ox = oxHi - 1; continue; }
                    int ix0 = ox * s.StrideW - s.PadLeft;
                    sbyte* p = rowBase + (long)ix0 * c; // may point outside: only valid taps are dereferenced
                    sbyte* dst = dstRow + (long)ox * c;
                    bool inside = rowInside && ox >= oxLo && ox < oxHi;
                    if (inside)
                    {
                        for (int t = 0; t < taps; t++) ptr[t] = p + off[t];
                    }
                    else
                    {
                        for (int ky = 0, t = 0; ky < s.KernelHeight; ky++)
                        {
                            bool yOk = (uint)(iy0 + ky * s.DilationH) < (uint)s.InputHeight;
                            for (int kx = 0; kx < s.KernelWidth; kx++, t++)
                                // A padding tap reads zpRow + c0: the real value 0, cancelled by the folded bias.
                                ptr[t] = yOk && (uint)(ix0 + kx * s.DilationW) < (uint)s.InputWidth ? p + off[t] : zpRow;
                        }
                    }
                    // Windows of Interior9 got their vector channels from it: only the scalar tail is left.
                    int first = interiorFirst >= 0 && ox >= oxLo && ox < oxHi ? interiorFirst : Indirect<TA, TReq, TPair>(&ctx, ptr, dst, k3, ctx.ArmFull);
                    for (int ch = first; ch < cn; ch++) dst[ch] = ScalarChannel(ptr, zpRow, ch, ch0); // fewer than 8 channels left
                }
            }
        }
    }

    /// <summary>Input row iy of the batch at inBatch, or zpRow (the zero-point row, read at the same column offsets as an
    /// input row) when iy is padding.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static sbyte* RowOrZp(sbyte* inBatch, int iy, in Conv2DShape s, int c, sbyte* zpRow)
        => (uint)iy < (uint)s.InputHeight ? inBatch + (long)iy * s.InputWidth * c : zpRow;

    /// <summary>count 3x3 windows of one output row inside the input's width, whose kernel rows start at p0, p1, p2 (input rows,
    /// or the zero-point row for padding above or below), each next window pixStep bytes on.</summary>
    /// <typeparam name="TWhole">Every channel (C = the pixel stride): one register less in the loop (A76: 2.5 instructions per window).</typeparam>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int Interior9<TA, TReq, TPair, TWhole>(Ctx* ctx, sbyte* p0, sbyte* p1, sbyte* p2, int count, long pixStep, long dx, sbyte* dst)
        where TA : struct, IDepthwiseArith where TReq : struct, IRequant4 where TPair : struct, IFlag where TWhole : struct, IFlag
    {
        if (typeof(TReq) == typeof(X86Requant512))
        {
            // Rows inside the input only (see Run): kernel rows dy apart.
            Interior9Avx512(ctx, p0, count, pixStep, dx, p1 - p0, dst);
            return ctx->C;
        }
        int c = ctx->C, stride = TWhole.Value ? 0 : ctx->Stride, c0 = 0;
        sbyte* w = ctx->W;
        int* bias = ctx->Bias, mult = ctx->Mult, left = ctx->Left, rpos = ctx->RPos, rneg = ctx->RNeg;
        Vector128<int> zp = ctx->Zp, lo = ctx->Lo, hi = ctx->Hi;
        Vector128<sbyte> lo8 = ctx->Lo8, hi8 = ctx->Hi8;
        if (typeof(TA) == typeof(AdvSimdDepthwiseArith) && TPair.Value && c >= Lanes)
        {
            // Whole 16-channel blocks: block outer, windows inner (weights in registers); the rest per window below.
            int full = c / Lanes * Lanes;
            long dstStep = TWhole.Value ? c : ctx->Stride;
            if (ctx->WDp != null && pixStep == dx)
                Rows9Dp<TReq>(p0, p1, p2, count, dx, dst, dstStep, full, ctx->WDp, w, bias, mult, left, rneg, zp, lo8, hi8);
            else if (pixStep == dx) Rows9Arm<TReq, ShareTwo>(p0, p1, p2, count, pixStep, dx, dst, dstStep, full, w, bias, mult, left, rneg, zp, lo8, hi8);
            else if (pixStep == 2 * dx) Rows9Arm<TReq, ShareOne>(p0, p1, p2, count, pixStep, dx, dst, dstStep, full, w, bias, mult, left, rneg, zp, lo8, hi8);
            else Rows9Arm<TReq, ShareNone>(p0, p1, p2, count, pixStep, dx, dst, dstStep, full, w, bias, mult, left, rneg, zp, lo8, hi8);
            if (count < ctx->OutW) Edges9Arm<TReq>(ctx, p0, p1, p2, count, pixStep, dx, dst, dstStep, full, w, bias, mult, left, rneg, zp, lo8, hi8);
            ctx->ArmFull = full;
            if (full == c) return c;
            // The 8-channel tail (if any) per window, from channel `full` on.
            p0 += full; p1 += full; p2 += full; dst += full; c -= full; w += (long)full * 9;
            bias += full; mult += full; left += full; rpos += full; rneg += full;
            long dx2t = 2 * dx;
            for (int i = 0; i < count; i++, p0 += pixStep, p1 += pixStep, p2 += pixStep, dst += dstStep)
                c0 = Pixel9<TA, TReq, TPair>(p0, p0 + dx, p0 + dx2t, p1, p1 + dx, p1 + dx2t, p2, p2 + dx, p2 + dx2t, dst, c, w, bias, mult, left, rpos, rneg, zp, lo8, hi8, lo, hi);
            return full + c0;
        }
        long dx2 = 2 * dx;
        for (int i = 0; i < count; i++, p0 += pixStep, p1 += pixStep, p2 += pixStep, dst += TWhole.Value ? c : stride)
            c0 = Pixel9<TA, TReq, TPair>(p0, p0 + dx, p0 + dx2, p1, p1 + dx, p1 + dx2, p2, p2 + dx, p2 + dx2, dst, c, w, bias, mult, left, rpos, rneg, zp, lo8, hi8, lo, hi);
        return c0;
    }

    /// <summary>
    /// NEON, count interior 3x3 windows of one output row, channels [0, full) (whole 16-channel blocks), block outer and windows
    /// inner, two windows u and v (pixStep apart) per iteration: weights, bias, multipliers and shifts are loaded once for both,
    /// and input columns the two windows share (<typeparamref name="TShare"/>: stride 1 or 2 of a dilation-1 row) are loaded once.
    /// <para>Per window and 16 channels: 4 pairs of taps (SMULL + SMLAL on each half, exact in int16 as no weight is -128, then
    /// 4 SADDW/SADDW2 into int32, the first of them from the bias) and the last tap alone (2 SMULL + 4 SADDW): 38 instructions
    /// for 144 MACs; then SQRDMULH/SSRA/SRSHL, the zero point and the saturating narrows with the int8 clamp. Channels 8-15
    /// (SMULL2 on whole registers) go before channels 0-7 of the same inputs and weights, so that each register's lower half
    /// (GetLower) is taken at its last use, in place: taken earlier, the JIT copies the register first.</para>
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Rows9Arm<TReq, TShare>(sbyte* p0, sbyte* p1, sbyte* p2, int count, long pixStep, long dx, sbyte* dst, long dstStep, int full,
        sbyte* w, int* bias, int* mult, int* left, int* rneg, Vector128<int> zp, Vector128<sbyte> lo8, Vector128<sbyte> hi8)
        where TReq : struct, IRequant4 where TShare : struct, IColumnShare
    {
        long dx2 = 2 * dx, step2 = 2 * pixStep, dstStep2 = 2 * dstStep;
        Vector128<short> zp16 = Vector128.Create((short)zp.ToScalar()); // |zp| ≤ 128
        // Column offsets of the two windows' loads (see LoadCols): dx, 2dx and, when shared, 3dx (stride 1) or 3dx, 4dx (stride 2).
        Offsets o = new(dx, TShare.Shared == 2 ? 3 * dx : TShare.Shared == 1 ? 3 * dx : pixStep, TShare.Shared == 1 ? 4 * dx : pixStep + dx, pixStep + 2 * dx);
        for (int c0 = 0; c0 < full; c0 += Lanes, w += 9 * Lanes)
        {
            sbyte* a = p0 + c0, b = p1 + c0, e = p2 + c0, d = dst + c0;
            int* bc = bias + c0, mc = mult + c0, lc = left + c0, nc = rneg + c0;
            for (int k = count >> 1; k > 0; k--, a += step2, b += step2, e += step2, d += dstStep2)
            {
                Acc16 u = LoadBias(bc, true), v = u;
                // Kernel rows 0 and 1 pair vertically (taps 0+3, 1+4, 2+5), row 2 pairs taps 6+7, then tap 8 alone.
                Cols6 x = LoadCols<TShare>(a, o), y = LoadCols<TShare>(b, o);
                Vector128<sbyte> w0 = Vector128.Load(w), w1 = Vector128.Load(w + Lanes), w2 = Vector128.Load(w + 2 * Lanes);
                Vector128<sbyte> w3 = Vector128.Load(w + 3 * Lanes), w4 = Vector128.Load(w + 4 * Lanes), w5 = Vector128.Load(w + 5 * Lanes);
                u = PairHi(u, x.U0, w0, y.U0, w3); u = PairHi(u, x.U1, w1, y.U1, w4); u = PairHi(u, x.U2, w2, y.U2, w5);
                v = PairHi(v, x.V0, w0, y.V0, w3); v = PairHi(v, x.V1, w1, y.V1, w4); v = PairHi(v, x.V2, w2, y.V2, w5);
                Cols6L xl = Lower<TShare>(x), yl = Lower<TShare>(y);
                Vector64<sbyte> l0 = w0.GetLower(), l1 = w1.GetLower(), l2 = w2.GetLower(), l3 = w3.GetLower(), l4 = w4.GetLower(), l5 = w5.GetLower();
                u = PairLo(u, xl.U0, l0, yl.U0, l3); u = PairLo(u, xl.U1, l1, yl.U1, l4); u = PairLo(u, xl.U2, l2, yl.U2, l5);
                v = PairLo(v, xl.V0, l0, yl.V0, l3); v = PairLo(v, xl.V1, l1, yl.V1, l4); v = PairLo(v, xl.V2, l2, yl.V2, l5);
                Cols6 z = LoadCols<TShare>(e, o);
                Vector128<sbyte> w6 = Vector128.Load(w + 6 * Lanes), w7 = Vector128.Load(w + 7 * Lanes), w8 = Vector128.Load(w + 8 * Lanes);
                u = PairHi(u, z.U0, w6, z.U1, w7); u = OneHi(u, z.U2, w8);
                v = PairHi(v, z.V0, w6, z.V1, w7); v = OneHi(v, z.V2, w8);
                Cols6L zl = Lower<TShare>(z);
                Vector64<sbyte> l6 = w6.GetLower(), l7 = w7.GetLower(), l8 = w8.GetLower();
                u = PairLo(u, zl.U0, l6, zl.U1, l7); u = OneLo(u, zl.U2, l8);
                v = PairLo(v, zl.V0, l6, zl.V1, l7); v = OneLo(v, zl.V2, l8);
                FinishTwoArm<TReq>(u, v, d, dstStep, mc, lc, nc, zp, zp16, lo8, hi8);
            }
            if ((count & 1) != 0) WindowArm<TReq>(a, b, e, dx, w, bc, mc, lc, nc, d, zp, zp16, lo8, hi8);
        }
    }

    /// <summary>
    /// NEON, one 3x3 window through its 9 tap pointers (a padding tap points at the zero-point row), channels [0, full) (whole
    /// 16-channel blocks): <see cref="Rows9Arm"/>'s arithmetic for a window alone, every load at [tap pointer, channel].
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Window9Arm<TReq>(sbyte** ptr, sbyte* dst, int full, sbyte* w, int* bias, int* mult, int* left, int* rneg,
        Vector128<int> zp, Vector128<sbyte> lo8, Vector128<sbyte> hi8) where TReq : struct, IRequant4
    {
        Vector128<short> zp16 = Vector128.Create((short)zp.ToScalar()); // |zp| ≤ 128
        sbyte* t0 = ptr[0], t1 = ptr[1], t2 = ptr[2], t3 = ptr[3], t4 = ptr[4], t5 = ptr[5], t6 = ptr[6], t7 = ptr[7], t8 = ptr[8];
        for (int c0 = 0; c0 < full; c0 += Lanes, w += 9 * Lanes)
        {
            Acc16 u = Taps9Arm(LoadBias(bias + c0, true), Vector128.Load(t0 + c0), Vector128.Load(t1 + c0), Vector128.Load(t2 + c0),
                Vector128.Load(t3 + c0), Vector128.Load(t4 + c0), Vector128.Load(t5 + c0), Vector128.Load(t6 + c0), Vector128.Load(t7 + c0), Vector128.Load(t8 + c0), w);
            FinishArm<TReq>(u, dst + c0, LoadRequant16<TReq>(mult + c0, left + c0, rneg + c0), zp, zp16, lo8, hi8);
        }
    }

    /// <summary>
    /// NEON, the windows of a row that <see cref="Interior9"/> runs whose columns reach into the padding at the left or right
    /// (the kernel rows at p0, p1, p2 are those of the first interior window, count of them, each pixStep on): channels [0, full)
    /// through <see cref="Window9Arm"/>, a padding column's taps at the zero-point row.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Edges9Arm<TReq>(Ctx* ctx, sbyte* p0, sbyte* p1, sbyte* p2, int count, long pixStep, long dx, sbyte* dst, long dstStep, int full,
        sbyte* w, int* bias, int* mult, int* left, int* rneg, Vector128<int> zp, Vector128<sbyte> lo8, Vector128<sbyte> hi8) where TReq : struct, IRequant4
    {
        sbyte** ptr = stackalloc sbyte*[9];
        int oxLo = ctx->OxLo;
        for (int ox = 0; ox < ctx->OutW; ox++)
        {
            if (ox == oxLo) { ox += count - 1; continue; }
            long shift = (ox - oxLo) * pixStep; // negative on the left: only columns inside the input are dereferenced
            int ix0 = ox * ctx->StrideW - ctx->PadL;
            for (int kx = 0; kx < 3; kx++)
            {
                bool inside = (uint)(ix0 + kx * ctx->DilW) < (uint)ctx->InW;
                long o = shift + kx * dx;
                ptr[kx] = inside ? p0 + o : ctx->ZpRow;
                ptr[3 + kx] = inside ? p1 + o : ctx->ZpRow;
                ptr[6 + kx] = inside ? p2 + o : ctx->ZpRow;
            }
            Window9Arm<TReq>(ptr, dst + (ox - oxLo) * dstStep, full, w, bias, mult, left, rneg, zp, lo8, hi8);
        }
    }

    /// <summary>The 9 taps of one window of 16 channels (row-major inputs, weights [tap][16] at w) onto u: channels 8-15, then 0-7.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Acc16 Taps9Arm(Acc16 u, Vector128<sbyte> x0, Vector128<sbyte> x1, Vector128<sbyte> x2, Vector128<sbyte> y0, Vector128<sbyte> y1, Vector128<sbyte> y2,
        Vector128<sbyte> z0, Vector128<sbyte> z1, Vector128<sbyte> z2, sbyte* w)
    {
        Vector128<sbyte> w0 = Vector128.Load(w), w1 = Vector128.Load(w + Lanes), w2 = Vector128.Load(w + 2 * Lanes);
        Vector128<sbyte> w3 = Vector128.Load(w + 3 * Lanes), w4 = Vector128.Load(w + 4 * Lanes), w5 = Vector128.Load(w + 5 * Lanes);
        Vector128<sbyte> w6 = Vector128.Load(w + 6 * Lanes), w7 = Vector128.Load(w + 7 * Lanes), w8 = Vector128.Load(w + 8 * Lanes);
        u = PairHi(u, x0, w0, y0, w3); u = PairHi(u, x1, w1, y1, w4); u = PairHi(u, x2, w2, y2, w5);
        u = PairHi(u, z0, w6, z1, w7); u = OneHi(u, z2, w8);
        u = PairLo(u, x0.GetLower(), w0.GetLower(), y0.GetLower(), w3.GetLower());
        u = PairLo(u, x1.GetLower(), w1.GetLower(), y1.GetLower(), w4.GetLower());
        u = PairLo(u, x2.GetLower(), w2.GetLower(), y2.GetLower(), w5.GetLower());
        u = PairLo(u, z0.GetLower(), w6.GetLower(), z1.GetLower(), w7.GetLower());
        return OneLo(u, z2.GetLower(), w8.GetLower());
    }

    /// <summary>
    /// A76 (Dp), stride-1 rows of <see cref="Rows9Arm"/> with SDOT. Windows u and v (the next one) read input columns 0-3 of the
    /// three kernel rows; ZIP1/ZIP2 interleave them into 4-byte groups per channel, each used by both windows with its own weights
    /// (packed at load, <see cref="_wDp"/>; a zero weight where a window does not read a column): rows 0 and 1 of columns 0, 1
    /// and of columns 2, 3, and row 2 of columns 0-3. Per pair of windows and 16 channels: 12 loads, 24 ZIPs and 24 SDOT
    /// against 76 SMULL/SMLAL/SADDW; a last odd window runs <see cref="Taps9Arm"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Rows9Dp<TReq>(sbyte* p0, sbyte* p1, sbyte* p2, int count, long dx, sbyte* dst, long dstStep, int full,
        sbyte* wDp, sbyte* w, int* bias, int* mult, int* left, int* rneg, Vector128<int> zp, Vector128<sbyte> lo8, Vector128<sbyte> hi8)
        where TReq : struct, IRequant4
    {
        long dx2 = 2 * dx, dx3 = 3 * dx, dstStep2 = 2 * dstStep;
        Vector128<short> zp16 = Vector128.Create((short)zp.ToScalar()); // |zp| ≤ 128
        for (int c0 = 0; c0 < full; c0 += Lanes, wDp += DpBlockBytes, w += 9 * Lanes)
        {
            sbyte* a = p0 + c0, b = p1 + c0, e = p2 + c0, d = dst + c0;
            int* bc = bias + c0, mc = mult + c0, lc = left + c0, nc = rneg + c0;
            for (int k = count >> 1; k > 0; k--, a += dx2, b += dx2, e += dx2, d += dstStep2)
            {
                Acc16 u = LoadBias(bc, true), v = u;
                Cols4 q01 = Quad(Vector128.Load(a), Vector128.Load(b), Vector128.Load(a + dx), Vector128.Load(b + dx));
                u = Dot4(u, q01, wDp);
                v = Dot4(v, q01, wDp + 3 * 4 * Lanes);
                Cols4 q23 = Quad(Vector128.Load(a + dx2), Vector128.Load(b + dx2), Vector128.Load(a + dx3), Vector128.Load(b + dx3));
                u = Dot4(u, q23, wDp + 4 * Lanes);
                v = Dot4(v, q23, wDp + 4 * 4 * Lanes);
                Cols4 r2 = Quad(Vector128.Load(e), Vector128.Load(e + dx), Vector128.Load(e + dx2), Vector128.Load(e + dx3));
                u = Dot4(u, r2, wDp + 2 * 4 * Lanes);
                v = Dot4(v, r2, wDp + 5 * 4 * Lanes);
                FinishTwoArm<TReq>(u, v, d, dstStep, mc, lc, nc, zp, zp16, lo8, hi8);
            }
            if ((count & 1) != 0) WindowArm<TReq>(a, b, e, dx, w, bc, mc, lc, nc, d, zp, zp16, lo8, hi8);
        }
    }

    /// <summary>Bytes of one 16-channel block of <see cref="_wDp"/>: 6 operand sets (u: rows 0-1 of columns 0-1, of columns 2-3, row 2;
    /// v: the same) of 4 vectors (channels 4g..4g+3, 4 bytes each).</summary>
    private const int DpBlockBytes = 6 * 4 * Lanes;

    /// <summary>Taps of <see cref="PackDp"/>'s sets: u (rows 0-1 of columns 0, 1), u (columns 2, 3), u (row 2 of columns 0-3), then v the same.</summary>
    private static ReadOnlySpan<sbyte> DpTaps => [0, 3, 1, 4, 2, 5, -1, -1, 6, 7, 8, -1, -1, -1, 0, 3, 1, 4, 2, 5, -1, 6, 7, 8];

    /// <summary>Weights of <see cref="Rows9Dp"/> at load: per block, set, channel and byte (see <see cref="Quad"/>'s byte order).</summary>
    private static sbyte[] PackDp(ReadOnlySpan<sbyte> weights, int c, int cp)
    {
        var r = new sbyte[cp / Lanes * DpBlockBytes];
        for (int ch = 0; ch < c; ch++)
        {
            // Per set, the tap (ky * 3 + kx, weights [C, 3, 3]) of each of the four input bytes in Quad order; -1: a column the window skips.
            for (int set = 0; set < 6; set++)
                for (int k = 0; k < 4; k++)
                {
                    int tap = DpTaps[set * 4 + k];
                    r[ch / Lanes * DpBlockBytes + set * 4 * Lanes + (ch % Lanes) * 4 + k] = tap < 0 ? (sbyte)0 : weights[ch * 9 + tap];
                }
        }
        return r;
    }

    /// <summary>16 channels of four input vectors in SDOT order: 4 groups of 4 channels × (a, b, x, y) bytes, by ZIP1/ZIP2 on bytes,
    /// then on pairs of bytes (8 instructions).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Cols4 Quad(Vector128<sbyte> a, Vector128<sbyte> b, Vector128<sbyte> x, Vector128<sbyte> y)
    {
        Vector128<short> abLo = AdvSimd.Arm64.ZipLow(a, b).AsInt16(), abHi = AdvSimd.Arm64.ZipHigh(a, b).AsInt16();
        Vector128<short> xyLo = AdvSimd.Arm64.ZipLow(x, y).AsInt16(), xyHi = AdvSimd.Arm64.ZipHigh(x, y).AsInt16();
        Cols4 r;
        r.G0 = AdvSimd.Arm64.ZipLow(abLo, xyLo).AsSByte();
        r.G1 = AdvSimd.Arm64.ZipHigh(abLo, xyLo).AsSByte();
        r.G2 = AdvSimd.Arm64.ZipLow(abHi, xyHi).AsSByte();
        r.G3 = AdvSimd.Arm64.ZipHigh(abHi, xyHi).AsSByte();
        return r;
    }

    /// <summary>16 channels as 4 SDOT operands of 4 channels each.</summary>
    private struct Cols4
    {
        public Vector128<sbyte> G0, G1, G2, G3;
    }

    /// <summary>a + the 4-byte groups of c times the weights at w (4 vectors) over 16 channels: 4 SDOT.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Acc16 Dot4(Acc16 a, Cols4 c, sbyte* w)
    {
        a.A0 = Dp.DotProduct(a.A0, c.G0, Vector128.Load(w));
        a.A1 = Dp.DotProduct(a.A1, c.G1, Vector128.Load(w + Lanes));
        a.A2 = Dp.DotProduct(a.A2, c.G2, Vector128.Load(w + 2 * Lanes));
        a.A3 = Dp.DotProduct(a.A3, c.G3, Vector128.Load(w + 3 * Lanes));
        return a;
    }

    /// <summary>The three columns (dx apart) of one kernel row for window u and for window v, pixStep further on.</summary>
    private struct Cols6
    {
        public Vector128<sbyte> U0, U1, U2, V0, V1, V2;
    }

    /// <summary>Lower halves (channels 0-7) of <see cref="Cols6"/>.</summary>
    private struct Cols6L
    {
        public Vector64<sbyte> U0, U1, U2, V0, V1, V2;
    }

    /// <summary>Byte offsets from a kernel row's first column: window u's columns 1 and 2 (Dx, Dx2), and window v's columns that
    /// it does not share with u (V0-V2, per <see cref="IColumnShare"/>), computed once per row so that every load is [base, offset].</summary>
    private readonly struct Offsets(long dx, long v0, long v1, long v2)
    {
        public readonly long Dx = dx, Dx2 = 2 * dx, V0 = v0, V1 = v1, V2 = v2;
    }

    /// <summary>Loads one kernel row's columns for two windows: 4 loads when they share two (stride 1), 5 when one (stride 2), else 6.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Cols6 LoadCols<TShare>(sbyte* p, in Offsets o) where TShare : struct, IColumnShare
    {
        Cols6 r;
        r.U0 = Vector128.Load(p); r.U1 = Vector128.Load(p + o.Dx); r.U2 = Vector128.Load(p + o.Dx2);
        if (TShare.Shared == 2) { r.V0 = r.U1; r.V1 = r.U2; r.V2 = Vector128.Load(p + o.V0); }
        else if (TShare.Shared == 1) { r.V0 = r.U2; r.V1 = Vector128.Load(p + o.V0); r.V2 = Vector128.Load(p + o.V1); }
        else { r.V0 = Vector128.Load(p + o.V0); r.V1 = Vector128.Load(p + o.V1); r.V2 = Vector128.Load(p + o.V2); }
        return r;
    }

    /// <summary>Lower halves, one GetLower per distinct register (its last use).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Cols6L Lower<TShare>(Cols6 c) where TShare : struct, IColumnShare
    {
        Cols6L r;
        r.U0 = c.U0.GetLower(); r.U1 = c.U1.GetLower(); r.U2 = c.U2.GetLower();
        if (TShare.Shared == 2) { r.V0 = r.U1; r.V1 = r.U2; r.V2 = c.V2.GetLower(); }
        else if (TShare.Shared == 1) { r.V0 = r.U2; r.V1 = c.V1.GetLower(); r.V2 = c.V2.GetLower(); }
        else { r.V0 = c.V0.GetLower(); r.V1 = c.V1.GetLower(); r.V2 = c.V2.GetLower(); }
        return r;
    }

    /// <summary>Channels 8-15 of a + x0·w0 + x1·w1: the two products summed in int16 (|sum| ≤ 2·128·127 = 32512: no weight is -128), then widened.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Acc16 PairHi(Acc16 a, Vector128<sbyte> x0, Vector128<sbyte> w0, Vector128<sbyte> x1, Vector128<sbyte> w1)
        => WidenHi(a, AdvSimd.MultiplyWideningUpperAndAdd(AdvSimd.MultiplyWideningUpper(x0, w0), x1, w1));

    /// <summary>Channels 0-7 of a + x0·w0 + x1·w1 (see <see cref="PairHi"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Acc16 PairLo(Acc16 a, Vector64<sbyte> x0, Vector64<sbyte> w0, Vector64<sbyte> x1, Vector64<sbyte> w1)
        => WidenLo(a, AdvSimd.MultiplyWideningLowerAndAdd(AdvSimd.MultiplyWideningLower(x0, w0), x1, w1));

    /// <summary>Channels 8-15 of a + x·w.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Acc16 OneHi(Acc16 a, Vector128<sbyte> x, Vector128<sbyte> w) => WidenHi(a, AdvSimd.MultiplyWideningUpper(x, w));

    /// <summary>Channels 0-7 of a + x·w.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Acc16 OneLo(Acc16 a, Vector64<sbyte> x, Vector64<sbyte> w) => WidenLo(a, AdvSimd.MultiplyWideningLower(x, w));

    /// <summary>Int16 sums of channels 8-15 added into A2, A3 (SADDW, SADDW2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Acc16 WidenHi(Acc16 a, Vector128<short> p)
    {
        a.A3 = AdvSimd.AddWideningUpper(a.A3, p);
        a.A2 = AdvSimd.AddWideningLower(a.A2, p.GetLower());
        return a;
    }

    /// <summary>Int16 sums of channels 0-7 added into A0, A1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Acc16 WidenLo(Acc16 a, Vector128<short> p)
    {
        a.A1 = AdvSimd.AddWideningUpper(a.A1, p);
        a.A0 = AdvSimd.AddWideningLower(a.A0, p.GetLower());
        return a;
    }

    /// <summary>Requantization parameters of 16 channels: multipliers, left shifts (only for requantizations that read them) and negated right shifts.</summary>
    private struct Requant16
    {
        public Vector128<int> M0, M1, M2, M3, L0, L1, L2, L3, N0, N1, N2, N3;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Requant16 LoadRequant16<TReq>(int* mult, int* left, int* rneg) where TReq : struct, IRequant4
    {
        Requant16 q;
        q.M0 = Vector128.Load(mult); q.M1 = Vector128.Load(mult + 4); q.M2 = Vector128.Load(mult + 8); q.M3 = Vector128.Load(mult + 12);
        q.N0 = Vector128.Load(rneg); q.N1 = Vector128.Load(rneg + 4); q.N2 = Vector128.Load(rneg + 8); q.N3 = Vector128.Load(rneg + 12);
        if (TReq.ReadsLeftAndRightPos) { q.L0 = Vector128.Load(left); q.L1 = Vector128.Load(left + 4); q.L2 = Vector128.Load(left + 8); q.L3 = Vector128.Load(left + 12); }
        else { q.L0 = default; q.L1 = default; q.L2 = default; q.L3 = default; }
        return q;
    }

    /// <summary>One 3x3 window of 16 channels, kernel rows at a, b, e (columns dx apart), weights [tap][16] at w, through to the output.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WindowArm<TReq>(sbyte* a, sbyte* b, sbyte* e, long dx, sbyte* w, int* bias, int* mult, int* left, int* rneg, sbyte* dst,
        Vector128<int> zp, Vector128<short> zp16, Vector128<sbyte> lo8, Vector128<sbyte> hi8) where TReq : struct, IRequant4
    {
        long dx2 = 2 * dx;
        Acc16 u = Taps9Arm(LoadBias(bias, true), Vector128.Load(a), Vector128.Load(a + dx), Vector128.Load(a + dx2),
            Vector128.Load(b), Vector128.Load(b + dx), Vector128.Load(b + dx2), Vector128.Load(e), Vector128.Load(e + dx), Vector128.Load(e + dx2), w);
        FinishArm<TReq>(u, dst, LoadRequant16<TReq>(mult, left, rneg), zp, zp16, lo8, hi8);
    }

    /// <summary>Two windows of the same 16 channels (dstStep apart) through to the output, their requantization parameters loaded once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FinishTwoArm<TReq>(Acc16 u, Acc16 v, sbyte* dst, long dstStep, int* mult, int* left, int* rneg,
        Vector128<int> zp, Vector128<short> zp16, Vector128<sbyte> lo8, Vector128<sbyte> hi8) where TReq : struct, IRequant4
    {
        Requant16 q = LoadRequant16<TReq>(mult, left, rneg);
        FinishArm<TReq>(u, dst, q, zp, zp16, lo8, hi8);
        FinishArm<TReq>(v, dst + dstStep, q, zp, zp16, lo8, hi8);
    }

    /// <summary>Requantize 16 channels, add the zero point, narrow with saturation, clamp, store.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FinishArm<TReq>(Acc16 a, sbyte* dst, in Requant16 q, Vector128<int> zp, Vector128<short> zp16, Vector128<sbyte> lo8, Vector128<sbyte> hi8) where TReq : struct, IRequant4
    {
        Vector128<int> r0 = TReq.Apply(a.A0, q.M0, q.L0, default, q.N0);
        Vector128<int> r1 = TReq.Apply(a.A1, q.M1, q.L1, default, q.N1);
        Vector128<int> r2 = TReq.Apply(a.A2, q.M2, q.L2, default, q.N2);
        Vector128<int> r3 = TReq.Apply(a.A3, q.M3, q.L3, default, q.N3);
        if (typeof(TReq) == typeof(AdvSimdRequantRight))
        {
            // Every shift is right by ≥ 1, so |r| ≤ 2^30 and r + zp cannot wrap in int32: adding zp after the saturating narrow to
            // int16 (SQADD; |zp| ≤ 128) gives the same clamped byte, with 2 additions instead of 4.
            Vector128<short> s01 = AdvSimd.AddSaturate(AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(r0), r1), zp16);
            Vector128<short> s23 = AdvSimd.AddSaturate(AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(r2), r3), zp16);
            Vector128<sbyte> b = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(s01), s23);
            AdvSimd.Min(AdvSimd.Max(b, lo8), hi8).Store(dst);
            return;
        }
        AdvSimdDepthwiseArith.Pack(r0 + zp, r1 + zp, r2 + zp, r3 + zp, lo8, hi8, default, default).Store(dst);
    }

    /// <summary>One window through its tap pointers (padding, or not 3x3); returns the first channel left to the scalar tail.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int Indirect<TA, TReq, TPair>(Ctx* ctx, sbyte** ptr, sbyte* dst, bool k3, int armFull)
        where TA : struct, IDepthwiseArith where TReq : struct, IRequant4 where TPair : struct, IFlag
    {
        int c = ctx->C;
        if (typeof(TReq) == typeof(X86Requant512))
        {
            if (k3) Indirect9Avx512(ctx, ptr, dst);
            else IndirectKAvx512(ctx, ptr, dst);
            return c;
        }
        sbyte* w = ctx->W;
        int* bias = ctx->Bias, mult = ctx->Mult, left = ctx->Left, rpos = ctx->RPos, rneg = ctx->RNeg;
        Vector128<int> zp = ctx->Zp, lo = ctx->Lo, hi = ctx->Hi;
        Vector128<sbyte> lo8 = ctx->Lo8, hi8 = ctx->Hi8;
        if (typeof(TA) == typeof(AdvSimdDepthwiseArith) && TPair.Value && k3 && c >= Lanes)
        {
            int full = c / Lanes * Lanes;
            if (armFull == 0) Window9Arm<TReq>(ptr, dst, full, w, bias, mult, left, rneg, zp, lo8, hi8); // else done by Edges9Arm
            if (full == c) return c;
            // The 8-channel tail (if any), from channel `full` on (padding taps at zpRow + full: still inside the zero-point row).
            return full + Pixel9<TA, TReq, TPair>(ptr[0] + full, ptr[1] + full, ptr[2] + full, ptr[3] + full, ptr[4] + full, ptr[5] + full, ptr[6] + full,
                ptr[7] + full, ptr[8] + full, dst + full, c - full, w + (long)full * 9, bias + full, mult + full, left + full, rpos + full, rneg + full, zp, lo8, hi8, lo, hi);
        }
        return k3
            ? Pixel9<TA, TReq, TPair>(ptr[0], ptr[1], ptr[2], ptr[3], ptr[4], ptr[5], ptr[6], ptr[7], ptr[8], dst, c, w, bias, mult, left, rpos, rneg, zp, lo8, hi8, lo, hi)
            : PixelK<TA, TReq, TPair>(ptr, dst, c, ctx->Taps, w, bias, mult, left, rpos, rneg, zp, lo8, hi8, lo, hi);
    }

    /// <summary>The 9 taps of a 3x3 window unrolled (pointers in registers); returns the first channel left to the scalar tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Pixel9<TA, TReq, TPair>(sbyte* i0, sbyte* i1, sbyte* i2, sbyte* i3, sbyte* i4, sbyte* i5, sbyte* i6, sbyte* i7, sbyte* i8, sbyte* dst, int c, sbyte* w, int* bias, int* mult, int* left, int* rpos, int* rneg, Vector128<int> zp, Vector128<sbyte> lo8, Vector128<sbyte> hi8, Vector128<int> lo, Vector128<int> hi)
        where TA : struct, IDepthwiseArith where TReq : struct, IRequant4 where TPair : struct, IFlag
    {
        int c0 = 0;
        sbyte* wb = w;
        if (typeof(TReq) == typeof(X86RequantNoLeft))
        {
            Vector256<int> zpW = Vector256.Create(zp, zp);
            Vector256<sbyte> lo8W = Vector256.Create(lo8, lo8), hi8W = Vector256.Create(hi8, hi8);
            for (; c0 + WideLanes <= c; c0 += WideLanes, wb += 9 * 2 * WideLanes)
            {
                short* ws = (short*)wb;
                AccWide a = LoadBiasWide(bias + c0);
                a = Taps2Wide(a, i0 + c0, i1 + c0, ws);
                a = Taps2Wide(a, i2 + c0, i3 + c0, ws + 2 * WideLanes);
                a = Taps2Wide(a, i4 + c0, i5 + c0, ws + 4 * WideLanes);
                a = Taps2Wide(a, i6 + c0, i7 + c0, ws + 6 * WideLanes);
                a = Tap1Wide(a, i8 + c0, ws + 8 * WideLanes);
                FinishWide(a, dst + c0, mult + c0, rpos + c0, zpW, lo8W, hi8W);
            }
        }
        for (; c0 + Lanes <= c; c0 += Lanes, wb += 9 * TapBytes<TA>())
            Block9<TA, TReq, TPair>(i0 + c0, i1 + c0, i2 + c0, i3 + c0, i4 + c0, i5 + c0, i6 + c0, i7 + c0, i8 + c0, wb, bias + c0, dst + c0, true, c0, mult, left, rpos, rneg, zp, lo8, hi8, lo, hi);
        if (c0 + Lanes / 2 <= c)
        {
            Block9<TA, TReq, TPair>(i0 + c0, i1 + c0, i2 + c0, i3 + c0, i4 + c0, i5 + c0, i6 + c0, i7 + c0, i8 + c0, wb, bias + c0, dst + c0, false, c0, mult, left, rpos, rneg, zp, lo8, hi8, lo, hi);
            c0 += Lanes / 2;
        }
        return c0;
    }

    /// <summary>16 (or, not full, 8) channels of one 3x3 window: four pairs of taps and the last one, then the epilogue.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block9<TA, TReq, TPair>(sbyte* i0, sbyte* i1, sbyte* i2, sbyte* i3, sbyte* i4, sbyte* i5, sbyte* i6, sbyte* i7, sbyte* i8, sbyte* wb, int* bias, sbyte* dst,
        bool full, int c0, int* mult, int* left, int* rpos, int* rneg, Vector128<int> zp, Vector128<sbyte> lo8, Vector128<sbyte> hi8, Vector128<int> lo, Vector128<int> hi)
        where TA : struct, IDepthwiseArith where TReq : struct, IRequant4 where TPair : struct, IFlag
    {
        Acc16 a = LoadBias(bias, full);
        a = Taps2<TA, TPair>(a, i0, i1, wb, full);
        a = Taps2<TA, TPair>(a, i2, i3, wb + 2 * TapBytes<TA>(), full);
        a = Taps2<TA, TPair>(a, i4, i5, wb + 4 * TapBytes<TA>(), full);
        a = Taps2<TA, TPair>(a, i6, i7, wb + 6 * TapBytes<TA>(), full);
        a = Tap1<TA>(a, i8, wb + 8 * TapBytes<TA>(), full);
        Finish<TA, TReq>(a, c0, dst, full, mult, left, rpos, rneg, zp, lo8, hi8, lo, hi);
    }

    /// <summary>Any number of taps, in pairs; returns the first channel left to the scalar tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int PixelK<TA, TReq, TPair>(sbyte** ptr, sbyte* dst, int c, int taps, sbyte* w, int* bias, int* mult, int* left, int* rpos, int* rneg, Vector128<int> zp, Vector128<sbyte> lo8, Vector128<sbyte> hi8, Vector128<int> lo, Vector128<int> hi)
        where TA : struct, IDepthwiseArith where TReq : struct, IRequant4 where TPair : struct, IFlag
    {
        int c0 = 0;
        if (typeof(TReq) == typeof(X86RequantNoLeft))
        {
            Vector256<int> zpW = Vector256.Create(zp, zp);
            Vector256<sbyte> lo8W = Vector256.Create(lo8, lo8), hi8W = Vector256.Create(hi8, hi8);
            for (; c0 + WideLanes <= c; c0 += WideLanes)
            {
                short* ws = (short*)w + (long)(c0 / WideLanes) * taps * WideLanes;
                AccWide a = LoadBiasWide(bias + c0);
                int t = 0;
                for (; t + 1 < taps; t += 2) a = Taps2Wide(a, ptr[t] + c0, ptr[t + 1] + c0, ws + t * WideLanes);
                if (t < taps) a = Tap1Wide(a, ptr[t] + c0, ws + t * WideLanes);
                FinishWide(a, dst + c0, mult + c0, rpos + c0, zpW, lo8W, hi8W);
            }
        }
        for (; c0 + Lanes / 2 <= c; c0 += Lanes)
        {
            bool full = c0 + Lanes <= c;
            sbyte* wb = w + (long)(c0 / Lanes) * taps * TapBytes<TA>();
            Acc16 a = LoadBias(bias + c0, full);
            int t = 0;
            for (; t + 1 < taps; t += 2) a = Taps2<TA, TPair>(a, ptr[t] + c0, ptr[t + 1] + c0, wb + t * TapBytes<TA>(), full);
            if (t < taps) a = Tap1<TA>(a, ptr[t] + c0, wb + t * TapBytes<TA>(), full);
            Finish<TA, TReq>(a, c0, dst + c0, full, mult, left, rpos, rneg, zp, lo8, hi8, lo, hi);
            if (!full) return c0 + Lanes / 2;
        }
        return c0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Acc16 LoadBias(int* b, bool full)
    {
        Acc16 a;
        a.A0 = Vector128.Load(b);
        a.A1 = Vector128.Load(b + 4);
        if (full) { a.A2 = Vector128.Load(b + 8); a.A3 = Vector128.Load(b + 12); }
        else { a.A2 = default; a.A3 = default; }
        return a;
    }

    /// <summary>16 (or, not full, 8) channels: 16 bytes, or 8 bytes zero extended (no read past a tail of 8).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> Load(sbyte* p, bool full)
        => full ? Vector128.Load(p) : Vector128.CreateScalar(Unsafe.ReadUnaligned<long>(p)).AsSByte();

    /// <summary>Two taps: their int16 products summed (TPair) before one widening add, or each added alone.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Acc16 Taps2<TA, TPair>(Acc16 a, sbyte* xa, sbyte* xb, sbyte* w, bool full)
        where TA : struct, IDepthwiseArith where TPair : struct, IFlag
    {
        if (typeof(TA) == typeof(X86DepthwiseArith)) return Taps2X86(a, xa, xb, (short*)w, full);
        if (!TPair.Value) return Tap1<TA>(Tap1<TA>(a, xa, w, full), xb, w + Lanes, full);
        Vector128<sbyte> x0 = Load(xa, full), x1 = Load(xb, full);
        Vector128<sbyte> w0 = Vector128.Load(w), w1 = Vector128.Load(w + Lanes);
        // Upper halves first: the lower halves' GetLower is then each register's last use, and the JIT reads it in place instead of copying it.
        if (full)
        {
            Vector128<short> hi = TA.MulAddHi(TA.MulHi(x0, w0), x1, w1);
            a.A3 = TA.AddWideHi(a.A3, hi);
            a.A2 = TA.AddWideLo(a.A2, hi);
        }
        Vector128<short> lo = TA.MulAddLo(TA.MulLo(x0, w0), x1, w1);
        a.A1 = TA.AddWideHi(a.A1, lo);
        a.A0 = TA.AddWideLo(a.A0, lo);
        return a;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Acc16 Tap1<TA>(Acc16 a, sbyte* xa, sbyte* w, bool full) where TA : struct, IDepthwiseArith
    {
        if (typeof(TA) == typeof(X86DepthwiseArith)) return Tap1X86(a, xa, (short*)w, full);
        Vector128<sbyte> x0 = Load(xa, full), w0 = Vector128.Load(w);
        if (full)
        {
            Vector128<short> hi = TA.MulHi(x0, w0);
            a.A3 = TA.AddWideHi(a.A3, hi);
            a.A2 = TA.AddWideLo(a.A2, hi);
        }
        Vector128<short> lo = TA.MulLo(x0, w0);
        a.A1 = TA.AddWideHi(a.A1, lo);
        a.A0 = TA.AddWideLo(a.A0, lo);
        return a;
    }

    /// <summary>Bytes of one tap of 16 channels in the weight layout: int8, or int16 on x86 (<see cref="_wX86"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int TapBytes<TA>() where TA : struct, IDepthwiseArith => typeof(TA) == typeof(X86DepthwiseArith) ? 2 * Lanes : Lanes;

    /// <summary>x86, two taps: PUNPCKLBW/PUNPCKHBW interleave the inputs into (x[t], x[t + 1]) byte pairs, sign-extended to int16
    /// pairs, and PMADDWD adds both products into int32 at once (exact for any int8 weights).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Acc16 Taps2X86(Acc16 a, sbyte* xa, sbyte* xb, short* w, bool full)
    {
        Vector128<sbyte> x0 = Load(xa, full), x1 = Load(xb, full);
        if (full)
        {
            Vector128<sbyte> hi = Sse2.UnpackHigh(x0, x1);
            a.A2 = Sse2.Add(a.A2, Sse2.MultiplyAddAdjacent(Sse41.ConvertToVector128Int16(hi), Vector128.Load(w + 16)));
            a.A3 = Sse2.Add(a.A3, Sse2.MultiplyAddAdjacent(X86DepthwiseArith.WidenHi(hi), Vector128.Load(w + 24)));
        }
        Vector128<sbyte> lo = Sse2.UnpackLow(x0, x1);
        a.A0 = Sse2.Add(a.A0, Sse2.MultiplyAddAdjacent(Sse41.ConvertToVector128Int16(lo), Vector128.Load(w)));
        a.A1 = Sse2.Add(a.A1, Sse2.MultiplyAddAdjacent(X86DepthwiseArith.WidenHi(lo), Vector128.Load(w + 8)));
        return a;
    }

    /// <summary>x86, one tap with int16 weights: PMULLW (|x w| ≤ 16384), then widening adds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Acc16 Tap1X86(Acc16 a, sbyte* xa, short* w, bool full)
    {
        Vector128<sbyte> x0 = Load(xa, full);
        if (full)
        {
            Vector128<short> hi = Sse2.MultiplyLow(X86DepthwiseArith.WidenHi(x0), Vector128.Load(w + 8));
            a.A3 = X86DepthwiseArith.AddWideHi(a.A3, hi);
            a.A2 = X86DepthwiseArith.AddWideLo(a.A2, hi);
        }
        Vector128<short> lo = Sse2.MultiplyLow(Sse41.ConvertToVector128Int16(x0), Vector128.Load(w));
        a.A1 = X86DepthwiseArith.AddWideHi(a.A1, lo);
        a.A0 = X86DepthwiseArith.AddWideLo(a.A0, lo);
        return a;
    }

    /// <summary>Four int32 accumulators of 32 channels: A[g] lane h holds channels 16 h + 4 g .. + 3 (<see cref="WidePosition"/>).</summary>
    private struct AccWide
    {
        public Vector256<int> A0, A1, A2, A3;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static AccWide LoadBiasWide(int* b)
    {
        AccWide a;
        a.A0 = Vector256.Load(b); a.A1 = Vector256.Load(b + 8); a.A2 = Vector256.Load(b + 16); a.A3 = Vector256.Load(b + 24);
        return a;
    }

    /// <summary>Bytes 0-7 (<paramref name="high"/> false) or 8-15 of each 128-bit lane of v sign-extended to int16 (VPUNPCKxBW v, v; VPSRAW 8).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> WidenInLane(Vector256<sbyte> v, bool high)
        => Avx2.ShiftRightArithmetic((high ? Avx2.UnpackHigh(v, v) : Avx2.UnpackLow(v, v)).AsInt16(), 8);

    /// <summary>32 channels, two taps: the 256-bit <see cref="Taps2X86"/> (in-lane interleaves, so accumulators in <see cref="WidePosition"/> order).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static AccWide Taps2Wide(AccWide a, sbyte* xa, sbyte* xb, short* w)
    {
        Vector256<sbyte> x0 = Vector256.Load(xa), x1 = Vector256.Load(xb);
        Vector256<sbyte> lo = Avx2.UnpackLow(x0, x1), hi = Avx2.UnpackHigh(x0, x1);
        a.A0 = Avx2.Add(a.A0, Avx2.MultiplyAddAdjacent(WidenInLane(lo, false), Vector256.Load(w)));
        a.A1 = Avx2.Add(a.A1, Avx2.MultiplyAddAdjacent(WidenInLane(lo, true), Vector256.Load(w + 16)));
        a.A2 = Avx2.Add(a.A2, Avx2.MultiplyAddAdjacent(WidenInLane(hi, false), Vector256.Load(w + 32)));
        a.A3 = Avx2.Add(a.A3, Avx2.MultiplyAddAdjacent(WidenInLane(hi, true), Vector256.Load(w + 48)));
        return a;
    }

    /// <summary>32 channels, one tap: VPMULLW (|x w| ≤ 16384), then in-lane widening adds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static AccWide Tap1Wide(AccWide a, sbyte* xa, short* w)
    {
        Vector256<sbyte> x0 = Vector256.Load(xa);
        Vector256<short> lo = Avx2.MultiplyLow(WidenInLane(x0, false), Vector256.Load(w));
        Vector256<short> hi = Avx2.MultiplyLow(WidenInLane(x0, true), Vector256.Load(w + 16));
        a.A0 = Avx2.Add(a.A0, Avx2.ShiftRightArithmetic(Avx2.UnpackLow(lo, lo).AsInt32(), 16));
        a.A1 = Avx2.Add(a.A1, Avx2.ShiftRightArithmetic(Avx2.UnpackHigh(lo, lo).AsInt32(), 16));
        a.A2 = Avx2.Add(a.A2, Avx2.ShiftRightArithmetic(Avx2.UnpackLow(hi, hi).AsInt32(), 16));
        a.A3 = Avx2.Add(a.A3, Avx2.ShiftRightArithmetic(Avx2.UnpackHigh(hi, hi).AsInt32(), 16));
        return a;
    }

    /// <summary>32 channels: requantize (<see cref="X86RequantNoLeft"/>), add the zero point, then VPACKSSDW/VPACKSSWB, whose
    /// in-lane order undoes <see cref="WidePosition"/>, and the int8 clamp; one 32-byte store.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FinishWide(AccWide a, sbyte* dst, int* mult, int* rpos, Vector256<int> zp, Vector256<sbyte> lo8, Vector256<sbyte> hi8)
    {
        Vector256<int> r0 = Avx2.Add(X86RequantNoLeft.Apply(a.A0, Vector256.Load(mult), Vector256.Load(rpos)), zp);
        Vector256<int> r1 = Avx2.Add(X86RequantNoLeft.Apply(a.A1, Vector256.Load(mult + 8), Vector256.Load(rpos + 8)), zp);
        Vector256<int> r2 = Avx2.Add(X86RequantNoLeft.Apply(a.A2, Vector256.Load(mult + 16), Vector256.Load(rpos + 16)), zp);
        Vector256<int> r3 = Avx2.Add(X86RequantNoLeft.Apply(a.A3, Vector256.Load(mult + 24), Vector256.Load(rpos + 24)), zp);
        Vector256<sbyte> b = Avx2.PackSignedSaturate(Avx2.PackSignedSaturate(r0, r1), Avx2.PackSignedSaturate(r2, r3));
        Avx2.Min(Avx2.Max(b, lo8), hi8).Store(dst);
    }

    /// <summary>Requantize, add the output zero point (wrapping, as the scalar rule), clamp, store 16 (or 8) bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish<TA, TReq>(Acc16 a, int c0, sbyte* dst, bool full, int* mult, int* left, int* rpos, int* rneg, Vector128<int> zp, Vector128<sbyte> lo8, Vector128<sbyte> hi8, Vector128<int> lo, Vector128<int> hi)
        where TA : struct, IDepthwiseArith where TReq : struct, IRequant4
    {
        Vector128<int> r0 = Requant<TReq>(a.A0, mult, left, rpos, rneg, c0) + zp;
        Vector128<int> r1 = Requant<TReq>(a.A1, mult, left, rpos, rneg, c0 + 4) + zp;
        Vector128<int> r2 = full ? Requant<TReq>(a.A2, mult, left, rpos, rneg, c0 + 8) + zp : default;
        Vector128<int> r3 = full ? Requant<TReq>(a.A3, mult, left, rpos, rneg, c0 + 12) + zp : default;
        Vector128<sbyte> packed = TA.Pack(r0, r1, r2, r3, lo8, hi8, lo, hi);
        if (full) packed.Store(dst);
        else Unsafe.WriteUnaligned(dst, packed.AsInt64().ToScalar());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Requant<TReq>(Vector128<int> acc, int* mult, int* left, int* rpos, int* rneg, int c) where TReq : struct, IRequant4
        => TReq.Apply(acc, Vector128.Load(mult + c),
            TReq.ReadsLeftAndRightPos ? Vector128.Load(left + c) : default,
            TReq.ReadsLeftAndRightPos ? Vector128.Load(rpos + c) : default,
            Vector128.Load(rneg + c));

    /// <summary>The reference formula for channel ch0 + ch (the tap pointers start at channel ch0; padding taps skipped), for channel tails of fewer than 8.</summary>
    private sbyte ScalarChannel(sbyte** ptr, sbyte* zpRow, int ch, int ch0)
    {
        int k = ch0 + ch, acc = _rawBias[k];
        for (int t = 0; t < _taps; t++)
            if (ptr[t] != zpRow) acc += (ptr[t][ch] - _inZp) * _wRaw[k * _taps + t];
        return Requantize.ToInt8(acc, _mult[k], _shift[k], _outZp, _actMin, _actMax);
    }
}
