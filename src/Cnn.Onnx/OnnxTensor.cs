using System.Buffers.Binary;
using Cnn.Onnx.Proto;

namespace Cnn.Onnx;

/// <summary>
/// A constant tensor of a graph (initializer or Constant value), decoded: float-like types
/// (float, double, float16) into <see cref="Floats"/>, integer and bool types into <see cref="Ints"/>.
/// Dims are in ONNX order (NCHW for images, [Cout,Cin/g,KH,KW] for conv weights).
/// </summary>
public sealed class OnnxTensor
{
    public OnnxTensor(string name, int[] dims, float[] data)
    {
        Name = name;
        Dims = dims;
        DataType = OnnxDataType.Float;
        Floats = data;
        if (data.LongLength != ElementCount(dims))
            throw new ArgumentException($"tensor '{name}': {data.Length} values for dims [{string.Join(',', dims)}]");
    }

    public OnnxTensor(string name, int[] dims, long[] data, OnnxDataType type = OnnxDataType.Int64)
    {
        Name = name;
        Dims = dims;
        DataType = type;
        Ints = data;
        if (data.LongLength != ElementCount(dims))
            throw new ArgumentException($"tensor '{name}': {data.Length} values for dims [{string.Join(',', dims)}]");
    }

    public string Name { get; set; }
    public int[] Dims { get; }
    public OnnxDataType DataType { get; }
    /// <summary>Values of a float, double or float16 tensor (row-major); null for integer tensors.</summary>
    public float[]? Floats { get; }
    /// <summary>Values of an integer or bool tensor (row-major); null for float tensors.</summary>
    public long[]? Ints { get; }

    public bool IsFloat => Floats != null;
    public long Count => ElementCount(Dims);

    /// <summary>The float values; throws naming the tensor when it holds integers.</summary>
    public float[] RequireFloats() =>
        Floats ?? throw new OnnxFormatException($"tensor '{Name}'", $"expected float data, found {DataType}");

    public long[] RequireInts() =>
        Ints ?? throw new OnnxFormatException($"tensor '{Name}'", $"expected integer data, found {DataType}");

    public static long ElementCount(int[] dims)
    {
        long n = 1;
        foreach (int d in dims) n *= d;
        return n;
    }

    public override string ToString() => $"{Name} {DataType}[{string.Join('x', Dims)}]";

    /// <summary>Decodes a TensorProto, checking rank, dimensions and that the data holds exactly the declared element count.</summary>
    public static OnnxTensor FromProto(TensorProto t, OnnxReadLimits limits, string? where = null)
    {
        where ??= $"tensor '{t.Name}'";
        if (t.DataLocation == 1 || t.ExternalData.Count > 0)
            throw new OnnxFormatException(where, "data is stored in an external file, which is not supported; re-export with the weights embedded (torch.onnx.export writes them inline below 2 GB)");
        if (t.Dims.Count > limits.MaxRank)
            throw new OnnxFormatException(where, $"rank {t.Dims.Count} is over the limit of {limits.MaxRank}");
        var dims = new int[t.Dims.Count];
        long count = 1;
        for (int i = 0; i < dims.Length; i++)
        {
            long d = t.Dims[i];
            if (d < 0 || d > limits.MaxElements)
                throw new OnnxFormatException(where, $"dimension {i} is {d}; expected 0..{limits.MaxElements}");
            dims[i] = (int)d;
            count *= d;
            if (count > limits.MaxElements)
                throw new OnnxFormatException(where, $"more than {limits.MaxElements} elements");
        }
        int n = (int)count;

        switch (t.DataType)
        {
            case OnnxDataType.Float:
            case OnnxDataType.Double:
            case OnnxDataType.Float16:
                return new OnnxTensor(t.Name, dims, DecodeFloats(t, n, where));
            case OnnxDataType.Int64:
            case OnnxDataType.Int32:
            case OnnxDataType.Int16:
            case OnnxDataType.Int8:
            case OnnxDataType.UInt8:
            case OnnxDataType.UInt16:
            case OnnxDataType.UInt32:
            case OnnxDataType.UInt64:
            case OnnxDataType.Bool:
                return new OnnxTensor(t.Name, dims, DecodeInts(t, n, where), t.DataType);
            default:
                throw new OnnxFormatException(where, $"data type {t.DataType} ({(int)t.DataType}) is not supported");
        }
    }

