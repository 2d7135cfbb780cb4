using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Cnn.Edge.Kernels;

/// <summary>
/// Int8 Add vectorized over 16 elements, bit-identical to <see cref="AddReference.Run"/>: the same three
/// requantizations (each input rescaled with 20 fraction bits, then the sum to the output), four lanes at a time.
/// Bounds as in the reference: |q - zp| ≤ 255, so (q - zp) &lt;&lt; 20 &lt; 2^28 and no lane overflows.
/// </summary>
public static unsafe class AddOptimized
{
    /// <summary>The x86 Add paths, fastest first: input lookups with AVX-512 VBMI, AVX-512BW arithmetic, AVX2.</summary>
    internal enum X86AddPath { Vbmi, Avx512, Avx2 }

    /// <param name="isa">A resolved ISA; Scalar runs the reference.</param>
    public static void Run(KernelIsa isa, in AddParams p, ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, Span<sbyte> output)
        => Run(isa, p, a, b, output, X86AddPath.Vbmi, null);

    /// <summary>The x86 path these parameters take on this CPU, at most <paramref name="allowed"/>: the AVX-512 paths need the three
    /// requantizations in <see cref="FoldedRequant"/>'s form (no left shift).</summary>
    internal static X86AddPath PathFor(in AddParams p, X86AddPath allowed)
    {
        if (allowed == X86AddPath.Avx2 || !Avx512BW.IsSupported || !Side16.Allows(p))
            return X86AddPath.Avx2;
        return allowed == X86AddPath.Vbmi && Avx512Vbmi.IsSupported ? X86AddPath.Vbmi : X86AddPath.Avx512;
    }

    /// <summary>The input tables of <see cref="RunVbmi"/> for an x86 ISA that takes it, else null (built at load: 2 KB).</summary>
    internal static byte[]? PrepareTables(KernelIsa isa, in AddParams p)
        => isa is KernelIsa.Avx2 or KernelIsa.AvxVnni && PathFor(p, X86AddPath.Vbmi) == X86AddPath.Vbmi ? Tables(p) : null;

    /// <param name="allowed">The fastest x86 path allowed (tests force the slower ones).</param>
    /// <param name="tables">From <see cref="PrepareTables"/>, or null to build them here.</param>
    internal static void Run(KernelIsa isa, in AddParams p, ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, Span<sbyte> output, X86AddPath allowed, byte[]? tables)
    {
        switch (isa)
        {
            case KernelIsa.AdvSimd or KernelIsa.AdvSimdDp: RunNeon(p, a, b, output); break;
            case KernelIsa.Avx2 or KernelIsa.AvxVnni:
                switch (PathFor(p, allowed))
                {
                    case X86AddPath.Vbmi: RunVbmi(p, tables ?? Tables(p), a, b, output); break;
                    case X86AddPath.Avx512: RunAvx512(p, a, b, output); break;
                    default: RunAvx2(p, a, b, output); break;
                }
                break;
            case KernelIsa.Vector128: Run<ScalarLaneRequant>(p, a, b, output); break;
            default: AddReference.Run(p, a, b, output); break;
        }
    }

    private readonly struct Side<TReq>(int zp, int multiplier, int shift) where TReq : struct, IRequant4
    {
        private readonly Vector128<int> _zp = Vector128.Create(zp), _m = Vector128.Create(multiplier),
            _l = Vector128.Create(Math.Max(shift, 0)), _rp = Vector128.Create(Math.Max(-shift, 0)), _rn = Vector128.Create(-Math.Max(-shift, 0));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<int> Apply(Vector128<int> x) => TReq.Apply(x, _m, _l, _rp, _rn);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<int> Input(Vector128<int> q) => Apply(Vector128.ShiftLeft(q - _zp, AddReference.LeftShift));
    }

