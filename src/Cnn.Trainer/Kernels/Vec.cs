using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Cnn.Trainer.Kernels;

/// <summary>Vectorised elementwise helpers (Vector&lt;float&gt;: 8 lanes on AVX2, 4 on NEON) with scalar tails.</summary>
internal static class Vec
{
    /// <summary>
    /// d[0..n) = s[0..n) for the short rows of conv planes (a few to a few dozen floats): inline vectors, the last one
    /// overlapping the previous instead of a scalar tail; no call per row. Source and destination must not overlap.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CopyShort(ref float s, ref float d, int n)
    {
        int vw = Vector<float>.Count;
        if (n >= vw)
        {
            int i = 0;
            for (; i + vw <= n; i += vw) Vector.LoadUnsafe(ref s, (nuint)i).StoreUnsafe(ref d, (nuint)i);
            if (i < n) Vector.LoadUnsafe(ref s, (nuint)(n - vw)).StoreUnsafe(ref d, (nuint)(n - vw));
        }
        else if (n >= 4 && Vector128.IsHardwareAccelerated)
        {
            Vector128.LoadUnsafe(ref s).StoreUnsafe(ref d);
            Vector128.LoadUnsafe(ref s, (nuint)(n - 4)).StoreUnsafe(ref d, (nuint)(n - 4));
        }
        else
            for (int j = 0; j < n; j++) Unsafe.Add(ref d, j) = Unsafe.Add(ref s, j);
    }

    /// <summary>rows × cols floats between row strides (short rows: <see cref="CopyShort"/>).</summary>
    public static void CopyRows(ref float src, int srcStride, ref float dst, int dstStride, int rows, int cols)
    {
        for (int r = 0; r < rows; r++) CopyShort(ref Unsafe.Add(ref src, r * srcStride), ref Unsafe.Add(ref dst, r * dstStride), cols);
    }

    /// <summary>(Σx, Σx²) of one plane; float lanes are fine for a plane (≤ a few thousand values), callers accumulate planes in double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (float Sum, float SumSq) SumAndSquares(ReadOnlySpan<float> x)
    {
        int vw = Vector<float>.Count, i = 0;
        var s = Vector<float>.Zero; var s2 = Vector<float>.Zero;
        ref float X = ref MemoryMarshal.GetReference(x);
        for (; i + vw <= x.Length; i += vw)
        {
            var v = Vector.LoadUnsafe(ref X, (nuint)i);
            s += v; s2 = Vector.FusedMultiplyAdd(v, v, s2);
        }
        float a = Vector.Sum(s), b = Vector.Sum(s2);
        for (; i < x.Length; i++) { a += x[i]; b += x[i] * x[i]; }
        return (a, b);
    }

    public static float Sum(ReadOnlySpan<float> x)
    {
        int vw = Vector<float>.Count, i = 0;
        var s = Vector<float>.Zero;
        ref float X = ref MemoryMarshal.GetReference(x);
        for (; i + vw <= x.Length; i += vw) s += Vector.LoadUnsafe(ref X, (nuint)i);
        float a = Vector.Sum(s);
        for (; i < x.Length; i++) a += x[i];
        return a;
    }

    /// <summary>(Σdy, Σdy·(x − mean)): centred, so no cancellation when |mean| ≫ std.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (float Sum, float Dot) SumAndCenteredDot(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, float mean)
    {
        int vw = Vector<float>.Count, i = 0;
        var s = Vector<float>.Zero; var d = Vector<float>.Zero; var vm = new Vector<float>(mean);
        ref float D = ref MemoryMarshal.GetReference(dy);
        ref float X = ref MemoryMarshal.GetReference(x);
        for (; i + vw <= dy.Length; i += vw)
        {
            var v = Vector.LoadUnsafe(ref D, (nuint)i);
            s += v; d = Vector.FusedMultiplyAdd(v, Vector.LoadUnsafe(ref X, (nuint)i) - vm, d);
        }
        float a = Vector.Sum(s), b = Vector.Sum(d);
        for (; i < dy.Length; i++) { a += dy[i]; b += dy[i] * (x[i] - mean); }
        return (a, b);
    }

