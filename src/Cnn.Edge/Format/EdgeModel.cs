using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Unicode;
using Cnn.Edge.Format;
using Cnn.Edge.Runtime;

namespace Cnn.Edge;

/// <summary>
/// A loaded, fully validated edge model. The file is copied once into a 64-byte-aligned pinned buffer;
/// constant tensors are slices of it (<see cref="TensorInfo.Data"/>), read in place by the kernels.
/// </summary>
public sealed class EdgeModel
{
    private readonly byte[] _buffer; // keeps the pinned copy of the file alive

    private EdgeModel(byte[] buffer, TensorInfo[] tensors, OpInfo[] ops, int[] inputs, int[] outputs, ArenaPlan plan,
        Dictionary<string, string> metadata, int versionMinor, int fileBytes)
    {
        _buffer = buffer;
        Tensors = tensors;
        Ops = ops;
        Inputs = inputs;
        Outputs = outputs;
        Plan = plan;
        Metadata = metadata;
        VersionMinor = versionMinor;
        FileBytes = fileBytes;
    }

    public IReadOnlyList<TensorInfo> Tensors { get; }
    public IReadOnlyList<OpInfo> Ops { get; }
    /// <summary>Tensor indices of the model inputs, in order.</summary>
    public int[] Inputs { get; }
    /// <summary>Tensor indices of the model outputs, in order.</summary>
    public int[] Outputs { get; }
    public ArenaPlan Plan { get; }
    /// <summary>Free-form strings, e.g. input.layout=grey|rgb, input.pixel_scale, input.mean, input.std, labels.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }
    public int VersionMajor => ModelLayout.VersionMajor;
    public int VersionMinor { get; }
    /// <summary>Size of the model file in bytes.</summary>
    public int FileBytes { get; }

    /// <summary>Bytes of a constant tensor, in place in the loaded file (empty for activations).</summary>
    public ReadOnlySpan<byte> ConstantBytes(int tensorIndex) => Tensors[tensorIndex].Data.Span;

    /// <summary>Validates and loads a model file. Any malformed file raises <see cref="ModelFormatException"/>.</summary>
    public static EdgeModel Load(ReadOnlySpan<byte> file) => new Parser(file).Parse(null, 0);

