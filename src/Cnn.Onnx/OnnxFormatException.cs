namespace Cnn.Onnx;

/// <summary>
/// The one exception for an ONNX file that cannot be read or a graph that is not well formed:
/// truncated or corrupt protobuf, sizes or dimensions over the limits, tensor data that does not
/// match its declared shape, undefined node inputs, cycles. <see cref="Where"/> names the element
/// (tensor, node, field) and the message says what was expected.
/// </summary>
public sealed class OnnxFormatException : Exception
{
    public OnnxFormatException(string where, string problem, Exception? inner = null)
        : base($"ONNX: {where}: {problem}", inner)
    {
        Where = where;
        Problem = problem;
    }

    /// <summary>The element at fault, e.g. "initializer 'conv1.weight'" or "node 'Conv_3' (Conv)".</summary>
    public string Where { get; }

    public string Problem { get; }
}
