using System.Buffers.Binary;
using System.Text;

namespace Cnn.Edge.Format;

/// <summary>
/// Writes the version 1.0 layout (see <see cref="ModelLayout"/> and docs/model-format.md). Sections in
/// file order: header, tensors, ops, io, plan, metadata, strings, then the 64-byte-aligned data section
/// holding each constant (64-byte aligned) followed by its per-channel scales (4-byte aligned).
/// The input is assumed valid (the builder checks it, and verifies the result by loading it).
/// </summary>
internal static class ModelWriter
{
    public static byte[] Write(IReadOnlyList<TensorInfo> tensors, IReadOnlyList<OpInfo> ops, int[] inputs, int[] outputs,
        ArenaPlan plan, IReadOnlyList<KeyValuePair<string, string>> metadata)
    {
        var strings = new MemoryStream();
        (int Offset, int Length) AddString(string s)
        {
            byte[] b = Encoding.UTF8.GetBytes(s);
            int off = (int)strings.Length;
            strings.Write(b);
            return (off, b.Length);
        }

        int tensorsOffset = ModelLayout.HeaderSize;
        int opsOffset = tensorsOffset + tensors.Count * ModelLayout.TensorRecordSize;
        int opsLength = 0;
        foreach (OpInfo op in ops) opsLength += ModelLayout.OpHeaderSize + 4 * (op.Inputs.Length + op.Outputs.Length + op.Params.Length);
        int ioOffset = opsOffset + opsLength;
        int planOffset = ioOffset + 4 * (inputs.Length + outputs.Length);
        int metadataOffset = planOffset + ModelLayout.PlanHeaderSize + 4 * tensors.Count;
        int stringsOffset = metadataOffset + metadata.Count * ModelLayout.MetadataRecordSize;

        // Names and metadata go to the string pool first: its length fixes where the data section starts.
        var tensorNames = new (int, int)[tensors.Count];
        for (int i = 0; i < tensors.Count; i++) tensorNames[i] = AddString(tensors[i].Name);
        var opNames = new (int, int)[ops.Count];
        for (int i = 0; i < ops.Count; i++) opNames[i] = AddString(ops[i].Name);
        var meta = new (int, int, int, int)[metadata.Count];
        for (int i = 0; i < metadata.Count; i++)
        {
            var (ko, kl) = AddString(metadata[i].Key);
            var (vo, vl) = AddString(metadata[i].Value);
            meta[i] = (ko, kl, vo, vl);
        }
        int stringsLength = (int)strings.Length;
        int dataOffset = ModelLayout.AlignUp(stringsOffset + stringsLength, ModelLayout.DataAlignment);

        var dataAt = new int[tensors.Count];
        var scalesAt = new int[tensors.Count];
        long end = dataOffset;
        for (int i = 0; i < tensors.Count; i++)
        {
            TensorInfo t = tensors[i];
            if (t.IsConstant)
            {
                end = ModelLayout.AlignUp(end, ModelLayout.DataAlignment);
                dataAt[i] = (int)end;
                end += t.Data.Length;
            }
            if (t.ChannelScales is { Length: > 0 } cs)
            {
                end = ModelLayout.AlignUp(end, 4);
                scalesAt[i] = (int)end;
                end += 4L * cs.Length;
            }
        }
        if (end > int.MaxValue) throw new InvalidOperationException($"model of {end} bytes is above the 2 GiB file limit");
        int fileSize = (int)end;
        var f = new byte[fileSize];

        void U16(int at, int v) => BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(at), (ushort)v);
        void I32(int at, int v) => BinaryPrimitives.WriteInt32LittleEndian(f.AsSpan(at), v);
        void F32(int at, float v) => BinaryPrimitives.WriteSingleLittleEndian(f.AsSpan(at), v);