    /// <summary>Reads a model file straight into the aligned buffer (one copy) and validates it.</summary>
    public static EdgeModel LoadFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        long length = stream.Length;
        if (length > int.MaxValue - ModelLayout.DataAlignment)
            throw new ModelFormatException("header", 0, "a file below 2 GiB", $"{length} bytes", $"'{path}' is not an edge model");
        var (buffer, start) = AllocateAligned((int)length);
        stream.ReadExactly(buffer, start, (int)length);
        try { return new Parser(new ReadOnlySpan<byte>(buffer, start, (int)length)).Parse(buffer, start); }
        catch (ModelFormatException e) when (e.Path is null) { throw e.WithPath(path); }
    }

    /// <summary>A pinned array with a 64-byte-aligned window of <paramref name="length"/> bytes at start.</summary>
    private static unsafe (byte[] Buffer, int Start) AllocateAligned(int length)
    {
        var buffer = GC.AllocateUninitializedArray<byte>(length + ModelLayout.DataAlignment - 1, pinned: true);
        // Pinned arrays never move, so the address computed now stays valid for the buffer's life.
        nint address = (nint)Unsafe.AsPointer(ref buffer[0]);
        int start = (int)((ModelLayout.DataAlignment - (address & (ModelLayout.DataAlignment - 1))) & (ModelLayout.DataAlignment - 1));
        return (buffer, start);
    }

    /// <summary>
    /// The strict reader. Every field is checked before it is used as a size, index or offset. It reads
    /// the caller's bytes; only a file that passes every check is copied (once) into the pinned buffer.
    /// </summary>
    private ref struct Parser
    {
        private readonly ReadOnlySpan<byte> File;
        private readonly int length;
        private int _stringsOffset, _stringsLength, _dataOffset, _dataLength;

        public Parser(ReadOnlySpan<byte> file)
        {
            File = file;
            length = file.Length;
        }

        private uint U32(int at) => BinaryPrimitives.ReadUInt32LittleEndian(File.Slice(at, 4));
        private int I32(int at) => BinaryPrimitives.ReadInt32LittleEndian(File.Slice(at, 4));
        private ushort U16(int at) => BinaryPrimitives.ReadUInt16LittleEndian(File.Slice(at, 2));
        private float F32(int at) => BinaryPrimitives.ReadSingleLittleEndian(File.Slice(at, 4));

        private static ModelFormatException Fail(string section, long offset, string expected, string actual, string hint = "the file is corrupt or was not written by a Cnn edge model writer") =>
            new(section, offset, expected, actual, hint);

        /// <summary>A header count in [min, max].</summary>
        private int Count(int field, string what, int min, int max)
        {
            uint v = field == ModelLayout.HInputCount || field == ModelLayout.HOutputCount ? U16(field) : U32(field);
            if (v < min || v > max) throw Fail("header", field, $"{what} in [{min}, {max}]", v.ToString());
            return (int)v;
        }

        /// <summary>A section [offset, offset+size) after the header and inside the file, offset aligned.</summary>
        private int Section(int field, string name, long size, int alignment)
        {
            uint off = U32(field);
            if (off < ModelLayout.HeaderSize || off % alignment != 0 || off + size > length)
                throw Fail("header", field, $"{name} section ({size} bytes, {alignment}-byte aligned) between byte {ModelLayout.HeaderSize} and the end of the {length}-byte file",
                    $"offset {off}");
            return (int)off;
        }

        private string ReadString(string section, int field, int maxBytes)
        {
            uint off = U32(field), len = U32(field + 4);
            if (len > maxBytes || (long)off + len > _stringsLength)
                throw Fail(section, field, $"a string of at most {maxBytes} bytes inside the {_stringsLength}-byte strings section", $"offset {off}, length {len}");
            var bytes = File.Slice(_stringsOffset + (int)off, (int)len);
            if (!Utf8.IsValid(bytes)) throw Fail(section, field, "UTF-8 text", "invalid UTF-8 bytes");
            return Encoding.UTF8.GetString(bytes);
        }

        /// <summary>A block [off, off+len) inside the data section, off aligned.</summary>
        private void CheckData(int field, uint off, long len, int alignment, string what)
        {
            if (off % alignment != 0 || off < _dataOffset || off + len > (long)_dataOffset + _dataLength)
                throw Fail("tensors", field, $"{what} ({len} bytes, {alignment}-byte aligned) inside the data section [{_dataOffset}, {(long)_dataOffset + _dataLength})",
                    $"offset {off}");
        }

        /// <param name="pinned">The file already in an aligned pinned buffer at <paramref name="pinnedStart"/> (LoadFile), or null to copy it there.</param>
        public EdgeModel Parse(byte[]? pinned, int pinnedStart)
        {
            // Header: identity and integrity first, so a wrong file gets the most useful message.
            if (length < ModelLayout.HeaderSize)
                throw Fail("header", 0, $"at least {ModelLayout.HeaderSize} bytes", $"{length} bytes", "the file is truncated or not an edge model");
            if (U32(ModelLayout.HMagic) != ModelLayout.Magic)
                throw Fail("header", ModelLayout.HMagic, "magic \"CNNQ\"", $"0x{U32(ModelLayout.HMagic):X8}", "not a Cnn edge model (.cnnq) file");
            int major = U16(ModelLayout.HVersionMajor), minor = U16(ModelLayout.HVersionMinor);
            if (major != ModelLayout.VersionMajor)
                throw Fail("header", ModelLayout.HVersionMajor, $"format version {ModelLayout.VersionMajor}.x", $"{major}.{minor}",
                    $"this runtime reads format {ModelLayout.VersionMajor}.{ModelLayout.VersionMinor}; convert the model with a cnn tool of the same major version");
            if (minor > ModelLayout.VersionMinor)
                throw Fail("header", ModelLayout.HVersionMinor, $"format version at most {ModelLayout.VersionMajor}.{ModelLayout.VersionMinor}", $"{major}.{minor}",
                    "the model was written by a newer cnn; upgrade the runtime");
            if (U32(ModelLayout.HHeaderSize) != ModelLayout.HeaderSize)
                throw Fail("header", ModelLayout.HHeaderSize, $"header size {ModelLayout.HeaderSize}", U32(ModelLayout.HHeaderSize).ToString());
            if (U32(ModelLayout.HFileSize) != length)
                throw Fail("header", ModelLayout.HFileSize, $"file size {U32(ModelLayout.HFileSize)} as the header says", $"{length} bytes",
                    "the file was truncated or extended (incomplete copy or download?)");
            uint crc = Crc32.OfModelFile(File);
            if (U32(ModelLayout.HCrc) != crc)
                throw Fail("header", ModelLayout.HCrc, $"CRC-32 0x{crc:X8} of the file", $"0x{U32(ModelLayout.HCrc):X8}",
                    "the file is corrupt (bit flips in storage or transfer); copy it again");
            if (U32(ModelLayout.HFlags) != 0)
                throw Fail("header", ModelLayout.HFlags, "flags 0", U32(ModelLayout.HFlags).ToString());

            int tensorCount = Count(ModelLayout.HTensorCount, "tensor count", 1, ModelLayout.MaxTensors);
            int opCount = Count(ModelLayout.HOpCount, "op count", 1, ModelLayout.MaxOps);
            int inputCount = Count(ModelLayout.HInputCount, "input count", 1, ModelLayout.MaxModelInputs);
            int outputCount = Count(ModelLayout.HOutputCount, "output count", 1, ModelLayout.MaxModelOutputs);
            int metadataCount = Count(ModelLayout.HMetadataCount, "metadata count", 0, ModelLayout.MaxMetadata);
            int opsLength = Count(ModelLayout.HOpsLength, "ops section length", ModelLayout.OpHeaderSize * opCount, int.MaxValue);
            int tensorsOffset = Section(ModelLayout.HTensorsOffset, "tensors", (long)tensorCount * ModelLayout.TensorRecordSize, 4);
            int opsOffset = Section(ModelLayout.HOpsOffset, "ops", opsLength, 4);
            int ioOffset = Section(ModelLayout.HIoOffset, "io", 4L * (inputCount + outputCount), 4);
            int planOffset = Section(ModelLayout.HPlanOffset, "plan", ModelLayout.PlanHeaderSize + 4L * tensorCount, 4);
            int metadataOffset = Section(ModelLayout.HMetadataOffset, "metadata", (long)metadataCount * ModelLayout.MetadataRecordSize, 4);
            _stringsLength = Count(ModelLayout.HStringsLength, "strings section length", 0, int.MaxValue);
            _stringsOffset = Section(ModelLayout.HStringsOffset, "strings", _stringsLength, 1);
            _dataLength = Count(ModelLayout.HDataLength, "data section length", 0, int.MaxValue);
            _dataOffset = Section(ModelLayout.HDataOffset, "data", _dataLength, ModelLayout.DataAlignment);

            var dataAt = new int[tensorCount];
            var tensors = ReadTensors(tensorsOffset, tensorCount, planOffset, dataAt);
            var ops = ReadOps(opsOffset, opsLength, opCount, tensors);
            int[] inputs = ReadIo(ioOffset, inputCount, tensors, "input");
            int[] outputs = ReadIo(ioOffset + 4 * inputCount, outputCount, tensors, "output");
            var (first, last) = Lifetimes.Compute(tensors, ops, inputs, outputs);
            CheckShapes(ops, tensors);
            var plan = ReadPlan(planOffset, tensors, opCount, first, last);
            var metadata = ReadMetadata(metadataOffset, metadataCount);

            // Valid: now the one copy into the aligned pinned buffer, and constants become slices of it.
            if (pinned is null)
            {
                (pinned, pinnedStart) = AllocateAligned(length);
                File.CopyTo(pinned.AsSpan(pinnedStart));
            }
            for (int i = 0; i < tensors.Length; i++)
            {
                TensorInfo t = tensors[i];
                if (!t.IsConstant) continue;
                tensors[i] = new TensorInfo
                {
                    Index = t.Index, Name = t.Name, Type = t.Type, Shape = t.Shape, Scale = t.Scale, ZeroPoint = t.ZeroPoint,
                    ChannelScales = t.ChannelScales, IsConstant = true, ArenaOffset = -1,
                    Data = new ReadOnlyMemory<byte>(pinned, pinnedStart + dataAt[i], t.ByteLength),
                };
            }
            return new EdgeModel(pinned, tensors, ops, inputs, outputs, plan, metadata, minor, length);
        }

        /// <summary>Reads and checks the tensor records; constants get their data offset in <paramref name="dataAt"/> (Data is attached after all checks).</summary>
        private TensorInfo[] ReadTensors(int tensorsOffset, int count, int planOffset, int[] dataAt)
        {
            var tensors = new TensorInfo[count];
            for (int i = 0; i < count; i++)
            {
                int r = tensorsOffset + i * ModelLayout.TensorRecordSize;
                string Where() => $"tensor {i}";
                byte type = File[r + ModelLayout.TType];
                if (type is < (byte)TensorType.Int8 or > (byte)TensorType.Float32)
                    throw Fail("tensors", r + ModelLayout.TType, "type 1 (int8), 2 (int32) or 3 (float32)", type.ToString(), Where());
                int rank = File[r + ModelLayout.TRank];
                if (rank is < 1 or > ModelLayout.MaxRank)
                    throw Fail("tensors", r + ModelLayout.TRank, $"rank in [1, {ModelLayout.MaxRank}]", rank.ToString(), Where());
                byte flags = File[r + ModelLayout.TFlags];
                if ((flags & ~ModelLayout.TensorFlagConstant) != 0)
                    throw Fail("tensors", r + ModelLayout.TFlags, "flags 0 or 1 (constant)", flags.ToString(), Where());
                if (File[r + ModelLayout.TReserved0] != 0 || U32(r + ModelLayout.TReserved1) != 0)
                    throw Fail("tensors", r + ModelLayout.TReserved0, "reserved fields 0", "non-zero", Where());
                bool constant = flags != 0;
                var shape = new int[rank];
                long elements = 1;
                for (int d = 0; d < ModelLayout.MaxRank; d++)
                {
                    int at = r + ModelLayout.TShape + 4 * d;
                    int v = I32(at);
                    if (d >= rank)
                    {
                        if (v != 0) throw Fail("tensors", at, $"0 in unused dimension {d}", v.ToString(), Where());
                        continue;
                    }
                    if (v < 1) throw Fail("tensors", at, $"dimension {d} at least 1", v.ToString(), Where());
                    elements *= v;
                    if (elements > ModelLayout.MaxElements)
                        throw Fail("tensors", at, $"at most {ModelLayout.MaxElements} elements", $"more ({string.Join('x', shape[..d])}x{v}...)", Where());
                    shape[d] = v;
                }
                var tt = (TensorType)type;
                int byteLength = (int)elements * TensorInfo.ElementSize(tt);

                float scale = F32(r + ModelLayout.TScale);
                int zeroPoint = I32(r + ModelLayout.TZeroPoint);
                uint scalesOffset = U32(r + ModelLayout.TScalesOffset), scalesCount = U32(r + ModelLayout.TScalesCount);
                bool int8Weights = constant && tt == TensorType.Int8;
                if (tt == TensorType.Int8 && !constant)
                {
                    if (!(float.IsFinite(scale) && scale > 0))
                        throw Fail("tensors", r + ModelLayout.TScale, "int8 activation scale positive and finite", scale.ToString("R"), Where());
                    if (zeroPoint is < sbyte.MinValue or > sbyte.MaxValue)
                        throw Fail("tensors", r + ModelLayout.TZeroPoint, "int8 zero point in [-128, 127]", zeroPoint.ToString(), Where());
                }
                else if (tt == TensorType.Float32)
                {
                    if (scale != 0 || zeroPoint != 0)
                        throw Fail("tensors", r + ModelLayout.TScale, "float32 tensors with scale 0 and zero point 0", $"scale {scale:R}, zero point {zeroPoint}", Where());
                }
                else
                {
                    // int8 weights (symmetric) and int32 biases: zero point 0, scale 0 (per-channel) or positive.
                    if (zeroPoint != 0)
                        throw Fail("tensors", r + ModelLayout.TZeroPoint, $"zero point 0 for {(int8Weights ? "int8 weights" : "int32 tensors")}", zeroPoint.ToString(), Where());
                    if (!(float.IsFinite(scale) && scale >= 0))
                        throw Fail("tensors", r + ModelLayout.TScale, "scale 0 or positive and finite", scale.ToString("R"), Where());
                }

                float[]? channelScales = null;
                if (int8Weights)
                {
                    if (scalesCount != shape[0])
                        throw Fail("tensors", r + ModelLayout.TScalesCount, $"one scale per output channel (shape[0] = {shape[0]})", scalesCount.ToString(), Where());
                    CheckData(r + ModelLayout.TScalesOffset, scalesOffset, 4L * scalesCount, 4, "per-channel scales");
                    channelScales = new float[scalesCount];
                    for (int c = 0; c < channelScales.Length; c++)
                    {
                        float s = F32((int)scalesOffset + 4 * c);
                        if (!(float.IsFinite(s) && s > 0))
                            throw Fail("tensors", scalesOffset + 4 * c, "channel scale positive and finite", s.ToString("R"), $"{Where()}, channel {c}");
                        channelScales[c] = s;
                    }
                }
                else if (scalesCount != 0 || scalesOffset != 0)
                    throw Fail("tensors", r + ModelLayout.TScalesCount, "no per-channel scales (only int8 constants have them)", $"{scalesCount} at {scalesOffset}", Where());

                uint dataOffset = U32(r + ModelLayout.TDataOffset), dataLength = U32(r + ModelLayout.TDataLength);
                if (constant)
                {
                    if (dataLength != byteLength)
                        throw Fail("tensors", r + ModelLayout.TDataLength, $"{byteLength} data bytes for {tt}[{string.Join('x', shape)}]", dataLength.ToString(), Where());
                    CheckData(r + ModelLayout.TDataOffset, dataOffset, dataLength, ModelLayout.DataAlignment, "constant data");
                    dataAt[i] = (int)dataOffset;
                    // Symmetric int8 weights live in [-127, 127] (TFLite's rule): -128 would break the
                    // kernels' |w| <= 127 accumulator bounds and has no symmetric counterpart.
                    int bad = int8Weights ? File.Slice((int)dataOffset, byteLength).IndexOf((byte)0x80) : -1;
                    if (bad >= 0)
                        throw Fail("tensors", dataOffset + bad, "int8 weights in [-127, 127] (symmetric)", "-128", $"{Where()}, element {bad}");
                }
                else if (dataOffset != 0 || dataLength != 0)
                    throw Fail("tensors", r + ModelLayout.TDataOffset, "no data for an activation (offset 0, length 0)", $"offset {dataOffset}, length {dataLength}", Where());

                int planAt = planOffset + ModelLayout.PlanHeaderSize + 4 * i;
                tensors[i] = new TensorInfo
                {
                    Index = i,
                    Name = ReadString("tensors", r + ModelLayout.TNameOffset, ModelLayout.MaxNameBytes),
                    Type = tt,
                    Shape = shape,
                    Scale = scale,
                    ZeroPoint = zeroPoint,
                    ChannelScales = channelScales,
                    IsConstant = constant,
                    ArenaOffset = I32(planAt), // checked against lifetimes in ReadPlan
                };
            }
            return tensors;
        }

        private OpInfo[] ReadOps(int opsOffset, int opsLength, int count, TensorInfo[] tensors)
        {
            var ops = new OpInfo[count];
            int o = opsOffset, end = opsOffset + opsLength;
            for (int i = 0; i < count; i++)
            {
                if (end - o < ModelLayout.OpHeaderSize)
                    throw Fail("ops", o, $"op record {i} of {ModelLayout.OpHeaderSize}+ bytes inside the ops section", $"{end - o} bytes left");
                ushort code = U16(o + ModelLayout.OCode);
                if (!OpArity.TryGet(code, out OpArity arity))
                    throw Fail("ops", o + ModelLayout.OCode, $"an op code in [1, {OpArity.MaxCode}]", code.ToString(), $"op {i}: written by a newer cnn, or corrupt");
                string name = $"op {i} {(OpCode)code}";
                int nIn = File[o + ModelLayout.OInputCount], nOut = File[o + ModelLayout.OOutputCount], nParams = U16(o + ModelLayout.OParamCount);
                if (nIn < arity.MinInputs || nIn > arity.MaxInputs)
                    throw Fail("ops", o + ModelLayout.OInputCount, $"{arity.MinInputs}..{arity.MaxInputs} inputs", nIn.ToString(), name);
                if (nOut != OpArity.Outputs)
                    throw Fail("ops", o + ModelLayout.OOutputCount, $"{OpArity.Outputs} output", nOut.ToString(), name);
                if (nParams != arity.Params)
                    throw Fail("ops", o + ModelLayout.OParamCount, $"{arity.Params} parameters", nParams.ToString(), name);
                if (U16(o + ModelLayout.OReserved) != 0)
                    throw Fail("ops", o + ModelLayout.OReserved, "reserved field 0", U16(o + ModelLayout.OReserved).ToString(), name);
                int recordLength = ModelLayout.OpHeaderSize + 4 * (nIn + nOut + nParams);
                if (end - o < recordLength)
                    throw Fail("ops", o, $"op record of {recordLength} bytes inside the ops section", $"{end - o} bytes left", name);

                int at = o + ModelLayout.OpHeaderSize;
                var inputs = new int[nIn];
                for (int k = 0; k < nIn; k++, at += 4)
                {
                    int t = I32(at);
                    bool optional = arity.Weighted && k == 2;
                    if (t == -1 && optional) { inputs[k] = t; continue; }
                    if (t < 0 || t >= tensors.Length)
                        throw Fail("ops", at, $"input {k} a tensor index in [0, {tensors.Length}){(optional ? " or -1" : "")}", t.ToString(), name);
                    TensorInfo ti = tensors[t];
                    if (arity.Weighted && k > 0)
                    {
                        TensorType want = k == 1 ? TensorType.Int8 : TensorType.Int32;
                        if (!ti.IsConstant || ti.Type != want)
                            throw Fail("ops", at, $"input {k} a constant {want} tensor ({(k == 1 ? "weights" : "bias")})",
                                $"tensor {t} {(ti.IsConstant ? "constant" : "activation")} {ti.Type}", name);
                    }
                    else if (ti.IsConstant)
                        throw Fail("ops", at, $"input {k} an activation", $"constant tensor {t}", $"{name}: this op reads its inputs from the arena");
                    inputs[k] = t;
                }
                var outputs = new int[nOut];
                for (int k = 0; k < nOut; k++, at += 4)
                {
                    int t = I32(at);
                    if (t < 0 || t >= tensors.Length)
                        throw Fail("ops", at, $"output {k} a tensor index in [0, {tensors.Length})", t.ToString(), name);
                    outputs[k] = t;
                }
                var parameters = new int[nParams];
                for (int k = 0; k < nParams; k++, at += 4) parameters[k] = I32(at);

                ops[i] = new OpInfo
                {
                    Index = i,
                    Name = ReadString("ops", o + ModelLayout.ONameOffset, ModelLayout.MaxNameBytes),
                    Code = (OpCode)code,
                    Inputs = inputs,
                    Outputs = outputs,
                    Params = parameters,
                    FileOffset = o,
                };
                o += recordLength;
            }
            if (o != end)
                throw Fail("ops", o, $"the ops section to end after op {count - 1}", $"{end - o} bytes more");
            return ops;
        }

        private int[] ReadIo(int offset, int count, TensorInfo[] tensors, string what)
        {
            var list = new int[count];
            var seen = new HashSet<int>();
            for (int k = 0; k < count; k++)
            {
                int at = offset + 4 * k;
                int t = I32(at);
                if (t < 0 || t >= tensors.Length)
                    throw Fail("io", at, $"model {what} {k} a tensor index in [0, {tensors.Length})", t.ToString());
                if (tensors[t].IsConstant)
                    throw Fail("io", at, $"model {what} {k} an activation", $"constant tensor {t} ('{tensors[t].Name}')");
                if (!seen.Add(t))
                    throw Fail("io", at, $"distinct model {what}s", $"tensor {t} listed twice");
                list[k] = t;
            }
            return list;
        }

        private static void CheckShapes(OpInfo[] ops, TensorInfo[] tensors)
        {
            foreach (OpInfo op in ops)
            {
                int[][] shapes = OpShapes.InferOutputShapes(op, tensors);
                if (shapes.Length != op.Outputs.Length)
                    throw new ModelFormatException("ops", op.FileOffset, $"{shapes.Length} outputs", op.Outputs.Length.ToString(), $"op #{op.Index} {op.Code} '{op.Name}'");
                for (int k = 0; k < shapes.Length; k++)
                {
                    TensorInfo t = tensors[op.Outputs[k]];
                    if (!shapes[k].AsSpan().SequenceEqual(t.Shape))
                        throw new ModelFormatException("ops", op.FileOffset, $"output {k} of shape [{string.Join(',', shapes[k])}] from the inputs and parameters",
                            $"tensor {t.Index} '{t.Name}' of shape [{string.Join(',', t.Shape)}]", $"op #{op.Index} {op.Code} '{op.Name}'");
                }
            }
        }

        private ArenaPlan ReadPlan(int planOffset, TensorInfo[] tensors, int opCount, int[] first, int[] last)
        {
            uint arenaBytes = U32(planOffset + ModelLayout.PArenaBytes);
            uint storedBound = U32(planOffset + ModelLayout.PLowerBound);
            uint storedPeak = U32(planOffset + ModelLayout.PPeakOp);
            uint alignment = U32(planOffset + ModelLayout.PAlignment);
            if (alignment != ModelLayout.ArenaAlignment)
                throw Fail("plan", planOffset + ModelLayout.PAlignment, $"arena alignment {ModelLayout.ArenaAlignment}", alignment.ToString());
            if (arenaBytes > ModelLayout.MaxArenaBytes)
                throw Fail("plan", planOffset + ModelLayout.PArenaBytes, $"arena size at most {ModelLayout.MaxArenaBytes}", arenaBytes.ToString());

            var slot = new int[tensors.Length];
            long end = 0;
            for (int t = 0; t < tensors.Length; t++)
            {
                int at = planOffset + ModelLayout.PlanHeaderSize + 4 * t;
                int off = tensors[t].ArenaOffset;
                if (tensors[t].IsConstant)
                {
                    if (off != -1) throw Fail("plan", at, $"arena offset -1 for constant tensor {t}", off.ToString());
                    continue;
                }
                slot[t] = Lifetimes.SlotBytes(tensors[t]);
                if (off < 0 || off % ModelLayout.ArenaAlignment != 0 || (long)off + slot[t] > arenaBytes)
                    throw Fail("plan", at, $"tensor {t} ('{tensors[t].Name}', {slot[t]} bytes) at a {ModelLayout.ArenaAlignment}-aligned offset inside the {arenaBytes}-byte arena",
                        $"offset {off}");
                end = Math.Max(end, (long)off + slot[t]);
            }
            if (end != arenaBytes)
                throw Fail("plan", planOffset + ModelLayout.PArenaBytes, $"arena size {end} (the end of the highest slot)", arenaBytes.ToString());

            var (live, bound, peak) = Lifetimes.Taper(slot, first, last, opCount);
            if (bound != storedBound)
                throw Fail("plan", planOffset + ModelLayout.PLowerBound, $"lower bound {bound} from the tensor lifetimes", storedBound.ToString());
            if (peak != storedPeak)
                throw Fail("plan", planOffset + ModelLayout.PPeakOp, $"peak op {peak}", storedPeak.ToString());
            CheckNoOverlap(planOffset, tensors, slot, first, last, opCount);

            return new ArenaPlan
            {
                ArenaBytes = (int)arenaBytes,
                LowerBoundBytes = (int)bound,
                PeakOpIndex = peak,
                LiveBytesPerOp = live,
                FirstOp = first,
                LastOp = last,
            };
        }

        /// <summary>
        /// Sweep over op time: at each op, drop the slots whose lifetime ended, then insert the ones that
        /// start, checking each against its neighbours by offset among the live ones (which are disjoint,
        /// by induction). O(n log n) for n activations.
        /// </summary>
        private readonly void CheckNoOverlap(int planOffset, TensorInfo[] tensors, int[] slot, int[] first, int[] last, int opCount)
        {
            var byFirst = new List<int>();
            for (int t = 0; t < tensors.Length; t++) if (first[t] >= 0) byFirst.Add(t);
            var byLast = new List<int>(byFirst);
            byFirst.Sort((a, b) => first[a].CompareTo(first[b]));
            byLast.Sort((a, b) => last[a].CompareTo(last[b]));
            // Key = offset * 2^16 + index: unique, ordered by offset (offset < 2^30, index < 2^16).
            var live = new SortedSet<long>();
            long Key(int t) => ((long)tensors[t].ArenaOffset << 16) | (uint)t;
            int fi = 0, li = 0;
            for (int op = 0; op < opCount; op++)
            {
                for (; li < byLast.Count && last[byLast[li]] < op; li++) live.Remove(Key(byLast[li]));
                for (; fi < byFirst.Count && first[byFirst[fi]] == op; fi++)
                {
                    int t = byFirst[fi];
                    long key = Key(t);
                    int lo = tensors[t].ArenaOffset, hi = lo + slot[t];
                    var below = live.GetViewBetween(long.MinValue, key);
                    if (below.Count > 0)
                    {
                        int u = (int)(below.Max & 0xFFFF);
                        if (tensors[u].ArenaOffset + slot[u] > lo) throw Overlap(t, u);
                    }
                    var above = live.GetViewBetween(key, long.MaxValue);
                    if (above.Count > 0)
                    {
                        int u = (int)(above.Min & 0xFFFF);
                        if (tensors[u].ArenaOffset < hi) throw Overlap(t, u);
                    }
                    live.Add(key);
                }
            }

            ModelFormatException Overlap(int t, int u) => Fail("plan", planOffset + ModelLayout.PlanHeaderSize + 4 * t,
                $"tensor {t} ('{tensors[t].Name}', ops {first[t]}..{last[t]}) in memory disjoint from tensor {u} ('{tensors[u].Name}', ops {first[u]}..{last[u]}), alive at the same time",
                $"[{tensors[t].ArenaOffset}, {tensors[t].ArenaOffset + slot[t]}) overlaps [{tensors[u].ArenaOffset}, {tensors[u].ArenaOffset + slot[u]})",
                "the arena plan is corrupt: re-export the model");
        }

        private Dictionary<string, string> ReadMetadata(int offset, int count)
        {
            var metadata = new Dictionary<string, string>(count, StringComparer.Ordinal);
            for (int k = 0; k < count; k++)
            {
                int r = offset + k * ModelLayout.MetadataRecordSize;
                string key = ReadString("metadata", r, ModelLayout.MaxNameBytes);
                string value = ReadString("metadata", r + 8, int.MaxValue);
                if (key.Length == 0) throw Fail("metadata", r, "a non-empty key", "\"\"");
                if (!metadata.TryAdd(key, value)) throw Fail("metadata", r, "distinct keys", $"'{key}' twice");
            }
            return metadata;
        }
    }
}
