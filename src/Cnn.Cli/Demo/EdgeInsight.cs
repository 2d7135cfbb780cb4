using Cnn.Cli.Report;
using Cnn.Edge;

namespace Cnn.Cli.Demo;

/// <summary>Report sections read from a loaded int8 edge model.</summary>
public static class EdgeInsight
{
    /// <summary>The memory taper: slot bytes alive while each op runs, from the model's own arena plan.</summary>
    public static TaperSection Taper(EdgeModel model, long? budget) => new(
        [.. model.Ops.Select(o => $"{o.Index} {o.Name}")],
        model.Plan.LiveBytesPerOp,
        model.Plan.ArenaBytes,
        model.Plan.LowerBoundBytes,
        model.Plan.PeakOpIndex,
        budget,
        model.Tensors.Where(t => t.IsConstant).Sum(t => (long)t.ByteLength));
}
