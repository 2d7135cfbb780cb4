using Cnn.Quantize.Graph;

namespace Cnn.Quantize.Float;

/// <summary>
/// Plain float32 reference evaluation of a <see cref="QGraph"/> (NHWC), used for calibration, bias
/// correction and the float side of the accuracy report. Loops are the specification, not fast:
/// accumulation is in float32 like ONNX Runtime's (agreement within 1e-4 relative is tested).
/// </summary>
public sealed class FloatEvaluator
{
    private readonly QGraph _graph;

    public FloatEvaluator(QGraph graph)
    {
        _graph = graph;
    }

    /// <summary>Runs the graph on one input (NHWC, the graph input's shape) and returns every value by name.
    /// <paramref name="onValue"/> sees each node's output as it is produced.</summary>
    public Dictionary<string, float[]> Run(float[] input, Action<QNode, float[]>? onValue = null)
    {
        var values = new Dictionary<string, float[]>();
        long expected = Count(_graph.InputShape);
        if (input.Length != expected)
            throw new ArgumentException($"input has {input.Length} values, the graph input '{_graph.InputName}' [{string.Join(",", _graph.InputShape)}] needs {expected}");
        values[_graph.InputName] = input;
        foreach (var n in _graph.Nodes)
        {
            var x = values[n.Inputs[0]];
            var xs = _graph.Shapes[n.Inputs[0]];
            var ys = _graph.Shapes[n.Output];
            var y = Evaluate(n, x, xs, ys, values);
            if (n.HasActivation && n.Kind != NodeKind.Clamp) Clamp(y, n.ActMin, n.ActMax);
            values[n.Output] = y;
            onValue?.Invoke(n, y);
        }
        return values;
    }

    internal static long Count(int[] s) => s.Aggregate(1L, (a, b) => a * b);

    private float[] Evaluate(QNode n, float[] x, int[] xs, int[] ys, Dictionary<string, float[]> values)
    {
        var y = new float[Count(ys)];
        switch (n.Kind)
        {
            case NodeKind.Conv: Conv(n, x, xs, y, ys); break;
            case NodeKind.ConvTranspose: ConvTranspose(n, x, xs, y, ys); break;
            case NodeKind.FullyConnected: FullyConnected(n, x, y, ys); break;
            case NodeKind.BatchNorm:
                {
                    int c = xs[^1];
                    for (int i = 0; i < x.Length; i++) y[i] = x[i] * n.Scale![i % c] + n.Shift![i % c];
                    break;
                }
            case NodeKind.MaxPool:
            case NodeKind.AveragePool: Pool(n, x, xs, y, ys); break;
            case NodeKind.GlobalAveragePool:
            case NodeKind.GlobalMaxPool: GlobalPool(n.Kind == NodeKind.GlobalMaxPool, x, xs, y); break;
            case NodeKind.Add:
                {
                    var b = values[n.Inputs[1]];
                    var bs = _graph.Shapes[n.Inputs[1]];
                    if (xs.SequenceEqual(bs))
                    {
                        for (int i = 0; i < y.Length; i++) y[i] = x[i] + b[i];
                        break;
                    }
                    // Broadcasting (one rank): output index → each input's index with its size-1 dimensions pinned to 0.
                    var idx = new int[ys.Length];
                    for (int i = 0; i < y.Length; i++)
                    {
                        int ia = 0, ib = 0;
                        for (int d = 0; d < ys.Length; d++)
                        {
                            ia = ia * xs[d] + (xs[d] == 1 ? 0 : idx[d]);
                            ib = ib * bs[d] + (bs[d] == 1 ? 0 : idx[d]);
                        }
                        y[i] = x[ia] + b[ib];
                        for (int d = ys.Length - 1; d >= 0 && ++idx[d] == ys[d]; d--) idx[d] = 0;
                    }
                    break;
                }
            case NodeKind.Concat:
                {
                    int outC = ys[^1];
                    long outer = y.Length / outC;
                    int offset = 0;
                    foreach (var name in n.Inputs)
                    {
                        var v = values[name];
                        int c = _graph.Shapes[name][^1];
                        for (long p = 0; p < outer; p++) Array.Copy(v, p * c, y, p * outC + offset, c);
                        offset += c;
                    }
                    break;
                }
            case NodeKind.Reshape: Array.Copy(x, y, y.Length); break;
            case NodeKind.ChannelShuffle:
                {
                    // Output channel j*g + i takes input channel i*(C/g) + j (ShuffleNet: reshape [g, C/g], transpose, flatten).
                    int c = xs[^1], g = n.Groups, per = c / g;
                    for (long p = 0; p < x.Length / c; p++)
                        for (int i = 0; i < g; i++)
                            for (int j = 0; j < per; j++)
                                y[p * c + j * g + i] = x[p * c + i * per + j];
                    break;
                }
            case NodeKind.Softmax:
                {
                    int c = xs[^1];
                    for (long p = 0; p < x.Length / c; p++)
                    {
                        double max = double.NegativeInfinity;
                        for (int i = 0; i < c; i++) max = Math.Max(max, x[p * c + i]);
                        double sum = 0;
                        for (int i = 0; i < c; i++) sum += Math.Exp(x[p * c + i] - max);
                        for (int i = 0; i < c; i++) y[p * c + i] = (float)(Math.Exp(x[p * c + i] - max) / sum);
                    }
                    break;
                }
            case NodeKind.Clamp:
                Array.Copy(x, y, y.Length);
                Clamp(y, n.ActMin, n.ActMax);
                break;
            case NodeKind.LeakyRelu:
                for (int i = 0; i < y.Length; i++) y[i] = x[i] >= 0 ? x[i] : n.Alpha * x[i];
                break;
            case NodeKind.Pad:
                {
                    int nb = xs[0], h = xs[1], w = xs[2], c = xs[3], oh = ys[1], ow = ys[2];
                    if (n.PadMode != Cnn.Edge.Kernels.PadMode.Constant)
                    {
                        // Reflect mirrors about the border element (-1 → 1), edge repeats it (-1 → 0).
                        bool reflect = n.PadMode == Cnn.Edge.Kernels.PadMode.Reflect;
                        int Src(int i, int size) => (uint)i < (uint)size ? i : reflect ? (i < 0 ? -i : 2 * (size - 1) - i) : (i < 0 ? 0 : size - 1);
                        for (int b = 0; b < nb; b++)
                            for (int i = 0; i < oh; i++)
                                for (int j = 0; j < ow; j++)
                                    Array.Copy(x, ((long)(b * h + Src(i - n.PadTop, h)) * w + Src(j - n.PadLeft, w)) * c, y, ((long)(b * oh + i) * ow + j) * c, c);
                        break;
                    }
                    if (n.PadValue != 0) Array.Fill(y, n.PadValue);
                    for (int b = 0; b < nb; b++)
                        for (int i = 0; i < h; i++)
                            Array.Copy(x, ((long)(b * h + i) * w) * c, y, ((long)(b * oh + i + n.PadTop) * ow + n.PadLeft) * c, (long)w * c);
                    break;
                }
            default: throw new NotSupportedException($"float evaluation of {n.Kind}");
        }
        return y;
    }

