using Cnn.Edge.Kernels;
using Cnn.Edge.Runtime.Ops;

namespace Cnn.Edge.Runtime;

/// <summary>
/// The graph pass of <see cref="InterpreterOptions.FuseBlocks"/>, at load: finds inverted-residual blocks (1x1 expand → depthwise →
/// 1x1 project, and the Add of a residual when the project output goes to it alone), plans an arena without their intermediate
/// tensors and replaces the block's ops by one <see cref="FusedInvertedResidualOp"/> at the index of its last op (the others do
/// nothing). A block fuses only when each intermediate tensor has exactly one consumer, the next op of the block, and is not a
/// model output; the model file and its stored plan are not changed.
/// </summary>
internal static class BlockFusion
{
    /// <summary>Op indices of one block (Add = -1 without), and the tensors it no longer materializes.</summary>
    public sealed record Block(int Expand, int Depthwise, int Project, int Add, int[] Intermediates)
    {
        public int Last => Add >= 0 ? Add : Project;
    }

    public static List<Block> Find(EdgeModel model)
    {
        IReadOnlyList<TensorInfo> t = model.Tensors;
        IReadOnlyList<OpInfo> ops = model.Ops;
        var uses = new int[t.Count];
        var consumer = new int[t.Count];
        foreach (OpInfo op in ops)
            foreach (int i in op.Inputs)
                if (i >= 0) { uses[i]++; consumer[i] = op.Index; }
        var isOutput = new bool[t.Count];
        foreach (int o in model.Outputs) isOutput[o] = true;
        // The one op reading tensor i, when it reads it once and i is no model output; else -1.
        int Only(int i) => uses[i] == 1 && !isOutput[i] ? consumer[i] : -1;

        var blocks = new List<Block>();
        var taken = new bool[ops.Count]; // a pointwise op may end one block and start the next: the first block keeps it
        foreach (OpInfo e in ops)
        {
            if (taken[e.Index] || !IsPointwise(e, t) || t[e.Inputs[0]].IsConstant) continue;
            int di = Only(e.Outputs[0]);
            if (di < 0 || !IsDepthwise(ops[di], t) || ops[di].Inputs[0] != e.Outputs[0]) continue;
            OpInfo d = ops[di];
            int pi = Only(d.Outputs[0]);
            if (pi < 0 || !IsPointwise(ops[pi], t) || ops[pi].Inputs[0] != d.Outputs[0]) continue;
            OpInfo p = ops[pi];
            int q = p.Outputs[0], ai = Only(q);
            Block b = ai >= 0 && IsResidualAdd(ops[ai], q, t)
                ? new Block(e.Index, di, pi, ai, [e.Outputs[0], d.Outputs[0], q])
                : new Block(e.Index, di, pi, -1, [e.Outputs[0], d.Outputs[0]]);
            blocks.Add(b);
            taken[b.Expand] = taken[b.Depthwise] = taken[b.Project] = true;
            if (b.Add >= 0) taken[b.Add] = true;
        }
        return blocks;
    }

    private static bool IsPointwise(OpInfo op, IReadOnlyList<TensorInfo> t)
    {
        if (op.Code != OpCode.Conv2D) return false;
        var p = OpShapes.ReadConvParams(op.Params);
        int[] w = t[op.Inputs[1]].Shape;
        return w[1] == 1 && w[2] == 1 && p.StrideH == 1 && p.StrideW == 1 && p.Groups == 1
            && p.PadTop == 0 && p.PadLeft == 0 && p.PadBottom == 0 && p.PadRight == 0;
    }

    private static bool IsDepthwise(OpInfo op, IReadOnlyList<TensorInfo> t)
    {
        if (op.Code != OpCode.Conv2D) return false;
        var p = OpShapes.ReadConvParams(op.Params);
        int cin = t[op.Inputs[0]].Shape[3];
        int[] w = t[op.Inputs[1]].Shape;
        return p.Groups == cin && w[0] == cin && w[3] == 1;
    }

    /// <summary>An Add of <paramref name="q"/> and another activation of the same shape (the vectorized Add; no broadcast).</summary>
    private static bool IsResidualAdd(OpInfo op, int q, IReadOnlyList<TensorInfo> t)
    {
        if (op.Code != OpCode.Add || op.Inputs.Length != 2) return false;
        int other = op.Inputs[0] == q ? op.Inputs[1] : op.Inputs[0];
        return other != q && !t[other].IsConstant && t[other].Shape.AsSpan().SequenceEqual(t[q].Shape);
    }

