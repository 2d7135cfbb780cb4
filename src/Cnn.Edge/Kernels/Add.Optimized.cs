using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Cnn.Edge.Kernels;

/// <summary>
/// Int8 Add vectorized over 16 elements, bit-identical to <see cref="AddReference.Run"/>: the same three
/// requantizations (each input rescaled with 20 fraction bits, then the sum to the output), four lanes at a time.
/// Bounds as in the reference: |q - zp| ≤ 255, so (q - zp) &lt;&lt; 20 &lt; 2^28 and no lane overflows.
/// </summary>
public static unsafe class AddOptimized
{
    /// <param name="isa">A resolved ISA; Scalar runs the reference.</param>
    public static void Run(KernelIsa isa, in AddParams p, ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, Span<sbyte> output)
    {
        switch (isa)
        {
            case KernelIsa.AdvSimd or KernelIsa.AdvSimdDp: Run<AdvSimdRequant>(p, a, b, output); break;
            case KernelIsa.Avx2 or KernelIsa.AvxVnni: Run<X86Requant>(p, a, b, output); break;
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
}
