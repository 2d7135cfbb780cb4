using System.Runtime.CompilerServices;
using Cnn.Trainer.Kernels;

namespace Cnn.Trainer.Layers;

/// <summary>
/// 2-D convolution, weight [Cout, Cin/groups, KH, KW] (the ONNX/PyTorch layout), optional bias [Cout].
/// Forward per sample and group: col[Cin_g*KH*KW, OH*OW] = im2col(x); y_g[Cout_g, OH*OW] = W_g · col.
/// Batch split into fixed chunks (one per thread); weight gradients are summed per chunk then in chunk order.
/// </summary>
public sealed class Conv2d : Layer, IChunked, ISampleReader
{
    public int InChannels { get; }
    public int OutChannels { get; }
    public int Groups { get; }
    public ConvGeometry Geometry { get; }
    public Parameter Weight { get; }
    public Parameter? Bias { get; }
    public override string Kind => "Conv2d";

    private Tensor? _x, _y, _dx, _dy, _dxOut;
    private readonly Tensor?[] _grads = new Tensor?[1];
    private float[][] _col = [], _dcol = [], _dwT = [];
    private readonly ChunkGradients _grad = new();
    private DepthwisePlan? _dwPlan;
    private DepthwiseScratch[] _dwScratch = [];
    private ISampleObserver? _observeY, _observeDx;
    private IDeferredTensor? _writeX, _writeDy;

    /// <summary>Writes the input sample by sample as this layer reads it (the BatchNorm2d before it; set by <see cref="Network"/>).</summary>
    internal IDeferredTensor? InputWriter { get; set; }

    /// <summary>Writes the output gradient sample by sample as this layer reads it (the BatchNorm2d reading the output; set by <see cref="Network"/>).</summary>
    internal IDeferredTensor? OutputGradientWriter { get; set; }

    /// <summary>Reduces each output sample right after it is written (the BatchNorm2d reading the output; set by <see cref="Network"/>).</summary>
    internal ISampleObserver? OutputObserver { get; set; }

    /// <summary>Reduces each input-gradient sample right after it is written (set by <see cref="Network"/>).</summary>
    internal ISampleObserver? InputGradientObserver { get; set; }

    bool ISampleReader.ReadsSamples => true;
    IDeferredTensor? ISampleReader.InputWriter { get => InputWriter; set => InputWriter = value; }
    ISampleObserver? ISampleReader.InputGradientObserver { get => InputGradientObserver; set => InputGradientObserver = value; }

    public Conv2d(int inChannels, int outChannels, int kernel, int stride = 1, int padding = 0, int dilation = 1,
        int groups = 1, bool bias = true, Random? rng = null)
        : this(inChannels, outChannels, new ConvGeometry(kernel, kernel, stride, stride, padding, padding, dilation, dilation), groups, bias, rng) { }

    public Conv2d(int inChannels, int outChannels, ConvGeometry geometry, int groups, bool bias, Random? rng)
    {
        if (inChannels <= 0 || outChannels <= 0 || groups <= 0 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"Conv2d: channels {inChannels}->{outChannels} must be positive multiples of groups {groups}");
        if (geometry.KH <= 0 || geometry.KW <= 0 || geometry.StrideH <= 0 || geometry.StrideW <= 0 || geometry.DilH <= 0 || geometry.DilW <= 0 || geometry.PadH < 0 || geometry.PadW < 0)
            throw new ArgumentException($"Conv2d: invalid geometry {geometry}");
        InChannels = inChannels; OutChannels = outChannels; Groups = groups; Geometry = geometry;
        int fanIn = inChannels / groups * geometry.KH * geometry.KW;
        Weight = new Parameter("weight", [outChannels, inChannels / groups, geometry.KH, geometry.KW]);
        rng ??= new Random(0);
        float bound = 1f / MathF.Sqrt(fanIn);
        Init.Uniform(Weight.Value, bound, rng);
        if (bias)
        {
            Bias = new Parameter("bias", [outChannels]) { Decay = false };
            Init.Uniform(Bias.Value, bound, rng);
        }
    }

    /// <summary>One filter per input channel (multiplier 1): uses the direct depthwise kernel.</summary>
    public bool IsDepthwise => Groups == InChannels && OutChannels == InChannels && Groups > 1;

    public override IReadOnlyList<Parameter> Parameters => _params ??= Bias is null ? [Weight] : [Weight, Bias];
    private Parameter[]? _params;

    public override Shape OutputShape(Shape[] inputs)
    {
        ExpectArity(inputs);
        var s = inputs[0];
        if (s.C != InChannels) throw Bad($"expects {InChannels} input channels, got {s.C} (input {s})");
        int oh = Geometry.OutH(s.H), ow = Geometry.OutW(s.W);
        if (oh <= 0 || ow <= 0) throw Bad($"kernel {Geometry.KH}x{Geometry.KW} (dilation {Geometry.DilH}, padding {Geometry.PadH}) does not fit input {s}");
        return new Shape(OutChannels, oh, ow);
    }

