using System.Globalization;
using System.Net;
using System.Text;

namespace Cnn.Cli.Report;

/// <summary>
/// Small inline-SVG charts for the report: no script, no external file, so the page renders the
/// same in a browser, in a CI artifact viewer and in the headless check.
/// </summary>
public static class Svg
{
    public sealed record Series(string Name, IReadOnlyList<double> Values, string Color, bool RightAxis = false);

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    public static readonly string[] Palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];

    private static string F(double v) => v.ToString("0.##", Inv);
    private static string Esc(string s) => WebUtility.HtmlEncode(s);

    private static StringBuilder Open(string id, int width, int height, string title)
    {
        var sb = new StringBuilder();
        sb.Append(Inv, $"<svg id=\"{Esc(id)}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{Esc(title)}\" font-family=\"sans-serif\" font-size=\"11\">");
        sb.Append(Inv, $"<rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"#fff\"/>");
        sb.Append(Inv, $"<text x=\"{width / 2}\" y=\"16\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">{Esc(title)}</text>");
        return sb;
    }

    /// <summary>"Nice" tick values (1, 2, 5 × 10^k steps) covering [min, max].</summary>
    public static double[] Ticks(double min, double max, int target = 5)
    {
        if (!(max > min)) { max = min + 1; }
        double raw = (max - min) / target;
        double mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = mag * (raw / mag < 1.5 ? 1 : raw / mag < 3.5 ? 2 : raw / mag < 7.5 ? 5 : 10);
        var ticks = new List<double>();
        for (double t = Math.Ceiling(min / step) * step; t <= max + step * 1e-9; t += step) ticks.Add(Math.Round(t, 10));
        return [.. ticks];
    }

    /// <summary>Line chart over x = 1..N (epochs), left axis for some series, right axis for others.</summary>
    public static string LineChart(string id, string title, string xLabel, string leftLabel, string? rightLabel,
        IReadOnlyList<Series> series, int width = 560, int height = 300)
    {
        const int left = 52, right = 52, top = 28, bottom = 58;
        int pw = width - left - right, ph = height - top - bottom;
        int n = series.Max(s => s.Values.Count);
        var sb = Open(id, width, height, title);

        (double lo, double hi) Range(bool rightAxis)
        {
            var v = series.Where(s => s.RightAxis == rightAxis).SelectMany(s => s.Values).Where(double.IsFinite).ToList();
            if (v.Count == 0) return (0, 1);
            double a = Math.Min(0, v.Min()), b = v.Max();
            return b > a ? (a, b * 1.05) : (a, a + 1);
        }
        var (l0, l1) = Range(false);
        var (r0, r1) = Range(true);
        double X(int i) => left + (n <= 1 ? pw / 2.0 : i * (double)pw / (n - 1));
        double Y(double v, bool r) => top + ph - (v - (r ? r0 : l0)) / ((r ? r1 : l1) - (r ? r0 : l0)) * ph;

        sb.Append(Inv, $"<rect x=\"{left}\" y=\"{top}\" width=\"{pw}\" height=\"{ph}\" fill=\"none\" stroke=\"#999\"/>");
        foreach (double t in Ticks(l0, l1))
            sb.Append(Inv, $"<line x1=\"{left}\" x2=\"{left + pw}\" y1=\"{F(Y(t, false))}\" y2=\"{F(Y(t, false))}\" stroke=\"#eee\"/><text x=\"{left - 4}\" y=\"{F(Y(t, false) + 4)}\" text-anchor=\"end\">{F(t)}</text>");
        if (rightLabel is not null)
            foreach (double t in Ticks(r0, r1))
                sb.Append(Inv, $"<text x=\"{left + pw + 4}\" y=\"{F(Y(t, true) + 4)}\">{F(t)}</text>");
        int every = Math.Max(1, n / 10);
        for (int i = 0; i < n; i += every)
            sb.Append(Inv, $"<text x=\"{F(X(i))}\" y=\"{top + ph + 14}\" text-anchor=\"middle\">{i + 1}</text>");
        sb.Append(Inv, $"<text x=\"{left + pw / 2}\" y=\"{top + ph + 28}\" text-anchor=\"middle\">{Esc(xLabel)}</text>");
        sb.Append(Inv, $"<text transform=\"translate(12 {top + ph / 2}) rotate(-90)\" text-anchor=\"middle\">{Esc(leftLabel)}</text>");
        if (rightLabel is not null)
            sb.Append(Inv, $"<text transform=\"translate({width - 8} {top + ph / 2}) rotate(90)\" text-anchor=\"middle\">{Esc(rightLabel)}</text>");

        int legendX = left;
        foreach (var s in series)
        {
            var pts = new StringBuilder();
            for (int i = 0; i < s.Values.Count; i++)
                if (double.IsFinite(s.Values[i])) pts.Append(Inv, $"{F(X(i))},{F(Y(s.Values[i], s.RightAxis))} ");
            sb.Append(Inv, $"<polyline fill=\"none\" stroke=\"{s.Color}\" stroke-width=\"2\" points=\"{pts.ToString().TrimEnd()}\"/>");
            for (int i = 0; i < s.Values.Count; i++)
                if (double.IsFinite(s.Values[i])) sb.Append(Inv, $"<circle cx=\"{F(X(i))}\" cy=\"{F(Y(s.Values[i], s.RightAxis))}\" r=\"2.5\" fill=\"{s.Color}\"/>");
            sb.Append(Inv, $"<rect x=\"{legendX}\" y=\"{height - 16}\" width=\"12\" height=\"4\" fill=\"{s.Color}\"/><text x=\"{legendX + 16}\" y=\"{height - 11}\">{Esc(s.Name)}{(s.RightAxis ? " (right)" : "")}</text>");
            legendX += 24 + (int)(6.2 * (s.Name.Length + (s.RightAxis ? 8 : 0)));
        }
        return sb.Append("</svg>").ToString();
    }

    /// <summary>Vertical bars with labels under them; an optional highlighted bar and horizontal reference line.</summary>
    public static string BarChart(string id, string title, IReadOnlyList<string> labels, IReadOnlyList<double> values,
        string yLabel, Func<double, string> format, int highlight = -1, double? referenceLine = null,
        string? referenceLabel = null, int width = 720, int height = 320, string color = "#4c78a8")
    {
        const int left = 64, right = 16, top = 28, bottom = 96;
        int pw = width - left - right, ph = height - top - bottom;
        double max = Math.Max(values.Count == 0 ? 1 : values.Where(double.IsFinite).DefaultIfEmpty(1).Max(), referenceLine ?? 0);
        double min = Math.Min(0, values.Where(double.IsFinite).DefaultIfEmpty(0).Min());
        if (max <= min) max = min + 1;
        max *= 1.08;
        double Y(double v) => top + ph - (v - min) / (max - min) * ph;
        var sb = Open(id, width, height, title);
        foreach (double t in Ticks(min, max))
            sb.Append(Inv, $"<line x1=\"{left}\" x2=\"{left + pw}\" y1=\"{F(Y(t))}\" y2=\"{F(Y(t))}\" stroke=\"#eee\"/><text x=\"{left - 4}\" y=\"{F(Y(t) + 4)}\" text-anchor=\"end\">{Esc(format(t))}</text>");
        sb.Append(Inv, $"<text transform=\"translate(12 {top + ph / 2}) rotate(-90)\" text-anchor=\"middle\">{Esc(yLabel)}</text>");
        int n = Math.Max(1, values.Count);
        double slot = pw / (double)n, bw = Math.Max(2, slot * 0.7);
        for (int i = 0; i < values.Count; i++)
        {
            double v = double.IsFinite(values[i]) ? values[i] : 0;
            double x = left + i * slot + (slot - bw) / 2, y = Y(Math.Max(v, 0)), h = Math.Abs(Y(v) - Y(0));
            string fill = i == highlight ? "#e45756" : color;
            sb.Append(Inv, $"<rect x=\"{F(x)}\" y=\"{F(y)}\" width=\"{F(bw)}\" height=\"{F(Math.Max(h, 0.5))}\" fill=\"{fill}\"><title>{Esc(labels[i])}: {Esc(format(values[i]))}</title></rect>");
            if (values.Count <= 24)
                sb.Append(Inv, $"<text x=\"{F(x + bw / 2)}\" y=\"{F(y - 3)}\" text-anchor=\"middle\" font-size=\"9\">{Esc(format(values[i]))}</text>");
            string label = labels[i].Length > 18 ? labels[i][..17] + "…" : labels[i];
            sb.Append(Inv, $"<text transform=\"translate({F(x + bw / 2)} {top + ph + 8}) rotate(45)\" font-size=\"9\">{Esc(label)}</text>");
        }
        sb.Append(Inv, $"<line x1=\"{left}\" x2=\"{left + pw}\" y1=\"{F(Y(0))}\" y2=\"{F(Y(0))}\" stroke=\"#333\"/>");
        if (referenceLine is double r)
        {
            sb.Append(Inv, $"<line x1=\"{left}\" x2=\"{left + pw}\" y1=\"{F(Y(r))}\" y2=\"{F(Y(r))}\" stroke=\"#e45756\" stroke-dasharray=\"5 3\"/>");
            if (referenceLabel is not null)
                sb.Append(Inv, $"<text x=\"{left + pw - 2}\" y=\"{F(Y(r) - 4)}\" text-anchor=\"end\" fill=\"#e45756\">{Esc(referenceLabel)}</text>");
        }
        return sb.Append("</svg>").ToString();
    }

    /// <summary>Confusion matrix: rows = true class, columns = predicted; cell shade by row fraction.</summary>
    public static string Heatmap(string id, string title, int[,] counts, IReadOnlyList<string> labels, int cell = 30)
    {
        int n = counts.GetLength(0);
        int left = 80, top = 44, size = n * cell;
        int width = left + size + 16, height = top + size + 36;
        var sb = Open(id, width, height, title);
        sb.Append(Inv, $"<text x=\"{left + size / 2}\" y=\"{top - 18}\" text-anchor=\"middle\">predicted</text>");
        sb.Append(Inv, $"<text transform=\"translate(14 {top + size / 2}) rotate(-90)\" text-anchor=\"middle\">true class</text>");
        for (int r = 0; r < n; r++)
        {
            long rowSum = 0;
            for (int c = 0; c < n; c++) rowSum += counts[r, c];
            for (int c = 0; c < n; c++)
            {
                double f = rowSum == 0 ? 0 : counts[r, c] / (double)rowSum;
                // Diagonal in blue, errors in red, so a confusion stands out even when small.
                string fill = r == c ? Shade(f, 31, 119, 180) : Shade(Math.Min(1, f * 3), 214, 39, 40);
                sb.Append(Inv, $"<rect x=\"{left + c * cell}\" y=\"{top + r * cell}\" width=\"{cell}\" height=\"{cell}\" fill=\"{fill}\" stroke=\"#ddd\"><title>true {Esc(labels[r])}, predicted {Esc(labels[c])}: {counts[r, c]}</title></rect>");
                if (counts[r, c] > 0)
                    sb.Append(Inv, $"<text x=\"{left + c * cell + cell / 2}\" y=\"{top + r * cell + cell / 2 + 4}\" text-anchor=\"middle\" font-size=\"9\" fill=\"{(f > 0.5 ? "#fff" : "#000")}\">{counts[r, c]}</text>");
            }
            sb.Append(Inv, $"<text x=\"{left - 4}\" y=\"{top + r * cell + cell / 2 + 4}\" text-anchor=\"end\">{Esc(Short(labels[r]))}</text>");
            sb.Append(Inv, $"<text x=\"{left + r * cell + cell / 2}\" y=\"{top - 4}\" text-anchor=\"middle\" font-size=\"9\">{Esc(Short(labels[r], 4))}</text>");
        }
        return sb.Append("</svg>").ToString();
    }

    /// <summary>Timeline of the device loop: one row per output pin, high segments filled; frame ticks with class.</summary>
    public static string Timeline(string id, string title, int frames, IReadOnlyList<string> rowNames,
        IReadOnlyList<bool[]> levels, IReadOnlyList<string> frameLabels, int width = 720)
    {
        const int left = 90, right = 16, top = 30, row = 26;
        int height = top + row * (rowNames.Count + 1) + 24;
        int pw = width - left - right;
        double step = pw / (double)Math.Max(1, frames);
        var sb = Open(id, width, height, title);
        for (int r = 0; r < rowNames.Count; r++)
        {
            double y = top + r * row;
            sb.Append(Inv, $"<text x=\"{left - 6}\" y=\"{F(y + row / 2 + 4)}\" text-anchor=\"end\">{Esc(rowNames[r])}</text>");
            sb.Append(Inv, $"<line x1=\"{left}\" x2=\"{left + pw}\" y1=\"{F(y + row - 4)}\" y2=\"{F(y + row - 4)}\" stroke=\"#bbb\"/>");
            for (int i = 0; i < frames && i < levels[r].Length; i++)
                if (levels[r][i])
                    sb.Append(Inv, $"<rect x=\"{F(left + i * step)}\" y=\"{F(y + 4)}\" width=\"{F(step)}\" height=\"{row - 8}\" fill=\"{Palette[r % Palette.Length]}\" opacity=\"0.8\"/>");
        }
        double ly = top + rowNames.Count * row;
        sb.Append(Inv, $"<text x=\"{left - 6}\" y=\"{F(ly + 14)}\" text-anchor=\"end\">class</text>");
        int every = Math.Max(1, (int)Math.Ceiling(frames / (pw / 14.0)));
        for (int i = 0; i < frames && i < frameLabels.Count; i += every)
            sb.Append(Inv, $"<text x=\"{F(left + i * step + step / 2)}\" y=\"{F(ly + 14)}\" text-anchor=\"middle\" font-size=\"9\">{Esc(Short(frameLabels[i], 3))}</text>");
        sb.Append(Inv, $"<text x=\"{left + pw / 2}\" y=\"{height - 4}\" text-anchor=\"middle\">frame</text>");
        return sb.Append("</svg>").ToString();
    }

    private static string Short(string s, int max = 10) => s.Length <= max ? s : s[..max];

    private static string Shade(double f, int r, int g, int b)
    {
        f = Math.Clamp(f, 0, 1);
        int Mix(int c) => (int)Math.Round(255 + (c - 255) * f);
        return $"#{Mix(r):x2}{Mix(g):x2}{Mix(b):x2}";
    }
}
