using Cnn.Trainer.Kernels;

namespace Cnn.Trainer.Tests;

/// <summary>
/// The vector kernels against scalar loops, at every vector width, over random shapes. GEMM and the depthwise
/// forward and input gradient keep one FMA chain per output in a fixed order, so they must match bit for bit;
/// the depthwise weight gradient sums in vector lanes, so it is compared within a tolerance.
/// </summary>
[Collection(nameof(SerialCollection))]
public class KernelTests
{
    public static TheoryData<SimdWidth> Widths => [SimdWidth.V128, SimdWidth.V256, SimdWidth.V512];

    private static void At(SimdWidth w, Action body)
    {
        var old = Simd.Width;
        Simd.Width = w;
        try { body(); } finally { Simd.Width = old; }
    }

    private static float[] Random(Random rng, int n)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        return a;
    }

    [Theory, MemberData(nameof(Widths))]
    public void GemmNNIsBitIdenticalToScalarFmaLoops(SimdWidth width) => At(width, () =>
    {
        var rng = new Random(7);
        for (int trial = 0; trial < 200; trial++)
        {
            int m = rng.Next(1, 21), n = rng.Next(1, 70), k = rng.Next(1, 40);
            bool transA = rng.Next(2) == 0;
            int aRow = transA ? 1 : k, aCol = transA ? m : 1;
            int ldb = n + rng.Next(3), ldc = n + rng.Next(3);
            var a = Random(rng, m * k); var b = Random(rng, k * ldb); var c = Random(rng, m * ldc);
            var expect = (float[])c.Clone();
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    float s = expect[i * ldc + j];
                    for (int p = 0; p < k; p++) s = MathF.FusedMultiplyAdd(a[i * aRow + p * aCol], b[p * ldb + j], s);
                    expect[i * ldc + j] = s;
                }
            Gemm.NN(m, n, k, a, aRow, aCol, b, ldb, c, ldc);
            for (int i = 0; i < c.Length; i++)
                Assert.True(BitConverter.SingleToInt32Bits(expect[i]) == BitConverter.SingleToInt32Bits(c[i]),
                    $"{width} m{m} n{n} k{k} transA {transA} ldb {ldb} ldc {ldc}: C[{i}] = {c[i]:R}, scalar {expect[i]:R}");
        }
    });

    [Theory, MemberData(nameof(Widths))]
    public void GemmNTMatchesDoublePrecisionDotProducts(SimdWidth width) => At(width, () =>
    {
        // NT sums in vector lanes (two accumulators per product), so it is compared within a tolerance; k crosses the
        // vector and double-vector blocks, n the blocks of four rows of B.
        var rng = new Random(9);
        for (int trial = 0; trial < 200; trial++)
        {
            int m = rng.Next(1, 9), n = rng.Next(1, 12), k = rng.Next(1, 80);
            int lda = k + rng.Next(3), ldb = k + rng.Next(3), ldc = n + rng.Next(3);
            var a = Random(rng, m * lda); var b = Random(rng, n * ldb); var c = Random(rng, m * ldc);
            var expect = c.Select(v => (double)v).ToArray();
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                    for (int p = 0; p < k; p++) expect[i * ldc + j] += (double)a[i * lda + p] * b[j * ldb + p];
            Gemm.NT(m, n, k, a, lda, b, ldb, c, ldc);
            for (int i = 0; i < c.Length; i++)
                Assert.True(Math.Abs(c[i] - expect[i]) < 1e-5 * (k + 1), $"{width} m{m} n{n} k{k} lda {lda} ldb {ldb} ldc {ldc}: C[{i}] = {c[i]}, expected {expect[i]}");
        }
    });

    [Theory, MemberData(nameof(Widths))]
    public void DepthwiseMatchesScalarLoops(SimdWidth width) => At(width, () =>
    {
        var rng = new Random(13);
        for (int trial = 0; trial < 150; trial++)
        {
            int kh = rng.Next(1, 6), kw = rng.Next(1, 6), sh = rng.Next(1, 4), sw = rng.Next(1, 4), dh = rng.Next(1, 3), dw = rng.Next(1, 3);
            int ph = rng.Next(0, 3), pw = rng.Next(0, 3);
            int h = rng.Next(1, 14), w = rng.Next(1, 14);
            // The first trials are the zoo MobileNet's planes (3×3, pad 1: 28×28 and 14×14 at stride 2, 7×7 at stride 1) and a
            // larger one, so the kernels' four-vector blocks and their tails run on real shapes at every width.
            if (trial < 4)
            {
                (h, sh, kh, dh, ph) = trial switch { 0 => (28, 2, 3, 1, 1), 1 => (14, 2, 3, 1, 1), 2 => (7, 1, 3, 1, 1), _ => (31, 1, 5, 2, 2) };
                (w, sw, kw, dw, pw) = (h, sh, kh, dh, ph);
            }
            var g = new ConvGeometry(kh, kw, sh, sw, ph, pw, dh, dw);
            int oh = g.OutH(h), ow = g.OutW(w);
            if (oh <= 0 || ow <= 0) continue;
            string what = $"{width} {g} on {h}x{w}";
            var x = Random(rng, h * w); var k = Random(rng, kh * kw); var dy = Random(rng, oh * ow);
            float bias = (float)rng.NextDouble();
            var plan = new DepthwisePlan(g, h, w);
            var scratch = plan.NewScratch();

            var y = new float[oh * ow];
            Depthwise.Forward(plan, scratch, x, k, bias, y);
            var dk = new float[kh * kw]; var dx = new float[h * w];
            Array.Fill(dx, float.NaN);   // the kernel must write every input pixel's gradient
            Depthwise.Backward(plan, scratch, x, k, dy, dk, dx);

            var dkRef = new double[kh * kw]; var dxRef = new float[h * w];
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    float acc = bias;
                    for (int ky = 0; ky < kh; ky++)
                        for (int kx = 0; kx < kw; kx++)
                        {
                            int iy = oy * sh - ph + ky * dh, ix = ox * sw - pw + kx * dw;
                            bool inside = (uint)iy < (uint)h && (uint)ix < (uint)w;
                            acc = MathF.FusedMultiplyAdd(k[ky * kw + kx], inside ? x[iy * w + ix] : 0f, acc);
                            if (inside) dkRef[ky * kw + kx] += (double)dy[oy * ow + ox] * x[iy * w + ix];
                        }
                    Assert.True(BitConverter.SingleToInt32Bits(acc) == BitConverter.SingleToInt32Bits(y[oy * ow + ox]), $"{what}: y[{oy},{ox}] = {y[oy * ow + ox]:R}, scalar {acc:R}");
                }
            // dx: one FMA chain per input pixel over the taps in order (each tap reaches a pixel from at most one output), 0 if none.
            for (int iy = 0; iy < h; iy++)
                for (int ix = 0; ix < w; ix++)
                {
                    float acc = 0;
                    for (int ky = 0; ky < kh; ky++)
                        for (int kx = 0; kx < kw; kx++)
                        {
                            int ny = iy + ph - ky * dh, nx = ix + pw - kx * dw;
                            if (ny < 0 || nx < 0 || ny % sh != 0 || nx % sw != 0 || ny / sh >= oh || nx / sw >= ow) continue;
                            acc = MathF.FusedMultiplyAdd(k[ky * kw + kx], dy[ny / sh * ow + nx / sw], acc);
                        }
                    dxRef[iy * w + ix] = acc;
                }
            for (int i = 0; i < dx.Length; i++)
                Assert.True(BitConverter.SingleToInt32Bits(dxRef[i]) == BitConverter.SingleToInt32Bits(0f + dx[i]) || dxRef[i] == dx[i], $"{what}: dx[{i}] = {dx[i]:R}, scalar {dxRef[i]:R}");
            for (int t = 0; t < dk.Length; t++)
                Assert.True(Math.Abs(dk[t] - dkRef[t]) < 1e-4 * (1 + Math.Abs(dkRef[t])), $"{what}: dk[{t}] = {dk[t]}, scalar {dkRef[t]}");
        }
    });

    [Theory]
    [MemberData(nameof(Widths))]
    public void PackedPointwiseConvEqualsOneGemmPerSampleBitForBit(SimdWidth width) => At(width, () =>
    {
        // 7×7 and 5×6 planes take the packed path (samples side by side); 9 samples over 1 or 2 threads leave partial groups.
        var rng = new Random(21);
        foreach (var (cin, cout, h, w, threads) in new[] { (20, 33, 7, 7, 1), (20, 33, 7, 7, 2), (7, 5, 5, 6, 2), (16, 16, 1, 3, 2) })
        {
            const int n = 9;
            var conv = new Layers.Conv2d(cin, cout, 1, bias: true, rng: rng);
            var x = new Tensor(n, cin, h, w);
            Random(rng, x.Length).CopyTo(x.Data, 0);
            var ctx = new Layers.RunContext { Training = true, Threads = threads };
            var y = conv.Forward([x], ctx);
            var dy = new Tensor(n, cout, h, w);
            Random(rng, dy.Length).CopyTo(dy.Data, 0);
            var dx = conv.Backward(dy, [true], ctx)[0]!;
            int plane = h * w;
            for (int i = 0; i < n; i++)
            {
                var yRef = new float[cout * plane];
                for (int oc = 0; oc < cout; oc++) yRef.AsSpan(oc * plane, plane).Fill(conv.Bias!.Value[oc]);
                Gemm.NN(cout, plane, cin, conv.Weight.Value, cin, 1, x.Sample(i), plane, yRef, plane);
                Assert.True(yRef.AsSpan().SequenceEqual(y.Sample(i)), $"{cin}->{cout} {h}x{w} {threads} threads {width}: y of sample {i}");
                var dxRef = new float[cin * plane];
                Gemm.NN(cin, plane, cout, conv.Weight.Value, 1, cin, dy.Sample(i), plane, dxRef, plane);
                Assert.True(dxRef.AsSpan().SequenceEqual(dx.Sample(i)), $"{cin}->{cout} {h}x{w} {threads} threads {width}: dx of sample {i}");
            }
        }
    });
}

/// <summary>Tests that set the process-wide <see cref="Simd.Width"/> or count allocations run alone.</summary>
[CollectionDefinition(nameof(SerialCollection), DisableParallelization = true)]
public sealed class SerialCollection;