    private void EnsureDepthwise(int chunks, int h, int w)
    {
        if (_dwPlan is null || !_dwPlan.Matches(Geometry, h, w)) { _dwPlan = new DepthwisePlan(Geometry, h, w); _dwScratch = []; }
        if (_dwScratch.Length != chunks) _dwScratch = [.. Enumerable.Range(0, chunks).Select(_ => _dwPlan.NewScratch())];
    }

    /// <summary>Per-chunk buffers: col for im2col, dcol for its gradient and for the transposed col of the weight gradient.</summary>
    private void EnsureScratch(int chunks, int colLen, int dcolLen)
    {
        if (_col.Length != chunks || _col[0].Length < colLen || _dcol[0].Length < dcolLen)
        {
            _col = new float[chunks][]; _dcol = new float[chunks][];
            for (int i = 0; i < chunks; i++) { _col[i] = new float[colLen]; _dcol[i] = new float[dcolLen]; }
        }
    }

    public override Tensor Forward(Tensor[] inputs, RunContext ctx)
    {
        var x = _x = inputs[0];
        int oh = Geometry.OutH(x.H), ow = Geometry.OutW(x.W);
        Tensor.Ensure(ref _y, x.N, OutChannels, oh, ow);
        int chunks = Par.Chunks(x.N, ctx.Threads);
        if (Packs(oh * ow)) EnsurePackScratch(chunks, oh * ow);
        else EnsureScratch(chunks, Geometry.IsPointwise || IsDepthwise ? 1 : ColumnRows * oh * ow, 1);
        if (IsDepthwise) EnsureDepthwise(chunks, x.H, x.W);
        _observeY = OutputObserver is { } o && o.Begin(_y!, ctx) ? o : null;
        _writeX = InputWriter is { } wx && wx.IsPending(x) ? wx : null;
        Par.ForChunks(x.N, ctx.Threads, this, OpForward);
        _observeY?.End(_y!);
        _writeX?.Complete();
        return _y!;
    }

    public override Tensor?[] Backward(Tensor dy, bool[] need, RunContext ctx)
    {
        var x = _x!;
        int kk = ColumnRows, ohw = dy.Plane;
        int chunks = Par.Chunks(x.N, ctx.Threads);
        if (Packs(ohw)) EnsurePackScratch(chunks, ohw);
        else EnsureScratch(chunks, Geometry.IsPointwise || IsDepthwise ? 1 : kk * ohw, IsDepthwise ? 1 : kk * ohw);
        if (IsDepthwise) EnsureDepthwise(chunks, x.H, x.W);
        _dy = dy;
        _dxOut = need[0] ? Tensor.Ensure(ref _dx, x.N, x.C, x.H, x.W) : null;
        if (_dwT.Length != chunks) _dwT = [.. Enumerable.Range(0, chunks).Select(_ => new float[Weight.Value.Length])];
        _observeDx = _dxOut is not null && InputGradientObserver is { } o && o.Begin(_dxOut, ctx) ? o : null;
        _writeDy = OutputGradientWriter is { } wd && wd.IsPending(dy) ? wd : null;
        _grad.Run(this, OpBackward, x.N, ctx.Threads, Weight, Bias, OutChannels);
        if (_dxOut is not null) _observeDx?.End(_dxOut);
        _writeDy?.Complete();
        _grads[0] = _dxOut;
        return _grads;
    }

    private const int OpForward = 0, OpBackward = 1;

    /// <summary>Rows of the im2col matrix (and columns of a group's weight matrix): Cin/groups · KH · KW.</summary>
    private int ColumnRows => InChannels / Groups * Geometry.KH * Geometry.KW;

    void IChunked.RunChunk(int op, int chunk, int n0, int n1)
    {
        if (op == OpForward) ForwardChunk(chunk, n0, n1);
        else BackwardChunk(chunk, n0, n1);
    }

    /// <summary>
    /// Pointwise convolutions of planes under 64 pixels (7×7) run on <see cref="PackSamples"/> samples side by side:
    /// one GEMM with N = samples · plane instead of one per sample with a 49-column tail (a vector and a fraction
    /// of 16 lanes). Each output is still one FMA chain over the input channels, so the bits do not change.
    /// </summary>
    private bool Packs(int ohw) => Geometry.IsPointwise && Groups == 1 && ohw < 64;

    private const int PackSamples = 4;

    /// <summary>The packed operands: forward x and y, backward dY and dX; one size both ways, so neither reallocates.</summary>
    private void EnsurePackScratch(int chunks, int ohw)
    {
        int len = PackSamples * ohw * Math.Max(InChannels, OutChannels);
        EnsureScratch(chunks, len, len);
    }

