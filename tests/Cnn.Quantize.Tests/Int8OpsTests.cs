using Cnn.Edge;
using Cnn.Onnx;
using Cnn.Quantize.Float;
using Cnn.Quantize.Graph;
using Cnn.Quantize.Import;

namespace Cnn.Quantize.Tests;

/// <summary>
/// Imported ops that run in int8 through their own edge ops or rewrites: LeakyRelu (edge LeakyRelu), a Pad that cannot
/// be folded into a Conv and reflect/edge pads (edge Pad2D), Add/Sub/Mul/Div by a scalar or per-channel constant (a per-channel affine node,
/// folded into the Conv before it or kept as a depthwise 1x1 convolution), a broadcasting Add and a standalone Clip on a 2-D tensor.
/// Each compares the int8 model, dequantized, with the float graph.
/// </summary>
public class Int8OpsTests
{
    private static FloatGraph ConvThen(Action<FloatGraph> tail, int cout = 3)
    {
        var g = new FloatGraph();
        g.AddInput("x", [1, 2, 6, 6]);
        var rng = new Random(7);
        g.AddInitializer("w", [cout, 2, 3, 3], Enumerable.Range(0, cout * 18).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray());
        g.AddNode("Conv", "conv", ["x", "w"], ["c"], OnnxAttribute.IntList("pads", 1, 1, 1, 1));
        tail(g);
        return g;
    }

    /// <summary>Quantizes <paramref name="g"/> on random inputs and returns the largest |int8 - float| over a few inputs, in output steps.</summary>
    private static (double Steps, QuantizeResult Result) Int8Error(FloatGraph g, int[] inputShape)
    {
        var calib = Fixtures.RandomInputs(inputShape, 16, 1);
        var r = Quantizer.Quantize(g, calib);
        var model = EdgeModel.Load(r.EdgeModel);
        var last = model.Ops[^1].Code == OpCode.Dequantize ? model.Tensors[model.Ops[^1].Inputs[0]] : model.Tensors[model.Outputs[0]];
        var eval = new FloatEvaluator(r.FloatGraph);
        using var interp = new Interpreter(model);
        var inInfo = model.Tensors[model.Inputs[0]];
        double worst = 0;
        foreach (var x in Fixtures.RandomInputs(inputShape, 4, 2))
        {
            var nhwc = Quantizer.ToGraphInput(r.FloatGraph, x);
            var f = eval.Run(nhwc)[r.FloatGraph.Outputs[0]];
            var input = interp.InputInt8();
            for (int i = 0; i < nhwc.Length; i++) input[i] = Calibration.QuantParams.Quantize(nhwc[i], inInfo.Scale, inInfo.ZeroPoint);
            interp.Invoke();
            var q = interp.OutputFloat();
            for (int i = 0; i < f.Length; i++) worst = Math.Max(worst, Math.Abs(q[i] - f[i]) / last.Scale);
        }
        return (worst, r);
    }

    [Fact]
    public void LeakyReluRunsAsAnInt8Op()
    {
        var g = ConvThen(g =>
        {
            g.AddNode("LeakyRelu", "leaky", ["c"], ["y"], OnnxAttribute.FloatValue("alpha", 0.1f));
            g.AddOutput("y");
        });
        var (steps, r) = Int8Error(g, [1, 2, 6, 6]);
        Assert.Contains(EdgeModel.Load(r.EdgeModel).Ops, o => o.Code == OpCode.LeakyRelu && o.Name == "leaky");
        // Rounding of the input, the weights and two requantizations: a few output steps at most.
        Assert.True(steps <= 4, $"int8 LeakyRelu differs from float by {steps:F2} output steps");
    }

    [Fact]
    public void PadWithAValueOrBeforeAPoolRunsAsPad2D()
    {
        var g = ConvThen(g =>
        {
            g.AddInitializer("pads", [8], new long[] { 0, 0, 1, 2, 0, 0, 2, 1 });
            g.AddInitializer("value", [], [0.75f]);
            g.AddNode("Pad", "pad", ["c", "pads", "value"], ["p"]);
            g.AddNode("MaxPool", "pool", ["p"], ["y"], OnnxAttribute.IntList("kernel_shape", 2, 2), OnnxAttribute.IntList("strides", 2, 2));
            g.AddOutput("y");
        });
        var (steps, r) = Int8Error(g, [1, 2, 6, 6]);
        var model = EdgeModel.Load(r.EdgeModel);
        var pad = Assert.Single(model.Ops, o => o.Code == OpCode.Pad2D);
        Assert.Equal([1, 2, 2, 1], pad.Params[..4]);
        // The fill value is representable: the Pad's input range was widened to hold 0.75.
        var xq = model.Tensors[pad.Inputs[0]];
        double fill = (pad.Params[4] - xq.ZeroPoint) * (double)xq.Scale;
        Assert.True(Math.Abs(fill - 0.75) <= xq.Scale / 2 + 1e-6, $"fill {fill} for 0.75 with scale {xq.Scale}");
        Assert.True(steps <= 3, $"int8 Pad+MaxPool differs from float by {steps:F2} output steps");
    }

