using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Cnn.Trainer.Kernels;

namespace Cnn.Trainer.Layers;

/// <summary>
/// Max or average pooling over KxK windows. Average counts padded cells (PyTorch's default
/// count_include_pad=True; the exporter writes count_include_pad=1). Global=true pools the whole plane to 1x1
/// (adaptive pooling to 1x1, exported as GlobalAveragePool/GlobalMaxPool).
/// </summary>
public sealed class Pool2d : Layer, IChunked, ISampleReader
{
    public bool IsMax { get; }
    public bool Global { get; }
    public ConvGeometry Geometry { get; private set; }
    public bool CeilMode => false;
    public override string Kind => (Global ? "Global" : "") + (IsMax ? "MaxPool" : "AvgPool");

    private Tensor? _x, _y, _dx, _dy;
    private readonly Tensor?[] _grads = new Tensor?[1];
    private int[] _argmax = [];

    public Pool2d(bool isMax, int kernel, int stride, int padding = 0)
    {
        if (kernel <= 0 || stride <= 0 || padding < 0 || padding * 2 > kernel)
            throw new ArgumentException($"pool: invalid kernel {kernel}, stride {stride}, padding {padding}");
        IsMax = isMax;
        Geometry = new ConvGeometry(kernel, kernel, stride, stride, padding, padding, 1, 1);
    }

    private Pool2d(bool isMax) { IsMax = isMax; Global = true; }

    public static Pool2d Max(int kernel, int? stride = null, int padding = 0) => new(true, kernel, stride ?? kernel, padding);
    public static Pool2d Avg(int kernel, int? stride = null, int padding = 0) => new(false, kernel, stride ?? kernel, padding);
    public static Pool2d GlobalAvg() => new(false);
    public static Pool2d GlobalMax() => new(true);

    public override Shape OutputShape(Shape[] inputs)
    {
        ExpectArity(inputs);
        var s = inputs[0];
        if (Global) return new Shape(s.C, 1, 1);
        int oh = Geometry.OutH(s.H), ow = Geometry.OutW(s.W);
        if (oh <= 0 || ow <= 0) throw Bad($"window {Geometry.KH}x{Geometry.KW} does not fit input {s}");
        return new Shape(s.C, oh, ow);
    }

    private ConvGeometry Window(Tensor x) => Global ? new ConvGeometry(x.H, x.W, 1, 1, 0, 0, 1, 1) : Geometry;

    // Global average pooling reads and writes whole samples when the BatchNorm before it writes its input, and
    // reduces its gradient, sample by sample (set by Network); then its chunks are samples instead of planes.
    private IDeferredTensor? _inputWriter, _writeX;
    private ISampleObserver? _dxObserver, _observeDx;
    bool ISampleReader.ReadsSamples => Global && !IsMax;
    IDeferredTensor? ISampleReader.InputWriter { get => _inputWriter; set => _inputWriter = value; }
    ISampleObserver? ISampleReader.InputGradientObserver { get => _dxObserver; set => _dxObserver = value; }

    public override Tensor Forward(Tensor[] inputs, RunContext ctx)
    {
        var x = _x = inputs[0];
        var g = Window(x);
        var y = Tensor.Ensure(ref _y, x.N, x.C, g.OutH(x.H), g.OutW(x.W));
        if (IsMax && _argmax.Length < y.Length) _argmax = new int[y.Length];
        _writeX = _inputWriter is { } wx && wx.IsPending(x) ? wx : null;
        if (_writeX is not null)
        {
            Par.ForChunks(x.N, Par.ThreadsFor(ctx.Threads, x.Length), this, OpGlobalAvgSamples);
            _writeX.Complete();
            return y;
        }
        int op = Global && !IsMax ? OpGlobalAvg
            : IsMax && g is { KH: 2, KW: 2, StrideH: 2, StrideW: 2, PadH: 0, PadW: 0 } ? OpMax2x2 : OpForward;
        Par.ForChunks(x.N * x.C, Par.ThreadsFor(ctx.Threads, x.Length), this, op);
        return y;
    }

    public override Tensor?[] Backward(Tensor dy, bool[] need, RunContext ctx)
    {
        var x = _x!;
        _dy = dy;
        var dx = Tensor.Ensure(ref _dx, x.N, x.C, x.H, x.W);
        _grads[0] = dx;
        _observeDx = _dxObserver is { } o && o.Begin(dx, ctx) ? o : null;
        if (_observeDx is not null)
        {
            Par.ForChunks(x.N, Par.ThreadsFor(ctx.Threads, x.Length), this, OpGlobalAvgBackSamples);
            _observeDx.End(dx);
            return _grads;
        }
        Par.ForChunks(x.N * x.C, Par.ThreadsFor(ctx.Threads, x.Length), this, Global && !IsMax ? OpGlobalAvgBack : OpBackward);
        return _grads;
    }

