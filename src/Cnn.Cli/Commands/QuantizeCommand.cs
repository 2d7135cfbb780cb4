using System.CommandLine;

namespace Cnn.Cli.Commands;

public static class QuantizeCommand
{
    public static Command Create()
    {
        var model = new Argument<FileInfo>("model") { Description = "Float ONNX model (from cnn train, PyTorch or any exporter)" };
        var calib = new Option<string>("--calibration", "-c")
        {
            Description = "Calibration images: 'embedded', 'digits', or a folder with MNIST IDX files",
            DefaultValueFactory = _ => "embedded",
        };
        var outFile = new Option<FileInfo?>("--out", "-o") { Description = "Edge model to write (default: MODEL with extension .cnnq)" };
        var maxDrop = new Option<double?>("--max-drop") { Description = "Fail (exit 4) if int8 accuracy is more than this many points below float" };
        var json = CliRunner.JsonOption();
        var cmd = new Command("quantize", "Fold, fuse, calibrate and convert an ONNX CNN to an int8 edge model; report accuracy and per-layer SQNR.")
        {
            model, calib, outFile, maxDrop, json,
        };
        cmd.WithExamples(
            "cnn quantize model.onnx                      # writes model.cnnq",
            "cnn quantize resnet.onnx --out r.cnnq --max-drop 1.0",
            "cnn quantize model.onnx --json | jq .sqnrDb");
        cmd.SetGuardedAction(json, (pr, ctx) =>
        {
            CliRunner.ExistingFile(pr.GetValue(model), "model file");
            throw CliException.NotInThisBuild("quantize", "the quantizer (src/Cnn.Quantize)");
        });
        return cmd;
    }
}