    /// <summary>AVX2: 16 elements per step as two 8-lane halves, the requantizations on 256-bit vectors (<see cref="Avx2Gemm.Requant8"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunAvx2(in AddParams p, ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, Span<sbyte> output)
    {
        var sa = new Side8(p.AZeroPoint, p.AMultiplier, p.AShift);
        var sb = new Side8(p.BZeroPoint, p.BMultiplier, p.BShift);
        var so = new Side8(0, p.OutputMultiplier, p.OutputShift);
        Vector256<int> zo = Vector256.Create(p.OutputZeroPoint), lo = Vector256.Create(p.ActMin), hi = Vector256.Create(p.ActMax);
        int n = output.Length, i = 0;
        fixed (sbyte* pa = a, pb = b, py = output)
        {
            for (; i + 16 <= n; i += 16)
            {
                Vector256<short> a16 = Avx2.ConvertToVector256Int16(pa + i), b16 = Avx2.ConvertToVector256Int16(pb + i);
                Vector256<int> r0 = Sum(Avx2.ConvertToVector256Int32(a16.GetLower()), Avx2.ConvertToVector256Int32(b16.GetLower()));
                Vector256<int> r1 = Sum(Avx2.ConvertToVector256Int32(a16.GetUpper()), Avx2.ConvertToVector256Int32(b16.GetUpper()));
                Avx2Gemm.Narrow16(r0, r1).Store(py + i);
            }
        }
        if (i < n) AddReference.Run(p, a[i..], b[i..], output[i..]);

        Vector256<int> Sum(Vector256<int> x, Vector256<int> y)
            => Vector256.Min(Vector256.Max(so.Apply(sa.Input(x) + sb.Input(y)) + zo, lo), hi);
    }

