using System.Diagnostics;
using System.Text.Json.Nodes;
using Cnn.Trainer.Onnx;
using Cnn.Trainer.Training;

namespace Cnn.Cli.Tests;

/// <summary>The `cnn train` contract: flags, the --json object, files beside the model, errors naming the flag.</summary>
public class TrainCommandTests
{
    private static JsonNode Json(CliHarness.Result r)
    {
        Assert.True(r.ExitCode == ExitCodes.Ok, $"exit {r.ExitCode}: {r.Err}");
        return JsonNode.Parse(r.Out)!;
    }

    [Fact]
    public void Every_training_flag_is_accepted_and_json_has_the_figures()
    {
        string dir = CliHarness.TempDir();
        string onnx = Path.Combine(dir, "m.onnx");
        var j = Json(CliHarness.Run("train", "--data", "embedded", "--train-size", "320", "--model", "lenet5", "--epochs", "2",
            "--batch", "32", "--lr", "0.01", "--optimizer", "adamw", "--weight-decay", "0.0001", "--schedule", "step", "--warmup", "0.5",
            "--augment", "crop:2,flip", "--label-smoothing", "0.1", "--mixup", "0.2", "--seed", "3", "--threads", "2", "--out", onnx, "--json"));
        double acc = (double)j["test_accuracy"]!;
        Assert.InRange(acc, 0.0, 1.0);
        Assert.Equal(2, (int)j["epochs"]!);
        Assert.True((double)j["seconds_per_epoch"]! > 0);
        Assert.Equal(2, j["history"]!.AsArray().Count);
        Assert.Equal(0, (int)j["resumed_from_epoch"]!);
        Assert.True(new FileInfo(onnx).Length > 1000);
        Assert.StartsWith("<svg", File.ReadAllText((string)j["curves"]!));
        Assert.Equal(Path.Combine(dir, "m.curves.svg"), (string)j["curves"]!);
        Assert.Equal(2, Checkpoint.Peek((string)j["checkpoint"]!));
    }

    [Fact]
    public void Human_output_has_epoch_lines_and_a_summary_table()
    {
        string onnx = Path.Combine(CliHarness.TempDir(), "m.onnx");
        var r = CliHarness.Run("train", "--data", "digits", "--train-size", "200", "--epochs", "1", "--out", onnx);
        Assert.True(r.ExitCode == ExitCodes.Ok, r.Err);
        Assert.Contains("epoch 1/1", r.Out);
        Assert.Contains("training summary", r.Out);
        Assert.Contains("test acc", r.Out);
        Assert.Contains("m.curves.svg", r.Out);
    }

    [Theory]
    [InlineData("--epochs", "0", "--epochs")]
    [InlineData("--batch", "0", "--batch")]
    [InlineData("--lr", "-1", "--lr")]
    [InlineData("--threads", "0", "--threads")]
    [InlineData("--label-smoothing", "1", "--label-smoothing")]
    [InlineData("--mixup", "-0.5", "--mixup")]
    [InlineData("--augment", "blur", "--augment")]
    [InlineData("--model", "nosuchnet", "--model")]
    [InlineData("--freeze", "true", "--freeze")]
    public void A_bad_flag_exits_1_naming_it(string flag, string value, string named)
    {
        var r = CliHarness.Run("train", "--data", "digits", "--train-size", "100", flag, value, "--out", Path.Combine(CliHarness.TempDir(), "m.onnx"));
        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        Assert.Contains(named, r.Err);
    }

    [Fact]
    public void Unknown_optimizer_and_schedule_are_refused_by_the_parser()
    {
        Assert.NotEqual(ExitCodes.Ok, CliHarness.Run("train", "--optimizer", "rmsprop").ExitCode);
        Assert.NotEqual(ExitCodes.Ok, CliHarness.Run("train", "--schedule", "linear").ExitCode);
    }

    [Fact]
    public void A_json_description_trains_and_an_inconsistent_one_names_the_layer()
    {
        string dir = CliHarness.TempDir();
        string good = Path.Combine(dir, "net.json");
        File.WriteAllText(good, """
            { "input": [1, 28, 28], "classes": 10, "layers": [
              { "type": "conv", "name": "c1", "out": 4, "kernel": 3, "stride": 2, "padding": 1 },
              { "type": "relu" },
              { "type": "gap" },
              { "type": "flatten" },
              { "type": "linear", "name": "head", "out": 10 } ] }
            """);
        var j = Json(CliHarness.Run("train", "--data", "embedded", "--train-size", "128", "--model", good, "--epochs", "1", "--out", Path.Combine(dir, "a.onnx"), "--json"));
        Assert.Equal("net", (string)j["architecture"]!);

        string bad = Path.Combine(dir, "bad.json");
        File.WriteAllText(bad, File.ReadAllText(good).Replace("\"input\": [1, 28, 28]", "\"input\": [3, 28, 28]"));
        var r = CliHarness.Run("train", "--data", "embedded", "--train-size", "128", "--model", bad, "--epochs", "1", "--out", Path.Combine(dir, "b.onnx"));
        Assert.Equal(ExitCodes.BadInput, r.ExitCode);
        Assert.Contains("input", r.Err);
    }