    /// <summary>Copies samples n0.. of t (rows × plane each) side by side into packed (rows × count·plane), or back.</summary>
    private static void Pack(Tensor t, int n0, int count, int rows, Span<float> packed, bool unpack)
    {
        int plane = t.Plane, wide = count * plane;
        for (int j = 0; j < count; j++)
        {
            ref float sample = ref t.Data[(n0 + j) * t.SampleSize];
            ref float cells = ref packed[j * plane];
            if (unpack) Vec.CopyRows(ref cells, wide, ref sample, plane, rows, plane);
            else Vec.CopyRows(ref sample, plane, ref cells, wide, rows, plane);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ForwardPacked(int chunk, int n0, int n1)
    {
        var x = _x!; var y = _y!;
        int ohw = y.Plane;
        float[]? b = Bias?.Value;
        for (int n = n0; n < n1; n += PackSamples)
        {
            int count = Math.Min(PackSamples, n1 - n), wide = count * ohw;
            var px = _col[chunk].AsSpan(0, InChannels * wide);
            var py = _dcol[chunk].AsSpan(0, OutChannels * wide);
            for (int j = 0; j < count; j++) _writeX?.WriteSample(n + j);
            Pack(x, n, count, InChannels, px, unpack: false);
            for (int oc = 0; oc < OutChannels; oc++) py.Slice(oc * wide, wide).Fill(b is null ? 0f : b[oc]);
            Gemm.NN(OutChannels, wide, InChannels, Weight.Value, InChannels, 1, px, wide, py, wide);
            Pack(y, n, count, OutChannels, py, unpack: true);
            for (int j = 0; j < count; j++) _observeY?.Sample(n + j, y.Sample(n + j));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ForwardChunk(int chunk, int n0, int n1)
    {
        if (Packs(_y!.Plane)) { ForwardPacked(chunk, n0, n1); return; }
        var x = _x!; var y = _y!;
        int ohw = y.Plane;
        int cinG = InChannels / Groups, coutG = OutChannels / Groups, kk = ColumnRows;
        float[] w = Weight.Value;
        float[]? b = Bias?.Value;
        var col = _col[chunk];
        for (int n = n0; n < n1; n++)
        {
            _writeX?.WriteSample(n);
            var xs = x.Sample(n);
            var ys = y.Sample(n);
            if (IsDepthwise)
                for (int c = 0; c < OutChannels; c++)
                    Depthwise.Forward(_dwPlan!, _dwScratch[chunk], xs.Slice(c * x.Plane, x.Plane), w.AsSpan(c * kk, kk), b is null ? 0f : b[c], ys.Slice(c * ohw, ohw));
            else
            {
                for (int oc = 0; oc < OutChannels; oc++) ys.Slice(oc * ohw, ohw).Fill(b is null ? 0f : b[oc]);
                for (int g = 0; g < Groups; g++)
                {
                    var xg = xs.Slice(g * cinG * x.Plane, cinG * x.Plane);
                    ReadOnlySpan<float> src = xg;
                    if (!Geometry.IsPointwise) { Im2Col.Forward(xg, cinG, x.H, x.W, Geometry, col); src = col; }
                    Gemm.NN(coutG, ohw, kk, w.AsSpan(g * coutG * kk), kk, 1, src, ohw, ys.Slice(g * coutG * ohw), ohw);
                }
            }
            _observeY?.Sample(n, ys);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void BackwardChunk(int chunk, int n0, int n1)
    {
        var x = _x!; var dy = _dy!; var dx = _dxOut;
        int ohw = dy.Plane;
        int cinG = InChannels / Groups, coutG = OutChannels / Groups, kk = ColumnRows;
        bool pointwise = Geometry.IsPointwise;
        float[] w = Weight.Value;
        var col = _col[chunk]; var dcol = _dcol[chunk];
        var (dw, db) = _grad.Begin(chunk);
        bool transposedDw = !IsDepthwise && ohw <= NtMinPlane && kk > coutG;
        var dwT = transposedDw ? _dwT[chunk] : [];
        if (transposedDw) Array.Clear(dwT);
        // Packed pointwise: the input gradient of each group of samples after their weight gradients, while dY is in cache.
        bool packs = dx is not null && Packs(ohw);
        if (packs) dx = null;
        int step = packs ? PackSamples : Math.Max(1, n1 - n0);
        for (int g0 = n0; g0 < n1; g0 += step)
        {
            int g1 = Math.Min(n1, g0 + step);
            for (int n = g0; n < g1; n++)
            {
                var xs = x.Sample(n);
                _writeDy?.WriteSample(n);
                var dys = dy.Sample(n);
                if (Bias is not null)
                    for (int oc = 0; oc < OutChannels; oc++) db[oc] += Vec.Sum(dys.Slice(oc * ohw, ohw));
                Span<float> dxs = dx is null ? default : dx.Sample(n);
                // The depthwise kernel writes every dx pixel; the GEMM paths accumulate into it.
                if (dx is not null && !IsDepthwise) dxs.Clear();
                if (IsDepthwise)
                {
                    for (int c = 0; c < OutChannels; c++)
                        Depthwise.Backward(_dwPlan!, _dwScratch[chunk], xs.Slice(c * x.Plane, x.Plane), w.AsSpan(c * kk, kk), dys.Slice(c * ohw, ohw),
                            dw.AsSpan(c * kk, kk), dx is null ? default : dxs.Slice(c * x.Plane, x.Plane));
                    _observeDx?.Sample(n, dxs);
                    continue;
                }
                for (int g = 0; g < Groups; g++)
                {
                    var xg = xs.Slice(g * cinG * x.Plane, cinG * x.Plane);
                    ReadOnlySpan<float> src = xg;
                    if (!pointwise) { Im2Col.Forward(xg, cinG, x.H, x.W, Geometry, col); src = col; }
                    var dyg = dys.Slice(g * coutG * ohw, coutG * ohw);
                    // dW_g[Cout_g, kk] += dY_g[Cout_g, ohw] · col[kk, ohw]ᵀ. Dot products pay a horizontal sum each and
                    // run much slower than the register-blocked NN kernel unless ohw is long; below that the smaller
                    // operand is transposed: col (C = dW_g), or dY (C = dW_gᵀ, added to dW at the end of the chunk).
                    if (ohw > NtMinPlane) Gemm.NT(coutG, kk, ohw, dyg, ohw, src, ohw, dw.AsSpan(g * coutG * kk), kk);
                    else if (kk <= coutG)
                    {
                        var colT = dcol.AsSpan(0, kk * ohw);
                        Gemm.Transpose(src, kk, ohw, colT);
                        Gemm.NN(coutG, kk, ohw, dyg, ohw, 1, colT, kk, dw.AsSpan(g * coutG * kk), kk);
                    }
                    else
                    {
                        var dyT = dcol.AsSpan(0, coutG * ohw);
                        Gemm.Transpose(dyg, coutG, ohw, dyT);
                        Gemm.NN(kk, coutG, ohw, src, ohw, 1, dyT, coutG, dwT.AsSpan(g * kk * coutG), coutG);
                    }
                    if (dx is null) continue;
                    // dcol[kk, ohw] = W_gᵀ · dY_g, then scattered back (col2im)
                    var dxg = dxs.Slice(g * cinG * x.Plane, cinG * x.Plane);
                    if (pointwise)
                        Gemm.NN(kk, ohw, coutG, w.AsSpan(g * coutG * kk), 1, kk, dyg, ohw, dxg, ohw);
                    else
                    {
                        var dc = dcol.AsSpan(0, kk * ohw);
                        dc.Clear();
                        Gemm.NN(kk, ohw, coutG, w.AsSpan(g * coutG * kk), 1, kk, dyg, ohw, dc, ohw);
                        Im2Col.Backward(dc, cinG, x.H, x.W, Geometry, dxg);
                    }
                }
                if (dx is not null) _observeDx?.Sample(n, dxs);
            }
            if (packs) BackwardPackedDx(chunk, g0, g1 - g0);
        }
        if (!transposedDw) return;
        for (int g = 0; g < Groups; g++)
            for (int oc = 0; oc < coutG; oc++)
            {
                var row = dw.AsSpan((g * coutG + oc) * kk, kk);
                for (int r = 0; r < kk; r++) row[r] += dwT[(g * kk + r) * coutG + oc];
            }
    }

    /// <summary>dX = Wᵀ · dY for <paramref name="count"/> samples side by side (see <see cref="Packs"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void BackwardPackedDx(int chunk, int n, int count)
    {
        var dy = _dy!; var dx = _dxOut!;
        int wide = count * dy.Plane;
        var pdy = _col[chunk].AsSpan(0, OutChannels * wide);
        var pdx = _dcol[chunk].AsSpan(0, InChannels * wide);
        Pack(dy, n, count, OutChannels, pdy, unpack: false);
        pdx.Clear();
        Gemm.NN(InChannels, wide, OutChannels, Weight.Value, 1, InChannels, pdy, wide, pdx, wide);
        Pack(dx, n, count, InChannels, pdx, unpack: true);
        for (int j = 0; j < count; j++) _observeDx?.Sample(n + j, dx.Sample(n + j));
    }

    /// <summary>Output planes longer than this take the weight gradient as dot products (<see cref="Gemm.NT"/>).</summary>
    private const int NtMinPlane = 256;
}
