namespace Cnn.Cli.Tests;

public class CommandLineTests
{
    [Theory]
    [InlineData("demo")]
    [InlineData("train")]
    [InlineData("quantize")]
    [InlineData("eval")]
    [InlineData("run")]
    [InlineData("inspect")]
    [InlineData("bench")]
    public void Every_command_exists_and_its_help_has_examples(string name)
    {
        var r = CliHarness.Run(name, "--help");
        Assert.Equal(ExitCodes.Ok, r.ExitCode);
        Assert.Contains("Usage:", r.Out);
        Assert.Contains($"cnn {name}", r.Out);
        int examples = r.Out.IndexOf("Examples:", StringComparison.Ordinal);
        Assert.True(examples > 0, "help has no Examples section:\n" + r.Out);
        Assert.Contains($"cnn {name} ", r.Out[examples..]);
    }

    [Fact]
    public void Root_help_lists_commands_and_exit_codes()
    {
        var r = CliHarness.Run("--help");
        Assert.Equal(0, r.ExitCode);
        foreach (string c in new[] { "demo", "train", "quantize", "eval", "run", "inspect", "bench" }) Assert.Contains(c, r.Out);
        Assert.Contains("3 budget exceeded", r.Out);
    }

    [Fact]
    public void Version_prints_the_informational_version()
    {
        var r = CliHarness.Run("--version");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(Program.Version, r.Out.Trim());
        Assert.Matches(@"^\d+\.\d+", r.Out.Trim());
    }

    [Theory]
    [InlineData("demo", "--no-such-option")]
    [InlineData("run", "m.cnnq", "--gpio", "banana")]
    [InlineData("demo", "--epochs", "many")]
    [InlineData("frobnicate")]
    [InlineData("quantize")]           // missing required argument
    public void Usage_errors_exit_1(params string[] args)
    {
        var r = CliHarness.Run(args);
        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        Assert.NotEqual("", r.Err.Trim());
    }

    [Fact]
    public void Options_parse_to_typed_values()
    {
        var root = Program.BuildRoot();
        var pr = root.Parse(["run", "m.cnnq", "--source", "folder:frames", "--frames", "12", "--budget", "65536"]);
        Assert.Empty(pr.Errors);
        Assert.Equal("run", pr.CommandResult.Command.Name);
        Assert.Equal(12, pr.GetValue<int>("--frames"));
        Assert.Equal(65536L, pr.GetValue<long?>("--budget"));
        Assert.Equal("folder:frames", pr.GetValue<string>("--source"));
    }

    [Theory]
    [InlineData("quantize", "missing.onnx")]
    [InlineData("eval", "missing.cnnq")]
    [InlineData("run", "missing.cnnq")]
    public void A_missing_model_file_exits_2_with_its_name_and_no_stack_trace(string command, string file)
    {
        string dir = CliHarness.TempDir();
        string path = Path.Combine(dir, file);
        var r = CliHarness.Run(command, path);
        Assert.Equal(ExitCodes.BadInput, r.ExitCode);
        Assert.Contains("not found", r.Err);
        Assert.Contains(path, r.Err);
        Assert.DoesNotContain("   at ", r.Err);
        Assert.DoesNotContain("Exception", r.Err);
    }

    [Fact]
    public void A_missing_frame_folder_exits_2()
    {
        string dir = CliHarness.TempDir();
        string model = Path.Combine(dir, "m.cnnq");
        File.WriteAllBytes(model, [1, 2, 3]);
        var r = CliHarness.Run("run", model, "--source", "folder:" + Path.Combine(dir, "nope"));
        Assert.Equal(ExitCodes.BadInput, r.ExitCode);
        Assert.Contains("frame folder not found", r.Err);
    }

    [Fact]
    public void A_missing_training_data_folder_exits_2()
    {
        var r = CliHarness.Run("train", "--data", "/no/such/folder");
        Assert.Equal(ExitCodes.BadInput, r.ExitCode);
        Assert.Contains("/no/such/folder", r.Err);
    }

    [Fact]
    public void Unexpected_errors_map_to_70_and_known_ones_to_their_codes()
    {
        Assert.Equal(ExitCodes.InternalError, CliRunner.Describe(new InvalidOperationException("x")).Code);
        Assert.Equal(ExitCodes.BadInput, CliRunner.Describe(new Cnn.Edge.ModelFormatException("header", 0, "magic CNNQ", "ABCD", "not a model")).Code);
        Assert.Equal(ExitCodes.BadInput, CliRunner.Describe(new FileNotFoundException("gone", "a.onnx")).Code);
        Assert.Equal(ExitCodes.Interrupted, CliRunner.Describe(new OperationCanceledException()).Code);
    }
}