    [Theory]
    [InlineData("reflect", 1)]
    [InlineData("edge", 2)]
    public void ReflectAndEdgePadsRunAsPad2D(string mode, int code)
    {
        var g = ConvThen(g =>
        {
            g.AddInitializer("pads", [8], new long[] { 0, 0, 2, 1, 0, 0, 1, 2 });
            g.AddNode("Pad", "pad", ["c", "pads"], ["y"], OnnxAttribute.StringValue("mode", mode));
            g.AddOutput("y");
        });
        var (steps, r) = Int8Error(g, [1, 2, 6, 6]);
        var pad = Assert.Single(EdgeModel.Load(r.EdgeModel).Ops, o => o.Code == OpCode.Pad2D);
        Assert.Equal(code, pad.Params[5]);
        Assert.True(steps <= 3, $"int8 {mode} Pad differs from float by {steps:F2} output steps");
    }

    [Fact]
    public void ArithmeticWithAConstantBecomesAnAffineNodeFoldedOrDepthwise()
    {
        // conv → Mul per channel → Add scalar: folded into the conv; then Sub per channel on the conv's output, which
        // has a second reader, stays a depthwise 1x1 conv; the Add of both is a plain int8 Add.
        var g = ConvThen(g =>
        {
            g.AddInitializer("k", [3, 1, 1], [0.5f, -2f, 1.5f]);
            g.AddInitializer("one", [], [1f]);
            g.AddInitializer("m", [1, 3, 1, 1], [0.1f, 0.2f, -0.3f]);
            g.AddNode("Mul", "scale", ["c", "k"], ["s"]);
            g.AddNode("Add", "shift", ["s", "one"], ["t"]);
            g.AddNode("Sub", "centre", ["t", "m"], ["u"]);
            g.AddNode("Add", "sum", ["t", "u"], ["y"]);
            g.AddOutput("y");
        });
        var prepared = Quantizer.Prepare(g, out var log);
        Assert.Equal(2, log.FoldedBatchNorms);
        var centre = Assert.Single(prepared.Nodes, n => n.Name == "centre");
        Assert.Equal(NodeKind.Conv, centre.Kind);
        Assert.Equal(3, centre.Groups);
        var (steps, _) = Int8Error(g, [1, 2, 6, 6]);
        Assert.True(steps <= 4, $"int8 differs from float by {steps:F2} output steps");

        var bad = ConvThen(g =>
        {
            g.AddInitializer("row", [6], [1f, 2f, 3f, 4f, 5f, 6f]);
            g.AddNode("Mul", "rows", ["c", "row"], ["y"]);
            g.AddOutput("y");
        });
        var e = Assert.Throws<UnsupportedModelException>(() => Quantizer.Prepare(bad, out _));
        Assert.Contains("'rows'", e.Message);
        Assert.Contains("one value per channel", e.Message);
    }

    [Fact]
    public void BroadcastingAddOfAGlobalPoolRunsInInt8()
    {
        // conv [1,3,6,6] + its global average [1,3,1,1]: a per-channel broadcast of two runtime tensors.
        var g = ConvThen(g =>
        {
            g.AddNode("GlobalAveragePool", "gap", ["c"], ["m"]);
            g.AddNode("Add", "plus", ["c", "m"], ["y"]);
            g.AddOutput("y");
        });
        var (steps, r) = Int8Error(g, [1, 2, 6, 6]);
        var model = EdgeModel.Load(r.EdgeModel);
        var add = Assert.Single(model.Ops, o => o.Code == OpCode.Add);
        Assert.Equal([1, 1, 1, 3], model.Tensors[add.Inputs[1]].Shape);
        Assert.True(steps <= 4, $"int8 broadcast Add differs from float by {steps:F2} output steps");
    }

    [Fact]
    public void StandaloneClipOnA2DTensorRunsInInt8()
    {
        var g = new FloatGraph();
        g.AddInput("x", [1, 12]);
        g.AddNode("Clip", "clip", ["x"], ["y"], OnnxAttribute.FloatValue("min", -0.5f), OnnxAttribute.FloatValue("max", 0.8f));
        g.AddOutput("y");
        var (steps, r) = Int8Error(g, [1, 12]);
        Assert.Contains(EdgeModel.Load(r.EdgeModel).Ops, o => o.Code == OpCode.MaxPool2D && o.Name == "clip");
        Assert.True(steps <= 1, $"int8 Clip differs from float by {steps:F2} output steps");
    }
}
