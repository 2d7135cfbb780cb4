namespace Cnn.Edge;

/// <summary>
/// Where every activation lives in the one arena, and what that costs. Sizes here are slot sizes:
/// a tensor's byte length rounded up to 16 (the arena alignment), so <see cref="LowerBoundBytes"/>
/// is exactly what a perfect packing would need and <see cref="ArenaBytes"/> can reach it.
/// </summary>
public sealed class ArenaPlan
{
    /// <summary>Size of the arena: the end of the highest slot.</summary>
    public required int ArenaBytes { get; init; }
    /// <summary>The largest sum of slot sizes alive at one op: no placement can use less.</summary>
    public required int LowerBoundBytes { get; init; }
    /// <summary>The first op at which the live bytes reach <see cref="LowerBoundBytes"/>.</summary>
    public required int PeakOpIndex { get; init; }
    /// <summary>The taper: slot bytes alive while op i runs (its inputs and outputs included).</summary>
    public required long[] LiveBytesPerOp { get; init; }
    /// <summary>Per tensor: the first op during which it is alive (0 for model inputs), -1 for constants.</summary>
    public required int[] FirstOp { get; init; }
    /// <summary>Per tensor: the last op during which it is alive (the last op for model outputs), -1 for constants.</summary>
    public required int[] LastOp { get; init; }

    /// <summary>Tensors alive while op <paramref name="opIndex"/> runs, in index order.</summary>
    public IReadOnlyList<int> AliveAt(int opIndex)
    {
        var alive = new List<int>();
        for (int t = 0; t < FirstOp.Length; t++)
            if (FirstOp[t] >= 0 && FirstOp[t] <= opIndex && opIndex <= LastOp[t]) alive.Add(t);
        return alive;
    }
}
