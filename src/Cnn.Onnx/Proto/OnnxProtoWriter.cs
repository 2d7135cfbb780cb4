using Google.Protobuf;

namespace Cnn.Onnx.Proto;

/// <summary>
/// Writes <see cref="ModelProto"/> with Google.Protobuf's CodedOutputStream. Sub-messages are
/// serialized to a buffer first so their length prefix is known; repeated scalars are packed.
/// </summary>
public static class OnnxProtoWriter
{
    public static byte[] WriteModel(ModelProto m)
    {
        return Serialize(o =>
        {
            if (m.IrVersion != 0) { o.WriteTag(1, WireFormat.WireType.Varint); o.WriteInt64(m.IrVersion); }
            WriteString(o, 2, m.ProducerName);
            WriteString(o, 3, m.ProducerVersion);
            WriteString(o, 4, m.Domain);
            if (m.ModelVersion != 0) { o.WriteTag(5, WireFormat.WireType.Varint); o.WriteInt64(m.ModelVersion); }
            WriteString(o, 6, m.DocString);
            if (m.Graph != null) WriteMessage(o, 7, Graph(m.Graph));
            foreach (var op in m.OpsetImport)
            {
                WriteMessage(o, 8, Serialize(s =>
                {
                    WriteString(s, 1, op.Domain);
                    s.WriteTag(2, WireFormat.WireType.Varint);
                    s.WriteInt64(op.Version);
                }));
            }
            foreach (var e in m.MetadataProps) WriteMessage(o, 14, Entry(e));
        });
    }

    public static byte[] WriteTensor(TensorProto t) => Tensor(t);

    private static byte[] Entry(StringStringEntryProto e) => Serialize(s =>
    {
        WriteString(s, 1, e.Key);
        WriteString(s, 2, e.Value);
    });

    private static byte[] Graph(GraphProto g) => Serialize(o =>
    {
        foreach (var n in g.Node) WriteMessage(o, 1, Node(n));
        WriteString(o, 2, g.Name);
        foreach (var t in g.Initializer) WriteMessage(o, 5, Tensor(t));
        WriteString(o, 10, g.DocString);
        foreach (var v in g.Input) WriteMessage(o, 11, ValueInfo(v));
        foreach (var v in g.Output) WriteMessage(o, 12, ValueInfo(v));
        foreach (var v in g.ValueInfo) WriteMessage(o, 13, ValueInfo(v));
    });

    private static byte[] Node(NodeProto n) => Serialize(o =>
    {
        foreach (var s in n.Input) { o.WriteTag(1, WireFormat.WireType.LengthDelimited); o.WriteString(s); }
        foreach (var s in n.Output) { o.WriteTag(2, WireFormat.WireType.LengthDelimited); o.WriteString(s); }
        WriteString(o, 3, n.Name);
        WriteString(o, 4, n.OpType);
        foreach (var a in n.Attribute) WriteMessage(o, 5, Attribute(a));
        WriteString(o, 6, n.DocString);
        WriteString(o, 7, n.Domain);
    });

    private static byte[] Attribute(AttributeProto a) => Serialize(o =>
    {
        WriteString(o, 1, a.Name);
        switch (a.Type)
        {
            case OnnxAttributeType.Float: o.WriteTag(2, WireFormat.WireType.Fixed32); o.WriteFloat(a.F); break;
            case OnnxAttributeType.Int: o.WriteTag(3, WireFormat.WireType.Varint); o.WriteInt64(a.I); break;
            case OnnxAttributeType.String: o.WriteTag(4, WireFormat.WireType.LengthDelimited); o.WriteBytes(ByteString.CopyFrom(a.S)); break;
            case OnnxAttributeType.Tensor when a.T != null: WriteMessage(o, 5, Tensor(a.T)); break;
            case OnnxAttributeType.Floats:
                WritePacked(o, 7, a.Floats.Count * 4, s => { foreach (float f in a.Floats) s.WriteFloat(f); });
                break;
            case OnnxAttributeType.Ints:
                WritePacked(o, 8, a.Ints.Sum(v => CodedOutputStream.ComputeInt64Size(v)), s => { foreach (long v in a.Ints) s.WriteInt64(v); });
                break;
            case OnnxAttributeType.Strings:
                foreach (var b in a.Strings) { o.WriteTag(9, WireFormat.WireType.LengthDelimited); o.WriteBytes(ByteString.CopyFrom(b)); }
                break;
            case OnnxAttributeType.Tensors:
                foreach (var t in a.Tensors) WriteMessage(o, 10, Tensor(t));
                break;
        }
        WriteString(o, 13, a.DocString);
        o.WriteTag(20, WireFormat.WireType.Varint);
        o.WriteEnum((int)a.Type);
    });