    private const int OpForward = 0, OpGlobalAvg = 1, OpMax2x2 = 2, OpBackward = 3, OpGlobalAvgBack = 4, OpGlobalAvgSamples = 5, OpGlobalAvgBackSamples = 6;

    /// <summary>Runs planes [p0, p1) of the batch (plane p = sample p / C, channel p mod C), or samples for the *Samples ops.</summary>
    void IChunked.RunChunk(int op, int chunk, int p0, int p1)
    {
        var x = _x!;
        var g = Window(x);
        float inv = 1f / (g.KH * g.KW);
        switch (op)
        {
            case OpGlobalAvgSamples:
                for (int n = p0; n < p1; n++)
                {
                    _writeX!.WriteSample(n);
                    GlobalAvg(x, inv, n * x.C, (n + 1) * x.C);
                }
                break;
            case OpGlobalAvgBackSamples:
                for (int n = p0; n < p1; n++)
                {
                    GlobalAvgBack(x, inv, n * x.C, (n + 1) * x.C);
                    _observeDx!.Sample(n, _dx!.Sample(n));
                }
                break;
            case OpGlobalAvg: GlobalAvg(x, inv, p0, p1); break;
            case OpGlobalAvgBack: GlobalAvgBack(x, inv, p0, p1); break;
            case OpMax2x2: MaxPool2x2(x, _y!, _argmax, p0, p1); break;
            case OpForward: ForwardPlanes(x, _y!, g, inv, p0, p1); break;
            default: BackwardPlanes(x, _dy!, _dx!, g, inv, p0, p1); break;
        }
    }

    private void GlobalAvg(Tensor x, float inv, int p0, int p1)
    {
        for (int p = p0; p < p1; p++) _y!.Data[p] = Vec.Sum(x.Data.AsSpan(p * x.Plane, x.Plane)) * inv;
    }

    private void GlobalAvgBack(Tensor x, float inv, int p0, int p1)
    {
        for (int p = p0; p < p1; p++) _dx!.Data.AsSpan(p * x.Plane, x.Plane).Fill(_dy!.Data[p] * inv);
    }

