using System.Text;
using System.Text.Json;

namespace Cnn.Edge;

/// <summary>
/// What `cnn inspect` prints: per op its shapes, MACs, parameter bytes and live bytes (the taper), and the
/// arena plan against its lower bound. JSON is written with Utf8JsonWriter (no reflection: AOT-clean).
/// </summary>
public sealed class InspectReport
{
    /// <summary>One op. MACs count multiply-accumulates of Conv2D, FullyConnected and TransposeConv2D (0 for the others);
    /// parameter bytes are its constant inputs' data (weights, biases) plus per-channel scales.</summary>
    public sealed record OpRow(int Index, string Name, OpCode Type, IReadOnlyList<int[]> InputShapes, int[] OutputShape,
        long Macs, long ParameterBytes, long LiveBytes, bool IsPeak);

    public sealed record TensorRow(int Index, string Name, TensorType Type, int[] Shape, float Scale, int ZeroPoint);

    private InspectReport(EdgeModel model, OpRow[] ops)
    {
        Ops = ops;
        Inputs = [.. model.Inputs.Select(i => Row(model.Tensors[i]))];
        Outputs = [.. model.Outputs.Select(i => Row(model.Tensors[i]))];
        ArenaBytes = model.Plan.ArenaBytes;
        LowerBoundBytes = model.Plan.LowerBoundBytes;
        PeakOpIndex = model.Plan.PeakOpIndex;
        PeakOpName = model.Ops[PeakOpIndex].Name;
        FileBytes = model.FileBytes;
        TensorCount = model.Tensors.Count;
        Metadata = model.Metadata;
        FormatVersion = $"{model.VersionMajor}.{model.VersionMinor}";
    }

    public IReadOnlyList<OpRow> Ops { get; }
    public IReadOnlyList<TensorRow> Inputs { get; }
    public IReadOnlyList<TensorRow> Outputs { get; }
    public int ArenaBytes { get; }
    public int LowerBoundBytes { get; }
    public int PeakOpIndex { get; }
    public string PeakOpName { get; }
    public int FileBytes { get; }
    public int TensorCount { get; }
    public string FormatVersion { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }
    public long TotalMacs => Ops.Sum(o => o.Macs);
    public long ParameterBytes => Ops.Sum(o => o.ParameterBytes);

    private static TensorRow Row(TensorInfo t) => new(t.Index, t.Name, t.Type, t.Shape, t.Scale, t.ZeroPoint);

    public static InspectReport From(EdgeModel model)
    {
        var rows = new OpRow[model.Ops.Count];
        // A constant shared by several ops (rare) is counted at each of them.
        for (int i = 0; i < rows.Length; i++)
        {
            OpInfo op = model.Ops[i];
            var inputs = op.Inputs.Select(t => t < 0 ? Array.Empty<int>() : model.Tensors[t].Shape).ToArray();
            long parameters = 0;
            foreach (int t in op.Inputs)
            {
                if (t < 0 || !model.Tensors[t].IsConstant) continue;
                parameters += model.Tensors[t].ByteLength + 4L * (model.Tensors[t].ChannelScales?.Length ?? 0);
            }
            TensorInfo y = model.Tensors[op.Outputs[0]];
            rows[i] = new OpRow(i, op.Name, op.Code, inputs, y.Shape, Macs(op, model.Tensors), parameters,
                model.Plan.LiveBytesPerOp[i], i == model.Plan.PeakOpIndex);
        }
        return new InspectReport(model, rows);
    }

    /// <summary>Multiply-accumulates of one inference of the op.</summary>
    public static long Macs(OpInfo op, IReadOnlyList<TensorInfo> tensors)
    {
        TensorInfo x = tensors[op.Inputs[0]], y = tensors[op.Outputs[0]];
        switch (op.Code)
        {
            case OpCode.Conv2D:
            {
                // Each output element: KH*KW*(Cin/groups) products; w is [Cout, KH, KW, Cin/groups].
                int[] w = tensors[op.Inputs[1]].Shape;
                return (long)y.ElementCount * w[1] * w[2] * w[3];
            }
            case OpCode.FullyConnected:
                return (long)tensors[op.Inputs[1]].ElementCount * x.Shape[0]; // N*Cout*Cin
            case OpCode.TransposeConv2D:
                return (long)x.ElementCount * tensors[op.Inputs[1]].ElementCount / x.Shape[^1]; // N*H*W*Cin * Cout*KH*KW
            default:
                return 0;
        }
    }

