using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Cnn.Cli.Report;

/// <summary>
/// Writes report.html (charts as inline SVG, images as img/*.png beside it) and report.json with
/// the same figures. Every file is written to a temporary name and renamed, so an interrupted run
/// never leaves a half-written page.
/// </summary>
public static class ReportWriter
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public sealed record Written(string HtmlPath, string JsonPath, IReadOnlyList<string> Pictures, IReadOnlyList<string> MissingPictures);

    public static Written Write(ReportModel m, string outDir)
    {
        Directory.CreateDirectory(Path.Combine(outDir, "img"));
        var figures = new Dictionary<string, string>();   // picture id → HTML of the picture
        var notes = new Dictionary<string, string>();     // picture id → caption under it

        if (m.Data is { } d && d.Samples.Count > 0)
        {
            // One row per class (up to 8 samples each), so the classes are told apart at a glance.
            var rows = d.Samples.GroupBy(s => s.Label).OrderBy(g => g.Key).ToList();
            int perRow = Math.Min(8, rows.Max(g => g.Count()));
            var tiles = new List<float[]>();
            foreach (var g in rows)
            {
                var row = g.Take(perRow).Select(s => s.Pixels).ToList();
                while (row.Count < perRow) row.Add(new float[d.Height * d.Width]);
                tiles.AddRange(row);
            }
            figures["data-samples"] = Png(outDir, "data-samples", Raster.Grid(tiles, d.Height, d.Width, 2, perRow, diverging: false), "data samples");
            notes["data-samples"] = $"{d.Name}: {d.TrainCount} training and {d.TestCount} test images of {d.Height}×{d.Width}, {d.Labels.Count} classes, one row per class ({string.Join(", ", rows.Select(g => d.Labels[g.Key]))}). Source: {d.Source}.";
        }

        if (m.Training is { Epochs.Count: > 0 } t)
        {
            figures["training-curves"] = Svg.LineChart("training-curves", "Loss and accuracy per epoch", "epoch", "loss", "accuracy %",
            [
                new("train loss", t.Epochs.Select(e => e.TrainLoss).ToList(), Svg.Palette[0]),
                new("test loss", t.Epochs.Select(e => e.TestLoss).ToList(), Svg.Palette[3]),
                new("train acc", t.Epochs.Select(e => e.TrainAccuracy * 100).ToList(), Svg.Palette[2], RightAxis: true),
                new("test acc", t.Epochs.Select(e => e.TestAccuracy * 100).ToList(), Svg.Palette[1], RightAxis: true),
            ]);
            var last = t.Epochs[^1];
            notes["training-curves"] = $"{t.Architecture}, {t.Parameters:N0} parameters, {t.Epochs.Count} epochs in {t.Epochs.Sum(e => e.Seconds):0.0} s; last epoch: test accuracy {last.TestAccuracy:P2}, test loss {last.TestLoss:0.000}.";
        }

        if (m.Accuracy is { } a)
        {
            figures["confusion-float"] = Svg.Heatmap("confusion-float", $"float32: {a.FloatAccuracy:P2}", a.FloatConfusion, a.Labels);
            notes["confusion-float"] = $"{a.Samples} test images; rows are the true class, columns the prediction.";
            if (a.Int8Confusion is { } q)
            {
                figures["confusion-int8"] = Svg.Heatmap("confusion-int8", $"int8: {a.Int8Accuracy:P2}", q, a.Labels);
                notes["confusion-int8"] = a.Agreement is double ag ? $"int8 and float agree on {ag:P2} of the images." : "";
            }
        }

        if (m.FirstConv is { } fc)
        {
            int fscale = Math.Max(4, 72 / Math.Max(fc.KernelH, fc.KernelW));
            figures["conv1-filters"] = Png(outDir, "conv1-filters", Raster.Grid(fc.Filters, fc.KernelH, fc.KernelW, fscale, Math.Min(8, fc.Filters.Count), diverging: true), "first conv filters");
            notes["conv1-filters"] = $"{fc.LayerName}: {fc.Filters.Count} filters of {fc.KernelH}×{fc.KernelW} (red positive, blue negative, each scaled to its own range). Weights from {fc.Source}.";
            var maps = new List<float[]> { fc.Input };
            int mscale = Math.Max(1, 56 / Math.Max(fc.MapH, fc.MapW));
            // The input goes first in the grid, resampled to the map size so all tiles line up.
            if (fc.InputH != fc.MapH || fc.InputW != fc.MapW) maps[0] = Resample(fc.Input, fc.InputH, fc.InputW, fc.MapH, fc.MapW);
            maps.AddRange(fc.FeatureMaps);
            figures["conv1-feature-maps"] = Png(outDir, "conv1-feature-maps", Raster.Grid(maps, fc.MapH, fc.MapW, mscale, Math.Min(9, maps.Count), diverging: false), "first conv feature maps");
            notes["conv1-feature-maps"] = $"Top left: the input; then the {fc.FeatureMaps.Count} maps of {fc.MapH}×{fc.MapW} after the activation (white = strongest).";
        }

        if (m.Taper is { } tp)
        {
            figures["memory-taper"] = Svg.BarChart("memory-taper", $"Live activation bytes per op (arena {tp.ArenaBytes:N0} B)",
                tp.OpNames, tp.LiveBytes.Select(b => (double)b).ToList(), "bytes", v => Bytes(v), tp.PeakOpIndex,
                tp.BudgetBytes is long bb ? bb : tp.ArenaBytes, tp.BudgetBytes is long b2 ? $"budget {Bytes(b2)}" : $"arena {Bytes(tp.ArenaBytes)}");
            notes["memory-taper"] = $"Peak at op #{tp.PeakOpIndex} ({tp.OpNames[tp.PeakOpIndex]}, in red); arena {tp.ArenaBytes:N0} B against a lower bound of {tp.LowerBoundBytes:N0} B; weights {tp.WeightBytes:N0} B are read in place from the model file.";
        }

        if (m.Sqnr is { Count: > 0 } sq)
        {
            int worst = Enumerable.Range(0, sq.Count).MinBy(i => sq[i].Db);
            figures["sqnr"] = Svg.BarChart("sqnr", "Signal-to-quantization-noise ratio per layer", sq.Select(s => s.Layer).ToList(),
                sq.Select(s => s.Db).ToList(), "dB", v => v.ToString("0.0", Inv), worst, 20, "20 dB", color: "#54a24b");
            notes["sqnr"] = $"Higher is better; the weakest layer is {sq[worst].Layer} at {sq[worst].Db:0.0} dB (in red). Below about 20 dB a layer usually costs accuracy.";
        }

        if (m.Device is { Frames.Count: > 0 } dv)
        {
            figures["device-timeline"] = Svg.Timeline("device-timeline", "Classify loop over a folder of frames", dv.Frames.Count,
                dv.PinNames, dv.PinLevels, dv.Frames.Select(f => f.Predicted).ToList());
            int right = dv.Frames.Count(f => f.Truth is not null && f.Truth == f.Predicted);
            int known = dv.Frames.Count(f => f.Truth is not null);
            notes["device-timeline"] = $"{dv.Frames.Count} frames from {dv.Source}; median inference {dv.MedianInferenceMs:0.000} ms" +
                (known > 0 ? $"; {right} of {known} frames classified as labelled." : ".");
        }

        var html = Html(m, figures, notes);
        string htmlPath = Path.Combine(outDir, "report.html");
        WriteAtomic(htmlPath, Encoding.UTF8.GetBytes(html));
        string jsonPath = Path.Combine(outDir, "report.json");
        WriteAtomic(jsonPath, Encoding.UTF8.GetBytes(Json(m, figures.Keys).ToJsonString(new() { WriteIndented = true })));
        var missing = ReportModel.Pictures.Select(p => p.Id).Where(id => !figures.ContainsKey(id)).ToList();
        return new Written(htmlPath, jsonPath, [.. figures.Keys], missing);
    }

    public static string Bytes(double v) => v switch
    {
        >= 1 << 20 => (v / (1 << 20)).ToString("0.0", Inv) + " MiB",
        >= 1 << 10 => (v / (1 << 10)).ToString("0.0", Inv) + " KiB",
        _ => v.ToString("0", Inv) + " B",
    };

    private static string Png(string outDir, string id, Raster raster, string alt)
    {
        string rel = $"img/{id}.png";
        WriteAtomic(Path.Combine(outDir, rel), raster.EncodePng());
        return $"<img id=\"{id}\" src=\"{rel}\" width=\"{raster.Width}\" height=\"{raster.Height}\" alt=\"{WebUtility.HtmlEncode(alt)}\">";
    }

    public static void WriteAtomic(string path, byte[] bytes)
    {
        string tmp = path + ".tmp-" + Environment.ProcessId;
        File.WriteAllBytes(tmp, bytes);
        File.Move(tmp, path, overwrite: true);
    }

    private static float[] Resample(float[] src, int sh, int sw, int dh, int dw)
    {
        var dst = new float[dh * dw];
        for (int y = 0; y < dh; y++)
            for (int x = 0; x < dw; x++)
                dst[y * dw + x] = src[y * sh / dh * sw + x * sw / dw];
        return dst;
    }

    private static string Html(ReportModel m, Dictionary<string, string> figures, Dictionary<string, string> notes)
    {
        static string E(string s) => WebUtility.HtmlEncode(s);
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
        sb.Append($"<title>{E(m.Title)}</title><style>");
        sb.Append("body{font-family:sans-serif;margin:24px;max-width:1100px;color:#222}h1{margin-bottom:4px}");
        sb.Append("table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}");
        sb.Append("td.n{text-align:right;white-space:nowrap}.Done{color:#2a7d2a}.Missing{color:#b36b00}.Failed{color:#c00}");
        sb.Append("figure.picture{margin:18px 0;padding:8px;border:1px solid #ddd;border-radius:4px;display:inline-block;vertical-align:top}");
        sb.Append("figure.picture img{image-rendering:pixelated}figcaption{max-width:720px;font-size:13px;color:#444;margin-top:6px}");
        sb.Append(".missing-note{padding:16px;background:#fff4e0;border:1px dashed #b36b00;color:#7a4a00;max-width:680px}");
        sb.Append("pre{background:#f6f6f6;padding:8px;font-size:12px;overflow-x:auto}</style></head><body>\n");
        sb.Append($"<h1>{E(m.Title)}</h1><p>cnn {E(m.Version)} · {m.Started:yyyy-MM-dd HH:mm} UTC · {m.Steps.Sum(s => s.Seconds):0.0} s in all</p>\n");

        sb.Append("<h2>Pipeline</h2><table><tr><th>step</th><th>status</th><th>time</th><th>detail</th></tr>");
        foreach (var s in m.Steps)
            sb.Append(Inv, $"<tr><td>{E(s.Name)}</td><td class=\"{s.Status}\">{s.Status.ToString().ToLowerInvariant()}</td><td class=\"n\">{s.Seconds:0.0} s</td><td>{E(s.Detail)}</td></tr>");
        sb.Append("</table>\n");

        if (m.Accuracy is { } a)
        {
            sb.Append("<h2>Accuracy</h2><table><tr><th>model</th><th>test accuracy</th></tr>");
            sb.Append(Inv, $"<tr><td>float32</td><td class=\"n\">{a.FloatAccuracy:P2}</td></tr>");
            if (a.Int8Accuracy is double q) sb.Append(Inv, $"<tr><td>int8</td><td class=\"n\">{q:P2}</td></tr>");
            if (a.Agreement is double ag) sb.Append(Inv, $"<tr><td>int8 agrees with float</td><td class=\"n\">{ag:P2}</td></tr>");
            sb.Append("</table>\n");
        }

        sb.Append("<h2>Pictures</h2>\n");
        foreach (var (id, title) in ReportModel.Pictures)
        {
            if (figures.TryGetValue(id, out string? fig))
            {
                sb.Append($"<figure class=\"picture\" data-picture=\"{id}\"><h3>{E(title)}</h3>{fig}");
                if (notes.TryGetValue(id, out string? note) && note.Length > 0) sb.Append($"<figcaption>{E(note)}</figcaption>");
                sb.Append("</figure>\n");
            }
            else
            {
                string why = m.Missing.TryGetValue(id, out string? w) ? w : "the step that makes it did not run";
                sb.Append($"<figure class=\"picture missing\" data-picture=\"{id}\" data-missing=\"{E(why)}\"><h3>{E(title)}</h3><div class=\"missing-note\">Not in this report: {E(why)}</div></figure>\n");
            }
        }

        if (m.Device is { } dv)
        {
            sb.Append("<h2>Device loop log</h2><pre>");
            foreach (string line in dv.Log.Take(60)) sb.Append(E(line)).Append('\n');
            if (dv.Log.Count > 60) sb.Append(Inv, $"… {dv.Log.Count - 60} more lines\n");
            sb.Append("</pre>\n");
        }

        // Marks every picture once the page has loaded, so a headless browser's DOM dump shows
        // which images decoded (naturalWidth > 0) and which are broken (build/check-report.sh).
        sb.Append("<script>window.addEventListener('load',function(){var ok=0,bad=0;");
        sb.Append("for(var i of document.images){var good=i.complete&&i.naturalWidth>0;i.setAttribute('data-loaded',good?'ok':'broken');good?ok++:bad++;}");
        sb.Append("document.body.setAttribute('data-images-ok',ok);document.body.setAttribute('data-images-broken',bad);});</script>\n");
        sb.Append("</body></html>\n");
        return sb.ToString();
    }

    private static JsonObject Json(ReportModel m, IEnumerable<string> pictures)
    {
        var o = new JsonObject
        {
            ["version"] = m.Version,
            ["started"] = m.Started.ToString("O", Inv),
            ["seconds"] = Math.Round(m.Steps.Sum(s => s.Seconds), 2),
            ["steps"] = new JsonArray([.. m.Steps.Select(s => (JsonNode)new JsonObject
            {
                ["name"] = s.Name, ["status"] = s.Status.ToString().ToLowerInvariant(), ["seconds"] = Math.Round(s.Seconds, 2), ["detail"] = s.Detail,
            })]),
            ["pictures"] = new JsonArray([.. pictures.Select(p => (JsonNode)p)]),
            ["missing"] = new JsonObject([.. m.Missing.Select(kv => new KeyValuePair<string, JsonNode?>(kv.Key, kv.Value))]),
        };
        if (m.Training is { } t)
            o["training"] = new JsonArray([.. t.Epochs.Select(e => (JsonNode)new JsonObject
            {
                ["epoch"] = e.Epoch, ["train_loss"] = e.TrainLoss, ["train_accuracy"] = e.TrainAccuracy,
                ["test_loss"] = e.TestLoss, ["test_accuracy"] = e.TestAccuracy, ["seconds"] = e.Seconds,
            })]);
        if (m.Accuracy is { } a)
            o["accuracy"] = new JsonObject { ["float"] = a.FloatAccuracy, ["int8"] = a.Int8Accuracy, ["agreement"] = a.Agreement, ["samples"] = a.Samples };
        if (m.Taper is { } tp)
            o["memory"] = new JsonObject
            {
                ["arena_bytes"] = tp.ArenaBytes, ["lower_bound_bytes"] = tp.LowerBoundBytes, ["peak_op"] = tp.OpNames[tp.PeakOpIndex],
                ["weight_bytes"] = tp.WeightBytes, ["live_bytes"] = new JsonArray([.. tp.LiveBytes.Select(b => (JsonNode)b)]),
            };
        if (m.Sqnr is { } sq)
            o["sqnr_db"] = new JsonObject([.. sq.Select(s => new KeyValuePair<string, JsonNode?>(s.Layer, Math.Round(s.Db, 2)))]);
        if (m.Device is { } dv)
            o["device"] = new JsonObject { ["frames"] = dv.Frames.Count, ["median_inference_ms"] = dv.MedianInferenceMs };
        return o;
    }
}
