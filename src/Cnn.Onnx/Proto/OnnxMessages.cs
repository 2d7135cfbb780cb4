namespace Cnn.Onnx.Proto;

// The subset of onnx.proto (IR version 3..10) this SDK reads and writes. Field numbers are the
// specification's (onnx/onnx.proto); fields not listed here are skipped on read and never written.

/// <summary>TensorProto.DataType values.</summary>
public enum OnnxDataType
{
    Undefined = 0,
    Float = 1,
    UInt8 = 2,
    Int8 = 3,
    UInt16 = 4,
    Int16 = 5,
    Int32 = 6,
    Int64 = 7,
    String = 8,
    Bool = 9,
    Float16 = 10,
    Double = 11,
    UInt32 = 12,
    UInt64 = 13,
}

/// <summary>AttributeProto.AttributeType values.</summary>
public enum OnnxAttributeType
{
    Undefined = 0,
    Float = 1,
    Int = 2,
    String = 3,
    Tensor = 4,
    Graph = 5,
    Floats = 6,
    Ints = 7,
    Strings = 8,
    Tensors = 9,
    Graphs = 10,
    SparseTensor = 11,
    SparseTensors = 12,
    TypeProto = 13,
    TypeProtos = 14,
}

/// <summary>ModelProto: 1 ir_version, 2 producer_name, 3 producer_version, 4 domain, 5 model_version,
/// 6 doc_string, 7 graph, 8 opset_import, 14 metadata_props.</summary>
public sealed class ModelProto
{
    public long IrVersion { get; set; }
    public string ProducerName { get; set; } = "";
    public string ProducerVersion { get; set; } = "";
    public string Domain { get; set; } = "";
    public long ModelVersion { get; set; }
    public string DocString { get; set; } = "";
    public GraphProto? Graph { get; set; }
    public List<OperatorSetIdProto> OpsetImport { get; } = [];
    public List<StringStringEntryProto> MetadataProps { get; } = [];
}

/// <summary>OperatorSetIdProto: 1 domain, 2 version.</summary>
public sealed class OperatorSetIdProto
{
    public string Domain { get; set; } = "";
    public long Version { get; set; }
}

/// <summary>StringStringEntryProto: 1 key, 2 value.</summary>
public sealed class StringStringEntryProto
{
    public string Key { get; set; } = "";
    public string Value { get; set; } = "";
}

/// <summary>GraphProto: 1 node, 2 name, 5 initializer, 10 doc_string, 11 input, 12 output, 13 value_info.</summary>
public sealed class GraphProto
{
    public List<NodeProto> Node { get; } = [];
    public string Name { get; set; } = "";
    public List<TensorProto> Initializer { get; } = [];
    public string DocString { get; set; } = "";
    public List<ValueInfoProto> Input { get; } = [];
    public List<ValueInfoProto> Output { get; } = [];
    public List<ValueInfoProto> ValueInfo { get; } = [];
}

/// <summary>NodeProto: 1 input, 2 output, 3 name, 4 op_type, 5 attribute, 6 doc_string, 7 domain.</summary>
public sealed class NodeProto
{
    public List<string> Input { get; } = [];
    public List<string> Output { get; } = [];
    public string Name { get; set; } = "";
    public string OpType { get; set; } = "";
    public string Domain { get; set; } = "";
    public List<AttributeProto> Attribute { get; } = [];
    public string DocString { get; set; } = "";
}

/// <summary>AttributeProto: 1 name, 2 f, 3 i, 4 s, 5 t, 7 floats, 8 ints, 9 strings, 10 tensors, 13 doc_string, 20 type.
/// Graph-valued attributes (6 g, 11 graphs: control flow) are skipped; <see cref="Type"/> still says Graph.</summary>
public sealed class AttributeProto
{
    public string Name { get; set; } = "";
    public OnnxAttributeType Type { get; set; }
    public float F { get; set; }
    public long I { get; set; }
    public byte[] S { get; set; } = [];
    public TensorProto? T { get; set; }
    public List<float> Floats { get; } = [];
    public List<long> Ints { get; } = [];
    public List<byte[]> Strings { get; } = [];
    public List<TensorProto> Tensors { get; } = [];
    public string DocString { get; set; } = "";
}

/// <summary>TensorProto: 1 dims, 2 data_type, 4 float_data, 5 int32_data, 7 int64_data, 8 name, 9 raw_data,
/// 10 double_data, 11 uint64_data, 12 doc_string, 13 external_data, 14 data_location.
/// Exactly one of the data fields is expected to hold the values (raw_data little-endian).</summary>
public sealed class TensorProto
{
    public List<long> Dims { get; } = [];
    public OnnxDataType DataType { get; set; }
    public List<float> FloatData { get; } = [];
    public List<int> Int32Data { get; } = [];
    public List<long> Int64Data { get; } = [];
    public List<double> DoubleData { get; } = [];
    public List<ulong> UInt64Data { get; } = [];
    public string Name { get; set; } = "";
    public byte[] RawData { get; set; } = [];
    public string DocString { get; set; } = "";
    /// <summary>1 = EXTERNAL: the data lives in another file, which this SDK does not read.</summary>
    public int DataLocation { get; set; }
    public List<StringStringEntryProto> ExternalData { get; } = [];
}

/// <summary>ValueInfoProto: 1 name, 2 type, 3 doc_string. Only tensor types are kept
/// (TypeProto 1 tensor_type → Tensor: 1 elem_type, 2 shape → TensorShapeProto: 1 dim →
/// Dimension: 1 dim_value, 2 dim_param).</summary>
public sealed class ValueInfoProto
{
    public string Name { get; set; } = "";
    public string DocString { get; set; } = "";
    /// <summary>TypeProto.tensor_type.elem_type; Undefined when the type is absent or not a tensor.</summary>
    public OnnxDataType ElemType { get; set; }
    /// <summary>Null when the shape is absent; otherwise one entry per dimension.</summary>
    public List<DimensionProto>? Shape { get; set; }
}

/// <summary>TensorShapeProto.Dimension: 1 dim_value, 2 dim_param (symbolic, e.g. "batch").</summary>
public sealed class DimensionProto
{
    public long? Value { get; set; }
    public string Param { get; set; } = "";
}