    public string ToJson(bool indented = true)
    {
        using var stream = new MemoryStream();
        WriteJson(stream, indented);
        return Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length);
    }

    /// <summary>
    /// Fields: format_version, file_bytes, tensors, arena_bytes, lower_bound_bytes, peak_op (name), peak_op_index,
    /// total_macs, parameter_bytes, inputs[] and outputs[] (name, type, shape, scale, zero_point), metadata{},
    /// ops[] (index, name, type, input_shapes, output_shape, macs, parameter_bytes, live_bytes).
    /// </summary>
    public void WriteJson(Stream stream, bool indented = true)
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = indented });
        w.WriteStartObject();
        w.WriteString("format_version", FormatVersion);
        w.WriteNumber("file_bytes", FileBytes);
        w.WriteNumber("tensors", TensorCount);
        w.WriteNumber("arena_bytes", ArenaBytes);
        w.WriteNumber("lower_bound_bytes", LowerBoundBytes);
        w.WriteString("peak_op", PeakOpName);
        w.WriteNumber("peak_op_index", PeakOpIndex);
        w.WriteNumber("total_macs", TotalMacs);
        w.WriteNumber("parameter_bytes", ParameterBytes);
        WriteTensors(w, "inputs", Inputs);
        WriteTensors(w, "outputs", Outputs);
        w.WriteStartObject("metadata");
        foreach (var (k, v) in Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteString(k, v);
        w.WriteEndObject();
        w.WriteStartArray("ops");
        foreach (OpRow op in Ops)
        {
            w.WriteStartObject();
            w.WriteNumber("index", op.Index);
            w.WriteString("name", op.Name);
            w.WriteString("type", op.Type.ToString());
            w.WriteStartArray("input_shapes");
            foreach (int[] s in op.InputShapes) WriteShape(w, null, s);
            w.WriteEndArray();
            WriteShape(w, "output_shape", op.OutputShape);
            w.WriteNumber("macs", op.Macs);
            w.WriteNumber("parameter_bytes", op.ParameterBytes);
            w.WriteNumber("live_bytes", op.LiveBytes);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteTensors(Utf8JsonWriter w, string name, IReadOnlyList<TensorRow> rows)
    {
        w.WriteStartArray(name);
        foreach (TensorRow t in rows)
        {
            w.WriteStartObject();
            w.WriteString("name", t.Name);
            w.WriteString("type", t.Type.ToString().ToLowerInvariant());
            WriteShape(w, "shape", t.Shape);
            w.WriteNumber("scale", t.Scale);
            w.WriteNumber("zero_point", t.ZeroPoint);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteShape(Utf8JsonWriter w, string? name, int[] shape)
    {
        if (name is null) w.WriteStartArray(); else w.WriteStartArray(name);
        foreach (int d in shape) w.WriteNumberValue(d);
        w.WriteEndArray();
    }

    /// <summary>Plain-text table (for logs; the CLI draws its own).</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"format {FormatVersion}, {FileBytes} bytes, {Ops.Count} ops, {TensorCount} tensors");
        sb.AppendLine($"{"#",3} {"name",-16} {"type",-18} {"output",-16} {"MACs",10} {"params B",9} {"live B",9}");
        foreach (OpRow o in Ops)
            sb.AppendLine($"{o.Index,3} {o.Name,-16} {o.Type,-18} {string.Join('x', o.OutputShape),-16} {o.Macs,10} {o.ParameterBytes,9} {o.LiveBytes,9}{(o.IsPeak ? "  <- peak" : "")}");
        sb.AppendLine($"arena {ArenaBytes} B, lower bound {LowerBoundBytes} B, peak at op #{PeakOpIndex} '{PeakOpName}'; {TotalMacs} MACs, {ParameterBytes} parameter bytes");
        return sb.ToString();
    }
}
