using Google.Protobuf;

namespace Cnn.Onnx.Proto;

/// <summary>Limits applied while reading untrusted ONNX files.</summary>
public sealed class OnnxReadLimits
{
    /// <summary>Largest file accepted (bytes). Every allocation made while reading is bounded by the
    /// bytes actually present in the file, so memory stays within a small multiple of this.</summary>
    public long MaxFileBytes { get; init; } = 1L << 30;
    public int MaxRank { get; init; } = 8;
    /// <summary>Largest single dimension and largest element count of one tensor.</summary>
    public long MaxElements { get; init; } = 1L << 28;
    public int MaxNodes { get; init; } = 100_000;

    public static OnnxReadLimits Default { get; } = new();
}

/// <summary>
/// Reads the ONNX subset of <see cref="ModelProto"/> with Google.Protobuf's CodedInputStream.
/// Unknown fields are skipped; packed and unpacked repeated scalars are both accepted.
/// </summary>
public static class OnnxProtoReader
{
    public static ModelProto ReadModel(byte[] file, OnnxReadLimits? limits = null)
    {
        limits ??= OnnxReadLimits.Default;
        if (file.LongLength > limits.MaxFileBytes)
            throw new OnnxFormatException("file", $"{file.LongLength} bytes is over the limit of {limits.MaxFileBytes} bytes");
        try
        {
            var model = new ModelProto();
            var input = new CodedInputStream(file);
            ReadModel(input, model, limits);
            return model;
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new OnnxFormatException("protobuf", $"not a valid ONNX protobuf ({e.Message}); is this an .onnx file?", e);
        }
    }

    /// <summary>Reads a bare TensorProto (the format of the ONNX test data's input_N.pb / output_N.pb).</summary>
    public static TensorProto ReadTensor(byte[] file, OnnxReadLimits? limits = null)
    {
        limits ??= OnnxReadLimits.Default;
        try
        {
            var t = new TensorProto();
            ReadTensor(new CodedInputStream(file), t);
            return t;
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new OnnxFormatException("protobuf", $"not a valid TensorProto ({e.Message})", e);
        }
    }