    private void ForwardPlanes(Tensor x, Tensor y, ConvGeometry g, float inv, int p0, int p1)
    {
        int oh = y.H, ow = y.W;
        for (int p = p0; p < p1; p++)
        {
            int xo = p * x.Plane, yo = p * oh * ow;
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    int y0 = oy * g.StrideH - g.PadH, x0 = ox * g.StrideW - g.PadW;
                    float best = float.NegativeInfinity, sum = 0; int arg = -1;
                    for (int ky = 0; ky < g.KH; ky++)
                    {
                        int iy = y0 + ky;
                        if ((uint)iy >= (uint)x.H) continue;
                        for (int kx = 0; kx < g.KW; kx++)
                        {
                            int ix = x0 + kx;
                            if ((uint)ix >= (uint)x.W) continue;
                            float v = x.Data[xo + iy * x.W + ix];
                            sum += v;
                            if (v > best || arg < 0) { best = v; arg = iy * x.W + ix; }
                        }
                    }
                    int yi = yo + oy * ow + ox;
                    if (IsMax) { y.Data[yi] = best; _argmax[yi] = xo + arg; }
                    else y.Data[yi] = sum * inv;
                }
        }
    }

    private void BackwardPlanes(Tensor x, Tensor dy, Tensor dx, ConvGeometry g, float inv, int p0, int p1)
    {
        int oh = dy.H, ow = dy.W;
        for (int p = p0; p < p1; p++)
        {
            int xo = p * x.Plane, yo = p * oh * ow;
            dx.Data.AsSpan(xo, x.Plane).Clear();
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    int yi = yo + oy * ow + ox;
                    if (IsMax) { dx.Data[_argmax[yi]] += dy.Data[yi]; continue; }
                    float d = dy.Data[yi] * inv;
                    int y0 = oy * g.StrideH - g.PadH, x0 = ox * g.StrideW - g.PadW;
                    for (int ky = 0; ky < g.KH; ky++)
                    {
                        int iy = y0 + ky;
                        if ((uint)iy >= (uint)x.H) continue;
                        for (int kx = 0; kx < g.KW; kx++)
                        {
                            int ix = x0 + kx;
                            if ((uint)ix < (uint)x.W) dx.Data[xo + iy * x.W + ix] += d;
                        }
                    }
                }
        }
    }

    /// <summary>
    /// 2×2 stride-2 max pooling of planes [p0, p1) (LeNet's pools); same first-maximum rule as the general loop. Rows of
    /// at least 8 outputs run 8 at a time (the last block overlapping the previous one: it rewrites the same values).
    /// </summary>
    private static void MaxPool2x2(Tensor x, Tensor y, int[] argmax, int p0, int p1)
    {
        int w = x.W, oh = y.H, ow = y.W;
        var xd = x.Data; var yd = y.Data;
        bool vector = ow >= 8 && Vector256.IsHardwareAccelerated;
        for (int p = p0; p < p1; p++)
        {
            int xo = p * x.Plane, yo = p * oh * ow;
            for (int oy = 0; oy < oh; oy++)
            {
                int r0 = xo + 2 * oy * w, o = yo + oy * ow;
                if (vector)
                {
                    int ox = 0;
                    for (; ox + 8 <= ow; ox += 8) Max8(xd, r0, w, ox, yd, argmax, o);
                    if (ox < ow) Max8(xd, r0, w, ow - 8, yd, argmax, o);
                    continue;
                }
                for (int ox = 0; ox < ow; ox++)
                {
                    int i = r0 + 2 * ox, arg = i;
                    float best = xd[i];
                    if (xd[i + 1] > best) { best = xd[i + 1]; arg = i + 1; }
                    if (xd[i + w] > best) { best = xd[i + w]; arg = i + w; }
                    if (xd[i + w + 1] > best) { best = xd[i + w + 1]; arg = i + w + 1; }
                    yd[o + ox] = best;
                    argmax[o + ox] = arg;
                }
            }
        }
    }

    private static Vector256<int> Unzip => Vector256.Create(0, 2, 4, 6, 1, 3, 5, 7);

    /// <summary>Outputs ox .. ox + 7 of the output row at o, from input rows r0 and r0 + w: the scalar rule lane by lane.</summary>
    private static void Max8(float[] xd, int r0, int w, int ox, float[] yd, int[] argmax, int o)
    {
        int i = r0 + 2 * ox;
        if ((uint)(i + w + 16) > (uint)xd.Length || (uint)(o + ox + 8) > (uint)yd.Length || (uint)(o + ox + 8) > (uint)argmax.Length)
            throw new IndexOutOfRangeException();
        ref float X = ref MemoryMarshal.GetArrayDataReference(xd);
        // Columns 2ox .. 2ox + 15 of each row, split into the left (even) and right (odd) cells of the 8 windows.
        var t0 = Vector256.Shuffle(Vector256.LoadUnsafe(ref X, (nuint)i), Unzip);
        var t1 = Vector256.Shuffle(Vector256.LoadUnsafe(ref X, (nuint)(i + 8)), Unzip);
        var b0 = Vector256.Shuffle(Vector256.LoadUnsafe(ref X, (nuint)(i + w)), Unzip);
        var b1 = Vector256.Shuffle(Vector256.LoadUnsafe(ref X, (nuint)(i + w + 8)), Unzip);
        var best = Vector256.Create(t0.GetLower(), t1.GetLower());
        var first = Vector256.Create(i) + Vector256.Create(0, 2, 4, 6, 8, 10, 12, 14);
        var arg = first;
        Take(ref best, ref arg, Vector256.Create(t0.GetUpper(), t1.GetUpper()), first + Vector256.Create(1));
        Take(ref best, ref arg, Vector256.Create(b0.GetLower(), b1.GetLower()), first + Vector256.Create(w));
        Take(ref best, ref arg, Vector256.Create(b0.GetUpper(), b1.GetUpper()), first + Vector256.Create(w + 1));
        best.StoreUnsafe(ref MemoryMarshal.GetArrayDataReference(yd), (nuint)(o + ox));
        arg.StoreUnsafe(ref MemoryMarshal.GetArrayDataReference(argmax), (nuint)(o + ox));
    }

    /// <summary>Where v &gt; best (false for NaN, as in the scalar loop): best = v, arg = index.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Take(ref Vector256<float> best, ref Vector256<int> arg, Vector256<float> v, Vector256<int> index)
    {
        var gt = Vector256.GreaterThan(v, best);
        best = Vector256.ConditionalSelect(gt, v, best);
        arg = Vector256.ConditionalSelect(gt.AsInt32(), index, arg);
    }
}
