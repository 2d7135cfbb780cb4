using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Cnn.Trainer.Kernels;

/// <summary>
/// Single-threaded float GEMM kernels, all accumulating into C (callers zero or pre-load bias).
/// Summation order over k is fixed, so results are bit-reproducible for a given shape.
/// </summary>
internal static class Gemm
{
    /// <summary>
    /// C[M,N] += A(i,k) * B[K,N]. A(i,k) = a[i*aRow + k*aCol], so a transposed A costs nothing.
    /// B and C are row-major with leading dimensions ldb and ldc.
    /// Micro-kernel: 4 rows x 2 vectors of C held in registers over the whole K loop.
    /// </summary>
    public static void NN(int m, int n, int k, ReadOnlySpan<float> a, int aRow, int aCol,
        ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc)
    {
        int vw = Vector<float>.Count;
        ref float A = ref MemoryMarshal.GetReference(a);
        ref float B = ref MemoryMarshal.GetReference(b);
        ref float C = ref MemoryMarshal.GetReference(c);
        int i = 0;
        for (; i + 4 <= m; i += 4)
        {
            int j = 0;
            for (; j + 2 * vw <= n; j += 2 * vw)
            {
                ref float c0 = ref Unsafe.Add(ref C, i * ldc + j);
                var c00 = Vector.LoadUnsafe(ref c0); var c01 = Vector.LoadUnsafe(ref c0, (nuint)vw);
                var c10 = Vector.LoadUnsafe(ref c0, (nuint)ldc); var c11 = Vector.LoadUnsafe(ref c0, (nuint)(ldc + vw));
                var c20 = Vector.LoadUnsafe(ref c0, (nuint)(2 * ldc)); var c21 = Vector.LoadUnsafe(ref c0, (nuint)(2 * ldc + vw));
                var c30 = Vector.LoadUnsafe(ref c0, (nuint)(3 * ldc)); var c31 = Vector.LoadUnsafe(ref c0, (nuint)(3 * ldc + vw));
                for (int p = 0; p < k; p++)
                {
                    ref float bp = ref Unsafe.Add(ref B, p * ldb + j);
                    var b0 = Vector.LoadUnsafe(ref bp); var b1 = Vector.LoadUnsafe(ref bp, (nuint)vw);
                    int ai = i * aRow + p * aCol;
                    var a0 = new Vector<float>(Unsafe.Add(ref A, ai));
                    var a1 = new Vector<float>(Unsafe.Add(ref A, ai + aRow));
                    var a2 = new Vector<float>(Unsafe.Add(ref A, ai + 2 * aRow));
                    var a3 = new Vector<float>(Unsafe.Add(ref A, ai + 3 * aRow));
                    c00 = Vector.FusedMultiplyAdd(a0, b0, c00); c01 = Vector.FusedMultiplyAdd(a0, b1, c01);
                    c10 = Vector.FusedMultiplyAdd(a1, b0, c10); c11 = Vector.FusedMultiplyAdd(a1, b1, c11);
                    c20 = Vector.FusedMultiplyAdd(a2, b0, c20); c21 = Vector.FusedMultiplyAdd(a2, b1, c21);
                    c30 = Vector.FusedMultiplyAdd(a3, b0, c30); c31 = Vector.FusedMultiplyAdd(a3, b1, c31);
                }
                c00.StoreUnsafe(ref c0); c01.StoreUnsafe(ref c0, (nuint)vw);
                c10.StoreUnsafe(ref c0, (nuint)ldc); c11.StoreUnsafe(ref c0, (nuint)(ldc + vw));
                c20.StoreUnsafe(ref c0, (nuint)(2 * ldc)); c21.StoreUnsafe(ref c0, (nuint)(2 * ldc + vw));
                c30.StoreUnsafe(ref c0, (nuint)(3 * ldc)); c31.StoreUnsafe(ref c0, (nuint)(3 * ldc + vw));
            }
            for (; j + vw <= n; j += vw)
            {
                ref float c0 = ref Unsafe.Add(ref C, i * ldc + j);
                var c00 = Vector.LoadUnsafe(ref c0);
                var c10 = Vector.LoadUnsafe(ref c0, (nuint)ldc);
                var c20 = Vector.LoadUnsafe(ref c0, (nuint)(2 * ldc));
                var c30 = Vector.LoadUnsafe(ref c0, (nuint)(3 * ldc));
                for (int p = 0; p < k; p++)
                {
                    var b0 = Vector.LoadUnsafe(ref Unsafe.Add(ref B, p * ldb + j));
                    int ai = i * aRow + p * aCol;
                    c00 = Vector.FusedMultiplyAdd(new Vector<float>(Unsafe.Add(ref A, ai)), b0, c00);
                    c10 = Vector.FusedMultiplyAdd(new Vector<float>(Unsafe.Add(ref A, ai + aRow)), b0, c10);
                    c20 = Vector.FusedMultiplyAdd(new Vector<float>(Unsafe.Add(ref A, ai + 2 * aRow)), b0, c20);
                    c30 = Vector.FusedMultiplyAdd(new Vector<float>(Unsafe.Add(ref A, ai + 3 * aRow)), b0, c30);
                }
                c00.StoreUnsafe(ref c0); c10.StoreUnsafe(ref c0, (nuint)ldc);
                c20.StoreUnsafe(ref c0, (nuint)(2 * ldc)); c30.StoreUnsafe(ref c0, (nuint)(3 * ldc));
            }
            for (; j < n; j++)
                for (int r = 0; r < 4; r++)
                {
                    float s = Unsafe.Add(ref C, (i + r) * ldc + j);
                    for (int p = 0; p < k; p++)
                        s = MathF.FusedMultiplyAdd(Unsafe.Add(ref A, (i + r) * aRow + p * aCol), Unsafe.Add(ref B, p * ldb + j), s);
                    Unsafe.Add(ref C, (i + r) * ldc + j) = s;
                }
        }
        for (; i < m; i++)
        {
            int j = 0;
            for (; j + vw <= n; j += vw)
            {
                ref float c0 = ref Unsafe.Add(ref C, i * ldc + j);
                var acc = Vector.LoadUnsafe(ref c0);
                for (int p = 0; p < k; p++)
                    acc = Vector.FusedMultiplyAdd(new Vector<float>(Unsafe.Add(ref A, i * aRow + p * aCol)),
                        Vector.LoadUnsafe(ref Unsafe.Add(ref B, p * ldb + j)), acc);
                acc.StoreUnsafe(ref c0);
            }
            for (; j < n; j++)
            {
                float s = Unsafe.Add(ref C, i * ldc + j);
                for (int p = 0; p < k; p++)
                    s = MathF.FusedMultiplyAdd(Unsafe.Add(ref A, i * aRow + p * aCol), Unsafe.Add(ref B, p * ldb + j), s);
                Unsafe.Add(ref C, i * ldc + j) = s;
            }
        }
    }