    private static void Clamp(float[] y, float lo, float hi)
    {
        for (int i = 0; i < y.Length; i++) y[i] = Math.Clamp(y[i], lo, hi);
    }

    private static void Conv(QNode n, float[] x, int[] xs, float[] y, int[] ys)
    {
        int nb = xs[0], h = xs[1], w = xs[2], cin = xs[3];
        int oh = ys[1], ow = ys[2], cout = ys[3];
        int g = n.Groups, cinG = cin / g, coutG = cout / g;
        var wt = n.Weights!.AsSpan();
        var bias = n.Bias!.AsSpan();
        var xv = x.AsSpan();
        var yv = y.AsSpan();
        bool depthwise = cinG == 1 && coutG == 1;
        for (int b = 0; b < nb; b++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    var acc = yv.Slice(((b * oh + oy) * ow + ox) * cout, cout);
                    bias.CopyTo(acc);
                    for (int ky = 0; ky < n.KernelH; ky++)
                    {
                        int iy = oy * n.StrideH - n.PadTop + ky * n.DilationH;
                        if ((uint)iy >= (uint)h) continue;
                        for (int kx = 0; kx < n.KernelW; kx++)
                        {
                            int ix = ox * n.StrideW - n.PadLeft + kx * n.DilationW;
                            if ((uint)ix >= (uint)w) continue;
                            var xp = xv.Slice(((b * h + iy) * w + ix) * cin, cin);
                            if (depthwise)
                            {
                                // weights [C,KH,KW,1]: channel c's tap is at c*KH*KW + ky*KW + kx.
                                int tap = ky * n.KernelW + kx, stride = n.KernelH * n.KernelW;
                                for (int c = 0; c < cout; c++) acc[c] += xp[c] * wt[c * stride + tap];
                                continue;
                            }
                            for (int co = 0; co < cout; co++)
                            {
                                var xg = xp.Slice(co / coutG * cinG, cinG);
                                var wp = wt.Slice(((co * n.KernelH + ky) * n.KernelW + kx) * cinG, cinG);
                                acc[co] += Dot(xg, wp);
                            }
                        }
                    }
                }
    }

    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        int i = 0;
        float sum = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated && a.Length >= System.Numerics.Vector<float>.Count)
        {
            var vs = System.Numerics.Vector<float>.Zero;
            int width = System.Numerics.Vector<float>.Count;
            for (; i <= a.Length - width; i += width)
                vs += new System.Numerics.Vector<float>(a.Slice(i, width)) * new System.Numerics.Vector<float>(b.Slice(i, width));
            sum = System.Numerics.Vector.Sum(vs);
        }
        for (; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }

    private static void ConvTranspose(QNode n, float[] x, int[] xs, float[] y, int[] ys)
    {
        int nb = xs[0], h = xs[1], w = xs[2], cin = xs[3];
        int oh = ys[1], ow = ys[2], cout = ys[3];
        var acc = new double[y.Length];
        var wt = n.Weights!;
        for (int b = 0; b < nb; b++)
            for (int iy = 0; iy < h; iy++)
                for (int ix = 0; ix < w; ix++)
                    for (int ky = 0; ky < n.KernelH; ky++)
                    {
                        int oy = iy * n.StrideH - n.PadTop + ky * n.DilationH;
                        if ((uint)oy >= (uint)oh) continue;
                        for (int kx = 0; kx < n.KernelW; kx++)
                        {
                            int ox = ix * n.StrideW - n.PadLeft + kx * n.DilationW;
                            if ((uint)ox >= (uint)ow) continue;
                            int xo = ((b * h + iy) * w + ix) * cin;
                            for (int co = 0; co < cout; co++)
                            {
                                int wo = ((co * n.KernelH + ky) * n.KernelW + kx) * cin;
                                double s = 0;
                                for (int ci = 0; ci < cin; ci++) s += (double)x[xo + ci] * wt[wo + ci];
                                acc[((b * oh + oy) * ow + ox) * cout + co] += s;
                            }
                        }
                    }
        for (int i = 0; i < y.Length; i++) y[i] = (float)(acc[i] + n.Bias![i % cout]);
    }

    private static void FullyConnected(QNode n, float[] x, float[] y, int[] ys)
    {
        int cout = n.WeightShape![0], k = n.WeightShape[1];
        int batch = ys[0];
        for (int b = 0; b < batch; b++)
            for (int o = 0; o < cout; o++)
            {
                y[b * cout + o] = n.Bias![o] + Dot(x.AsSpan(b * k, k), n.Weights.AsSpan(o * k, k));
            }
    }

    private static void Pool(QNode n, float[] x, int[] xs, float[] y, int[] ys)
    {
        int nb = xs[0], h = xs[1], w = xs[2], c = xs[3], oh = ys[1], ow = ys[2];
        bool max = n.Kind == NodeKind.MaxPool;
        for (int b = 0; b < nb; b++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                    for (int ch = 0; ch < c; ch++)
                    {
                        double acc = max ? double.NegativeInfinity : 0;
                        int count = 0;
                        int y0 = oy * n.StrideH - n.PadTop, x0 = ox * n.StrideW - n.PadLeft;
                        for (int ky = 0; ky < n.KernelH; ky++)
                            for (int kx = 0; kx < n.KernelW; kx++)
                            {
                                int iy = y0 + ky, ix = x0 + kx;
                                if ((uint)iy >= (uint)h || (uint)ix >= (uint)w) continue;
                                float v = x[((b * h + iy) * w + ix) * c + ch];
                                if (max) acc = Math.Max(acc, v);
                                else acc += v;
                                count++;
                            }
                        if (!max)
                        {
                            if (n.CountIncludePad)
                            {
                                // Padded positions count, positions beyond the padding (ceil mode) do not.
                                int ye = Math.Min(y0 + n.KernelH, h + n.PadBottom), xe = Math.Min(x0 + n.KernelW, w + n.PadRight);
                                count = (ye - y0) * (xe - x0);
                            }
                            acc = count > 0 ? acc / count : 0;
                        }
                        y[((b * oh + oy) * ow + ox) * c + ch] = (float)acc;
                    }
    }

    private static void GlobalPool(bool max, float[] x, int[] xs, float[] y)
    {
        int nb = xs[0], hw = xs[1] * xs[2], c = xs[3];
        for (int b = 0; b < nb; b++)
            for (int ch = 0; ch < c; ch++)
            {
                double acc = max ? double.NegativeInfinity : 0;
                for (int p = 0; p < hw; p++)
                {
                    float v = x[((long)b * hw + p) * c + ch];
                    acc = max ? Math.Max(acc, v) : acc + v;
                }
                y[b * c + ch] = (float)(max ? acc : acc / hw);
            }
    }

    /// <summary>NCHW → NHWC copy (4-D); other ranks are returned as is.</summary>
    public static float[] ToNhwc(float[] x, int[] nchw)
    {
        if (nchw.Length != 4) return x;
        int n = nchw[0], c = nchw[1], h = nchw[2], w = nchw[3];
        var r = new float[x.Length];
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int i = 0; i < h * w; i++)
                    r[(b * h * w + i) * c + ch] = x[(b * c + ch) * h * w + i];
        return r;
    }

    /// <summary>NHWC → NCHW copy (4-D, shape given as NHWC); other ranks are returned as is.</summary>
    public static float[] ToNchw(float[] x, int[] nhwc)
    {
        if (nhwc.Length != 4) return x;
        int n = nhwc[0], h = nhwc[1], w = nhwc[2], c = nhwc[3];
        var r = new float[x.Length];
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int i = 0; i < h * w; i++)
                    r[(b * c + ch) * h * w + i] = x[(b * h * w + i) * c + ch];
        return r;
    }
}
