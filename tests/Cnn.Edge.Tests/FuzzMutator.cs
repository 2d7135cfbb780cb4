using System.Buffers.Binary;
using Cnn.Edge.Format;

namespace Cnn.Edge.Tests;

/// <summary>
/// Seeded mutator for model files, shared by the mutation test and the longer fuzz command (dev/fuzz).
/// A case = (base seed, case index): it picks a seed model, applies one kind of mutation, and with
/// probability 3/4 repairs the checksum (and the file size after a truncation or extension) so that
/// the deeper checks are reached. Each case must either load or throw ModelFormatException; a model
/// that loads must prepare (or be refused with ModelFormatException) and, sampled, run without throwing.
/// </summary>
internal sealed class FuzzMutator
{
    private readonly byte[][] _seeds;

    public FuzzMutator()
    {
        _seeds = [BuilderModels.Chain(), BuilderModels.Branchy(), Kitchen()];
    }

    public readonly record struct Outcome(bool Loaded, bool Prepared, string? Failure);

    /// <summary>Builds the mutated file for a case and describes the mutation (for replay messages).</summary>
    public (byte[] File, string Mutation) Mutate(int baseSeed, long caseIndex)
    {
        var rng = new Random(HashCode.Combine(baseSeed, caseIndex));
        int model = rng.Next(_seeds.Length);
        byte[] f = (byte[])_seeds[model].Clone();
        // The tables (everything before the data section) are where structure lives: aim most mutations there.
        int tables = BinaryPrimitives.ReadInt32LittleEndian(f.AsSpan(ModelLayout.HDataOffset));
        int Pos(int size) => (rng.Next(4) == 0 ? rng.Next(f.Length - size + 1) : rng.Next(tables - size + 1));
        string what;
        int kind = rng.Next(7);
        switch (kind)
        {
            case 0:
            {
                int len = rng.Next(3) == 0 ? rng.Next(ModelLayout.HeaderSize + 1) : rng.Next(f.Length);
                f = f[..len];
                what = $"truncate to {len}";
                break;
            }
            case 1:
            {
                int n = rng.Next(1, 5);
                what = "flip bits at";
                for (int i = 0; i < n; i++)
                {
                    int p = Pos(1), bit = rng.Next(8);
                    f[p] ^= (byte)(1 << bit);
                    what += $" {p}.{bit}";
                }
                break;
            }
            case 2:
            {
                int p = Pos(1), n = Math.Min(rng.Next(1, 9), f.Length - p);
                rng.NextBytes(f.AsSpan(p, n));
                what = $"random bytes at {p}..{p + n}";
                break;
            }
            case 3:
            case 4:
            {
                // An aligned 32-bit field gets an "interesting" value.
                int p = Pos(4) & ~3;
                int old = BinaryPrimitives.ReadInt32LittleEndian(f.AsSpan(p));
                int v = rng.Next(14) switch
                {
                    0 => 0, 1 => -1, 2 => 1, 3 => int.MaxValue, 4 => int.MinValue,
                    5 => old + 1, 6 => old - 1, 7 => old * 2, 8 => rng.Next(-300, 300),
                    9 => rng.Next(), 10 => BitConverter.SingleToInt32Bits(float.NaN),
                    11 => BitConverter.SingleToInt32Bits(rng.Next(2) == 0 ? float.PositiveInfinity : -0.5f),
                    12 => 1 << rng.Next(31), _ => old ^ (1 << rng.Next(32)),
                };
                BinaryPrimitives.WriteInt32LittleEndian(f.AsSpan(p), v);
                what = $"int32 at {p}: {old} -> {v}";
                break;
            }
            case 5:
            {
                int from = Pos(4) & ~3, to = Pos(4) & ~3;
                f.AsSpan(from, 4).CopyTo(f.AsSpan(to));
                what = $"copy int32 {from} -> {to}";
                break;
            }
            default:
            {
                int n = rng.Next(1, 200);
                var g = new byte[f.Length + n];
                f.CopyTo(g, 0);
                rng.NextBytes(g.AsSpan(f.Length));
                f = g;
                what = $"append {n} bytes";
                break;
            }
        }
        if (rng.Next(4) != 0 && f.Length >= ModelLayout.HeaderSize)
        {
            if (kind is 0 or 6) BinaryPrimitives.WriteInt32LittleEndian(f.AsSpan(ModelLayout.HFileSize), f.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(ModelLayout.HCrc), Crc32.OfModelFile(f));
            what += ", checksum recomputed";
        }
        return (f, $"model {model}, {what}");
    }

    /// <summary>Runs one case; Failure names the unexpected exception, the seed and the mutation.</summary>
    public Outcome Run(int baseSeed, long caseIndex, bool prepare, bool invoke)
    {
        var (file, mutation) = Mutate(baseSeed, caseIndex);
        EdgeModel model;
        try { model = EdgeModel.Load(file); }
        catch (ModelFormatException) { return new(false, false, null); }
        catch (Exception e) { return new(false, false, Describe("Load", e, baseSeed, caseIndex, mutation)); }
        if (!prepare && !invoke) return new(true, false, null);
        try
        {
            using var it = new Interpreter(model);
            if (invoke) it.Invoke();
            return new(true, true, null);
        }
        catch (ModelFormatException) { return new(true, false, null); }
        catch (Exception e) { return new(true, false, Describe(invoke ? "Interpreter/Invoke" : "Interpreter", e, baseSeed, caseIndex, mutation)); }
    }

    private static string Describe(string stage, Exception e, int seed, long caseIndex, string mutation) =>
        $"{stage} threw {e.GetType().Name} for seed {seed} case {caseIndex} ({mutation}): {e.Message}\n{e.StackTrace}";

    /// <summary>One of every other op: transpose conv, average pool with padding, global max pool, int8 softmax.</summary>
    private static byte[] Kitchen()
    {
        var rng = new Random(9);
        var b = new ModelBuilder();
        int x = b.AddInput("x", TensorType.Int8, [1, 6, 6, 4], 0.03f, 5);
        var (w, bias) = BuilderModels.Weights(b, "up", rng, 4, 3, 3, 4);
        int up = b.TransposeConv2D("up", x, w, bias, new TransposeConvParams(2, 2, 1, 1, 1, 1, 1, 1, 1, 1, -128, 127), 0.04f, 0);
        int ap = b.AveragePool2D("avg", up, new PoolParams(3, 3, 2, 2, 1, 1, 1, 1, true, false, -128, 127));
        int mp = b.GlobalMaxPool("gmax", ap);
        var (fw, fb) = BuilderModels.Weights(b, "fc", rng, 3, 0, 0, 4);
        int fc = b.FullyConnected("fc", mp, fw, -1, 0.1f, 0);
        _ = fb;
        int sm = b.Softmax("softmax", fc, TensorType.Int8);
        b.MarkOutput(sm);
        return b.Build();
    }
}
