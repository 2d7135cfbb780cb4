using System.Text.Json.Nodes;
using System.Xml.Linq;
using Cnn.Cli.Report;

namespace Cnn.Cli.Tests;

public class ReportTests
{
    /// <summary>A complete synthetic run: every section filled with small but plausible values.</summary>
    internal static ReportModel SyntheticRun()
    {
        var rng = new Random(7);
        string[] labels = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
        float[] Noise(int n) => [.. Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble() - 0.5f)];
        var confusion = new int[10, 10];
        for (int r = 0; r < 10; r++) { confusion[r, r] = 40 + r; confusion[r, (r + 3) % 10] = r % 4; }
        var m = new ReportModel { Version = "test" };
        m.Steps.Add(new StepRecord("data", StepStatus.Done, 0.1, "synthetic"));
        m.Data = new DataSection("synthetic", "test", labels, 100, 50, 28, 28,
            [.. Enumerable.Range(0, 30).Select(i => (Noise(28 * 28), i % 10))]);
        m.Training = new TrainingSection("tiny", 1234,
            [.. Enumerable.Range(1, 4).Select(e => new EpochRecord(e, 2.0 / e, 0.5 + e * 0.1, 2.2 / e, 0.45 + e * 0.1, 1.5))]);
        m.Accuracy = new AccuracySection(labels, confusion, confusion, AccuracySection.AccuracyOf(confusion), 0.9, 0.99, 500);
        m.FirstConv = new FirstConvSection("conv1", 3, 3, [.. Enumerable.Range(0, 8).Select(_ => Noise(9))],
            Noise(28 * 28), 28, 28, [.. Enumerable.Range(0, 8).Select(_ => Noise(26 * 26))], 26, 26, "test");
        m.Taper = new TaperSection(["conv1", "pool1", "conv2", "fc"], [21632, 10816, 4000, 40], 21632, 21632, 0, 65536, 9000);
        m.Sqnr = [new LayerSqnr("conv1", 38.5), new LayerSqnr("conv2", 31.2), new LayerSqnr("fc", 18.0)];
        m.Device = new DeviceSection("folder", [.. Enumerable.Range(0, 12).Select(i => new DeviceFrame($"f{i}.pgm", labels[i % 10], 0.9, labels[i % 10]))],
            ["GPIO17 (class 7)", "GPIO27 (alarm)"], [new bool[12], Enumerable.Range(0, 12).Select(i => i % 3 == 0).ToArray()],
            ["frame 0 → 0"], 0.05);
        return m;
    }

    [Fact]
    public void A_complete_run_produces_every_picture_and_each_is_a_real_image()
    {
        string dir = CliHarness.TempDir();
        var written = ReportWriter.Write(SyntheticRun(), dir);

        Assert.Empty(written.MissingPictures);
        Assert.Equal(ReportModel.Pictures.Select(p => p.Id).Order(), written.Pictures.Order());
        string html = File.ReadAllText(written.HtmlPath);
        Assert.DoesNotContain("class=\"picture missing\"", html);
        foreach (var (id, _) in ReportModel.Pictures)
        {
            Assert.Contains($"data-picture=\"{id}\"", html);
            string png = Path.Combine(dir, "img", id + ".png");
            if (File.Exists(png))
            {
                byte[] bytes = File.ReadAllBytes(png);
                Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
                Assert.Contains($"src=\"img/{id}.png\"", html);
            }
            else
            {
                // Charts are inline SVG: each must be well-formed XML with drawing elements.
                int start = html.IndexOf($"<svg id=\"{id}\"", StringComparison.Ordinal);
                Assert.True(start >= 0, $"picture {id} is neither img/{id}.png nor an inline svg");
                int end = html.IndexOf("</svg>", start, StringComparison.Ordinal) + "</svg>".Length;
                var svg = XDocument.Parse(html[start..end]);
                Assert.True(svg.Descendants().Count() > 10, $"svg {id} has almost nothing in it");
            }
        }
        var json = JsonNode.Parse(File.ReadAllText(written.JsonPath))!;
        Assert.Equal(9, json["pictures"]!.AsArray().Count);
        Assert.Equal(21632, (int)json["memory"]!["arena_bytes"]!);
        Assert.Equal(18.0, (double)json["sqnr_db"]!["fc"]!);
        Assert.Empty(Directory.GetFiles(dir, "*.tmp-*", SearchOption.AllDirectories));
    }

    [Fact]
    public void Missing_sections_are_named_with_their_reason_not_drawn()
    {
        string dir = CliHarness.TempDir();
        var m = SyntheticRun();
        m.Sqnr = null;
        m.Missing["sqnr"] = "the quantizer is not in this build";
        var written = ReportWriter.Write(m, dir);
        Assert.Equal(["sqnr"], written.MissingPictures);
        string html = File.ReadAllText(written.HtmlPath);
        Assert.Contains("data-missing=\"the quantizer is not in this build\"", html);
        Assert.DoesNotContain("<svg id=\"sqnr\"", html);
    }

    [Fact]
    public void Filter_grid_uses_a_diverging_scale_and_keeps_every_weight_visible()
    {
        // Two 2x2 filters at scale 3: 2 columns of (6 + 2 gap) + 2 = 18 wide, 6 + 4 = 10 high.
        var r = Raster.Grid([new[] { -1f, 0f, 0.5f, 1f }, new[] { 0f, 0f, 0f, 0f }], 2, 2, 3, 2, diverging: true);
        Assert.Equal(18, r.Width);
        Assert.Equal(10, r.Height);
        (byte, byte, byte) Px(int x, int y) => (r.Rgb[(y * r.Width + x) * 3], r.Rgb[(y * r.Width + x) * 3 + 1], r.Rgb[(y * r.Width + x) * 3 + 2]);
        Assert.Equal(Raster.Diverging(-1), Px(2, 2));    // strongest negative: blue
        Assert.Equal(Raster.Diverging(1), Px(7, 7));     // strongest positive: red
        Assert.Equal((255, 255, 255), Px(5, 2));          // zero: white
        Assert.True(Px(2, 2).Item3 > Px(2, 2).Item1);
    }

    [Fact]
    public void Axis_ticks_are_round_and_cover_the_range()
    {
        var t = Svg.Ticks(0, 2.3);
        Assert.Equal(0, t[0]);
        Assert.True(t[^1] >= 2.0 && t[^1] <= 2.3);
        Assert.All(t.Zip(t.Skip(1)), p => Assert.Equal(0.5, p.Second - p.First, 9));
    }
}
