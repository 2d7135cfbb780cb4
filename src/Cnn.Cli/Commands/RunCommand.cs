using System.CommandLine;

namespace Cnn.Cli.Commands;

public static class RunCommand
{
    public static Command Create()
    {
        var model = new Argument<FileInfo>("model") { Description = "Int8 edge model (.cnnq)" };
        var source = new Option<string>("--source", "-s")
        {
            Description = "Frames: folder:DIR (images in name order), file:PATH (one image), or synthetic (generated digits)",
            DefaultValueFactory = _ => "synthetic",
        };
        var frames = new Option<int>("--frames", "-n") { Description = "Stop after this many frames (0: until the source ends)", DefaultValueFactory = _ => 0 };
        var gpio = new Option<string>("--gpio") { Description = "GPIO driver: sim (simulated pins, printed) or none", DefaultValueFactory = _ => "sim" };
        gpio.AcceptOnlyFromAmong("sim", "none");
        var budget = new Option<long?>("--budget") { Description = "Arena byte budget; a model whose plan does not fit is refused (exit 3)" };
        var json = CliRunner.JsonOption();
        var cmd = new Command("run", "Run the device loop on this machine: frames → int8 model → decision → simulated GPIO pins.")
        {
            model, source, frames, gpio, budget, json,
        };
        cmd.WithExamples(
            "cnn run model.cnnq --source folder:cnn-demo/frames",
            "cnn run model.cnnq --source synthetic --frames 100 --budget 65536",
            "cnn run model.cnnq --source file:digit.pgm --json");
        cmd.SetGuardedAction(json, (pr, ctx) =>
        {
            var file = CliRunner.ExistingFile(pr.GetValue(model), "model file");
            string src = pr.GetValue(source)!;
            if (src.StartsWith("folder:", StringComparison.Ordinal) && !Directory.Exists(src[7..]))
                throw new CliException(ExitCodes.BadInput, $"frame folder not found: {Path.GetFullPath(src[7..])}");
            if (src.StartsWith("file:", StringComparison.Ordinal) && !File.Exists(src[5..]))
                throw new CliException(ExitCodes.BadInput, $"frame file not found: {Path.GetFullPath(src[5..])}");
            if (src != "synthetic" && !src.StartsWith("folder:", StringComparison.Ordinal) && !src.StartsWith("file:", StringComparison.Ordinal))
                throw new CliException(ExitCodes.Usage, $"unknown --source '{src}'", "use folder:DIR, file:PATH or synthetic");
            // Load and prepare first: a corrupt file (exit 2) or a plan over budget (exit 3) is refused
            // before any frame is read, as on the device.
            using var interpreter = new Cnn.Edge.Interpreter(Cnn.Edge.EdgeModel.LoadFile(file.FullName),
                new Cnn.Edge.InterpreterOptions { BudgetBytes = pr.GetValue(budget) });
            throw CliException.NotInThisBuild("run", "the edge runtime and the classify loop (src/Cnn.Edge, src/Cnn.Edge.Devices)");
        });
        return cmd;
    }
}
