using Cnn.Edge.Format;

namespace Cnn.Edge.Runtime;

/// <summary>
/// The static arena planner. Every activation gets one slot (byte length rounded up to 16) at a fixed
/// offset; two slots may share memory only when their lifetimes (first..last op, inclusive) are disjoint.
/// Strategies, best result kept:
///  1. greedy by size (TFLite's GreedyMemoryPlanner idea): largest tensor first, each placed in the
///     lowest gap left by the already placed tensors whose lifetimes overlap it;
///  2. two-sided: when no three activations are ever alive together and the overlap graph is
///     bipartite (chains), one side grows from offset 0 and the other hangs from the lower bound, which
///     reaches the bound exactly (two overlapping slots always fit: a + b &lt;= bound).
/// </summary>
internal static class ArenaPlanner
{
    public sealed record Result(int[] Offsets, int ArenaBytes, int LowerBound, int PeakOp, long[] LiveBytes);

    /// <summary>Offsets (-1 for constants) for slots of <paramref name="slot"/> bytes alive over first..last.</summary>
    public static Result Plan(int[] slot, int[] first, int[] last, int opCount)
    {
        var (live, bound, peak) = Lifetimes.Taper(slot, first, last, opCount);
        if (bound > ModelLayout.MaxArenaBytes)
            throw new InvalidOperationException($"the activations need {bound} bytes at op #{peak}, above the 1 GiB arena cap");

        int[] best = GreedyBySize(slot, first, last);
        long bestEnd = End(best, slot);
        if (bestEnd > bound && TwoSided(slot, first, last, opCount, (int)bound) is { } two)
        {
            long end = End(two, slot);
            if (end < bestEnd) { best = two; bestEnd = end; }
        }
        return new Result(best, (int)bestEnd, (int)bound, peak, live);
    }

    private static long End(int[] offsets, int[] slot)
    {
        long end = 0;
        for (int t = 0; t < offsets.Length; t++)
            if (offsets[t] >= 0) end = Math.Max(end, (long)offsets[t] + slot[t]);
        return end;
    }

    private static bool Overlap(int a, int b, int[] first, int[] last) => first[a] <= last[b] && first[b] <= last[a];

    private static int[] GreedyBySize(int[] slot, int[] first, int[] last)
    {
        int n = slot.Length;
        var offsets = new int[n];
        Array.Fill(offsets, -1);
        var order = new List<int>();
        for (int t = 0; t < n; t++) if (first[t] >= 0) order.Add(t);
        order.Sort((a, b) => slot[a] != slot[b] ? slot[b].CompareTo(slot[a])
            : first[a] != first[b] ? first[a].CompareTo(first[b]) : a.CompareTo(b));

        var placed = new List<int>();
        var conflicts = new List<int>();
        foreach (int t in order)
        {
            conflicts.Clear();
            foreach (int p in placed) if (Overlap(t, p, first, last)) conflicts.Add(p);
            conflicts.Sort((a, b) => offsets[a].CompareTo(offsets[b]));
            // Walk the conflicting slots in offset order; the first gap of slot[t] bytes wins.
            long candidate = 0;
            foreach (int p in conflicts)
            {
                if (offsets[p] - candidate >= slot[t]) break;
                candidate = Math.Max(candidate, (long)offsets[p] + slot[p]);
            }
            offsets[t] = (int)candidate;
            placed.Add(t);
        }
        return offsets;
    }

    private static int[]? TwoSided(int[] slot, int[] first, int[] last, int opCount, int bound)
    {
        int n = slot.Length;
        // Alive counts per op: more than two at once means a clique of three, where this layout fails.
        var count = new int[opCount + 1];
        for (int t = 0; t < n; t++)
        {
            if (first[t] < 0) continue;
            count[first[t]]++;
            count[last[t] + 1]--;
        }
        for (int i = 0, run = 0; i < opCount; i++) { run += count[i]; if (run > 2) return null; }

        // With at most two alive at a time, a tensor overlaps at most one tensor that started before it
        // (the one alive when it starts), so the overlap graph is a forest: colour against that one.
        var order = new List<int>();
        for (int t = 0; t < n; t++) if (first[t] >= 0) order.Add(t);
        order.Sort((a, b) => first[a] != first[b] ? first[a].CompareTo(first[b]) : a.CompareTo(b));
        var side = new int[n];
        var offsets = new int[n];
        Array.Fill(offsets, -1);
        for (int k = 0; k < order.Count; k++)
        {
            int t = order[k];
            int s = 0;
            for (int j = k - 1; j >= 0; j--)
                if (last[order[j]] >= first[t]) { s = 1 - side[order[j]]; break; }
            side[t] = s;
            offsets[t] = s == 0 ? 0 : bound - slot[t];
        }
        // Verify rather than trust the argument: every overlapping pair must be disjoint in memory.
        for (int a = 0; a < order.Count; a++)
            for (int b = a + 1; b < order.Count && first[order[b]] <= last[order[a]]; b++)
            {
                int x = order[a], y = order[b];
                if (offsets[x] < offsets[y] + slot[y] && offsets[y] < offsets[x] + slot[x]) return null;
            }
        return offsets;
    }
}
