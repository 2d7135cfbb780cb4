using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Cnn.Trainer.Kernels;

/// <summary>Vectorised elementwise helpers (Vector&lt;float&gt;: 8 lanes on AVX2, 4 on NEON) with scalar tails.</summary>
internal static class Vec
{
    /// <summary>(Σx, Σx²) of one plane; float lanes are fine for a plane (≤ a few thousand values), callers accumulate planes in double.</summary>
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

    /// <summary>(Σdy, Σdy·x̂).</summary>
    public static (float Sum, float Dot) SumAndDot(ReadOnlySpan<float> dy, ReadOnlySpan<float> xh)
    {
        int vw = Vector<float>.Count, i = 0;
        var s = Vector<float>.Zero; var d = Vector<float>.Zero;
        ref float D = ref MemoryMarshal.GetReference(dy);
        ref float X = ref MemoryMarshal.GetReference(xh);
        for (; i + vw <= dy.Length; i += vw)
        {
            var v = Vector.LoadUnsafe(ref D, (nuint)i);
            s += v; d = Vector.FusedMultiplyAdd(v, Vector.LoadUnsafe(ref X, (nuint)i), d);
        }
        float a = Vector.Sum(s), b = Vector.Sum(d);
        for (; i < dy.Length; i++) { a += dy[i]; b += dy[i] * xh[i]; }
        return (a, b);
    }

    /// <summary>BN forward on one plane: x̂ = (x − mean)·inv; y = x̂·g + b.</summary>
    public static void Normalize(ReadOnlySpan<float> x, Span<float> xhat, Span<float> y, float mean, float inv, float g, float b)
    {
        int vw = Vector<float>.Count, i = 0;
        var vm = new Vector<float>(mean); var vi = new Vector<float>(inv); var vg = new Vector<float>(g); var vb = new Vector<float>(b);
        ref float X = ref MemoryMarshal.GetReference(x);
        ref float H = ref MemoryMarshal.GetReference(xhat);
        ref float Y = ref MemoryMarshal.GetReference(y);
        for (; i + vw <= x.Length; i += vw)
        {
            var h = (Vector.LoadUnsafe(ref X, (nuint)i) - vm) * vi;
            h.StoreUnsafe(ref H, (nuint)i);
            Vector.FusedMultiplyAdd(h, vg, vb).StoreUnsafe(ref Y, (nuint)i);
        }
        for (; i < x.Length; i++) { float h = (x[i] - mean) * inv; xhat[i] = h; y[i] = h * g + b; }
    }

    /// <summary>BN backward on one plane: dx = k·(dy − mdy − x̂·mdyx).</summary>
    public static void BnBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> xhat, Span<float> dx, float k, float mdy, float mdyx)
    {
        int vw = Vector<float>.Count, i = 0;
        var vk = new Vector<float>(k); var vm = new Vector<float>(mdy); var vx = new Vector<float>(mdyx);
        ref float D = ref MemoryMarshal.GetReference(dy);
        ref float H = ref MemoryMarshal.GetReference(xhat);
        ref float O = ref MemoryMarshal.GetReference(dx);
        for (; i + vw <= dy.Length; i += vw)
            (vk * (Vector.LoadUnsafe(ref D, (nuint)i) - vm - Vector.LoadUnsafe(ref H, (nuint)i) * vx)).StoreUnsafe(ref O, (nuint)i);
        for (; i < dy.Length; i++) dx[i] = k * (dy[i] - mdy - xhat[i] * mdyx);
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
