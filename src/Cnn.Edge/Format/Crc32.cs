namespace Cnn.Edge.Format;

/// <summary>
/// CRC-32 (IEEE 802.3 / zlib: reflected polynomial 0xEDB88320, initial value and final xor 0xFFFFFFFF),
/// slicing-by-4. "123456789" gives 0xCBF43926. Written here because Cnn.Edge takes no package dependencies.
/// </summary>
public static class Crc32
{
    private static readonly uint[] Table = BuildTable();

    private static uint[] BuildTable()
    {
        var t = new uint[4 * 256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        for (int i = 0; i < 256; i++)
        {
            t[256 + i] = (t[i] >> 8) ^ t[t[i] & 0xFF];
            t[512 + i] = (t[256 + i] >> 8) ^ t[t[256 + i] & 0xFF];
            t[768 + i] = (t[512 + i] >> 8) ^ t[t[512 + i] & 0xFF];
        }
        return t;
    }

    public static uint Compute(ReadOnlySpan<byte> data) => Finish(Update(Start, data));

    public const uint Start = 0xFFFFFFFFu;

    public static uint Finish(uint state) => ~state;

    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        uint[] t = Table;
        int i = 0;
        for (; i + 4 <= data.Length; i += 4)
        {
            crc ^= (uint)(data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24);
            crc = t[768 + (crc & 0xFF)] ^ t[512 + ((crc >> 8) & 0xFF)] ^ t[256 + ((crc >> 16) & 0xFF)] ^ t[crc >> 24];
        }
        for (; i < data.Length; i++) crc = t[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
        return crc;
    }

    /// <summary>The file checksum: CRC-32 of the whole file with the 4-byte checksum field read as zeros.</summary>
    public static uint OfModelFile(ReadOnlySpan<byte> file)
    {
        uint c = Update(Start, file[..ModelLayout.HCrc]);
        c = Update(c, stackalloc byte[4]);
        c = Update(c, file[(ModelLayout.HCrc + 4)..]);
        return Finish(c);
    }
}
