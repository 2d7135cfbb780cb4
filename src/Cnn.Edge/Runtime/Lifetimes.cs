namespace Cnn.Edge.Runtime;

/// <summary>
/// Tensor lifetimes from the op order, with the graph checks they rely on: every activation is either
/// a model input or produced by exactly one op before any op reads it. A model input lives from op 0,
/// a model output until the last op; any other activation from its producer to its last reader.
/// </summary>
internal static class Lifetimes
{
    /// <summary>Fills first/last op per tensor (-1 for constants). Throws ModelFormatException naming the op.</summary>
    public static (int[] First, int[] Last) Compute(IReadOnlyList<TensorInfo> tensors, IReadOnlyList<OpInfo> ops,
        int[] inputs, int[] outputs)
    {
        int n = tensors.Count;
        var first = new int[n];
        var last = new int[n];
        Array.Fill(first, -1);
        Array.Fill(last, -1);
        var isInput = new bool[n];
        foreach (int t in inputs) { isInput[t] = true; first[t] = 0; last[t] = 0; }

        for (int i = 0; i < ops.Count; i++)
        {
            OpInfo op = ops[i];
            foreach (int t in op.Inputs)
            {
                if (t < 0 || tensors[t].IsConstant) continue;
                if (first[t] < 0)
                    throw Fail(op, $"input tensor {t} ('{tensors[t].Name}') produced by an earlier op or a model input",
                        "a tensor read before any op writes it", "ops must be stored in execution order");
                last[t] = i;
            }
            foreach (int t in op.Outputs)
            {
                if (tensors[t].IsConstant)
                    throw Fail(op, "an activation as output", $"constant tensor {t} ('{tensors[t].Name}')", "ops cannot write constants");
                if (isInput[t])
                    throw Fail(op, "an activation as output", $"model input {t} ('{tensors[t].Name}')", "ops cannot write model inputs");
                if (first[t] >= 0)
                    throw Fail(op, "each activation written by one op", $"tensor {t} ('{tensors[t].Name}') written twice", "give every op output its own tensor");
                first[t] = i;
                last[t] = i;
            }
        }
        for (int t = 0; t < n; t++)
        {
            if (!tensors[t].IsConstant && first[t] < 0)
                throw new ModelFormatException("tensors", 0, "every activation a model input or an op output",
                    $"tensor {t} ('{tensors[t].Name}') is neither", "remove the tensor or connect it");
        }
        int end = Math.Max(ops.Count - 1, 0);
        foreach (int t in outputs) last[t] = end;
        return (first, last);
    }

    private static ModelFormatException Fail(OpInfo op, string expected, string actual, string hint) =>
        new("ops", op.FileOffset, expected, actual, $"op #{op.Index} {op.Code} '{op.Name}': {hint}");

    /// <summary>Slot size of a tensor in the arena: byte length rounded up to the arena alignment, 0 for constants.</summary>
    public static int SlotBytes(TensorInfo t) =>
        t.IsConstant ? 0 : Format.ModelLayout.AlignUp(t.ByteLength, Format.ModelLayout.ArenaAlignment);

    /// <summary>Live slot bytes per op (difference array over lifetimes) and the bound = their maximum.</summary>
    public static (long[] LiveBytes, long LowerBound, int PeakOp) Taper(int[] slot, int[] first, int[] last, int opCount)
    {
        var diff = new long[opCount + 1];
        for (int t = 0; t < slot.Length; t++)
        {
            if (first[t] < 0) continue;
            diff[first[t]] += slot[t];
            diff[last[t] + 1] -= slot[t];
        }
        var live = new long[opCount];
        long run = 0, max = 0;
        int peak = 0;
        for (int i = 0; i < opCount; i++)
        {
            run += diff[i];
            live[i] = run;
            if (run > max) { max = run; peak = i; }
        }
        return (live, max, peak);
    }
}
