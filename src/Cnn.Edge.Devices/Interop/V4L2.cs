using System.Runtime.InteropServices;

namespace Cnn.Edge.Devices.Interop;

/// <summary>
/// The slice of linux/videodev2.h that mmap streaming capture needs, for LP64 (arm64, x64). Sizes are
/// checked by tests: the ioctl numbers encode them, so a wrong layout fails with EINVAL/ENOTTY.
/// </summary>
internal static unsafe class V4L2
{
    internal const uint BufTypeVideoCapture = 1;
    internal const uint MemoryMmap = 1;
    internal const uint FieldAny = 0;
    internal const uint CapVideoCapture = 0x00000001;
    internal const uint CapStreaming = 0x04000000;
    internal const uint CapDeviceCaps = 0x80000000;
    internal const uint BufFlagError = 0x00000040;

    // _IOC(dir, 'V', nr, size) = dir << 30 | size << 16 | 'V' << 8 | nr; dir: 1 write, 2 read, 3 both.
    internal const nuint VIDIOC_QUERYCAP = 0x80685600;  // _IOR  ('V', 0,  v4l2_capability 104)
    internal const nuint VIDIOC_S_FMT = 0xC0D05605;     // _IOWR('V', 5,  v4l2_format 208)
    internal const nuint VIDIOC_REQBUFS = 0xC0145608;   // _IOWR('V', 8,  v4l2_requestbuffers 20)
    internal const nuint VIDIOC_QUERYBUF = 0xC0585609;  // _IOWR('V', 9,  v4l2_buffer 88)
    internal const nuint VIDIOC_QBUF = 0xC058560F;      // _IOWR('V', 15, v4l2_buffer 88)
    internal const nuint VIDIOC_DQBUF = 0xC0585611;     // _IOWR('V', 17, v4l2_buffer 88)
    internal const nuint VIDIOC_STREAMON = 0x40045612;  // _IOW ('V', 18, int)
    internal const nuint VIDIOC_STREAMOFF = 0x40045613; // _IOW ('V', 19, int)

    internal static uint FourCc(string s) => (uint)(s[0] | s[1] << 8 | s[2] << 16 | s[3] << 24);

    internal static string FourCcText(uint f) =>
        new([(char)(f & 0xFF), (char)((f >> 8) & 0xFF), (char)((f >> 16) & 0xFF), (char)(f >> 24)]);

    [StructLayout(LayoutKind.Sequential, Size = 104)]
    internal struct Capability
    {
        public fixed byte Driver[16];
        public fixed byte Card[32];
        public fixed byte BusInfo[32];
        public uint Version;
        public uint Capabilities;
        public uint DeviceCaps;
        public fixed uint Reserved[3];
    }

    /// <summary>struct v4l2_format with the v4l2_pix_format member of its 200-byte union (8-aligned: the union holds pointers).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 208)]
    internal struct Format
    {
        [FieldOffset(0)] public uint Type;
        [FieldOffset(8)] public uint Width;
        [FieldOffset(12)] public uint Height;
        [FieldOffset(16)] public uint PixelFormat;
        [FieldOffset(20)] public uint Field;
        [FieldOffset(24)] public uint BytesPerLine;
        [FieldOffset(28)] public uint SizeImage;
        [FieldOffset(32)] public uint Colorspace;
    }

    [StructLayout(LayoutKind.Sequential, Size = 20)]
    internal struct RequestBuffers
    {
        public uint Count;
        public uint Type;
        public uint Memory;
        public uint Capabilities;
        public uint FlagsAndReserved;
    }

    /// <summary>struct v4l2_buffer on LP64: timeval is 16 bytes, the m union 8.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 88)]
    internal struct Buffer
    {
        [FieldOffset(0)] public uint Index;
        [FieldOffset(4)] public uint Type;
        [FieldOffset(8)] public uint BytesUsed;
        [FieldOffset(12)] public uint Flags;
        [FieldOffset(16)] public uint Field;
        [FieldOffset(24)] public long TimestampSec;
        [FieldOffset(32)] public long TimestampUsec;
        [FieldOffset(56)] public uint Sequence;
        [FieldOffset(60)] public uint Memory;
        [FieldOffset(64)] public uint Offset;
        [FieldOffset(72)] public uint Length;
    }
}
