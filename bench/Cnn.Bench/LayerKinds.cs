using Cnn.Edge;

namespace Cnn.Bench;

/// <summary>Op classes for per-layer-type instruction counts (MACs per executed instruction) and their MAC counts.</summary>
public static class LayerKinds
{
    public static readonly string[] Names = ["pointwise", "depthwise", "conv", "fc", "pool", "add", "other"];

    public static string Kind(OpInfo op, IReadOnlyList<TensorInfo> t)
    {
        switch (op.Code)
        {
            case OpCode.Conv2D:
                int[] w = t[op.Inputs[1]].Shape, x = t[op.Inputs[0]].Shape;
                if (w[3] == 1 && x[3] > 1 && w[0] == x[3]) return "depthwise";
                return w[1] == 1 && w[2] == 1 && op.Params[0] == 1 && op.Params[1] == 1 ? "pointwise" : "conv";
            case OpCode.FullyConnected: return "fc";
            case OpCode.MaxPool2D or OpCode.AveragePool2D or OpCode.GlobalAveragePool or OpCode.GlobalMaxPool: return "pool";
            case OpCode.Add: return "add";
            default: return "other";
        }
    }

    /// <summary>Multiply-accumulates of a Conv2D or FullyConnected op (output elements x weights per output); 0 for the rest.</summary>
    public static long Macs(OpInfo op, IReadOnlyList<TensorInfo> t)
    {
        if (op.Code is not (OpCode.Conv2D or OpCode.FullyConnected)) return 0;
        int[] w = t[op.Inputs[1]].Shape;
        long perOutput = 1;
        for (int i = 1; i < w.Length; i++) perOutput *= w[i];
        return t[op.Outputs[0]].ElementCount * perOutput;
    }
}
