using System.Security.Cryptography;
using System.Text;
using Cnn.Trainer.Optim;

namespace Cnn.Trainer.Training;

/// <summary>
/// Training state after an epoch: weights, BatchNorm statistics, optimizer moments, schedule state
/// and history. Layout: "CNNCKPT1", int32 version, body, SHA-256 of everything before it.
/// Written to PATH.tmp, flushed to disk, then renamed over PATH, so a kill at any moment leaves
/// either the previous or the new checkpoint, never a torn one.
/// </summary>
public static class Checkpoint
{
    private static readonly byte[] Magic = "CNNCKPT1"u8.ToArray();
    private const int Version = 1;

    public sealed record State(int EpochsDone, float PlateauFactor, IReadOnlyList<EpochReport> History);

    private static IEnumerable<(string Name, float[] Value)> Arrays(Network net)
    {
        foreach (var n in net.Nodes)
        {
            foreach (var p in n.Layer.Parameters) yield return ($"{n.Layer.Name}.{p.Name}", p.Value);
            foreach (var b in n.Layer.Buffers) yield return ($"{n.Layer.Name}.{b.Name}", b.Value);
        }
    }

    public static void Save(string path, Network net, Optimizer? opt, int epochsDone, float plateauFactor, IReadOnlyList<EpochReport> history)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Magic); w.Write(Version);
            w.Write(epochsDone); w.Write(plateauFactor);
            var arrays = Arrays(net).ToList();
            w.Write(arrays.Count);
            foreach (var (name, v) in arrays) { w.Write(name); WriteFloats(w, v); }
            if (opt is null) w.Write(-1L);
            else
            {
                var (step, m, vv) = opt.State;
                w.Write(step);
                w.Write(m.Length); foreach (var a in m) WriteFloats(w, a);
                w.Write(vv.Length); foreach (var a in vv) WriteFloats(w, a);
            }
            w.Write(history.Count);
            foreach (var e in history)
            {
                w.Write(e.Epoch); w.Write(e.Epochs); w.Write(e.TrainLoss); w.Write(e.TrainAccuracy);
                w.Write(e.ValidationLoss ?? double.NaN); w.Write(e.ValidationAccuracy ?? double.NaN);
                w.Write(e.LearningRate); w.Write(e.Seconds); w.Write(e.ImagesPerSecond);
            }
        }
        ms.Write(SHA256.HashData(ms.GetBuffer().AsSpan(0, (int)ms.Length)));
        AtomicFile.Write(path, ms.GetBuffer().AsSpan(0, (int)ms.Length));
    }

    private static void WriteFloats(BinaryWriter w, float[] v)
    {
        w.Write(v.Length);
        w.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()));
    }

    private static void ReadFloats(BinaryReader r, float[] dst, string what)
    {
        int len = r.ReadInt32();
        if (len != dst.Length) throw new InvalidDataException($"checkpoint: {what} has {len} values, the network expects {dst.Length}");
        r.BaseStream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(dst.AsSpan()));
    }

    /// <summary>Checks a checkpoint file (magic, checksum, version) and returns how many epochs it holds.</summary>
    public static int Peek(string path)
    {
        using var r = Open(path);
        return r.ReadInt32();
    }

    /// <summary>A reader positioned after the version, once magic, checksum and version are checked.</summary>
    private static BinaryReader Open(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < Magic.Length + 4 + 32 || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new InvalidDataException($"{path}: not a Cnn.Trainer checkpoint (bad magic)");
        var body = bytes.AsSpan(0, bytes.Length - 32);
        if (!SHA256.HashData(body).AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - 32)))
            throw new InvalidDataException($"{path}: checkpoint checksum mismatch (file corrupt or truncated)");
        var r = new BinaryReader(new MemoryStream(bytes, 0, body.Length), Encoding.UTF8);
        r.ReadBytes(Magic.Length);
        int version = r.ReadInt32();
        if (version != Version) throw new InvalidDataException($"{path}: checkpoint version {version}, this build reads {Version}");
        return r;
    }

    /// <summary>Loads weights (and optimizer state when given) into a network of the same architecture.</summary>
    public static State Load(string path, Network net, Optimizer? opt = null)
    {
        using var r = Open(path);
        int epochs = r.ReadInt32(); float plateau = r.ReadSingle();
        var arrays = Arrays(net).ToList();
        int count = r.ReadInt32();
        if (count != arrays.Count) throw new InvalidDataException($"{path}: checkpoint holds {count} arrays, the network has {arrays.Count} (different architecture?)");
        foreach (var (name, v) in arrays)
        {
            string stored = r.ReadString();
            if (stored != name) throw new InvalidDataException($"{path}: checkpoint array '{stored}' where the network has '{name}' (different architecture?)");
            ReadFloats(r, v, name);
        }
        long step = r.ReadInt64();
        if (step >= 0)
        {
            int mc = r.ReadInt32();
            if (opt is not null)
            {
                var (_, m, vv) = opt.State;
                if (mc != m.Length) throw new InvalidDataException($"{path}: optimizer state for {mc} parameters, expected {m.Length}");
                foreach (var a in m) ReadFloats(r, a, "optimizer moment");
                int vc = r.ReadInt32();
                if (vc != vv.Length) throw new InvalidDataException($"{path}: checkpoint optimizer kind differs from the requested one");
                foreach (var a in vv) ReadFloats(r, a, "optimizer second moment");
                opt.Restore(step);
            }
            else
            {
                for (int i = 0; i < mc; i++) r.BaseStream.Seek(r.ReadInt32() * 4L, SeekOrigin.Current);
                int vc = r.ReadInt32();
                for (int i = 0; i < vc; i++) r.BaseStream.Seek(r.ReadInt32() * 4L, SeekOrigin.Current);
            }
        }
        int hc = r.ReadInt32();
        var history = new List<EpochReport>();
        for (int i = 0; i < hc; i++)
        {
            int e = r.ReadInt32(), es = r.ReadInt32();
            double tl = r.ReadDouble(), ta = r.ReadDouble(), vl = r.ReadDouble(), va = r.ReadDouble();
            float lr = r.ReadSingle(); double secs = r.ReadDouble(), ips = r.ReadDouble();
            history.Add(new EpochReport(e, es, tl, ta, double.IsNaN(vl) ? null : vl, double.IsNaN(va) ? null : va, lr, secs, ips));
        }
        return new State(epochs, plateau, history);
    }
}

/// <summary>Write to a temporary file beside the target, flush to disk, rename over the target.</summary>
public static class AtomicFile
{
    /// <summary>Test hook: runs after the temporary file is flushed, before the rename (simulates a crash there).</summary>
    [ThreadStatic] internal static Action<string>? BeforeRename;

    public static void Write(string path, ReadOnlySpan<byte> data)
    {
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        string tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                fs.Write(data);
                fs.Flush(flushToDisk: true);
            }
            BeforeRename?.Invoke(tmp);
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { }
            throw;
        }
        // A process killed between create and rename leaves its temporary file (never the target) behind.
        foreach (string stale in Directory.EnumerateFiles(dir, $".{Path.GetFileName(full)}.*.tmp"))
            try { File.Delete(stale); } catch (IOException) { }
    }
}