    /// <summary>
    /// Tensors with arena offsets planned without the blocks' intermediates (offset 0 there, never read or written: see
    /// <paramref name="removed"/>), the block inputs alive until the fused op runs; the stored plan's offsets when the new
    /// plan is no smaller and the stored offsets stay valid under the new lifetimes.
    /// </summary>
    public static (TensorInfo[] Tensors, ArenaPlan Plan) Replan(EdgeModel model, List<Block> blocks, out bool[] removed)
    {
        IReadOnlyList<TensorInfo> t = model.Tensors;
        int n = t.Count, opCount = model.Ops.Count;
        var first = (int[])model.Plan.FirstOp.Clone();
        var last = (int[])model.Plan.LastOp.Clone();
        removed = new bool[n];
        foreach (Block b in blocks)
        {
            foreach (int i in b.Intermediates) { removed[i] = true; first[i] = last[i] = -1; }
            foreach (int op in new[] { b.Expand, b.Add })
                if (op >= 0)
                    foreach (int i in model.Ops[op].Inputs)
                        if (i >= 0 && !t[i].IsConstant && !removed[i]) last[i] = Math.Max(last[i], b.Last);
        }
        var slot = new int[n];
        for (int i = 0; i < n; i++) slot[i] = first[i] < 0 ? 0 : Lifetimes.SlotBytes(t[i]);
        ArenaPlanner.Result r = ArenaPlanner.Plan(slot, first, last, opCount);
        int[] offsets = r.Offsets;
        int arenaBytes = r.ArenaBytes;
        if (arenaBytes >= model.Plan.ArenaBytes && StoredOffsetsFit(t, slot, first, last))
        {
            offsets = new int[n];
            for (int i = 0; i < n; i++) offsets[i] = first[i] < 0 ? -1 : t[i].ArenaOffset;
            arenaBytes = model.Plan.ArenaBytes;
        }
        var tensors = new TensorInfo[n];
        for (int i = 0; i < n; i++)
        {
            TensorInfo x = t[i];
            tensors[i] = x.IsConstant ? x : new TensorInfo
            {
                Index = x.Index, Name = x.Name, Type = x.Type, Shape = x.Shape, Scale = x.Scale, ZeroPoint = x.ZeroPoint,
                ChannelScales = x.ChannelScales, IsConstant = false, Data = x.Data, ArenaOffset = removed[i] ? 0 : offsets[i],
            };
        }
        var plan = new ArenaPlan
        {
            ArenaBytes = arenaBytes, LowerBoundBytes = r.LowerBound, PeakOpIndex = r.PeakOp, LiveBytesPerOp = r.LiveBytes,
            FirstOp = first, LastOp = last,
        };
        return (tensors, plan);
    }

    private static bool StoredOffsetsFit(IReadOnlyList<TensorInfo> t, int[] slot, int[] first, int[] last)
    {
        for (int a = 0; a < t.Count; a++)
            for (int b = a + 1; b < t.Count; b++)
                if (first[a] >= 0 && first[b] >= 0 && first[a] <= last[b] && first[b] <= last[a]
                    && t[a].ArenaOffset < t[b].ArenaOffset + slot[b] && t[b].ArenaOffset < t[a].ArenaOffset + slot[a])
                    return false;
        return true;
    }

    /// <summary>Replaces the block's prepared ops (prepared by <see cref="OpFactory"/> for an optimized ISA) by the fused op.</summary>
    public static void Apply(Block b, PreparedOp[] ops, EdgeModel model, IReadOnlyList<TensorInfo> tensors)
    {
        if (ops[b.Expand] is not Conv2DOptimizedOp expand || ops[b.Depthwise] is not DepthwiseOptimizedOp depthwise
            || ops[b.Project] is not Conv2DOptimizedOp project || (b.Add >= 0 && ops[b.Add] is not AddOptimizedOp))
            throw new InvalidOperationException("block fusion needs the optimized kernels (not the Scalar ISA)");
        AddOptimizedOp? add = b.Add >= 0 ? (AddOptimizedOp)ops[b.Add] : null;
        int q = model.Ops[b.Project].Outputs[0];
        OpInfo? addOp = b.Add >= 0 ? model.Ops[b.Add] : null;
        bool projectIsA = addOp is not null && addOp.Inputs[0] == q;
        TensorView residual = addOp is null ? default : new TensorView(tensors[projectIsA ? addOp.Inputs[1] : addOp.Inputs[0]]);
        ops[b.Last] = new FusedInvertedResidualOp(expand, depthwise, project, add, residual, projectIsA,
            new TensorView(tensors[model.Ops[b.Last].Outputs[0]]));
        ops[b.Expand] = ops[b.Depthwise] = FusedAwayOp.Instance;
        if (b.Add >= 0) ops[b.Project] = FusedAwayOp.Instance;
    }
}
