using System.Text.Json.Nodes;

namespace Cnn.Cli.Tests;

/// <summary>`cnn bench`: the JSON fields, the thread count passed to the runtime, and bad --threads.</summary>
public class BenchCommandTests
{
    [Fact]
    public void Bench_json_reports_the_median_and_the_threads_it_ran_on()
    {
        string dir = CliHarness.TempDir();
        string path = Path.Combine(dir, "linear.cnnq");
        File.WriteAllBytes(path, TinyModels.Linear(16));
        var r = CliHarness.Run("bench", path, "--threads", "2", "--runs", "5", "--warmup", "1", "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        var j = JsonNode.Parse(r.Out)!;
        Assert.Equal(2, (int)j["threads"]!);
        Assert.True((double)j["median_ms"]! > 0);
        Assert.True((double)j["first_ms"]! > 0);
        Assert.Null(j["ort_float_median_ms"]);
        Assert.Null(j["ort_int8_median_ms"]);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("100000")]
    public void Bench_refuses_threads_out_of_range(string threads)
    {
        string dir = CliHarness.TempDir();
        string path = Path.Combine(dir, "linear.cnnq");
        File.WriteAllBytes(path, TinyModels.Linear(4));
        var r = CliHarness.Run("bench", path, "--threads", threads);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("--threads", r.Err);
    }
}