    /// <summary>
    /// AVX-512: 64 elements per step, 16 lanes per requantization (<see cref="X86RequantNoLeft"/>'s Vector512 overload, its
    /// constants built once per call). VPMOVSXBD widens 16 bytes straight from memory; VPACKSSDW + VPACKSSWB leave lane L
    /// holding elements 4L .. 4L + 3 of each of the four vectors, which one VPERMD puts back in order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunAvx512(in AddParams p, ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, Span<sbyte> output)
    {
        var sa = Side16.InputA(p);
        var sb = Side16.InputB(p);
        var so = Side16.Output(p);
        Vector512<sbyte> lo = Vector512.Create((sbyte)p.ActMin), hi = Vector512.Create((sbyte)p.ActMax);
        Vector512<int> order = Vector512.Create(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
        int n = output.Length, i = 0;
        fixed (sbyte* pa = a, pb = b, py = output)
        {
            for (; i + 64 <= n; i += 64)
            {
                Vector512<short> s01 = Avx512BW.PackSignedSaturate(Sum(pa + i, pb + i), Sum(pa + i + 16, pb + i + 16));
                Vector512<short> s23 = Avx512BW.PackSignedSaturate(Sum(pa + i + 32, pb + i + 32), Sum(pa + i + 48, pb + i + 48));
                Vector512<sbyte> bytes = Avx512F.PermuteVar16x32(Avx512BW.PackSignedSaturate(s01, s23).AsInt32(), order).AsSByte();
                // Saturating narrows commute with a clamp inside [-128, 127].
                Avx512BW.Min(Avx512BW.Max(bytes, lo), hi).Store(py + i);
            }
        }
        if (i < n) RunAvx2(p, a[i..], b[i..], output[i..]);

        // 16 elements, requantized, plus the output zero point (in the output side's K).
        Vector512<int> Sum(sbyte* x, sbyte* y)
            => so.Apply(sa.Input(Avx512F.ConvertToVector512Int32(Vector128.Load(x))) + sb.Input(Avx512F.ConvertToVector512Int32(Vector128.Load(y))));
    }

    /// <summary>
    /// Each input's rescaled value Requantize.Apply((q - zp) &lt;&lt; 20, m, shift) for every q, as int32 entries indexed by the byte
    /// (byte)q: [input a, b][byte 0-3 of the entry][256].
    /// </summary>
    private static byte[] Tables(in AddParams p)
    {
        var t = new byte[2 * 4 * 256];
        for (int u = 0; u < 256; u++)
        {
            int q = (sbyte)u;
            int va = Requantize.Apply((q - p.AZeroPoint) << AddReference.LeftShift, p.AMultiplier, p.AShift);
            int vb = Requantize.Apply((q - p.BZeroPoint) << AddReference.LeftShift, p.BMultiplier, p.BShift);
            for (int k = 0; k < 4; k++)
            {
                t[k * 256 + u] = (byte)(va >> (8 * k));
                t[1024 + k * 256 + u] = (byte)(vb >> (8 * k));
            }
        }
        return t;
    }

    /// <summary>
    /// AVX-512 VBMI: the two input rescalings are table lookups (<see cref="Tables"/>: a byte of the 256 int32 entries per
    /// VPERMI2B pair, 128 entries each, the input's sign bit choosing the pair), only the output requantization is computed;
    /// 64 elements per step. The byte planes interleave (VPUNPCK*BW, VPUNPCK*WD) into int32 vectors holding elements 16L + 4k ..
    /// + 3 in lane L of vector k, which VPACKSSDW + VPACKSSWB put back in order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunVbmi(in AddParams p, byte[] tables, ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, Span<sbyte> output)
    {
        var so = Side16.Output(p);
        Vector512<sbyte> lo = Vector512.Create((sbyte)p.ActMin), hi = Vector512.Create((sbyte)p.ActMax);
        int n = output.Length, i = 0;
        fixed (byte* t = tables)
        fixed (sbyte* pa = a, pb = b, py = output)
        {
            for (; i + 64 <= n; i += 64)
            {
                Int32x4 x = Lookup(t, Vector512.Load((byte*)pa + i)), y = Lookup(t + 1024, Vector512.Load((byte*)pb + i));
                Vector512<short> s01 = Avx512BW.PackSignedSaturate(so.Apply(x.V0 + y.V0), so.Apply(x.V1 + y.V1));
                Vector512<short> s23 = Avx512BW.PackSignedSaturate(so.Apply(x.V2 + y.V2), so.Apply(x.V3 + y.V3));
                Avx512BW.Min(Avx512BW.Max(Avx512BW.PackSignedSaturate(s01, s23), lo), hi).Store(py + i);
            }
        }
        if (i < n) RunAvx2(p, a[i..], b[i..], output[i..]);
    }

    private struct Int32x4
    {
        public Vector512<int> V0, V1, V2, V3;
    }

    /// <summary>The int32 table entries of 64 input bytes (lane L of V[k]: elements 16L + 4k .. + 3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Int32x4 Lookup(byte* t, Vector512<byte> x)
    {
        Vector512<byte> p0 = Plane(t, x), p1 = Plane(t + 256, x), p2 = Plane(t + 512, x), p3 = Plane(t + 768, x);
        Vector512<short> l01 = Avx512BW.UnpackLow(p0, p1).AsInt16(), h01 = Avx512BW.UnpackHigh(p0, p1).AsInt16();
        Vector512<short> l23 = Avx512BW.UnpackLow(p2, p3).AsInt16(), h23 = Avx512BW.UnpackHigh(p2, p3).AsInt16();
        Int32x4 r;
        r.V0 = Avx512BW.UnpackLow(l01, l23).AsInt32();
        r.V1 = Avx512BW.UnpackHigh(l01, l23).AsInt32();
        r.V2 = Avx512BW.UnpackLow(h01, h23).AsInt32();
        r.V3 = Avx512BW.UnpackHigh(h01, h23).AsInt32();
        return r;
    }

    /// <summary>One byte of the 256-entry table at t for each of 64 indices: bit 7 of the index picks the VPERMI2B result.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> Plane(byte* t, Vector512<byte> x)
        => Avx512BW.BlendVariable(Avx512Vbmi.PermuteVar64x8x2(Vector512.Load(t), x, Vector512.Load(t + 64)),
            Avx512Vbmi.PermuteVar64x8x2(Vector512.Load(t + 128), x, Vector512.Load(t + 192)), x);

    /// <summary>
    /// One of the three requantizations on 16 lanes, in <see cref="FoldedRequant"/>'s form (K, T, r the same for every lane, the
    /// output zero point in the output side's K). Every value it sees is below 2^28 in magnitude: (q - zp) &lt;&lt; 20 with |q - zp| ≤ 255,
    /// and the sum of two inputs rescaled by multipliers ≤ 1/2.
    /// </summary>
    private readonly struct Side16
    {
        private const long Bound = 1L << 28;
        private readonly Vector512<int> _zp, _m, _t;
        private readonly Vector512<long> _k;
        private readonly Vector512<uint> _r;
        private readonly bool _correct;

        private Side16(int inZp, int multiplier, int shift, int outZp, bool correct)
        {
            bool allowed = FoldedRequant.TryChannel(0, Bound, multiplier, shift, outZp, out long k, out int t, out int r);
            System.Diagnostics.Debug.Assert(allowed, "PathFor chooses the AVX-512 paths only where Allows");
            _zp = Vector512.Create(inZp); _m = Vector512.Create(multiplier); _t = Vector512.Create(t);
            _k = Vector512.Create(k); _r = Vector512.Create((uint)r);
            _correct = correct;
        }

        public static Side16 InputA(in AddParams p) => new(p.AZeroPoint, p.AMultiplier, p.AShift, 0, true);
        public static Side16 InputB(in AddParams p) => new(p.BZeroPoint, p.BMultiplier, p.BShift, 0, true);
        public static Side16 Output(in AddParams p) => new(0, p.OutputMultiplier, p.OutputShift, p.OutputZeroPoint, FoldedRequant.NeedsCorrection(p.OutputZeroPoint, p.ActMin));

        /// <summary>Whether all three requantizations of <paramref name="p"/> allow the folded form.</summary>
        public static bool Allows(in AddParams p)
            => FoldedRequant.TryChannel(0, Bound, p.AMultiplier, p.AShift, 0, out _, out _, out _)
                && FoldedRequant.TryChannel(0, Bound, p.BMultiplier, p.BShift, 0, out _, out _, out _)
                && FoldedRequant.TryChannel(0, Bound, p.OutputMultiplier, p.OutputShift, p.OutputZeroPoint, out _, out _, out _);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<int> Apply(Vector512<int> x) => FoldedRequant.Apply16(x, _m, _m, _k, _k, _t, _r, _correct);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<int> Input(Vector512<int> q) => Apply(Avx512F.ShiftLeftLogical(q - _zp, AddReference.LeftShift));
    }

    private readonly struct Side8(int zp, int multiplier, int shift)
    {
        private readonly Vector256<int> _zp = Vector256.Create(zp), _m = Vector256.Create(multiplier);
        private readonly Vector256<uint> _l = Vector256.Create((uint)Math.Max(shift, 0)), _r = Vector256.Create((uint)Math.Max(-shift, 0));
        private readonly bool _left = shift > 0;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<int> Apply(Vector256<int> x) => Avx2Gemm.Requant8(x, _m, _l, _r, _left);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<int> Input(Vector256<int> q) => Apply(Avx2.ShiftLeftLogical(q - _zp, AddReference.LeftShift));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run<TReq>(in AddParams p, ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, Span<sbyte> output) where TReq : struct, IRequant4
    {
        var sa = new Side<TReq>(p.AZeroPoint, p.AMultiplier, p.AShift);
        var sb = new Side<TReq>(p.BZeroPoint, p.BMultiplier, p.BShift);
        var so = new Side<TReq>(0, p.OutputMultiplier, p.OutputShift);
        Vector128<int> zo = Vector128.Create(p.OutputZeroPoint), lo = Vector128.Create(p.ActMin), hi = Vector128.Create(p.ActMax);
        int n = output.Length, i = 0;
        fixed (sbyte* pa = a, pb = b, py = output)
        {
            for (; i + 16 <= n; i += 16)
            {
                (Vector128<short> al, Vector128<short> ah) = Vector128.Widen(Vector128.Load(pa + i));
                (Vector128<short> bl, Vector128<short> bh) = Vector128.Widen(Vector128.Load(pb + i));
                Vector128<int> r0 = Lane(al, bl, true), r1 = Lane(al, bl, false), r2 = Lane(ah, bh, true), r3 = Lane(ah, bh, false);
                Vector128.Narrow(Vector128.Narrow(r0, r1), Vector128.Narrow(r2, r3)).Store(py + i);
            }
        }
        if (i < n) AddReference.Run(p, a[i..], b[i..], output[i..]);

        Vector128<int> Lane(Vector128<short> x, Vector128<short> y, bool lower)
        {
            Vector128<int> xi = lower ? Vector128.WidenLower(x) : Vector128.WidenUpper(x);
            Vector128<int> yi = lower ? Vector128.WidenLower(y) : Vector128.WidenUpper(y);
            Vector128<int> v = so.Apply(sa.Input(xi) + sb.Input(yi)) + zo;
            return Vector128.Min(Vector128.Max(v, lo), hi);
        }
    }

    /// <summary>The NEON Add variants (<see cref="NeonPathFor"/>): input rescalings (a, b), output requantization, clamp.</summary>
    internal enum NeonAddPath { Reference, HalfRightRight, HalfHalfRight, RightRightRight, General }

    /// <summary>How <see cref="RunNeon"/> runs these parameters (after putting an input with multiplier 1/2 first), and the clamp
    /// it applies (0: none, 1: the lower bound only, 2: both).</summary>
    internal static (NeonAddPath Path, int Clamp) NeonPathFor(in AddParams p)
    {
        if (!NeonAllows(p)) return (NeonAddPath.Reference, 2);
        int clamp = p.ActMin == sbyte.MinValue && p.ActMax == sbyte.MaxValue ? 0 : p.ActMax == sbyte.MaxValue ? 1 : 2;
        InputKind ka = Kind(p.AMultiplier, p.AShift), kb = Kind(p.BMultiplier, p.BShift);
        if (ka != InputKind.Half && kb == InputKind.Half) (ka, kb) = (kb, ka);
        if (p.OutputShift >= 0 || ka == InputKind.Other || kb == InputKind.Other) return (NeonAddPath.General, 2);
        return (ka, kb) switch
        {
            (InputKind.Half, InputKind.Half) => (NeonAddPath.HalfHalfRight, clamp),
            (InputKind.Half, _) => (NeonAddPath.HalfRightRight, clamp),
            _ => (NeonAddPath.RightRightRight, clamp),
        };
    }

    private enum InputKind { Half, Right, Other }

    /// <summary>Half: multiplier 2^30 with shift 0 (the input of the larger scale: M = 1/2 exactly), which halves (q - zp) &lt;&lt; 20
    /// exactly; Right: a right shift (M &lt; 1/2).</summary>
    private static InputKind Kind(int multiplier, int shift)
        => multiplier == 1 << 30 && shift == 0 ? InputKind.Half : shift is < 0 and >= -31 ? InputKind.Right : InputKind.Other;

    /// <summary>What the NEON steps assume (always true of a model's int8 Add): zero points and clamp bounds in int8, lo ≤ hi, so
    /// |q - zp| ≤ 255 and (q - zp) &lt;&lt; 4 fits in 16 bits; shifts in [-31, 30]. Anything else runs the reference.</summary>
    private static bool NeonAllows(in AddParams p)
    {
        static bool Int8(int v) => v is >= sbyte.MinValue and <= sbyte.MaxValue;
        static bool Shift(int s) => s is >= -31 and <= 30;
        return Int8(p.AZeroPoint) && Int8(p.BZeroPoint) && Int8(p.OutputZeroPoint) && Int8(p.ActMin) && Int8(p.ActMax) && p.ActMin <= p.ActMax
            && Shift(p.AShift) && Shift(p.BShift) && Shift(p.OutputShift);
    }

    /// <summary>
    /// NEON: 16 elements per step with every constant in a register and the requantization variant of each side chosen here
    /// (as the GEMMs do with <see cref="ArmRequant.Classify"/>). Each input: SSUBL(2) q - zp into 16 bits, SHL by 4, ZIP with zero
    /// to int32 lanes holding (q - zp) &lt;&lt; 20 (an input with multiplier 1/2: SHL by 3, giving its rescaled value
    /// (q - zp) &lt;&lt; 19 with no multiply). The output (a right shift: |value| ≤ 2^30): SQXTN(2) to 16 bits, SQADD of the zero point,
    /// SQXTN(2) to 8 bits, then only the clamp bounds that can bind (saturation is the clamp to [-128, 127]; saturating narrows and a
    /// saturating add of an int8 zero point commute with a clamp inside int8). Tails of 1-15 elements take one step on padded copies.
    /// </summary>
    private static void RunNeon(in AddParams p, ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, Span<sbyte> output)
    {
        (NeonAddPath path, int clamp) = NeonPathFor(p);
        if (path == NeonAddPath.Reference) { AddReference.Run(p, a, b, output); return; }
        // Addition commutes: the side with multiplier 1/2 goes first.
        if (Kind(p.AMultiplier, p.AShift) != InputKind.Half && Kind(p.BMultiplier, p.BShift) == InputKind.Half)
        {
            AddParams s = p with { AZeroPoint = p.BZeroPoint, AMultiplier = p.BMultiplier, AShift = p.BShift, BZeroPoint = p.AZeroPoint, BMultiplier = p.AMultiplier, BShift = p.AShift };
            Neon(path, clamp, s, b, a, output);
        }
        else Neon(path, clamp, p, a, b, output);
    }

    private static void Neon(NeonAddPath path, int clamp, in AddParams p, ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, Span<sbyte> output)
    {
        switch (path)
        {
            case NeonAddPath.HalfRightRight: Clamped<HalfInput, RightInput>(clamp, p, a, b, output); break;
            case NeonAddPath.HalfHalfRight: Clamped<HalfInput, HalfInput>(clamp, p, a, b, output); break;
            case NeonAddPath.RightRightRight: Clamped<RightInput, RightInput>(clamp, p, a, b, output); break;
            default: RunNeon<GeneralInput, GeneralInput, AdvSimdRequant, ClampBoth>(p, a, b, output); break;
        }
    }

    private static void Clamped<TA, TB>(int clamp, in AddParams p, ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, Span<sbyte> output)
        where TA : struct, IInputScale where TB : struct, IInputScale
    {
        switch (clamp)
        {
            case 0: RunNeon<TA, TB, AdvSimdRequantRight, NoClamp>(p, a, b, output); break;
            case 1: RunNeon<TA, TB, AdvSimdRequantRight, ClampLow>(p, a, b, output); break;
            default: RunNeon<TA, TB, AdvSimdRequantRight, ClampBoth>(p, a, b, output); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunNeon<TA, TB, TO, TClamp>(in AddParams p, ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, Span<sbyte> output)
        where TA : struct, IInputScale where TB : struct, IInputScale where TO : struct, IRequant4 where TClamp : struct, IClamp
    {
        int n = output.Length, whole = n & ~15, rest = n - whole;
        // A tail of 1-15 elements: one more step on zero-padded copies of a and b (t, t + 16), its result at t + 32. The copies are
        // made before the constants are set up: a call inside the loops would have the JIT spill them.
        sbyte* t = stackalloc sbyte[48];
        new Span<sbyte>(t, 32).Clear();
        a.Slice(whole, rest).CopyTo(new Span<sbyte>(t, rest));
        b.Slice(whole, rest).CopyTo(new Span<sbyte>(t + 16, rest));
        Vector128<sbyte> za = Vector128.Create((sbyte)p.AZeroPoint), zb = Vector128.Create((sbyte)p.BZeroPoint);
        Vector64<sbyte> za8 = za.GetLower(), zb8 = zb.GetLower();
        Vector128<sbyte> lo = Vector128.Create((sbyte)p.ActMin), hi = Vector128.Create((sbyte)p.ActMax);
        Vector128<short> zo = Vector128.Create((short)p.OutputZeroPoint), z = Vector128<short>.Zero;
        Vector128<int> zo32 = Vector128.Create(p.OutputZeroPoint);
        Vector128<int> ma = Vector128.Create(p.AMultiplier), mb = Vector128.Create(p.BMultiplier), mo = Vector128.Create(p.OutputMultiplier);
        Vector128<int> la = Vector128.Create(Math.Max(p.AShift, 0)), lb = Vector128.Create(Math.Max(p.BShift, 0)), lout = Vector128.Create(Math.Max(p.OutputShift, 0));
        Vector128<int> ra = Vector128.Create(Math.Min(p.AShift, 0)), rb = Vector128.Create(Math.Min(p.BShift, 0)), rout = Vector128.Create(Math.Min(p.OutputShift, 0));
        fixed (sbyte* pa = a, pb = b, py = output)
        {
            sbyte* x = pa, y = pb, o = py;
            for (int pass = 0; ; pass++)
            {
                for (int i = 0; i < whole; i += 16)
                {
                    Vector128<short> x0 = TA.Shift(AdvSimd.SubtractWideningLower(AdvSimd.LoadVector64(x + i), za8));
                    Vector128<short> x1 = TA.Shift(AdvSimd.SubtractWideningUpper(AdvSimd.LoadVector128(x + i), za));
                    Vector128<short> y0 = TB.Shift(AdvSimd.SubtractWideningLower(AdvSimd.LoadVector64(y + i), zb8));
                    Vector128<short> y1 = TB.Shift(AdvSimd.SubtractWideningUpper(AdvSimd.LoadVector128(y + i), zb));
                    // Requantized sums a' + b' (ZIP with zero: the 16-bit values in the upper halves of int32 lanes).
                    Vector128<int> s0 = TO.Apply(TA.Apply(AdvSimd.Arm64.ZipLow(z, x0).AsInt32(), ma, la, ra) + TB.Apply(AdvSimd.Arm64.ZipLow(z, y0).AsInt32(), mb, lb, rb), mo, lout, default, rout);
                    Vector128<int> s1 = TO.Apply(TA.Apply(AdvSimd.Arm64.ZipHigh(z, x0).AsInt32(), ma, la, ra) + TB.Apply(AdvSimd.Arm64.ZipHigh(z, y0).AsInt32(), mb, lb, rb), mo, lout, default, rout);
                    Vector128<int> s2 = TO.Apply(TA.Apply(AdvSimd.Arm64.ZipLow(z, x1).AsInt32(), ma, la, ra) + TB.Apply(AdvSimd.Arm64.ZipLow(z, y1).AsInt32(), mb, lb, rb), mo, lout, default, rout);
                    Vector128<int> s3 = TO.Apply(TA.Apply(AdvSimd.Arm64.ZipHigh(z, x1).AsInt32(), ma, la, ra) + TB.Apply(AdvSimd.Arm64.ZipHigh(z, y1).AsInt32(), mb, lb, rb), mo, lout, default, rout);
                    Vector128<short> n0, n1;
                    if (typeof(TO) == typeof(AdvSimdRequantRight))
                    {
                        n0 = AdvSimd.AddSaturate(AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(s0), s1), zo);
                        n1 = AdvSimd.AddSaturate(AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(s2), s3), zo);
                    }
                    else
                    {
                        // A left shift can take the requantized value to within 128 of int.MaxValue, where adding the zero point wraps
                        // (as in the reference): the zero point is added in 32 bits.
                        n0 = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(s0 + zo32), s1 + zo32);
                        n1 = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(s2 + zo32), s3 + zo32);
                    }
                    AdvSimd.Store(o + i, TClamp.Apply(AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(n0), n1), lo, hi));
                }
                if (pass == 1 || rest == 0) break;
                x = t; y = t + 16; o = t + 32; whole = 16;
            }
            if (rest > 0) new ReadOnlySpan<sbyte>(t + 32, rest).CopyTo(new Span<sbyte>(py + (n - rest), rest));
        }
    }

    /// <summary>
    /// One input's rescaling Requantize.Apply((q - zp) &lt;&lt; 20, multiplier, shift) on four lanes that hold (q - zp) &lt;&lt; (16 + s),
    /// s the shift of <see cref="Shift"/> (3 or 4); <c>left</c> = max(shift, 0), <c>rightNeg</c> = min(shift, 0).
    /// </summary>
    internal interface IInputScale
    {
        /// <summary>q - zp (16 bits) shifted left by s.</summary>
        static abstract Vector128<short> Shift(Vector128<short> d);
        static abstract Vector128<int> Apply(Vector128<int> x, Vector128<int> multiplier, Vector128<int> left, Vector128<int> rightNeg);
    }

    /// <summary>Multiplier 2^30, shift 0: SQRDMULH((q - zp) &lt;&lt; 20, 2^30) = (q - zp) &lt;&lt; 19 exactly, which the lanes already hold.</summary>
    private readonly struct HalfInput : IInputScale
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<short> Shift(Vector128<short> d) => AdvSimd.ShiftLeftLogical(d, 3);
        public static Vector128<int> Apply(Vector128<int> x, Vector128<int> multiplier, Vector128<int> left, Vector128<int> rightNeg) => x;
    }

    private readonly struct RightInput : IInputScale
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<short> Shift(Vector128<short> d) => AdvSimd.ShiftLeftLogical(d, 4);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> Apply(Vector128<int> x, Vector128<int> multiplier, Vector128<int> left, Vector128<int> rightNeg)
            => AdvSimdRequantRight.Apply(x, multiplier, left, default, rightNeg);
    }

    private readonly struct GeneralInput : IInputScale
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<short> Shift(Vector128<short> d) => AdvSimd.ShiftLeftLogical(d, 4);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> Apply(Vector128<int> x, Vector128<int> multiplier, Vector128<int> left, Vector128<int> rightNeg)
            => AdvSimdRequant.Apply(x, multiplier, left, default, rightNeg);
    }

    /// <summary>The clamp to [lo, hi] of int8 values already saturated to [-128, 127]: only the bounds that can bind.</summary>
    internal interface IClamp
    {
        static abstract Vector128<sbyte> Apply(Vector128<sbyte> v, Vector128<sbyte> lo, Vector128<sbyte> hi);
    }

    private readonly struct NoClamp : IClamp
    {
        public static Vector128<sbyte> Apply(Vector128<sbyte> v, Vector128<sbyte> lo, Vector128<sbyte> hi) => v;
    }

    private readonly struct ClampLow : IClamp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<sbyte> Apply(Vector128<sbyte> v, Vector128<sbyte> lo, Vector128<sbyte> hi) => AdvSimd.Max(v, lo);
    }

    private readonly struct ClampBoth : IClamp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<sbyte> Apply(Vector128<sbyte> v, Vector128<sbyte> lo, Vector128<sbyte> hi) => AdvSimd.Min(AdvSimd.Max(v, lo), hi);
    }
}
