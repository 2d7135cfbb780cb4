using Cnn.Cli.Report;
using Cnn.Trainer;
using Cnn.Trainer.Data;
using Cnn.Trainer.Layers;

namespace Cnn.Cli.Demo;

/// <summary>Reads a trained float network for the report: first conv filters and feature maps.</summary>
public static class FloatInsight
{
    public static FirstConvSection? FirstConv(Network net, IDataset data, int sampleIndex, Preprocessing pre)
    {
        int ci = -1;
        for (int i = 0; i < net.Nodes.Count; i++)
            if (net.Nodes[i].Layer is Conv2d) { ci = i; break; }
        if (ci < 0) return null;
        var conv = (Conv2d)net.Nodes[ci].Layer;
        // Weight layout [Cout, Cin/groups, KH, KW]; a filter picture averages its input channels.
        int[] ws = conv.Weight.Shape;
        int cout = ws[0], cin = ws[1], kh = ws[2], kw = ws[3];
        var filters = new List<float[]>();
        for (int o = 0; o < cout; o++)
        {
            var f = new float[kh * kw];
            for (int c = 0; c < cin; c++)
                for (int k = 0; k < kh * kw; k++) f[k] += conv.Weight.Value[(o * cin + c) * kh * kw + k] / cin;
            filters.Add(f);
        }

        // One sample through the conv and the activation/BN nodes that directly follow it.
        var x = new Tensor(1, data.Channels, data.Height, data.Width);
        var bytes = new byte[data.Channels * data.Height * data.Width];
        data.GetPixels(sampleIndex, bytes);
        int plane = data.Height * data.Width;
        for (int c = 0; c < data.Channels; c++)
            for (int p = 0; p < plane; p++)
                x.Data[c * plane + p] = (bytes[c * plane + p] * pre.PixelScale - pre.Mean[c]) / pre.Std[c];
        var ctx = new RunContext { Training = false, Threads = 1 };
        if (net.Nodes[ci].Inputs is not [-1]) return null;  // first conv not fed by the input: no clean picture
        var y = conv.Forward([x], ctx);
        string stage = "conv";
        for (int j = ci + 1; j < net.Nodes.Count && net.Nodes[j].Inputs is [var src] && src == j - 1
             && net.Nodes[j].Layer is Activation or BatchNorm2d; j++)
        {
            y = net.Nodes[j].Layer.Forward([y], ctx);
            stage += "+" + net.Nodes[j].Layer.Kind;
        }
        var maps = new List<float[]>();
        for (int c = 0; c < y.C; c++) maps.Add(y.Data.AsSpan(c * y.H * y.W, y.H * y.W).ToArray());
        return new FirstConvSection($"{conv.Name} ({stage})", kh, kw, filters, DataSets.Picture(data, sampleIndex),
            data.Height, data.Width, maps, y.H, y.W, "the trained float model");
    }
}
