using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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
    /// Every C element is one FMA chain over k in order, so the result does not depend on the vector width.
    /// </summary>
    public static void NN(int m, int n, int k, ReadOnlySpan<float> a, int aRow, int aCol,
        ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc)
    {
        switch (Simd.Width)
        {
            case SimdWidth.V512: NN<Vector512<float>, V512>(m, n, k, a, aRow, aCol, b, ldb, c, ldc); break;
            case SimdWidth.V256: NN<Vector256<float>, V256>(m, n, k, a, aRow, aCol, b, ldb, c, ldc); break;
            default: NN<Vector128<float>, V128>(m, n, k, a, aRow, aCol, b, ldb, c, ldc); break;
        }
    }

    [ThreadStatic] private static float[]? t_tailB;
    [ThreadStatic] private static float[]? t_tailC;

    /// <summary>
    /// Micro-kernels: 4 rows × 2 vectors of C in registers over the whole K loop, then 8 × 1 or 4 × 1 vector, whose
    /// eight (four) independent FMA chains keep the FMA units busy. The last N mod width columns: when N is at least
    /// one vector, the vector window [N − width, N) is computed from C's original values into a stash before the other
    /// kernels touch those rows and stored after them — the columns it shares with them get the same FMA chain from the
    /// same start, so the same bits, and nothing is copied from B. Narrower N runs on a zero-padded copy of B.
    /// </summary>
    // AggressiveOptimization here and on the other per-batch kernels (depthwise, the conv and BatchNorm chunk loops):
    // called a few times per batch, they otherwise run tier-0 or instrumented code for many batches before tier 1
    // arrives (−12 % CPU per batch in `--profile` after 5 warm-up batches); the arithmetic, so the weights, are the same.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void NN<TV, TO>(int m, int n, int k, ReadOnlySpan<float> a, int aRow, int aCol,
        ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc)
        where TV : unmanaged where TO : struct, ISimd<TV>
    {
        int vw = TO.Count;
        int nFull = n / vw * vw, tail = n - nFull;
        bool overlap = tail > 0 && n >= vw;
        ref float A = ref MemoryMarshal.GetReference(a);
        ref float B = ref MemoryMarshal.GetReference(b);
        ref float C = ref MemoryMarshal.GetReference(c);
        // Tail window: B's columns (ldbT between rows) and where its C rows start; results go to the stash S (vw apart).
        // (Never a ref before B's start: a narrower N points it at the padded copy instead.)
        ref float BT = ref overlap ? ref Unsafe.Add(ref B, n - vw) : ref B;
        int ldbT = ldb;
        ref float S = ref Unsafe.NullRef<float>();
        if (tail > 0)
        {
            S = ref MemoryMarshal.GetArrayDataReference(t_tailC ??= new float[8 * Simd.MaxLanes]);
            if (!overlap)
            {
                var bt = t_tailB is { } tb && tb.Length >= k * vw ? tb : t_tailB = new float[Math.Max(k * vw, 1024)];
                for (int p = 0; p < k; p++)
                {
                    var row = bt.AsSpan(p * vw, vw);
                    b.Slice(p * ldb, tail).CopyTo(row);
                    row[tail..].Clear();
                }
                BT = ref MemoryMarshal.GetArrayDataReference(bt);
                ldbT = vw;
            }
        }
        int i = 0;
        for (; i + 8 <= m; i += 8)
        {
            ref float Ai = ref Unsafe.Add(ref A, i * aRow);
            ref float Ci = ref Unsafe.Add(ref C, i * ldc);
            if (tail > 0)
            {
                if (overlap) Kernel8x1<TV, TO>(k, ref Ai, aRow, aCol, ref BT, ldbT, ref Unsafe.Add(ref Ci, n - vw), ldc, ref S, vw);
                else { PadIn(c, i, 8, ldc, tail, vw); Kernel8x1<TV, TO>(k, ref Ai, aRow, aCol, ref BT, ldbT, ref S, vw, ref S, vw); }
            }
            int j = 0;
            for (; j + 2 * vw <= nFull; j += 2 * vw)
            {
                Kernel4x2<TV, TO>(k, ref Ai, aRow, aCol, ref Unsafe.Add(ref B, j), ldb, ref Unsafe.Add(ref Ci, j), ldc);
                Kernel4x2<TV, TO>(k, ref Unsafe.Add(ref Ai, 4 * aRow), aRow, aCol, ref Unsafe.Add(ref B, j), ldb, ref Unsafe.Add(ref Ci, 4 * ldc + j), ldc);
            }
            for (; j < nFull; j += vw)
                Kernel8x1<TV, TO>(k, ref Ai, aRow, aCol, ref Unsafe.Add(ref B, j), ldb, ref Unsafe.Add(ref Ci, j), ldc, ref Unsafe.Add(ref Ci, j), ldc);
            if (tail > 0) TailOut<TV, TO>(c, i, 8, ldc, n, tail, overlap);
        }
        for (; i < m; i += 4)
        {
            int rows = Math.Min(4, m - i);
            ref float Ai = ref Unsafe.Add(ref A, i * aRow);
            ref float Ci = ref Unsafe.Add(ref C, i * ldc);
            if (tail > 0)
            {
                if (overlap) Kernel1<TV, TO>(rows, k, ref Ai, aRow, aCol, ref BT, ldbT, ref Unsafe.Add(ref Ci, n - vw), ldc, ref S, vw);
                else { PadIn(c, i, rows, ldc, tail, vw); Kernel1<TV, TO>(rows, k, ref Ai, aRow, aCol, ref BT, ldbT, ref S, vw, ref S, vw); }
            }
            int j = 0;
            if (rows == 4)
                for (; j + 2 * vw <= nFull; j += 2 * vw)
                    Kernel4x2<TV, TO>(k, ref Ai, aRow, aCol, ref Unsafe.Add(ref B, j), ldb, ref Unsafe.Add(ref Ci, j), ldc);
            for (; j < nFull; j += vw)
                Kernel1<TV, TO>(rows, k, ref Ai, aRow, aCol, ref Unsafe.Add(ref B, j), ldb, ref Unsafe.Add(ref Ci, j), ldc, ref Unsafe.Add(ref Ci, j), ldc);
            if (tail > 0) TailOut<TV, TO>(c, i, rows, ldc, n, tail, overlap);
        }
    }

    /// <summary>Rows [i, i + rows) of a C narrower than a vector into the zero-padded stash.</summary>
    private static void PadIn(Span<float> c, int i, int rows, int ldc, int n, int vw)
    {
        for (int r = 0; r < rows; r++)
        {
            c.Slice((i + r) * ldc, n).CopyTo(t_tailC!.AsSpan(r * vw, vw));
            t_tailC.AsSpan(r * vw + n, vw - n).Clear();
        }
    }

    /// <summary>The stashed tail window of rows [i, i + rows) into C: a whole vector ending at column n, or the first n columns.</summary>
    private static void TailOut<TV, TO>(Span<float> c, int i, int rows, int ldc, int n, int tail, bool overlap)
        where TV : unmanaged where TO : struct, ISimd<TV>
    {
        int vw = TO.Count;
        ref float S = ref MemoryMarshal.GetArrayDataReference(t_tailC!);
        ref float C = ref MemoryMarshal.GetReference(c);
        for (int r = 0; r < rows; r++)
            if (overlap) TO.Store(TO.Load(ref S, (nuint)(r * vw)), ref C, (nuint)((i + r) * ldc + n - vw));
            else t_tailC.AsSpan(r * vw, tail).CopyTo(c.Slice((i + r) * ldc, tail));
    }

    /// <summary>8 rows × 1 vector: C = CIn + A·B (CIn may be C).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Kernel8x1<TV, TO>(int k, ref float A, int aRow, int aCol, ref float B, int ldb, ref float CIn, int ldIn, ref float C, int ldc)
        where TV : unmanaged where TO : struct, ISimd<TV>
    {
        nuint l = (nuint)ldc, li = (nuint)ldIn;
        TV c0 = TO.Load(ref CIn, 0), c1 = TO.Load(ref CIn, li), c2 = TO.Load(ref CIn, 2 * li), c3 = TO.Load(ref CIn, 3 * li);
        TV c4 = TO.Load(ref CIn, 4 * li), c5 = TO.Load(ref CIn, 5 * li), c6 = TO.Load(ref CIn, 6 * li), c7 = TO.Load(ref CIn, 7 * li);
        for (int p = 0; p < k; p++)
        {
            TV b0 = TO.Load(ref B, (nuint)(p * ldb));
            ref float ap = ref Unsafe.Add(ref A, p * aCol);
            c0 = TO.Fma(TO.Splat(ap), b0, c0);
            c1 = TO.Fma(TO.Splat(Unsafe.Add(ref ap, aRow)), b0, c1);
            c2 = TO.Fma(TO.Splat(Unsafe.Add(ref ap, 2 * aRow)), b0, c2);
            c3 = TO.Fma(TO.Splat(Unsafe.Add(ref ap, 3 * aRow)), b0, c3);
            c4 = TO.Fma(TO.Splat(Unsafe.Add(ref ap, 4 * aRow)), b0, c4);
            c5 = TO.Fma(TO.Splat(Unsafe.Add(ref ap, 5 * aRow)), b0, c5);
            c6 = TO.Fma(TO.Splat(Unsafe.Add(ref ap, 6 * aRow)), b0, c6);
            c7 = TO.Fma(TO.Splat(Unsafe.Add(ref ap, 7 * aRow)), b0, c7);
        }
        TO.Store(c0, ref C, 0); TO.Store(c1, ref C, l); TO.Store(c2, ref C, 2 * l); TO.Store(c3, ref C, 3 * l);
        TO.Store(c4, ref C, 4 * l); TO.Store(c5, ref C, 5 * l); TO.Store(c6, ref C, 6 * l); TO.Store(c7, ref C, 7 * l);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Kernel4x2<TV, TO>(int k, ref float A, int aRow, int aCol, ref float B, int ldb, ref float C, int ldc)
        where TV : unmanaged where TO : struct, ISimd<TV>
    {
        nuint vw = (nuint)TO.Count, l1 = (nuint)ldc, l2 = 2 * l1, l3 = 3 * l1;
        TV c00 = TO.Load(ref C, 0), c01 = TO.Load(ref C, vw);
        TV c10 = TO.Load(ref C, l1), c11 = TO.Load(ref C, l1 + vw);
        TV c20 = TO.Load(ref C, l2), c21 = TO.Load(ref C, l2 + vw);
        TV c30 = TO.Load(ref C, l3), c31 = TO.Load(ref C, l3 + vw);
        for (int p = 0; p < k; p++)
        {
            ref float bp = ref Unsafe.Add(ref B, p * ldb);
            TV b0 = TO.Load(ref bp, 0), b1 = TO.Load(ref bp, vw);
            ref float ap = ref Unsafe.Add(ref A, p * aCol);
            TV a0 = TO.Splat(ap), a1 = TO.Splat(Unsafe.Add(ref ap, aRow));
            TV a2 = TO.Splat(Unsafe.Add(ref ap, 2 * aRow)), a3 = TO.Splat(Unsafe.Add(ref ap, 3 * aRow));
            c00 = TO.Fma(a0, b0, c00); c01 = TO.Fma(a0, b1, c01);
            c10 = TO.Fma(a1, b0, c10); c11 = TO.Fma(a1, b1, c11);
            c20 = TO.Fma(a2, b0, c20); c21 = TO.Fma(a2, b1, c21);
            c30 = TO.Fma(a3, b0, c30); c31 = TO.Fma(a3, b1, c31);
        }
        TO.Store(c00, ref C, 0); TO.Store(c01, ref C, vw);
        TO.Store(c10, ref C, l1); TO.Store(c11, ref C, l1 + vw);
        TO.Store(c20, ref C, l2); TO.Store(c21, ref C, l2 + vw);
        TO.Store(c30, ref C, l3); TO.Store(c31, ref C, l3 + vw);
    }

    /// <summary>1 to 4 rows × 1 vector: C = CIn + A·B (CIn may be C).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Kernel1<TV, TO>(int rows, int k, ref float A, int aRow, int aCol, ref float B, int ldb, ref float CIn, int ldIn, ref float C, int ldc)
        where TV : unmanaged where TO : struct, ISimd<TV>
    {
        if (rows == 4)
        {
            nuint l1 = (nuint)ldc, l2 = 2 * l1, l3 = 3 * l1, i1 = (nuint)ldIn;
            TV c0 = TO.Load(ref CIn, 0), c1 = TO.Load(ref CIn, i1), c2 = TO.Load(ref CIn, 2 * i1), c3 = TO.Load(ref CIn, 3 * i1);
            for (int p = 0; p < k; p++)
            {
                TV b0 = TO.Load(ref B, (nuint)(p * ldb));
                ref float ap = ref Unsafe.Add(ref A, p * aCol);
                c0 = TO.Fma(TO.Splat(ap), b0, c0);
                c1 = TO.Fma(TO.Splat(Unsafe.Add(ref ap, aRow)), b0, c1);
                c2 = TO.Fma(TO.Splat(Unsafe.Add(ref ap, 2 * aRow)), b0, c2);
                c3 = TO.Fma(TO.Splat(Unsafe.Add(ref ap, 3 * aRow)), b0, c3);
            }
            TO.Store(c0, ref C, 0); TO.Store(c1, ref C, l1); TO.Store(c2, ref C, l2); TO.Store(c3, ref C, l3);
            return;
        }
        for (int r = 0; r < rows; r++)
        {
            ref float Ar = ref Unsafe.Add(ref A, r * aRow);
            TV acc = TO.Load(ref Unsafe.Add(ref CIn, r * ldIn), 0);
            for (int p = 0; p < k; p++)
                acc = TO.Fma(TO.Splat(Unsafe.Add(ref Ar, p * aCol)), TO.Load(ref B, (nuint)(p * ldb)), acc);
            TO.Store(acc, ref Unsafe.Add(ref C, r * ldc), 0);
        }
    }

    /// <summary>C[M,N] += sum_p A[i,p] * B[j,p]: dot products of rows (A: lda, B: ldb, both row-major), at <see cref="Simd.Width"/>.</summary>
    public static void NT(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc)
    {
        if (m > 0 && n > 0 && (a.Length < (m - 1) * lda + k || b.Length < (n - 1) * ldb + k || c.Length < (m - 1) * ldc + n))
            throw new ArgumentException("NT: buffer too small");
        switch (Simd.Width)
        {
            case SimdWidth.V512: NT<Vector512<float>, V512>(m, n, k, a, lda, b, ldb, c, ldc); break;
            case SimdWidth.V256: NT<Vector256<float>, V256>(m, n, k, a, lda, b, ldb, c, ldc); break;
            default: NT<Vector128<float>, V128>(m, n, k, a, lda, b, ldb, c, ldc); break;
        }
    }

    /// <summary>Four dot products at a time share each load of A's row; lanes summed once at the end, then the scalar tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void NT<TV, TO>(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc)
        where TV : unmanaged where TO : struct, ISimd<TV>
    {
        int vw = TO.Count, kFull = k / vw * vw;
        ref float A = ref MemoryMarshal.GetReference(a);
        ref float B = ref MemoryMarshal.GetReference(b);
        ref float C = ref MemoryMarshal.GetReference(c);
        // B's rows outside, in fours, A's rows inside: four B rows stay in L1 while every A row passes (long rows
        // otherwise stream all of B from L2 once per row of A).
        int j = 0;
        for (; j + 4 <= n; j += 4)
        {
            ref float Y0 = ref Unsafe.Add(ref B, j * ldb);
            ref float Y1 = ref Unsafe.Add(ref Y0, ldb);
            ref float Y2 = ref Unsafe.Add(ref Y0, 2 * ldb);
            ref float Y3 = ref Unsafe.Add(ref Y0, 3 * ldb);
            for (int i = 0; i < m; i++)
            {
                ref float X = ref Unsafe.Add(ref A, i * lda);
                // Two accumulators per dot product (even and odd vectors): eight FMA chains in flight.
                TV a0 = TO.Zero, a1 = TO.Zero, a2 = TO.Zero, a3 = TO.Zero, b0 = TO.Zero, b1 = TO.Zero, b2 = TO.Zero, b3 = TO.Zero;
                int q = 0;
                for (; q + 2 * vw <= kFull; q += 2 * vw)
                {
                    nuint p0 = (nuint)q, p1 = (nuint)(q + vw);
                    var x0 = TO.Load(ref X, p0); var x1 = TO.Load(ref X, p1);
                    a0 = TO.Fma(x0, TO.Load(ref Y0, p0), a0); b0 = TO.Fma(x1, TO.Load(ref Y0, p1), b0);
                    a1 = TO.Fma(x0, TO.Load(ref Y1, p0), a1); b1 = TO.Fma(x1, TO.Load(ref Y1, p1), b1);
                    a2 = TO.Fma(x0, TO.Load(ref Y2, p0), a2); b2 = TO.Fma(x1, TO.Load(ref Y2, p1), b2);
                    a3 = TO.Fma(x0, TO.Load(ref Y3, p0), a3); b3 = TO.Fma(x1, TO.Load(ref Y3, p1), b3);
                }
                if (q < kFull)
                {
                    var xv = TO.Load(ref X, (nuint)q);
                    a0 = TO.Fma(xv, TO.Load(ref Y0, (nuint)q), a0);
                    a1 = TO.Fma(xv, TO.Load(ref Y1, (nuint)q), a1);
                    a2 = TO.Fma(xv, TO.Load(ref Y2, (nuint)q), a2);
                    a3 = TO.Fma(xv, TO.Load(ref Y3, (nuint)q), a3);
                }
                float d0 = TO.Sum(TO.Add(a0, b0)), d1 = TO.Sum(TO.Add(a1, b1)), d2 = TO.Sum(TO.Add(a2, b2)), d3 = TO.Sum(TO.Add(a3, b3));
                for (int p = kFull; p < k; p++)
                {
                    float xp = Unsafe.Add(ref X, p);
                    d0 += xp * Unsafe.Add(ref Y0, p); d1 += xp * Unsafe.Add(ref Y1, p);
                    d2 += xp * Unsafe.Add(ref Y2, p); d3 += xp * Unsafe.Add(ref Y3, p);
                }
                ref float Cij = ref Unsafe.Add(ref C, i * ldc + j);
                Cij += d0; Unsafe.Add(ref Cij, 1) += d1; Unsafe.Add(ref Cij, 2) += d2; Unsafe.Add(ref Cij, 3) += d3;
            }
        }
        for (; j < n; j++)
        {
            ref float Y = ref Unsafe.Add(ref B, j * ldb);
            for (int i = 0; i < m; i++)
            {
                ref float X = ref Unsafe.Add(ref A, i * lda);
                TV acc = TO.Zero;
                for (int p = 0; p < kFull; p += vw) acc = TO.Fma(TO.Load(ref X, (nuint)p), TO.Load(ref Y, (nuint)p), acc);
                float d = TO.Sum(acc);
                for (int p = kFull; p < k; p++) d += Unsafe.Add(ref X, p) * Unsafe.Add(ref Y, p);
                Unsafe.Add(ref C, i * ldc + j) += d;
            }
        }
    }

    /// <summary>dst[cols, rows] = srcᵀ, src[rows, cols] row-major; 8×8 blocks, so both sides stay in a few cache lines.</summary>
    public static void Transpose(ReadOnlySpan<float> src, int rows, int cols, Span<float> dst)
    {
        if (src.Length < rows * cols || dst.Length < rows * cols) throw new ArgumentException("transpose: buffer too small");
        ref float S = ref MemoryMarshal.GetReference(src);
        ref float D = ref MemoryMarshal.GetReference(dst);
        const int Block = 8;
        for (int r0 = 0; r0 < rows; r0 += Block)
        {
            int r1 = Math.Min(rows, r0 + Block);
            for (int c0 = 0; c0 < cols; c0 += Block)
            {
                int c1 = Math.Min(cols, c0 + Block);
                for (int c = c0; c < c1; c++)
                {
                    ref float d = ref Unsafe.Add(ref D, c * rows);
                    for (int r = r0; r < r1; r++) Unsafe.Add(ref d, r) = Unsafe.Add(ref S, r * cols + c);
                }
            }
        }
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