    /// <summary>C[M,N] += sum_p A[i,p] * B[j,p]: dot products of rows (A: lda, B: ldb, both row-major).</summary>
    public static void NT(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc)
    {
        for (int i = 0; i < m; i++)
        {
            var ai = a.Slice(i * lda, k);
            int j = 0;
            for (; j + 4 <= n; j += 4)
            {
                Dot4(ai, b.Slice(j * ldb, k), b.Slice((j + 1) * ldb, k), b.Slice((j + 2) * ldb, k), b.Slice((j + 3) * ldb, k),
                    out float d0, out float d1, out float d2, out float d3);
                c[i * ldc + j] += d0; c[i * ldc + j + 1] += d1; c[i * ldc + j + 2] += d2; c[i * ldc + j + 3] += d3;
            }
            for (; j < n; j++) c[i * ldc + j] += Dot(ai, b.Slice(j * ldb, k));
        }
    }

    public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        int vw = Vector<float>.Count, i = 0;
        var acc = Vector<float>.Zero;
        ref float X = ref MemoryMarshal.GetReference(x);
        ref float Y = ref MemoryMarshal.GetReference(y);
        for (; i + vw <= x.Length; i += vw)
            acc = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref X, (nuint)i), Vector.LoadUnsafe(ref Y, (nuint)i), acc);
        float s = Vector.Sum(acc);
        for (; i < x.Length; i++) s += x[i] * y[i];
        return s;
    }

    private static void Dot4(ReadOnlySpan<float> x, ReadOnlySpan<float> y0, ReadOnlySpan<float> y1, ReadOnlySpan<float> y2, ReadOnlySpan<float> y3,
        out float d0, out float d1, out float d2, out float d3)
    {
        int vw = Vector<float>.Count, i = 0, len = x.Length;
        Vector<float> a0 = default, a1 = default, a2 = default, a3 = default;
        ref float X = ref MemoryMarshal.GetReference(x);
        ref float Y0 = ref MemoryMarshal.GetReference(y0); ref float Y1 = ref MemoryMarshal.GetReference(y1);
        ref float Y2 = ref MemoryMarshal.GetReference(y2); ref float Y3 = ref MemoryMarshal.GetReference(y3);
        for (; i + vw <= len; i += vw)
        {
            var xv = Vector.LoadUnsafe(ref X, (nuint)i);
            a0 = Vector.FusedMultiplyAdd(xv, Vector.LoadUnsafe(ref Y0, (nuint)i), a0);
            a1 = Vector.FusedMultiplyAdd(xv, Vector.LoadUnsafe(ref Y1, (nuint)i), a1);
            a2 = Vector.FusedMultiplyAdd(xv, Vector.LoadUnsafe(ref Y2, (nuint)i), a2);
            a3 = Vector.FusedMultiplyAdd(xv, Vector.LoadUnsafe(ref Y3, (nuint)i), a3);
        }
        d0 = Vector.Sum(a0); d1 = Vector.Sum(a1); d2 = Vector.Sum(a2); d3 = Vector.Sum(a3);
        for (; i < len; i++) { d0 += x[i] * y0[i]; d1 += x[i] * y1[i]; d2 += x[i] * y2[i]; d3 += x[i] * y3[i]; }
    }

    /// <summary>y += alpha * x.</summary>
    public static void Axpy(float alpha, ReadOnlySpan<float> x, Span<float> y)
    {
        int vw = Vector<float>.Count, i = 0;
        var av = new Vector<float>(alpha);
        ref float X = ref MemoryMarshal.GetReference(x);
        ref float Y = ref MemoryMarshal.GetReference(y);
        for (; i + vw <= x.Length; i += vw)
            Vector.FusedMultiplyAdd(av, Vector.LoadUnsafe(ref X, (nuint)i), Vector.LoadUnsafe(ref Y, (nuint)i)).StoreUnsafe(ref Y, (nuint)i);
        for (; i < x.Length; i++) y[i] += alpha * x[i];
    }
}

/// <summary>Fixed partition of a batch into chunks, one per worker, so reductions happen in chunk order.</summary>
internal static class Par
{
    public static void ForChunks(int count, int threads, Action<int, int, int> body)
    {
        int chunks = Math.Max(1, Math.Min(threads, count));
        if (chunks == 1) { body(0, 0, count); return; }
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = chunks }, c =>
            body(c, (int)((long)count * c / chunks), (int)((long)count * (c + 1) / chunks)));
    }

    public static int Chunks(int count, int threads) => Math.Max(1, Math.Min(threads, count));
}