public class ModelFileTests
{
    [Theory]
    [InlineData("eval")]
    [InlineData("run")]
    public void A_corrupt_model_exits_2_naming_the_problem_without_a_stack_trace(string command)
    {
        string dir = CliHarness.TempDir();
        string path = Path.Combine(dir, "corrupt.cnnq");
        File.WriteAllText(path, "this is not a model file at all, just text");
        var r = CliHarness.Run(command, path);
        Assert.Equal(ExitCodes.BadInput, r.ExitCode);
        Assert.Contains("invalid model file", r.Err);
        Assert.DoesNotContain("   at ", r.Err);
    }

    [Fact]
    public void A_truncated_model_exits_2()
    {
        string dir = CliHarness.TempDir();
        string path = Path.Combine(dir, "cut.cnnq");
        byte[] good = TinyModels.FourByFour();
        File.WriteAllBytes(path, good[..(good.Length / 2)]);
        var r = CliHarness.Run("eval", path);
        Assert.Equal(ExitCodes.BadInput, r.ExitCode);
        Assert.Contains("invalid model file", r.Err);
    }

    [Fact]
    public void A_model_over_the_budget_exits_3_naming_the_peak()
    {
        string dir = CliHarness.TempDir();
        string path = Path.Combine(dir, "tiny.cnnq");
        File.WriteAllBytes(path, TinyModels.FourByFour());
        var r = CliHarness.Run("run", path, "--budget", "8");
        Assert.Equal(ExitCodes.BudgetExceeded, r.ExitCode);
        Assert.Contains("budget is 8", r.Err);
        Assert.Contains("peak", r.Err);
    }

    [Fact]
    public void Eval_of_a_model_whose_input_does_not_match_the_data_exits_2()
    {
        string dir = CliHarness.TempDir();
        string path = Path.Combine(dir, "tiny.cnnq");
        File.WriteAllBytes(path, TinyModels.FourByFour());
        var r = CliHarness.Run("eval", path, "--data", "digits", "--limit", "20");
        Assert.Equal(ExitCodes.BadInput, r.ExitCode);
        Assert.Contains("[1x4x4x1]", r.Err);
        Assert.Contains("1x28x28", r.Err);
    }

    [Fact]
    public void Eval_json_parses_and_its_figures_add_up()
    {
        string dir = CliHarness.TempDir();
        string path = Path.Combine(dir, "linear.cnnq");
        File.WriteAllBytes(path, TinyModels.Linear(28));
        var r = CliHarness.Run("eval", path, "--data", "digits", "--limit", "30", "--json");
        Assert.True(r.ExitCode == ExitCodes.Ok, r.Err);
        var doc = System.Text.Json.Nodes.JsonNode.Parse(r.Out)!;
        Assert.Equal(30, (int)doc["images"]!);
        double acc = (double)doc["accuracy"]!;
        Assert.InRange(acc, 0, 1);
        var rows = doc["confusion"]!.AsArray();
        Assert.Equal(10, rows.Count);
        int total = rows.Sum(row => row!.AsArray().Sum(v => (int)v!));
        int diagonal = Enumerable.Range(0, 10).Sum(i => (int)rows[i]![i]!);
        Assert.Equal(30, total);
        Assert.Equal(acc, diagonal / 30.0, 6);
    }

    [Fact]
    public void Eval_below_min_accuracy_exits_4()
    {
        string dir = CliHarness.TempDir();
        string path = Path.Combine(dir, "linear.cnnq");
        File.WriteAllBytes(path, TinyModels.Linear(28));
        // A random linear model cannot reach 100 % on generated digits.
        var r = CliHarness.Run("eval", path, "--data", "digits", "--limit", "30", "--min-accuracy", "100");
        Assert.Equal(ExitCodes.GateFailed, r.ExitCode);
        Assert.Contains("below --min-accuracy", r.Err);
    }
}

