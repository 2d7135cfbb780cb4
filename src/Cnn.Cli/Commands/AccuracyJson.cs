using System.Globalization;
using System.Text.Json.Nodes;
using Cnn.Quantize;
using Cnn.Trainer.Data;
using Spectre.Console;

namespace Cnn.Cli.Commands;

/// <summary>
/// The float-vs-int8 figures shared by `cnn quantize` and `cnn eval --reference`, in the JSON keys of the
/// quantizer issue's contract (snake_case): accuracy, float_accuracy, top1_agreement, layers[] {name, sqnr_db}.
/// </summary>
internal static class AccuracyJson
{
    /// <summary>Adds the accuracy figures of <paramref name="a"/> to <paramref name="o"/>; accuracies are fractions in [0, 1].</summary>
    public static void Write(JsonObject o, AccuracyReport a)
    {
        o["images"] = a.Samples;
        o["accuracy"] = Number(a.Int8Accuracy, 6);
        o["float_accuracy"] = Number(a.FloatAccuracy, 6);
        o["top1_agreement"] = Number(a.Top1Agreement, 6);
        o["output_sqnr_db"] = Number(a.OutputSqnrDb, 2);
        if (a.WorstLayer is { } w) o["worst_layer"] = new JsonObject { ["name"] = w.Name, ["sqnr_db"] = Number(w.SqnrDb, 2) };
        o["layers"] = new JsonArray([.. a.Layers.Select(l => (JsonNode)new JsonObject
        {
            ["name"] = l.Name, ["kind"] = l.Kind, ["sqnr_db"] = Number(l.SqnrDb, 2),
        })]);
    }

    /// <summary>JSON has no NaN or infinity: an absent figure (no labels) and an exact layer (no noise) are null.</summary>
    public static JsonNode? Number(double v, int digits) => double.IsFinite(v) ? JsonValue.Create(Math.Round(v, digits)) : null;

    /// <summary>The per-layer SQNR table and the accuracy line for a human reader.</summary>
    public static void Print(IAnsiConsole console, AccuracyReport a)
    {
        if (a.Layers.Count > 0)
        {
            var table = new Table().AddColumn("layer").AddColumn("kind").AddColumn(new TableColumn("SQNR dB").RightAligned());
            foreach (var l in a.Layers) table.AddRow(Markup.Escape(l.Name), l.Kind, l.SqnrDb.ToString("0.0", CultureInfo.InvariantCulture));
            console.Write(table);
        }
        console.MarkupLine(double.IsNaN(a.Int8Accuracy)
            ? $"float {Pct(a.FloatAccuracy)} on {a.Samples} images"
            : $"float {Pct(a.FloatAccuracy)} → int8 {Pct(a.Int8Accuracy)} on {a.Samples} images, top-1 agreement {Pct(a.Top1Agreement)}" +
              (a.WorstLayer is { } w ? $", worst layer {Markup.Escape(w.Name)} {w.SqnrDb.ToString("0.0", CultureInfo.InvariantCulture)} dB" : ""));
    }

    private static string Pct(double v) => double.IsNaN(v) ? "n/a" : (v * 100).ToString("0.00", CultureInfo.InvariantCulture) + " %";

    /// <summary>Confusion matrix [label, predicted] of <paramref name="predictions"/> on <paramref name="data"/>.</summary>
    public static JsonArray Confusion(IDataset data, IReadOnlyList<int> predictions, int classes)
    {
        int n = Math.Max(classes, data.Labels.Length);
        var m = new int[data.Labels.Length, n];
        for (int i = 0; i < predictions.Count; i++) m[data.Label(i), Math.Min(predictions[i], n - 1)]++;
        return new JsonArray([.. Enumerable.Range(0, m.GetLength(0)).Select(r =>
            (JsonNode)new JsonArray([.. Enumerable.Range(0, n).Select(c => (JsonNode)m[r, c])]))]);
    }
}