    [Fact]
    public void Freeze_fine_tunes_only_the_new_head_of_an_onnx_model()
    {
        string dir = CliHarness.TempDir();
        string mnist = Path.Combine(dir, "mnist.onnx"), fashion = Path.Combine(dir, "fashion.onnx");
        Json(CliHarness.Run("train", "--data", "embedded", "--train-size", "128", "--epochs", "1", "--out", mnist, "--json"));
        Json(CliHarness.Run("train", "--data", "fashion", "--train-size", "128", "--model", mnist, "--freeze", "--epochs", "1", "--out", fashion, "--json"));
        var before = OnnxImport.Load(mnist).Network; var after = OnnxImport.Load(fashion).Network;
        Assert.Equal(before.Parameters.First().Value, after.Parameters.First().Value);   // conv1 weight: frozen
        Assert.NotEqual(before.Parameters.Last().Value, after.Parameters.Last().Value);   // head bias: trained
    }

    /// <summary>
    /// Issue 3, item 7: a real `cnn train` process killed with SIGKILL in the middle of an epoch leaves a
    /// checkpoint that loads (never torn), and `--resume` continues from it, losing at most that epoch.
    /// </summary>
    [Fact]
    public void A_training_process_killed_mid_epoch_resumes_from_its_last_checkpoint()
    {
        string dir = CliHarness.TempDir();
        string onnx = Path.Combine(dir, "m.onnx"), ckpt = onnx + ".ckpt";
        string[] args = ["train", "--data", "embedded", "--train-size", "1000", "--epochs", "4", "--batch", "50", "--threads", "1", "--seed", "5", "--out", onnx];
        var psi = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "cnn")) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args.Append("--json")) psi.ArgumentList.Add(a);
        int atKill;
        using (var p = Process.Start(psi)!)
        {
            p.OutputDataReceived += (_, _) => { }; p.ErrorDataReceived += (_, _) => { };
            p.BeginOutputReadLine(); p.BeginErrorReadLine();
            var sw = Stopwatch.StartNew();
            while (!(File.Exists(ckpt) && PeekOrZero(ckpt) >= 1))
            {
                Assert.False(p.HasExited, $"training exited (code {(p.HasExited ? p.ExitCode : 0)}) before its first checkpoint");
                Assert.True(sw.Elapsed < TimeSpan.FromMinutes(2), "no checkpoint after 2 minutes");
                Thread.Sleep(10);
            }
            int first = Checkpoint.Peek(ckpt);
            Thread.Sleep(150);   // into the next epoch (20 batches of 50 take longer than this)
            Assert.False(p.HasExited, "training finished before it could be killed");
            p.Kill();            // SIGKILL on Linux: no handler, no flush
            p.WaitForExit();
            atKill = Checkpoint.Peek(ckpt);   // throws if the file were torn
            Assert.InRange(atKill, first, 3);
        }
        var j = Json(CliHarness.Run([.. args, "--resume", "--json"]));
        Assert.Equal(atKill, (int)j["resumed_from_epoch"]!);
        Assert.Equal(4, (int)j["epochs"]!);
        Assert.Equal(4, j["history"]!.AsArray().Count);
        Assert.Equal(4, Checkpoint.Peek(ckpt));
        Assert.Empty(Directory.EnumerateFiles(dir, "*.tmp"));
    }

    private static int PeekOrZero(string path)
    {
        try { return Checkpoint.Peek(path); }
        catch (IOException) { return 0; }   // the rename can race with the read; a torn file would throw InvalidDataException instead
    }
}

public class TrainDeterminismTests
{
    /// <summary>
    /// Same seed and threads give the same weights in two separate processes (an in-process test cannot see
    /// per-process randomness such as HashCode's seed, which once reshuffled every run).
    /// </summary>
    [Fact]
    public void Two_processes_with_the_same_seed_and_threads_train_identical_weights()
    {
        string dir = CliHarness.TempDir();
        var weights = new List<float[]>();
        foreach (string name in new[] { "a.onnx", "b.onnx" })
        {
            var psi = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "cnn")) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string a in new[] { "train", "--data", "fashion", "--train-size", "256", "--model", "mobilenet", "--epochs", "1", "--batch", "32",
                         "--threads", "2", "--seed", "7", "--augment", "crop:2,flip", "--mixup", "0.2", "--out", Path.Combine(dir, name), "--json" })
                psi.ArgumentList.Add(a);
            var err = new System.Text.StringBuilder();
            using var p = Process.Start(psi)!;
            p.OutputDataReceived += (_, _) => { };
            p.ErrorDataReceived += (_, e) => { lock (err) err.AppendLine(e.Data); };
            p.BeginOutputReadLine(); p.BeginErrorReadLine();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, err.ToString());
            var net = OnnxImport.Load(Path.Combine(dir, name)).Network;
            weights.Add([.. net.Parameters.SelectMany(q => q.Value), .. net.Nodes.SelectMany(n => n.Layer.Buffers).SelectMany(b => b.Value)]);
        }
        Assert.Equal(weights[0], weights[1]);
    }
}