public class TrainQuantizeTests
{
    [Fact]
    public void Train_then_quantize_then_eval_chain_with_json_at_each_step()
    {
        string dir = CliHarness.TempDir();
        string onnx = Path.Combine(dir, "m.onnx");
        var t = CliHarness.Run("train", "--data", "embedded", "--train-size", "300", "--epochs", "1", "--out", onnx, "--json");
        Assert.True(t.ExitCode == ExitCodes.Ok, t.Err);
        var tj = System.Text.Json.Nodes.JsonNode.Parse(t.Out)!;
        Assert.Equal(onnx, (string)tj["model"]!);
        Assert.Equal(1, (int)tj["epochs"]!);
        Assert.True(new FileInfo(onnx).Length > 1000);

        string edge = Path.Combine(dir, "m.cnnq");
        var q = CliHarness.Run("quantize", onnx, "--calibration-size", "50", "--test-size", "100", "--out", edge, "--json");
        Assert.True(q.ExitCode == ExitCodes.Ok, q.Err);
        var qj = System.Text.Json.Nodes.JsonNode.Parse(q.Out)!;
        Assert.Equal(100, (int)qj["images"]!);
        Assert.True(qj["layers"]!.AsArray().Count >= 3, "a LeNet has at least 3 int8 layers");
        Assert.True((int)qj["arena_bytes"]! > 0);
        Assert.True(File.Exists(edge));

        // Command-line preprocessing wins over the ONNX metadata and lands in the edge model's metadata.
        string edge2 = Path.Combine(dir, "m2.cnnq");
        var q2 = CliHarness.Run("quantize", onnx, "--calibration-size", "20", "--test-size", "20", "--out", edge2,
            "--mean", "0.5", "--std", "0.25", "--labels", "a,b,c,d,e,f,g,h,i,j");
        Assert.True(q2.ExitCode == ExitCodes.Ok, q2.Err);
        var md = Cnn.Edge.EdgeModel.LoadFile(edge2).Metadata;
        Assert.Equal(0.5f, float.Parse(md["input.mean"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(0.25f, float.Parse(md["input.std"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.StartsWith("a,b,c", md["labels"]);
        Assert.Equal(ExitCodes.Usage, CliHarness.Run("quantize", onnx, "--mean", "zero").ExitCode);

        var e = CliHarness.Run("eval", edge, "--limit", "100", "--json");
        Assert.True(e.ExitCode == ExitCodes.Ok, e.Err);
        var ej = System.Text.Json.Nodes.JsonNode.Parse(e.Out)!;
        // eval runs the same interpreter on the same 100 images as quantize's int8 figure.
        Assert.Equal((double)qj["accuracy"]!, (double)ej["accuracy"]!, 6);
    }

    [Fact]
    public void Quantize_of_a_file_that_is_not_onnx_exits_2()
    {
        string dir = CliHarness.TempDir();
        string path = Path.Combine(dir, "junk.onnx");
        File.WriteAllBytes(path, [0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3]);
        var r = CliHarness.Run("quantize", path);
        Assert.Equal(ExitCodes.BadInput, r.ExitCode);
        Assert.Contains("ONNX", r.Err);
        Assert.DoesNotContain("   at ", r.Err);
    }

    [Fact]
    public void Run_over_a_folder_classifies_every_frame_and_reports_json()
    {
        string dir = CliHarness.TempDir();
        string model = Path.Combine(dir, "linear.cnnq");
        File.WriteAllBytes(model, TinyModels.Linear(28));
        string frames = Path.Combine(dir, "frames");
        Directory.CreateDirectory(frames);
        var rng = new Random(5);
        for (int i = 0; i < 3; i++)
            File.WriteAllBytes(Path.Combine(frames, $"f{i}.pgm"), Demo.SyntheticDigits.ToPgm(Demo.SyntheticDigits.Draw(i, rng), 28, 28));
        var r = CliHarness.Run("run", model, "--source", "folder:" + frames, "--pin", "3=17", "--json");
        Assert.True(r.ExitCode == ExitCodes.Ok, r.Err);
        var doc = System.Text.Json.Nodes.JsonNode.Parse(r.Out)!;
        Assert.Equal(3, (long)doc["frames"]!);
        var results = doc["results"]!.AsArray();
        Assert.Equal(["f0.pgm", "f1.pgm", "f2.pgm"], results.Select(x => (string)x!["file"]!));
        Assert.All(results, x => Assert.InRange((double)x!["score"]!, 0, 1));
        Assert.Equal("3", (string)doc["pins"]!["17"]!);
    }
}
