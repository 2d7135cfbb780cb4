using Cnn.Edge.Format;

namespace Cnn.Edge.Runtime;

/// <summary>
/// The static arena planner. Every activation gets one slot (byte length rounded up to 16) at a fixed
/// offset; two slots may share memory only when their lifetimes (first..last op, inclusive) are disjoint.
/// Strategies, best result kept:
///  1. greedy placement (TFLite's GreedyMemoryPlanner idea): each tensor in the lowest gap left by the
///     already placed tensors whose lifetimes overlap it, in three orders: by size, by breadth (the
///     tensors of the most loaded op first) and by size x lifetime;
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

        int[] best = Greedy(slot, first, last, OrderBySize(slot, first));
        long bestEnd = End(best, slot);
        foreach (List<int> order in new[] { OrderByBreadth(slot, first, last, live), OrderByArea(slot, first, last) })
        {
            if (bestEnd == bound) break;
            int[] candidate = Greedy(slot, first, last, order);
            long end = End(candidate, slot);
            if (end < bestEnd) { best = candidate; bestEnd = end; }
        }
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

    /// <summary>Largest slot first (TFLite's greedy by size); ties by first use.</summary>
    private static List<int> OrderBySize(int[] slot, int[] first)
    {
        var order = new List<int>();
        for (int t = 0; t < slot.Length; t++) if (first[t] >= 0) order.Add(t);
        order.Sort((a, b) => slot[a] != slot[b] ? slot[b].CompareTo(slot[a])
            : first[a] != first[b] ? first[a].CompareTo(first[b]) : a.CompareTo(b));
        return order;
    }

    /// <summary>TFLite's greedy by breadth: ops by live bytes (largest first), and at each op its alive tensors by size.</summary>
    private static List<int> OrderByBreadth(int[] slot, int[] first, int[] last, long[] live)
    {
        var ops = Enumerable.Range(0, live.Length).OrderByDescending(i => live[i]).ThenBy(i => i).ToList();
        var bySize = OrderBySize(slot, first);
        var taken = new bool[slot.Length];
        var order = new List<int>(bySize.Count);
        foreach (int op in ops)
            foreach (int t in bySize)
                if (!taken[t] && first[t] <= op && op <= last[t]) { taken[t] = true; order.Add(t); }
        return order;
    }

    /// <summary>Largest size x lifetime first: long-lived big tensors claim the bottom of the arena.</summary>
    private static List<int> OrderByArea(int[] slot, int[] first, int[] last)
    {
        var order = OrderBySize(slot, first);
        order.Sort((a, b) =>
        {
            long aa = (long)slot[a] * (last[a] - first[a] + 1), ab = (long)slot[b] * (last[b] - first[b] + 1);
            return aa != ab ? ab.CompareTo(aa) : a.CompareTo(b);
        });
        return order;
    }

    /// <summary>Places tensors in the given order, each in the lowest gap left by the placed tensors whose lifetimes overlap it.</summary>
    private static int[] Greedy(int[] slot, int[] first, int[] last, List<int> order)
    {
        int n = slot.Length;
        var offsets = new int[n];
        Array.Fill(offsets, -1);
        var placed = new List<int>();
        var conflicts = new List<int>();
        foreach (int t in order)
        {
            conflicts.Clear();
            foreach (int p in placed) if (Overlap(t, p, first, last)) conflicts.Add(p);
            conflicts.Sort((a, b) => offsets[a].CompareTo(offsets[b]));
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
