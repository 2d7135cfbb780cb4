using Cnn.Quantize.Graph;

namespace Cnn.Quantize.Passes;

/// <summary>What the passes did, for the report.</summary>
public sealed class PassLog
{
    public List<string> Lines { get; } = [];
    public int FoldedBatchNorms { get; set; }
    public int FusedActivations { get; set; }
    public int FoldedPads { get; set; }
}

/// <summary>
/// Float-graph rewrites before quantization (docs/quantization.md). Identity and Dropout are already
/// gone after import. Each pass keeps the graph's float function (BN folding to rounding: tested
/// against the unfolded graph within 1e-5 relative).
/// </summary>
public static class GraphPasses
{
    /// <summary>All passes in order: fold BN, fold Pad, fuse activations, remaining BN to depthwise conv.</summary>
    public static PassLog Run(QGraph g)
    {
        var log = new PassLog();
        FoldBatchNorm(g, log);
        FoldPad(g, log);
        FuseActivations(g, log);
        BatchNormToDepthwise(g, log);
        return log;
    }

    /// <summary>
    /// BN after a Conv/ConvTranspose/FullyConnected whose output only the BN reads:
    /// y = (W x + b) * k + s = (k W) x + (k b + s), with k = gamma / sqrt(var + eps) and
    /// s = beta - mean * k per output channel (computed in double at import).
    /// </summary>
    public static void FoldBatchNorm(QGraph g, PassLog log)
    {
        foreach (var bn in g.Nodes.Where(n => n.Kind == NodeKind.BatchNorm).ToList())
        {
            var p = SoleProducer(g, bn.Inputs[0]);
            if (p is not { Kind: NodeKind.Conv or NodeKind.ConvTranspose or NodeKind.FullyConnected } || p.HasActivation) continue;
            int cout = p.WeightShape![0];
            if (bn.Scale!.Length != cout) continue;
            int per = p.Weights!.Length / cout;
            for (int co = 0; co < cout; co++)
            {
                double k = bn.Scale[co];
                for (int i = 0; i < per; i++) p.Weights[co * per + i] = (float)(p.Weights[co * per + i] * k);
                p.Bias![co] = (float)(p.Bias[co] * k + bn.Shift![co]);
            }
            Replace(g, p, bn);
            p.Origin += "+" + bn.Origin;
            log.FoldedBatchNorms++;
            log.Lines.Add($"folded BatchNormalization '{bn.Name}' into {p.Kind} '{p.Name}'");
        }
    }

    /// <summary>A zero Pad read only by a Conv becomes the Conv's padding.</summary>
    public static void FoldPad(QGraph g, PassLog log)
    {
        foreach (var pad in g.Nodes.Where(n => n.Kind == NodeKind.Pad).ToList())
        {
            var consumers = g.Consumers(pad.Output).ToList();
            if (pad.PadValue != 0 || pad.PadMode != Cnn.Edge.Kernels.PadMode.Constant || consumers is not [{ Kind: NodeKind.Conv } conv] || g.Outputs.Contains(pad.Output)) continue;
            conv.PadTop += pad.PadTop;
            conv.PadLeft += pad.PadLeft;
            conv.PadBottom += pad.PadBottom;
            conv.PadRight += pad.PadRight;
            conv.Inputs[0] = pad.Inputs[0];
            conv.Origin = pad.Origin + "+" + conv.Origin;
            g.Nodes.Remove(pad);
            g.Shapes.Remove(pad.Output);
            log.FoldedPads++;
            log.Lines.Add($"folded Pad '{pad.Name}' into Conv '{conv.Name}' padding");
        }
    }

    /// <summary>A ReLU/ReLU6/Clip that is the only reader of its producer's output, where the producer has an
    /// output clamp in the edge format, becomes that clamp (the requantization's act_min/act_max).</summary>
    public static void FuseActivations(QGraph g, PassLog log)
    {
        foreach (var clamp in g.Nodes.Where(n => n.Kind == NodeKind.Clamp).ToList())
        {
            var p = SoleProducer(g, clamp.Inputs[0]);
            if (p is null || p.Kind is not (NodeKind.Conv or NodeKind.ConvTranspose or NodeKind.FullyConnected or NodeKind.Add
                or NodeKind.Concat or NodeKind.MaxPool or NodeKind.AveragePool or NodeKind.GlobalAveragePool or NodeKind.BatchNorm or NodeKind.Clamp))
                continue;
            p.ActMin = Math.Max(p.ActMin, clamp.ActMin);
            p.ActMax = Math.Min(p.ActMax, clamp.ActMax);
            Replace(g, p, clamp);
            p.Origin += "+" + clamp.Origin;
            log.FusedActivations++;
            log.Lines.Add($"fused {Describe(clamp)} '{clamp.Name}' into {p.Kind} '{p.Name}'");
        }
    }

    /// <summary>A BN that could not be folded (its input has other readers, or is the graph input) becomes a
    /// depthwise 1x1 convolution with weight = scale and bias = shift, which the edge runtime runs.</summary>
    public static void BatchNormToDepthwise(QGraph g, PassLog log)
    {
        foreach (var bn in g.Nodes.Where(n => n.Kind == NodeKind.BatchNorm))
        {
            if (g.Shapes[bn.Output].Length != 4) continue;
            int c = bn.Scale!.Length;
            float lo = bn.ActMin, hi = bn.ActMax;
            bn.Kind = NodeKind.Conv;
            bn.Weights = [.. bn.Scale];
            bn.WeightShape = [c, 1, 1, 1];
            bn.Bias = [.. bn.Shift!];
            bn.Groups = c;
            bn.KernelH = bn.KernelW = 1;
            bn.ActMin = lo;
            bn.ActMax = hi;
            log.Lines.Add($"BatchNormalization '{bn.Name}' kept as a depthwise 1x1 convolution (no foldable producer)");
        }
    }

    private static string Describe(QNode clamp) =>
        clamp.ActMin == 0 && float.IsPositiveInfinity(clamp.ActMax) ? "ReLU" : clamp.ActMin == 0 && clamp.ActMax == 6 ? "ReLU6" : $"Clip[{clamp.ActMin},{clamp.ActMax}]";

    /// <summary>The producer of <paramref name="value"/> when the value has exactly one reader and is not a graph output.</summary>
    private static QNode? SoleProducer(QGraph g, string value)
    {
        if (g.Outputs.Contains(value) || g.Consumers(value).Count() != 1) return null;
        return g.Producer(value);
    }

    /// <summary>Removes <paramref name="removed"/> (which reads only <paramref name="producer"/>'s output) and lets the producer write its output.</summary>
    private static void Replace(QGraph g, QNode producer, QNode removed)
    {
        g.Shapes.Remove(producer.Output);
        producer.Output = removed.Output;
        g.Nodes.Remove(removed);
    }
}
