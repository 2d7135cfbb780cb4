using System.CommandLine;

namespace Cnn.Cli.Commands;

public static class EvalCommand
{
    public static Command Create()
    {
        var model = new Argument<FileInfo>("model") { Description = "A float .onnx or an int8 .cnnq model" };
        var data = new Option<string>("--data", "-d")
        {
            Description = "Test set: 'embedded', 'digits', or a folder with MNIST IDX files",
            DefaultValueFactory = _ => "embedded",
        };
        var minAcc = new Option<double?>("--min-accuracy") { Description = "Fail (exit 4) below this test accuracy, in percent" };
        var json = CliRunner.JsonOption();
        var cmd = new Command("eval", "Test accuracy and confusion matrix of a float or int8 model.")
        {
            model, data, minAcc, json,
        };
        cmd.WithExamples(
            "cnn eval model.cnnq",
            "cnn eval model.onnx --data ../shared/data/mnist --min-accuracy 98",
            "cnn eval model.cnnq --json | jq .accuracy");
        cmd.SetGuardedAction(json, (pr, ctx) =>
        {
            var file = CliRunner.ExistingFile(pr.GetValue(model), "model file");
            bool onnx = file.Extension.Equals(".onnx", StringComparison.OrdinalIgnoreCase);
            throw CliException.NotInThisBuild("eval", onnx ? "the float runtime (src/Cnn.Trainer + src/Cnn.Onnx)" : "the edge runtime (src/Cnn.Edge)");
        });
        return cmd;
    }
}
