namespace Cnn.Edge.Format;

/// <summary>
/// Byte layout of the edge model file, version 1.0 (docs/model-format.md is the same table in prose).
/// Everything is little-endian; offsets marked "absolute" count from the first byte of the file,
/// name and metadata offsets count from the start of the strings section.
/// </summary>
public static class ModelLayout
{
    public const uint Magic = 0x51_4E_4E_43; // "CNNQ" read as a little-endian uint32
    public const ushort VersionMajor = 1;
    public const ushort VersionMinor = 0;

    // Header fields (HeaderSize bytes at offset 0).
    public const int HeaderSize = 80;
    public const int HMagic = 0, HVersionMajor = 4, HVersionMinor = 6, HHeaderSize = 8, HFileSize = 12, HCrc = 16,
        HFlags = 20, HTensorsOffset = 24, HTensorCount = 28, HOpsOffset = 32, HOpCount = 36, HOpsLength = 40,
        HIoOffset = 44, HInputCount = 48, HOutputCount = 50, HPlanOffset = 52, HMetadataOffset = 56,
        HMetadataCount = 60, HStringsOffset = 64, HStringsLength = 68, HDataOffset = 72, HDataLength = 76;

    // Tensor record (TensorRecordSize bytes each).
    public const int TensorRecordSize = 64;
    public const int TType = 0, TRank = 1, TFlags = 2, TReserved0 = 3, TShape = 4, TScale = 28, TZeroPoint = 32,
        TScalesOffset = 36, TScalesCount = 40, TDataOffset = 44, TDataLength = 48, TNameOffset = 52, TNameLength = 56,
        TReserved1 = 60;
    public const byte TensorFlagConstant = 1;

    // Op record: OpHeaderSize bytes, then int32 inputs[], outputs[], params[].
    public const int OpHeaderSize = 16;
    public const int OCode = 0, OInputCount = 2, OOutputCount = 3, OParamCount = 4, OReserved = 6, ONameOffset = 8,
        ONameLength = 12;

    // Plan section: PlanHeaderSize bytes, then int32 arena_offset[tensor_count] (-1 for constants).
    public const int PlanHeaderSize = 16;
    public const int PArenaBytes = 0, PLowerBound = 4, PPeakOp = 8, PAlignment = 12;

    // Metadata record: key and value as (offset, length) into the strings section.
    public const int MetadataRecordSize = 16;

    /// <summary>Constant data (and the data section) start on this boundary, so kernels read weights in place.</summary>
    public const int DataAlignment = 64;
    /// <summary>Arena offsets and slot sizes are multiples of this (one 128-bit vector).</summary>
    public const int ArenaAlignment = 16;

    // Caps keep every size computation inside int32 and every loop bounded, whatever the file says.
    public const int MaxRank = 6;
    public const int MaxTensors = 65535;
    public const int MaxOps = 65535;
    public const int MaxOpInputs = 64;
    public const int MaxOpOutputs = 8;
    public const int MaxOpParams = 64;
    public const int MaxModelInputs = 256;
    public const int MaxModelOutputs = 256;
    public const int MaxMetadata = 4096;
    public const int MaxNameBytes = 4096;
    /// <summary>2^28 elements: at most 2^30 bytes per tensor (4-byte types), so sums of a few stay in int32.</summary>
    public const int MaxElements = 1 << 28;
    /// <summary>The arena is one array: at most 1 GiB.</summary>
    public const int MaxArenaBytes = 1 << 30;

    public static int AlignUp(int value, int alignment) => (value + alignment - 1) & ~(alignment - 1);
    public static long AlignUp(long value, int alignment) => (value + alignment - 1) & ~(long)(alignment - 1);
}