    private static float[] DecodeFloats(TensorProto t, int n, string where)
    {
        int size = t.DataType switch { OnnxDataType.Double => 8, OnnxDataType.Float16 => 2, _ => 4 };
        var result = new float[n];
        if (t.RawData.Length > 0)
        {
            CheckCount(where, t.RawData.Length, (long)n * size, "raw_data bytes");
            var raw = t.RawData.AsSpan();
            for (int i = 0; i < n; i++)
            {
                result[i] = size switch
                {
                    8 => (float)BinaryPrimitives.ReadDoubleLittleEndian(raw[(i * 8)..]),
                    2 => (float)BinaryPrimitives.ReadHalfLittleEndian(raw[(i * 2)..]),
                    _ => BinaryPrimitives.ReadSingleLittleEndian(raw[(i * 4)..]),
                };
            }
        }
        else if (t.DataType == OnnxDataType.Double)
        {
            CheckCount(where, t.DoubleData.Count, n, "double_data values");
            for (int i = 0; i < n; i++) result[i] = (float)t.DoubleData[i];
        }
        else if (t.DataType == OnnxDataType.Float16)
        {
            // float16 values travel as their bit patterns in int32_data.
            CheckCount(where, t.Int32Data.Count, n, "int32_data values");
            for (int i = 0; i < n; i++) result[i] = (float)BitConverter.Int16BitsToHalf((short)t.Int32Data[i]);
        }
        else
        {
            CheckCount(where, t.FloatData.Count, n, "float_data values");
            t.FloatData.CopyTo(result);
        }
        return result;
    }

    private static long[] DecodeInts(TensorProto t, int n, string where)
    {
        var result = new long[n];
        int size = t.DataType switch
        {
            OnnxDataType.Int64 or OnnxDataType.UInt64 => 8,
            OnnxDataType.Int32 or OnnxDataType.UInt32 => 4,
            OnnxDataType.Int16 or OnnxDataType.UInt16 => 2,
            _ => 1,
        };
        if (t.RawData.Length > 0)
        {
            CheckCount(where, t.RawData.Length, (long)n * size, "raw_data bytes");
            var raw = t.RawData.AsSpan();
            for (int i = 0; i < n; i++)
            {
                result[i] = t.DataType switch
                {
                    OnnxDataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(raw[(i * 8)..]),
                    OnnxDataType.UInt64 => (long)BinaryPrimitives.ReadUInt64LittleEndian(raw[(i * 8)..]),
                    OnnxDataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(raw[(i * 4)..]),
                    OnnxDataType.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(raw[(i * 4)..]),
                    OnnxDataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(raw[(i * 2)..]),
                    OnnxDataType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(raw[(i * 2)..]),
                    OnnxDataType.Int8 => (sbyte)raw[i],
                    _ => raw[i],
                };
            }
        }
        else if (t.DataType == OnnxDataType.Int64)
        {
            CheckCount(where, t.Int64Data.Count, n, "int64_data values");
            t.Int64Data.CopyTo(result);
        }
        else if (t.DataType == OnnxDataType.UInt64)
        {
            CheckCount(where, t.UInt64Data.Count, n, "uint64_data values");
            for (int i = 0; i < n; i++) result[i] = (long)t.UInt64Data[i];
        }
        else
        {
            // int32, int16, int8, uint8, uint16, bool all travel in int32_data.
            CheckCount(where, t.Int32Data.Count, n, "int32_data values");
            for (int i = 0; i < n; i++) result[i] = t.Int32Data[i];
        }
        return result;
    }

    private static void CheckCount(string where, long actual, long expected, string what)
    {
        if (actual != expected)
            throw new OnnxFormatException(where, $"{actual} {what}, expected {expected} for the declared dims");
    }

    /// <summary>Encodes as a TensorProto: floats as FLOAT raw_data, integers as INT64 raw_data (little-endian).</summary>
    public TensorProto ToProto()
    {
        var t = new TensorProto { Name = Name };
        foreach (int d in Dims) t.Dims.Add(d);
        if (Floats != null)
        {
            t.DataType = OnnxDataType.Float;
            var raw = new byte[Floats.Length * 4];
            for (int i = 0; i < Floats.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * 4), Floats[i]);
            t.RawData = raw;
        }
        else
        {
            t.DataType = OnnxDataType.Int64;
            var ints = Ints!;
            var raw = new byte[ints.Length * 8];
            for (int i = 0; i < ints.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(i * 8), ints[i]);
            t.RawData = raw;
        }
        return t;
    }
}
