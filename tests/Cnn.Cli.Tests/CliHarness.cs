using System.CommandLine;

namespace Cnn.Cli.Tests;

/// <summary>Runs `cnn ARGS` in process with captured stdout and stderr.</summary>
internal static class CliHarness
{
    public sealed record Result(int ExitCode, string Out, string Err);

    public static Result Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int rc = Program.BuildRoot().Parse(args).Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
        return new Result(rc, stdout.ToString(), stderr.ToString());
    }

    public static string TempDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), "cnn-cli-tests-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }
}

/// <summary>Tiny valid edge models built in code (no file in the repo).</summary>
internal static class TinyModels
{
    /// <summary>int8 [1,4,4,1] input → FC 10 (weights = identity-ish) → int8 [1,10]: arena of a few dozen bytes.</summary>
    public static byte[] FourByFour() => Linear(4);

    /// <summary>int8 [1,n,n,1] → FC 10 with weights from a fixed seed.</summary>
    public static byte[] Linear(int n)
    {
        var b = new Cnn.Edge.ModelBuilder();
        int x = b.AddInput("image", Cnn.Edge.TensorType.Int8, [1, n, n, 1], 1f / 255, -128);
        int f = b.Reshape("flatten", x, [1, n * n]);
        var rng = new Random(3);
        var w = new sbyte[10 * n * n];
        for (int i = 0; i < w.Length; i++) w[i] = (sbyte)rng.Next(-20, 21);
        int wt = b.AddConstantInt8("fc.w", [10, n * n], w, Enumerable.Repeat(0.01f, 10).ToArray());
        int bt = b.AddConstantInt32("fc.b", [10], new int[10]);
        int fc = b.FullyConnected("fc", f, wt, bt, 0.05f, 0);
        b.MarkOutput(fc);
        return b.Build();
    }
}
