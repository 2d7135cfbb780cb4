using System.Runtime.InteropServices;

namespace Cnn.Qemu.GuestProbe;

/// <summary>
/// The smallest V4L2 capture: VIDIOC_S_FMT then read() of one frame (vivid supports the read
/// I/O method). Layouts are those of linux/videodev2.h on a 64-bit kernel.
/// </summary>
internal static unsafe partial class V4l2
{
    private const int ORdWr = 2;
    private const uint BufTypeVideoCapture = 1;
    private const uint PixFmtYuyv = 'Y' | 'U' << 8 | 'Y' << 16 | 'V' << 24;
    // _IOWR('V', 5, struct v4l2_format): sizeof(v4l2_format) = 208 on 64-bit (type, 4 bytes of
    // padding, a 200-byte union aligned to 8 because v4l2_window holds pointers).
    private const nuint VidiocSFmt = 0xC0D05605;

    [StructLayout(LayoutKind.Sequential)]
    private struct PixFormat
    {
        public uint Width, Height, PixelFormat, Field, BytesPerLine, SizeImage, ColorSpace, Priv, Flags, YcbcrEnc, Quantization, XferFunc;
    }

    [StructLayout(LayoutKind.Explicit, Size = 208)]
    private struct Format
    {
        [FieldOffset(0)] public uint Type;
        [FieldOffset(8)] public PixFormat Pix;
    }

    // _IOWR('V', 28, struct v4l2_control { __u32 id; __s32 value; }).
    private const nuint VidiocSCtrl = 0xC008561C;
    // vivid's "Test Pattern" menu control (VIVID_CID_VIVID_BASE + 0).
    private const uint VividCidTestPattern = 0x00f0f000;

    /// <summary>vivid's test pattern menu (enum tpg_pattern): 0 = 75% colour bars, 7/8/9 = 100% red/green/blue.</summary>
    public static void SetVividPattern(string device, int pattern)
    {
        int fd = Open(device, ORdWr);
        if (fd < 0) throw new IOException($"open {device}: errno {Marshal.GetLastPInvokeError()}");
        try
        {
            uint* ctrl = stackalloc uint[2];
            ctrl[0] = VividCidTestPattern;
            ctrl[1] = (uint)pattern;
            if (Ioctl(fd, VidiocSCtrl, ctrl) < 0) throw new IOException($"VIDIOC_S_CTRL test pattern {pattern} on {device}: errno {Marshal.GetLastPInvokeError()}");
        }
        finally
        {
            Close(fd);
        }
    }

    public static byte[] CaptureYuyv(string device, int width, int height, out int gotWidth, out int gotHeight)
    {
        int fd = Open(device, ORdWr);
        if (fd < 0) throw new IOException($"open {device}: errno {Marshal.GetLastPInvokeError()}");
        try
        {
            var fmt = new Format { Type = BufTypeVideoCapture };
            fmt.Pix.Width = (uint)width;
            fmt.Pix.Height = (uint)height;
            fmt.Pix.PixelFormat = PixFmtYuyv;
            if (Ioctl(fd, VidiocSFmt, &fmt) < 0) throw new IOException($"VIDIOC_S_FMT on {device}: errno {Marshal.GetLastPInvokeError()}");
            if (fmt.Pix.PixelFormat != PixFmtYuyv) throw new IOException($"{device} refused YUYV (got fourcc 0x{fmt.Pix.PixelFormat:x8})");
            gotWidth = (int)fmt.Pix.Width;
            gotHeight = (int)fmt.Pix.Height;
            var frame = new byte[fmt.Pix.SizeImage];
            fixed (byte* p = frame)
            {
                nint n = Read(fd, p, frame.Length);
                if (n < 0) throw new IOException($"read {device}: errno {Marshal.GetLastPInvokeError()}");
                if (n != frame.Length) throw new IOException($"read {device}: {n} bytes, expected a whole frame of {frame.Length}");
            }
            return frame;
        }
        finally
        {
            Close(fd);
        }
    }

    /// <summary>Distinct Y values of a YUYV frame (Y at even bytes).</summary>
    public static int DistinctLuma(ReadOnlySpan<byte> yuyv)
    {
        Span<bool> seen = stackalloc bool[256];
        int count = 0;
        for (int i = 0; i < yuyv.Length; i += 2)
        {
            if (seen[yuyv[i]]) continue;
            seen[yuyv[i]] = true;
            count++;
        }
        return count;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int fd, nuint request, void* arg);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint Read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