    /// <summary>y = x·scale + shift (BatchNorm forward with its statistics folded in).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Affine(ReadOnlySpan<float> x, Span<float> y, float scale, float shift)
    {
        int vw = Vector<float>.Count, i = 0;
        var vs = new Vector<float>(scale); var vb = new Vector<float>(shift);
        ref float X = ref MemoryMarshal.GetReference(x);
        ref float Y = ref MemoryMarshal.GetReference(y);
        for (; i + vw <= x.Length; i += vw)
            Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref X, (nuint)i), vs, vb).StoreUnsafe(ref Y, (nuint)i);
        for (; i < x.Length; i++) y[i] = MathF.FusedMultiplyAdd(x[i], scale, shift);
    }

    /// <summary>o = a·dy + b·x + c (BatchNorm backward with x̂ recomputed from x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Affine2(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> o, float a, float b, float c)
    {
        int vw = Vector<float>.Count, i = 0;
        var va = new Vector<float>(a); var vb = new Vector<float>(b); var vc = new Vector<float>(c);
        ref float D = ref MemoryMarshal.GetReference(dy);
        ref float X = ref MemoryMarshal.GetReference(x);
        ref float O = ref MemoryMarshal.GetReference(o);
        for (; i + vw <= dy.Length; i += vw)
            Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref D, (nuint)i), va, Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref X, (nuint)i), vb, vc)).StoreUnsafe(ref O, (nuint)i);
        for (; i < dy.Length; i++) o[i] = MathF.FusedMultiplyAdd(dy[i], a, MathF.FusedMultiplyAdd(x[i], b, c));
    }

    /// <summary>
    /// y = act(x·scale + shift): BatchNorm's affine and the activation that follows it in one pass. Each lane
    /// is computed exactly as <see cref="Affine"/> then <see cref="Activate"/> would, so fused and unfused agree bit for bit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AffineActivate(ReadOnlySpan<float> x, Span<float> y, float scale, float shift, float slope, float hi)
    {
        int vw = Vector<float>.Count, i = 0;
        var vs = new Vector<float>(scale); var vb = new Vector<float>(shift);
        var vsl = new Vector<float>(slope); var vh = new Vector<float>(hi);
        ref float X = ref MemoryMarshal.GetReference(x);
        ref float Y = ref MemoryMarshal.GetReference(y);
        for (; i + vw <= x.Length; i += vw)
        {
            var v = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref X, (nuint)i), vs, vb);
            Vector.Min(Vector.ConditionalSelect(Vector.GreaterThan(v, Vector<float>.Zero), v, v * vsl), vh).StoreUnsafe(ref Y, (nuint)i);
        }
        for (; i < x.Length; i++) { float v = MathF.FusedMultiplyAdd(x[i], scale, shift); y[i] = Math.Min(v > 0 ? v : v * slope, hi); }
    }

    /// <summary>act'(v)·dy with v = x·scale + shift recomputed: the lane formula of <see cref="ActivateBackward"/>.</summary>
    private readonly struct ActMask(float scale, float shift, float slope, float hi)
    {
        private readonly Vector<float> _s = new(scale), _b = new(shift), _sl = new(slope), _h = new(hi);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector<float> Grad(Vector<float> x, Vector<float> d)
        {
            var v = Vector.FusedMultiplyAdd(x, _s, _b);
            var r = Vector.ConditionalSelect(Vector.GreaterThan(v, Vector<float>.Zero), d, d * _sl);
            return Vector.ConditionalSelect(Vector.LessThan(v, _h), r, Vector<float>.Zero);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Grad(float x, float d)
        {
            float v = MathF.FusedMultiplyAdd(x, scale, shift);
            return v >= hi ? 0f : v > 0 ? d : d * slope;
        }
    }

    /// <summary>(Σg, Σg·(x − mean)) with g = act'(x·scale + shift)·dy: <see cref="SumAndCenteredDot"/> behind a fused activation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (float Sum, float Dot) MaskedSumAndCenteredDot(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, float mean, float scale, float shift, float slope, float hi)
    {
        int vw = Vector<float>.Count, i = 0;
        var s = Vector<float>.Zero; var d = Vector<float>.Zero; var vm = new Vector<float>(mean);
        var mask = new ActMask(scale, shift, slope, hi);
        ref float D = ref MemoryMarshal.GetReference(dy);
        ref float X = ref MemoryMarshal.GetReference(x);
        for (; i + vw <= dy.Length; i += vw)
        {
            var xv = Vector.LoadUnsafe(ref X, (nuint)i);
            var g = mask.Grad(xv, Vector.LoadUnsafe(ref D, (nuint)i));
            s += g; d = Vector.FusedMultiplyAdd(g, xv - vm, d);
        }
        float a = Vector.Sum(s), b = Vector.Sum(d);
        for (; i < dy.Length; i++) { float g = mask.Grad(x[i], dy[i]); a += g; b += g * (x[i] - mean); }
        return (a, b);
    }

    /// <summary>o = a·g + b·x + c with g = act'(x·scale + shift)·dy: <see cref="Affine2"/> behind a fused activation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MaskedAffine2(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> o, float a, float b, float c, float scale, float shift, float slope, float hi)
    {
        int vw = Vector<float>.Count, i = 0;
        var va = new Vector<float>(a); var vb = new Vector<float>(b); var vc = new Vector<float>(c);
        var mask = new ActMask(scale, shift, slope, hi);
        ref float D = ref MemoryMarshal.GetReference(dy);
        ref float X = ref MemoryMarshal.GetReference(x);
        ref float O = ref MemoryMarshal.GetReference(o);
        for (; i + vw <= dy.Length; i += vw)
        {
            var xv = Vector.LoadUnsafe(ref X, (nuint)i);
            var g = mask.Grad(xv, Vector.LoadUnsafe(ref D, (nuint)i));
            Vector.FusedMultiplyAdd(g, va, Vector.FusedMultiplyAdd(xv, vb, vc)).StoreUnsafe(ref O, (nuint)i);
        }
        for (; i < dy.Length; i++)
            o[i] = MathF.FusedMultiplyAdd(mask.Grad(x[i], dy[i]), a, MathF.FusedMultiplyAdd(x[i], b, c));
    }

    /// <summary>y = clamp(x, lo, hi) for x ≥ 0 side; negative side multiplied by slope (0 for ReLU).</summary>
    public static void Activate(ReadOnlySpan<float> x, Span<float> y, float slope, float hi)
    {
        int vw = Vector<float>.Count, i = 0;
        var vs = new Vector<float>(slope); var vh = new Vector<float>(hi);
        ref float X = ref MemoryMarshal.GetReference(x);
        ref float Y = ref MemoryMarshal.GetReference(y);
        for (; i + vw <= x.Length; i += vw)
        {
            var v = Vector.LoadUnsafe(ref X, (nuint)i);
            Vector.Min(Vector.ConditionalSelect(Vector.GreaterThan(v, Vector<float>.Zero), v, v * vs), vh).StoreUnsafe(ref Y, (nuint)i);
        }
        for (; i < x.Length; i++) { float v = x[i]; y[i] = Math.Min(v > 0 ? v : v * slope, hi); }
    }

    /// <summary>dx = dy where 0 &lt; x &lt; hi, dy·slope where x ≤ 0, 0 where x ≥ hi.</summary>
    public static void ActivateBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx, float slope, float hi)
    {
        int vw = Vector<float>.Count, i = 0;
        var vs = new Vector<float>(slope); var vh = new Vector<float>(hi);
        ref float X = ref MemoryMarshal.GetReference(x);
        ref float D = ref MemoryMarshal.GetReference(dy);
        ref float O = ref MemoryMarshal.GetReference(dx);
        for (; i + vw <= x.Length; i += vw)
        {
            var v = Vector.LoadUnsafe(ref X, (nuint)i);
            var d = Vector.LoadUnsafe(ref D, (nuint)i);
            var r = Vector.ConditionalSelect(Vector.GreaterThan(v, Vector<float>.Zero), d, d * vs);
            Vector.ConditionalSelect(Vector.LessThan(v, vh), r, Vector<float>.Zero).StoreUnsafe(ref O, (nuint)i);
        }
        for (; i < x.Length; i++) { float v = x[i]; dx[i] = v >= hi ? 0f : v > 0 ? dy[i] : dy[i] * slope; }
    }
}