        I32(ModelLayout.HMagic, (int)ModelLayout.Magic);
        U16(ModelLayout.HVersionMajor, ModelLayout.VersionMajor);
        U16(ModelLayout.HVersionMinor, ModelLayout.VersionMinor);
        I32(ModelLayout.HHeaderSize, ModelLayout.HeaderSize);
        I32(ModelLayout.HFileSize, fileSize);
        I32(ModelLayout.HTensorsOffset, tensorsOffset);
        I32(ModelLayout.HTensorCount, tensors.Count);
        I32(ModelLayout.HOpsOffset, opsOffset);
        I32(ModelLayout.HOpCount, ops.Count);
        I32(ModelLayout.HOpsLength, opsLength);
        I32(ModelLayout.HIoOffset, ioOffset);
        U16(ModelLayout.HInputCount, inputs.Length);
        U16(ModelLayout.HOutputCount, outputs.Length);
        I32(ModelLayout.HPlanOffset, planOffset);
        I32(ModelLayout.HMetadataOffset, metadataOffset);
        I32(ModelLayout.HMetadataCount, metadata.Count);
        I32(ModelLayout.HStringsOffset, stringsOffset);
        I32(ModelLayout.HStringsLength, stringsLength);
        I32(ModelLayout.HDataOffset, dataOffset);
        I32(ModelLayout.HDataLength, fileSize - dataOffset);

        for (int i = 0; i < tensors.Count; i++)
        {
            TensorInfo t = tensors[i];
            int r = tensorsOffset + i * ModelLayout.TensorRecordSize;
            f[r + ModelLayout.TType] = (byte)t.Type;
            f[r + ModelLayout.TRank] = (byte)t.Shape.Length;
            f[r + ModelLayout.TFlags] = t.IsConstant ? ModelLayout.TensorFlagConstant : (byte)0;
            for (int d = 0; d < t.Shape.Length; d++) I32(r + ModelLayout.TShape + 4 * d, t.Shape[d]);
            F32(r + ModelLayout.TScale, t.Scale);
            I32(r + ModelLayout.TZeroPoint, t.ZeroPoint);
            if (t.ChannelScales is { Length: > 0 } cs)
            {
                I32(r + ModelLayout.TScalesOffset, scalesAt[i]);
                I32(r + ModelLayout.TScalesCount, cs.Length);
                for (int c = 0; c < cs.Length; c++) F32(scalesAt[i] + 4 * c, cs[c]);
            }
            if (t.IsConstant)
            {
                I32(r + ModelLayout.TDataOffset, dataAt[i]);
                I32(r + ModelLayout.TDataLength, t.Data.Length);
                t.Data.Span.CopyTo(f.AsSpan(dataAt[i]));
            }
            I32(r + ModelLayout.TNameOffset, tensorNames[i].Item1);
            I32(r + ModelLayout.TNameLength, tensorNames[i].Item2);
        }

        int o = opsOffset;
        for (int i = 0; i < ops.Count; i++)
        {
            OpInfo op = ops[i];
            U16(o + ModelLayout.OCode, (ushort)op.Code);
            f[o + ModelLayout.OInputCount] = (byte)op.Inputs.Length;
            f[o + ModelLayout.OOutputCount] = (byte)op.Outputs.Length;
            U16(o + ModelLayout.OParamCount, op.Params.Length);
            I32(o + ModelLayout.ONameOffset, opNames[i].Item1);
            I32(o + ModelLayout.ONameLength, opNames[i].Item2);
            o += ModelLayout.OpHeaderSize;
            foreach (int v in op.Inputs) { I32(o, v); o += 4; }
            foreach (int v in op.Outputs) { I32(o, v); o += 4; }
            foreach (int v in op.Params) { I32(o, v); o += 4; }
        }

        o = ioOffset;
        foreach (int v in inputs) { I32(o, v); o += 4; }
        foreach (int v in outputs) { I32(o, v); o += 4; }

        I32(planOffset + ModelLayout.PArenaBytes, plan.ArenaBytes);
        I32(planOffset + ModelLayout.PLowerBound, plan.LowerBoundBytes);
        I32(planOffset + ModelLayout.PPeakOp, plan.PeakOpIndex);
        I32(planOffset + ModelLayout.PAlignment, ModelLayout.ArenaAlignment);
        for (int i = 0; i < tensors.Count; i++)
            I32(planOffset + ModelLayout.PlanHeaderSize + 4 * i, tensors[i].IsConstant ? -1 : tensors[i].ArenaOffset);

        for (int i = 0; i < meta.Length; i++)
        {
            int r = metadataOffset + i * ModelLayout.MetadataRecordSize;
            I32(r, meta[i].Item1);
            I32(r + 4, meta[i].Item2);
            I32(r + 8, meta[i].Item3);
            I32(r + 12, meta[i].Item4);
        }
        strings.GetBuffer().AsSpan(0, stringsLength).CopyTo(f.AsSpan(stringsOffset));

        I32(ModelLayout.HCrc, (int)Crc32.OfModelFile(f));
        return f;
    }
}
