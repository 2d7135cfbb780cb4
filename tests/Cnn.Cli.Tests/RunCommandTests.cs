using System.Text.Json.Nodes;
using Cnn.Edge.Devices.Loop;

namespace Cnn.Cli.Tests;

/// <summary><c>cnn run MODEL --source synthetic --frames N --json</c>: the device loop on the workstation, its JSON keys (snake_case, as quantize, eval and train).</summary>
public class RunCommandTests
{
    [Fact]
    public void Run_on_synthetic_frames_prints_one_result_per_frame_with_snake_case_keys()
    {
        string dir = CliHarness.TempDir(), model = Path.Combine(dir, "colour.cnnq");
        File.WriteAllBytes(model, DemoModels.ColourClassifier());
        var r = CliHarness.Run("run", model, "--source", "synthetic", "--frames", "6", "--pin", "red=17", "--pin", "green=27", "--json");
        Assert.True(r.ExitCode == ExitCodes.Ok, $"exit {r.ExitCode}: {r.Err}");
        var j = JsonNode.Parse(r.Out)!;
        Assert.Equal(6, (int)j["frames"]!);
        Assert.Equal(0, (int)j["bad_frames"]!);
        Assert.True((double)j["median_latency_ms"]! > 0);
        var results = j["results"]!.AsArray();
        Assert.Equal(6, results.Count);
        foreach (var f in results)
        {
            Assert.Contains((string)f!["class"]!, DemoModels.ColourLabels);
            Assert.InRange((double)f["score"]!, 0, 1);
            Assert.True((double)f["latency_ms"]! >= 0);
        }
    }

    [Fact]
    public void Run_with_a_corrupt_model_file_names_the_problem_and_exits_nonzero()
    {
        string dir = CliHarness.TempDir(), model = Path.Combine(dir, "bad.cnnq");
        byte[] good = DemoModels.ColourClassifier();
        File.WriteAllBytes(model, good.AsSpan(0, good.Length / 2).ToArray());
        var r = CliHarness.Run("run", model, "--source", "synthetic", "--frames", "2", "--json");
        Assert.NotEqual(ExitCodes.Ok, r.ExitCode);
        Assert.True((r.Err + r.Out).Contains("bad.cnnq"), r.Err + r.Out);
    }
}