    private static void ReadModel(CodedInputStream input, ModelProto m, OnnxReadLimits limits)
    {
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1 when IsVarint(tag): m.IrVersion = input.ReadInt64(); break;
                case 2 when IsLen(tag): m.ProducerName = input.ReadString(); break;
                case 3 when IsLen(tag): m.ProducerVersion = input.ReadString(); break;
                case 4 when IsLen(tag): m.Domain = input.ReadString(); break;
                case 5 when IsVarint(tag): m.ModelVersion = input.ReadInt64(); break;
                case 6 when IsLen(tag): m.DocString = input.ReadString(); break;
                case 7 when IsLen(tag):
                    m.Graph ??= new GraphProto();
                    ReadGraph(Sub(input), m.Graph, limits);
                    break;
                case 8 when IsLen(tag):
                    {
                        var o = new OperatorSetIdProto();
                        ReadOpset(Sub(input), o);
                        m.OpsetImport.Add(o);
                        break;
                    }
                case 14 when IsLen(tag):
                    m.MetadataProps.Add(ReadEntry(Sub(input)));
                    break;
                default: input.SkipLastField(); break;
            }
        }
    }

    private static void ReadOpset(CodedInputStream input, OperatorSetIdProto o)
    {
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1 when IsLen(tag): o.Domain = input.ReadString(); break;
                case 2 when IsVarint(tag): o.Version = input.ReadInt64(); break;
                default: input.SkipLastField(); break;
            }
        }
    }

    private static StringStringEntryProto ReadEntry(CodedInputStream input)
    {
        var e = new StringStringEntryProto();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1 when IsLen(tag): e.Key = input.ReadString(); break;
                case 2 when IsLen(tag): e.Value = input.ReadString(); break;
                default: input.SkipLastField(); break;
            }
        }
        return e;
    }

    private static void ReadGraph(CodedInputStream input, GraphProto g, OnnxReadLimits limits)
    {
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1 when IsLen(tag):
                    {
                        if (g.Node.Count >= limits.MaxNodes)
                            throw new OnnxFormatException("graph", $"more than {limits.MaxNodes} nodes");
                        var n = new NodeProto();
                        ReadNode(Sub(input), n);
                        g.Node.Add(n);
                        break;
                    }
                case 2 when IsLen(tag): g.Name = input.ReadString(); break;
                case 5 when IsLen(tag):
                    {
                        var t = new TensorProto();
                        ReadTensor(Sub(input), t);
                        g.Initializer.Add(t);
                        break;
                    }
                case 10 when IsLen(tag): g.DocString = input.ReadString(); break;
                case 11 when IsLen(tag): g.Input.Add(ReadValueInfo(Sub(input))); break;
                case 12 when IsLen(tag): g.Output.Add(ReadValueInfo(Sub(input))); break;
                case 13 when IsLen(tag): g.ValueInfo.Add(ReadValueInfo(Sub(input))); break;
                default: input.SkipLastField(); break;
            }
        }
    }

    private static void ReadNode(CodedInputStream input, NodeProto n)
    {
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1 when IsLen(tag): n.Input.Add(input.ReadString()); break;
                case 2 when IsLen(tag): n.Output.Add(input.ReadString()); break;
                case 3 when IsLen(tag): n.Name = input.ReadString(); break;
                case 4 when IsLen(tag): n.OpType = input.ReadString(); break;
                case 5 when IsLen(tag):
                    {
                        var a = new AttributeProto();
                        ReadAttribute(Sub(input), a);
                        n.Attribute.Add(a);
                        break;
                    }
                case 6 when IsLen(tag): n.DocString = input.ReadString(); break;
                case 7 when IsLen(tag): n.Domain = input.ReadString(); break;
                default: input.SkipLastField(); break;
            }
        }
    }

    private static void ReadAttribute(CodedInputStream input, AttributeProto a)
    {
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            int field = WireFormat.GetTagFieldNumber(tag);
            switch (field)
            {
                case 1 when IsLen(tag): a.Name = input.ReadString(); break;
                case 2 when WireFormat.GetTagWireType(tag) == WireFormat.WireType.Fixed32: a.F = input.ReadFloat(); break;
                case 3 when IsVarint(tag): a.I = input.ReadInt64(); break;
                case 4 when IsLen(tag): a.S = input.ReadBytes().ToByteArray(); break;
                case 5 when IsLen(tag):
                    a.T = new TensorProto();
                    ReadTensor(Sub(input), a.T);
                    break;
                case 7: ReadRepeated(input, tag, WireFormat.WireType.Fixed32, s => a.Floats.Add(s.ReadFloat())); break;
                case 8: ReadRepeated(input, tag, WireFormat.WireType.Varint, s => a.Ints.Add(s.ReadInt64())); break;
                case 9 when IsLen(tag): a.Strings.Add(input.ReadBytes().ToByteArray()); break;
                case 10 when IsLen(tag):
                    {
                        var t = new TensorProto();
                        ReadTensor(Sub(input), t);
                        a.Tensors.Add(t);
                        break;
                    }
                case 13 when IsLen(tag): a.DocString = input.ReadString(); break;
                case 20 when IsVarint(tag): a.Type = (OnnxAttributeType)input.ReadEnum(); break;
                default: input.SkipLastField(); break;
            }
        }
    }

    internal static void ReadTensor(CodedInputStream input, TensorProto t)
    {
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: ReadRepeated(input, tag, WireFormat.WireType.Varint, s => t.Dims.Add(s.ReadInt64())); break;
                case 2 when IsVarint(tag): t.DataType = (OnnxDataType)input.ReadInt32(); break;
                case 4: ReadRepeated(input, tag, WireFormat.WireType.Fixed32, s => t.FloatData.Add(s.ReadFloat())); break;
                case 5: ReadRepeated(input, tag, WireFormat.WireType.Varint, s => t.Int32Data.Add(s.ReadInt32())); break;
                case 7: ReadRepeated(input, tag, WireFormat.WireType.Varint, s => t.Int64Data.Add(s.ReadInt64())); break;
                case 8 when IsLen(tag): t.Name = input.ReadString(); break;
                case 9 when IsLen(tag): t.RawData = input.ReadBytes().ToByteArray(); break;
                case 10: ReadRepeated(input, tag, WireFormat.WireType.Fixed64, s => t.DoubleData.Add(s.ReadDouble())); break;
                case 11: ReadRepeated(input, tag, WireFormat.WireType.Varint, s => t.UInt64Data.Add(s.ReadUInt64())); break;
                case 12 when IsLen(tag): t.DocString = input.ReadString(); break;
                case 13 when IsLen(tag): t.ExternalData.Add(ReadEntry(Sub(input))); break;
                case 14 when IsVarint(tag): t.DataLocation = input.ReadEnum(); break;
                default: input.SkipLastField(); break;
            }
        }
    }

    private static ValueInfoProto ReadValueInfo(CodedInputStream input)
    {
        var v = new ValueInfoProto();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1 when IsLen(tag): v.Name = input.ReadString(); break;
                case 2 when IsLen(tag): ReadTypeProto(Sub(input), v); break;
                case 3 when IsLen(tag): v.DocString = input.ReadString(); break;
                default: input.SkipLastField(); break;
            }
        }
        return v;
    }

    private static void ReadTypeProto(CodedInputStream input, ValueInfoProto v)
    {
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == 1 && IsLen(tag))
            {
                // TypeProto.Tensor: 1 elem_type, 2 shape
                var tensorType = Sub(input);
                uint t2;
                while ((t2 = tensorType.ReadTag()) != 0)
                {
                    switch (WireFormat.GetTagFieldNumber(t2))
                    {
                        case 1 when IsVarint(t2): v.ElemType = (OnnxDataType)tensorType.ReadInt32(); break;
                        case 2 when IsLen(t2): v.Shape = ReadShape(Sub(tensorType)); break;
                        default: tensorType.SkipLastField(); break;
                    }
                }
            }
            else
            {
                input.SkipLastField();
            }
        }
    }

    private static List<DimensionProto> ReadShape(CodedInputStream input)
    {
        var dims = new List<DimensionProto>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == 1 && IsLen(tag))
            {
                var d = new DimensionProto();
                var dim = Sub(input);
                uint t2;
                while ((t2 = dim.ReadTag()) != 0)
                {
                    switch (WireFormat.GetTagFieldNumber(t2))
                    {
                        case 1 when IsVarint(t2): d.Value = dim.ReadInt64(); break;
                        case 2 when IsLen(t2): d.Param = dim.ReadString(); break;
                        default: dim.SkipLastField(); break;
                    }
                }
                dims.Add(d);
            }
            else
            {
                input.SkipLastField();
            }
        }
        return dims;
    }

    /// <summary>A sub-message: its bytes (length-delimited) as a stream of their own. The bytes are bounded by the file.</summary>
    private static CodedInputStream Sub(CodedInputStream input) => input.ReadBytes().CreateCodedInput();

    private static bool IsLen(uint tag) => WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited;

    private static bool IsVarint(uint tag) => WireFormat.GetTagWireType(tag) == WireFormat.WireType.Varint;

    /// <summary>Repeated scalar field, either packed (one length-delimited run) or one value per tag.</summary>
    private static void ReadRepeated(CodedInputStream input, uint tag, WireFormat.WireType elementWire, Action<CodedInputStream> readOne)
    {
        var wire = WireFormat.GetTagWireType(tag);
        if (wire == WireFormat.WireType.LengthDelimited)
        {
            var packed = Sub(input);
            while (!packed.IsAtEnd) readOne(packed);
        }
        else if (wire == elementWire)
        {
            readOne(input);
        }
        else
        {
            input.SkipLastField();
        }
    }
}
