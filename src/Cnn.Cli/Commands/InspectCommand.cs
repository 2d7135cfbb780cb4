using System.CommandLine;
using Cnn.Edge;

namespace Cnn.Cli.Commands;

/// <summary>`cnn inspect MODEL [--json]`: ops, shapes, MACs, parameter bytes, the arena plan and the taper.</summary>
public static class InspectCommand
{
    public static Command Create()
    {
        var model = new Argument<FileInfo>("model") { Description = "An int8 edge model (.cnnq)" };
        var json = CliRunner.JsonOption();
        var cmd = new Command("inspect", "Ops, shapes, MACs, parameter bytes, the arena plan against its lower bound, and the per-op live bytes (taper) of an edge model.")
        {
            model, json,
        };
        cmd.WithExamples(
            "cnn inspect model.cnnq",
            "cnn inspect model.cnnq --json | jq '.arena_bytes, .peak_op'");
        cmd.SetGuardedAction(json, (pr, ctx) =>
        {
            var file = CliRunner.ExistingFile(pr.GetValue(model), "model file");
            var report = InspectReport.From(EdgeModel.LoadFile(file.FullName));
            if (ctx.Json)
            {
                ctx.Out.WriteLine(report.ToJson());
                return ExitCodes.Ok;
            }
            Print(ctx.Out, file.Name, report);
            return ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>Plain aligned text rather than a Spectre table: it must stay whole in a log or an 80-column pipe.</summary>
    private static void Print(TextWriter o, string fileName, InspectReport r)
    {
        o.WriteLine($"{fileName}: format {r.FormatVersion}, {r.FileBytes:N0} bytes, {r.Ops.Count} ops, {r.TensorCount} tensors");
        foreach (var t in r.Inputs) o.WriteLine("  input  " + Describe(t));
        foreach (var t in r.Outputs) o.WriteLine("  output " + Describe(t));
        int nameWidth = Math.Clamp(r.Ops.Max(x => x.Name.Length), 4, 24);
        int typeWidth = r.Ops.Max(x => x.Type.ToString().Length);
        long maxLive = Math.Max(1, r.Ops.Max(x => x.LiveBytes));
        o.WriteLine($"{"#",3} {"name".PadRight(nameWidth)} {"type".PadRight(typeWidth)} {"input",-12} {"output",-12} {"MACs",11} {"params B",9} {"live B",10}  taper");
        foreach (var op in r.Ops)
        {
            string name = op.Name.Length > nameWidth ? op.Name[..(nameWidth - 1)] + "~" : op.Name;
            string bar = new string('#', (int)Math.Max(1, 16 * op.LiveBytes / maxLive));
            o.WriteLine($"{op.Index,3} {name.PadRight(nameWidth)} {op.Type.ToString().PadRight(typeWidth)} {string.Join('x', op.InputShapes[0]),-12} "
                + $"{string.Join('x', op.OutputShape),-12} {op.Macs,11:N0} {op.ParameterBytes,9:N0} {op.LiveBytes,10:N0}  {bar}{(op.IsPeak ? " peak" : "")}");
        }
        double over = r.LowerBoundBytes == 0 ? 0 : 100.0 * (r.ArenaBytes - r.LowerBoundBytes) / r.LowerBoundBytes;
        o.WriteLine($"arena {r.ArenaBytes:N0} bytes, lower bound {r.LowerBoundBytes:N0} bytes (+{over:0.0} %), peak at op #{r.PeakOpIndex} '{r.PeakOpName}'");
        o.WriteLine($"{r.TotalMacs:N0} MACs, {r.ParameterBytes:N0} parameter bytes");
        foreach (var (k, v) in r.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            o.WriteLine($"  {k} = {(v.Length > 80 ? v[..77] + "..." : v)}");
    }

    private static string Describe(InspectReport.TensorRow t) =>
        $"{t.Name} {t.Type.ToString().ToLowerInvariant()}[{string.Join('x', t.Shape)}]"
        + (t.Type == TensorType.Int8 ? $" scale {t.Scale:G6} zero point {t.ZeroPoint}" : "");
}
