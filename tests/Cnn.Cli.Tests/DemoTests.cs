using System.Text.Json.Nodes;

namespace Cnn.Cli.Tests;

public class DemoTests
{
    [Fact]
    public void Demo_json_is_one_parsable_document_and_the_report_exists()
    {
        string dir = CliHarness.TempDir();
        var r = CliHarness.Run("demo", "--out", dir, "--train-size", "200", "--test-size", "50", "--frames", "5", "--epochs", "1", "--json");
        Assert.True(r.ExitCode == ExitCodes.Ok, r.Err);
        var doc = JsonNode.Parse(r.Out)!;   // throws if anything but the document went to stdout
        Assert.Equal(Path.Combine(dir, "report.html"), (string)doc["report"]!);
        Assert.True(File.Exists(Path.Combine(dir, "report.html")));
        Assert.Contains("data-samples", doc["pictures"]!.AsArray().Select(p => (string)p!));
        var steps = doc["steps"]!.AsArray().Select(s => (string)s!["name"]!).ToList();
        Assert.Equal("data", steps[0]);
        Assert.Contains("frames", steps);
        // Every SDK part is in this build, so every picture is drawn and nothing is listed as missing.
        Assert.Empty(doc["missing"]!.AsObject());
        Assert.Equal(9, doc["pictures"]!.AsArray().Count);
        Assert.All(doc["steps"]!.AsArray(), s => Assert.Equal("done", (string)s!["status"]!));
        Assert.True(File.Exists(Path.Combine(dir, "model.onnx")));
        Assert.True(File.Exists(Path.Combine(dir, "model.cnnq")));
        Assert.Equal(5, (int)doc["device"]!["frames"]!);
        Assert.Equal(5, Directory.GetFiles(Path.Combine(dir, "frames")).Length);
        Assert.Contains("[data] done", r.Err);   // the transcript goes to stderr in --json mode
    }

    [Fact]
    public void Demo_rejects_sizes_too_small_to_mean_anything()
    {
        var r = CliHarness.Run("demo", "--out", CliHarness.TempDir(), "--train-size", "3");
        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        Assert.Contains("--train-size", r.Err);
    }
}
