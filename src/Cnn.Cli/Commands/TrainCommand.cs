using System.CommandLine;

namespace Cnn.Cli.Commands;

public static class TrainCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data", "-d")
        {
            Description = "Data set: 'embedded' (the MNIST subset inside the SDK), 'digits' (generated), or a folder with MNIST IDX files (.gz or not)",
            DefaultValueFactory = _ => "embedded",
        };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training set", DefaultValueFactory = _ => 5 };
        var batch = new Option<int>("--batch") { Description = "Mini-batch size", DefaultValueFactory = _ => 64 };
        var lr = new Option<float>("--lr") { Description = "Peak learning rate (cosine schedule)", DefaultValueFactory = _ => 0.05f };
        var outFile = new Option<FileInfo>("--out", "-o") { Description = "ONNX file to write", DefaultValueFactory = _ => new FileInfo("model.onnx") };
        var json = CliRunner.JsonOption();
        var cmd = new Command("train", "Train a small CNN in float32 and export it as ONNX (the quantizer's input).")
        {
            data, epochs, batch, lr, outFile, json,
        };
        cmd.WithExamples(
            "cnn train --out model.onnx",
            "cnn train --data ../shared/data/mnist --epochs 3 --out mnist.onnx",
            "cnn train --data digits --epochs 2 --json");
        cmd.SetGuardedAction(json, (pr, ctx) =>
        {
            string source = pr.GetValue(data)!;
            if (source is not ("embedded" or "digits") && !Directory.Exists(source))
                throw new CliException(ExitCodes.BadInput, $"data folder not found: {Path.GetFullPath(source)}",
                    "give 'embedded', 'digits', or a folder holding train-images-idx3-ubyte(.gz) and its label file");
            if (pr.GetValue(epochs) < 1) throw new CliException(ExitCodes.Usage, "--epochs must be at least 1");
            throw CliException.NotInThisBuild("train", "the trainer (src/Cnn.Trainer)");
        });
        return cmd;
    }
}