    private static byte[] Tensor(TensorProto t) => Serialize(o =>
    {
        if (t.Dims.Count > 0)
            WritePacked(o, 1, t.Dims.Sum(v => CodedOutputStream.ComputeInt64Size(v)), s => { foreach (long d in t.Dims) s.WriteInt64(d); });
        o.WriteTag(2, WireFormat.WireType.Varint);
        o.WriteInt32((int)t.DataType);
        if (t.FloatData.Count > 0)
            WritePacked(o, 4, t.FloatData.Count * 4, s => { foreach (float f in t.FloatData) s.WriteFloat(f); });
        if (t.Int32Data.Count > 0)
            WritePacked(o, 5, t.Int32Data.Sum(CodedOutputStream.ComputeInt32Size), s => { foreach (int v in t.Int32Data) s.WriteInt32(v); });
        if (t.Int64Data.Count > 0)
            WritePacked(o, 7, t.Int64Data.Sum(v => CodedOutputStream.ComputeInt64Size(v)), s => { foreach (long v in t.Int64Data) s.WriteInt64(v); });
        WriteString(o, 8, t.Name);
        if (t.RawData.Length > 0) WriteMessage(o, 9, t.RawData);
        if (t.DoubleData.Count > 0)
            WritePacked(o, 10, t.DoubleData.Count * 8, s => { foreach (double v in t.DoubleData) s.WriteDouble(v); });
        WriteString(o, 12, t.DocString);
    });

    private static byte[] ValueInfo(ValueInfoProto v) => Serialize(o =>
    {
        WriteString(o, 1, v.Name);
        if (v.ElemType != OnnxDataType.Undefined || v.Shape != null)
        {
            byte[] tensorType = Serialize(tt =>
            {
                tt.WriteTag(1, WireFormat.WireType.Varint);
                tt.WriteInt32((int)v.ElemType);
                if (v.Shape != null)
                {
                    WriteMessage(tt, 2, Serialize(sh =>
                    {
                        foreach (var d in v.Shape)
                        {
                            WriteMessage(sh, 1, Serialize(ds =>
                            {
                                if (d.Value.HasValue) { ds.WriteTag(1, WireFormat.WireType.Varint); ds.WriteInt64(d.Value.Value); }
                                else WriteString(ds, 2, d.Param);
                            }));
                        }
                    }));
                }
            });
            WriteMessage(o, 2, Serialize(tp => WriteMessage(tp, 1, tensorType)));
        }
        WriteString(o, 3, v.DocString);
    });

    private static byte[] Serialize(Action<CodedOutputStream> write)
    {
        using var ms = new MemoryStream();
        using (var o = new CodedOutputStream(ms, leaveOpen: true))
        {
            write(o);
            o.Flush();
        }
        return ms.ToArray();
    }

    private static void WriteString(CodedOutputStream o, int field, string value)
    {
        if (value.Length == 0) return;
        o.WriteTag(field, WireFormat.WireType.LengthDelimited);
        o.WriteString(value);
    }

    private static void WriteMessage(CodedOutputStream o, int field, byte[] body)
    {
        o.WriteTag(field, WireFormat.WireType.LengthDelimited);
        o.WriteBytes(UnsafeByteOperations.UnsafeWrap(body));
    }

    private static void WritePacked(CodedOutputStream o, int field, int byteLength, Action<CodedOutputStream> writeValues)
    {
        o.WriteTag(field, WireFormat.WireType.LengthDelimited);
        o.WriteLength(byteLength);
        writeValues(o);
    }
}
