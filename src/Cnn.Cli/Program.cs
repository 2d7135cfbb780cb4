using System.CommandLine;
using System.Reflection;
using Cnn.Cli.Commands;

namespace Cnn.Cli;

public static class Program
{
    public static int Main(string[] args) => BuildRoot().Parse(args).Invoke();

    /// <summary>The version stamped by Nerdbank.GitVersioning (what `cnn --version` prints).</summary>
    public static string Version { get; } =
        typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    public static RootCommand BuildRoot()
    {
        var root = new RootCommand(
            "cnn: train a CNN, quantize it to int8 and run it as the device will, within a memory budget.\n" +
            "Exit codes: 0 ok, 1 usage, 2 bad input file, 3 budget exceeded, 4 quality gate failed,\n" +
            "5 part not in this build, 6 device error, 70 internal error, 130 interrupted (docs/cli.md).");
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(QuantizeCommand.Create());
        root.Subcommands.Add(EvalCommand.Create());
        root.Subcommands.Add(RunCommand.Create());
        // Commands other engineers own (one line each, keep on merge):
        root.Subcommands.Add(InspectCommand.Create());       // edge-core: Commands/InspectCommand.cs
        root.Subcommands.Add(BenchCommand.Create()); // simd

        root.WithExamples(
            "cnn demo --out demo-report          # the whole path, then open demo-report/report.html",
            "cnn train --epochs 5 --out model.onnx",
            "cnn quantize model.onnx --out model.cnnq",
            "cnn eval model.cnnq --min-accuracy 95",
            "cnn inspect model.cnnq                # ops, arena plan, memory taper",
            "cnn run model.cnnq --source folder:cnn-demo/frames --gpio sim",
            "cnn <command> --help                # options and examples of one command");
        CliRunner.InstallExamplesHelp(root);
        return root;
    }
}
