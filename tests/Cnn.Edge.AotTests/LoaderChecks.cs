namespace Cnn.Edge.AotTests;

/// <summary>
/// Model files are untrusted (STYLE.md 4): every truncation and every mutation must end in a
/// ModelFormatException or, for a mutation the format cannot see, a model that still runs. Any
/// other exception, a crash or a hang is a failure. Under NativeAOT a bounds bug is an access
/// violation that kills the process, which the runner reports as a missing totals line.
/// </summary>
public static class LoaderChecks
{
    public static void TruncatedFilesAreRejected()
    {
        var (file, what) = RandomModels.Network(new Random(606));
        int step = Math.Max(1, file.Length / 400);
        for (int len = 0; len < file.Length; len += len < 256 ? 1 : step)
        {
            int l = len;
            var e = Expect.Throws<ModelFormatException>(() => EdgeModel.Load(file.AsSpan(0, l)), $"file truncated to {l} of {file.Length} bytes ({what})");
            Expect.True(e.Message.Length > 0 && e.Section.Length > 0, $"truncation to {l}: exception without a section");
        }
    }

    public static void MutatedFilesAreRejectedOrRun()
    {
        var (file, what) = RandomModels.Network(new Random(707));
        var rng = new Random(708);
        int rejected = 0, loaded = 0;
        for (int i = 0; i < 400; i++)
        {
            var bad = (byte[])file.Clone();
            int flips = rng.Next(1, 4);
            var where = new List<int>();
            for (int f = 0; f < flips; f++)
            {
                int at = rng.Next(bad.Length);
                bad[at] = rng.Next(2) == 0 ? (byte)(bad[at] ^ (1 << rng.Next(8))) : (byte)rng.Next(256);
                where.Add(at);
            }
            try
            {
                var model = EdgeModel.Load(bad);
                using var interp = new Interpreter(model);
                interp.Invoke();
                loaded++;
            }
            catch (ModelFormatException)
            {
                rejected++;
            }
            catch (Exception e)
            {
                throw new CheckException($"mutation {i} at bytes [{string.Join(',', where)}] of {what}: {e.GetType().Name} instead of ModelFormatException: {e.Message}");
            }
        }
        // The file carries a checksum: a mutation that loads means the checksum missed it.
        Expect.True(rejected >= 390, $"only {rejected} of 400 mutated files were rejected ({loaded} loaded)");
    }

    public static void WrongMagicNamesTheHeader()
    {
        var (file, _) = RandomModels.FullyConnected(new Random(808));
        var bad = (byte[])file.Clone();
        bad[0] ^= 0xFF;
        var e = Expect.Throws<ModelFormatException>(() => EdgeModel.Load(bad), "first byte flipped");
        Expect.True(e.Section.Contains("header", StringComparison.OrdinalIgnoreCase), $"section is '{e.Section}', expected the header");
        Expect.Equal(0L, e.Offset, "offset of the bad magic");
    }
}
