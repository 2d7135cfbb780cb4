using System.Text;
using Cnn.Onnx.Proto;

namespace Cnn.Onnx;

/// <summary>A node attribute, decoded. Create with the static helpers (<see cref="Int"/>, <see cref="IntList"/>, ...).</summary>
public sealed class OnnxAttribute
{
    public required string Name { get; init; }
    public required OnnxAttributeType Type { get; init; }
    public float Float { get; init; }
    public long Int { get; init; }
    public string String { get; init; } = "";
    public float[] Floats { get; init; } = [];
    public long[] Ints { get; init; } = [];
    public OnnxTensor? Tensor { get; init; }

    public static OnnxAttribute FloatValue(string name, float v) => new() { Name = name, Type = OnnxAttributeType.Float, Float = v };
    public static OnnxAttribute IntValue(string name, long v) => new() { Name = name, Type = OnnxAttributeType.Int, Int = v };
    public static OnnxAttribute StringValue(string name, string v) => new() { Name = name, Type = OnnxAttributeType.String, String = v };
    public static OnnxAttribute IntList(string name, params long[] v) => new() { Name = name, Type = OnnxAttributeType.Ints, Ints = v };
    public static OnnxAttribute FloatList(string name, params float[] v) => new() { Name = name, Type = OnnxAttributeType.Floats, Floats = v };
    public static OnnxAttribute TensorValue(string name, OnnxTensor t) => new() { Name = name, Type = OnnxAttributeType.Tensor, Tensor = t };

    public override string ToString() => Type switch
    {
        OnnxAttributeType.Float => $"{Name}={Float}",
        OnnxAttributeType.Int => $"{Name}={Int}",
        OnnxAttributeType.String => $"{Name}=\"{String}\"",
        OnnxAttributeType.Ints => $"{Name}=[{string.Join(',', Ints)}]",
        OnnxAttributeType.Floats => $"{Name}=[{string.Join(',', Floats)}]",
        _ => $"{Name}:{Type}",
    };

    internal static OnnxAttribute FromProto(AttributeProto a, OnnxReadLimits limits, string where)
    {
        var type = a.Type;
        if (type == OnnxAttributeType.Undefined)
        {
            // IR version 1-2 files may omit the type: infer it from the field that is set.
            type = a.T != null ? OnnxAttributeType.Tensor
                : a.Ints.Count > 0 ? OnnxAttributeType.Ints
                : a.Floats.Count > 0 ? OnnxAttributeType.Floats
                : a.S.Length > 0 ? OnnxAttributeType.String
                : a.F != 0 ? OnnxAttributeType.Float
                : OnnxAttributeType.Int;
        }
        return new OnnxAttribute
        {
            Name = a.Name,
            Type = type,
            Float = a.F,
            Int = a.I,
            String = Encoding.UTF8.GetString(a.S),
            Floats = [.. a.Floats],
            Ints = [.. a.Ints],
            Tensor = a.T != null ? OnnxTensor.FromProto(a.T, limits, $"{where} attribute '{a.Name}'") : null,
        };
    }

    internal AttributeProto ToProto()
    {
        var a = new AttributeProto { Name = Name, Type = Type, F = Float, I = Int, S = Encoding.UTF8.GetBytes(String), T = Tensor?.ToProto() };
        a.Floats.AddRange(Floats);
        a.Ints.AddRange(Ints);
        return a;
    }
}

/// <summary>An operator node: op type, named input and output values (empty string = absent optional input), attributes.</summary>
public sealed class OnnxNode
{
    public OnnxNode(string opType, string name, IEnumerable<string> inputs, IEnumerable<string> outputs, params OnnxAttribute[] attributes)
    {
        OpType = opType;
        Name = name;
        Inputs = [.. inputs];
        Outputs = [.. outputs];
        foreach (var a in attributes) Attributes[a.Name] = a;
    }

    public string OpType { get; set; }
    public string Name { get; set; }
    /// <summary>Operator set domain; "" (or "ai.onnx") is the standard one.</summary>
    public string Domain { get; set; } = "";
    public List<string> Inputs { get; }
    public List<string> Outputs { get; }
    public Dictionary<string, OnnxAttribute> Attributes { get; } = [];

    /// <summary>"'Conv_3' (Conv)": how errors name a node.</summary>
    public string Describe() => $"node '{Name}' ({OpType})";

    public override string ToString() => $"{OpType} '{Name}' ({string.Join(", ", Inputs)}) -> ({string.Join(", ", Outputs)})";

    public long GetInt(string name, long fallback) => Attributes.TryGetValue(name, out var a) ? a.Int : fallback;
    public float GetFloat(string name, float fallback) => Attributes.TryGetValue(name, out var a) ? a.Float : fallback;
    public string GetString(string name, string fallback) => Attributes.TryGetValue(name, out var a) ? a.String : fallback;
    public long[]? GetInts(string name) => Attributes.TryGetValue(name, out var a) ? a.Ints : null;
    public float[]? GetFloats(string name) => Attributes.TryGetValue(name, out var a) ? a.Floats : null;
    public OnnxTensor? GetTensor(string name) => Attributes.TryGetValue(name, out var a) ? a.Tensor : null;

    /// <summary>The input at <paramref name="index"/>, or "" when absent (optional inputs may be omitted or empty).</summary>
    public string Input(int index) => index < Inputs.Count ? Inputs[index] : "";
}

/// <summary>A graph input or output: name, element type and shape (ONNX order; -1 for a symbolic dimension such as the batch).</summary>
public sealed class OnnxValueInfo
{
    public OnnxValueInfo(string name, int[]? shape, OnnxDataType elemType = OnnxDataType.Float)
    {
        Name = name;
        Shape = shape;
        ElemType = elemType;
    }

    public string Name { get; set; }
    /// <summary>Null when the file declares no shape.</summary>
    public int[]? Shape { get; set; }
    public OnnxDataType ElemType { get; set; }

    public override string ToString() => Shape == null ? Name : $"{Name}[{string.Join('x', Shape)}]";
}
