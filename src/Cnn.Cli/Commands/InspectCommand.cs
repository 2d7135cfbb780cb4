using System.CommandLine;
using Cnn.Edge;
using Spectre.Console;

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
            Print(ctx.Console, file.Name, report);
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static void Print(IAnsiConsole console, string fileName, InspectReport r)
    {
        console.MarkupLine($"[bold]{Markup.Escape(fileName)}[/]: format {r.FormatVersion}, {r.FileBytes:N0} bytes, {r.Ops.Count} ops, {r.TensorCount} tensors");
        foreach (var t in r.Inputs)
            console.MarkupLine($"  input  {Markup.Escape(t.Name)} {t.Type.ToString().ToLowerInvariant()}[{string.Join('x', t.Shape)}]{Quant(t)}");
        foreach (var t in r.Outputs)
            console.MarkupLine($"  output {Markup.Escape(t.Name)} {t.Type.ToString().ToLowerInvariant()}[{string.Join('x', t.Shape)}]{Quant(t)}");

        long maxLive = Math.Max(1, r.Ops.Max(o => o.LiveBytes));
        var table = new Table().Border(TableBorder.Simple)
            .AddColumn("#").AddColumn("name").AddColumn("type").AddColumn("inputs").AddColumn("output")
            .AddColumn(new TableColumn("MACs").RightAligned()).AddColumn(new TableColumn("params B").RightAligned())
            .AddColumn(new TableColumn("live B").RightAligned()).AddColumn("taper");
        foreach (var o in r.Ops)
        {
            string bar = new string('#', (int)Math.Max(1, 24 * o.LiveBytes / maxLive));
            table.AddRow(
                o.Index.ToString(), Markup.Escape(o.Name), o.Type.ToString(),
                string.Join(" ", o.InputShapes.Select(s => s.Length == 0 ? "-" : string.Join('x', s))),
                string.Join('x', o.OutputShape), o.Macs.ToString("N0"), o.ParameterBytes.ToString("N0"),
                o.LiveBytes.ToString("N0"), o.IsPeak ? $"[yellow]{bar} peak[/]" : bar);
        }
        console.Write(table);
        double over = r.LowerBoundBytes == 0 ? 0 : 100.0 * (r.ArenaBytes - r.LowerBoundBytes) / r.LowerBoundBytes;
        console.MarkupLine($"arena [bold]{r.ArenaBytes:N0}[/] bytes, lower bound {r.LowerBoundBytes:N0} bytes (+{over:0.0} %), peak at op #{r.PeakOpIndex} '{Markup.Escape(r.PeakOpName)}'");
        console.MarkupLine($"{r.TotalMacs:N0} MACs, {r.ParameterBytes:N0} parameter bytes");
        foreach (var (k, v) in r.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            console.MarkupLine($"  {Markup.Escape(k)} = {Markup.Escape(v.Length > 80 ? v[..77] + "..." : v)}");
    }

    private static string Quant(InspectReport.TensorRow t) => t.Type == TensorType.Int8 ? $" scale {t.Scale:G6} zero point {t.ZeroPoint}" : "";
}
