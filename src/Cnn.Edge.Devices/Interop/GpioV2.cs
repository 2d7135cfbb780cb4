using System.Runtime.InteropServices;

namespace Cnn.Edge.Devices.Interop;

/// <summary>
/// The slice of linux/gpio.h (GPIO character device, uAPI v2, kernel 5.10+) that a line request needs:
/// request lines, reconfigure them, get/set values, read edge events. Sizes are fixed by the kernel ABI
/// (every member is a __u32/__aligned_u64, so the layout is the same on arm64 and x64) and encoded in the
/// ioctl numbers: a wrong size fails with ENOTTY instead of corrupting memory.
/// </summary>
internal static unsafe class GpioV2
{
    internal const int LinesMax = 64;
    internal const int NameSize = 32;
    internal const int ConfigAttrsMax = 10;

    // _IOWR(0xB4, nr, size) = 3 << 30 | size << 16 | 0xB4 << 8 | nr.
    internal const nuint GPIO_V2_GET_LINE_IOCTL = 0xC250B407;        // struct gpio_v2_line_request (592)
    internal const nuint GPIO_V2_LINE_SET_CONFIG_IOCTL = 0xC110B40D; // struct gpio_v2_line_config (272)
    internal const nuint GPIO_V2_LINE_GET_VALUES_IOCTL = 0xC010B40E; // struct gpio_v2_line_values (16)
    internal const nuint GPIO_V2_LINE_SET_VALUES_IOCTL = 0xC010B40F; // struct gpio_v2_line_values (16)

    [Flags]
    internal enum LineFlags : ulong
    {
        None = 0,
        ActiveLow = 1 << 1,
        Input = 1 << 2,
        Output = 1 << 3,
        EdgeRising = 1 << 4,
        EdgeFalling = 1 << 5,
        BiasPullUp = 1 << 8,
        BiasPullDown = 1 << 9,
        BiasDisabled = 1 << 10,
    }

    internal const uint AttrIdOutputValues = 2;
    internal const uint EventRisingEdge = 1;
    internal const uint EventFallingEdge = 2;

    [StructLayout(LayoutKind.Sequential, Size = 16)]
    internal struct LineValues
    {
        public ulong Bits;
        public ulong Mask;
    }

    /// <summary>struct gpio_v2_line_config_attribute: attribute id, padding, a 64-bit union (flags | values | debounce), the line mask.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 24)]
    internal struct ConfigAttribute
    {
        public uint Id;
        public uint Padding;
        public ulong Value;
        public ulong Mask;
    }

    [StructLayout(LayoutKind.Sequential, Size = 272)]
    internal struct LineConfig
    {
        public LineFlags Flags;
        public uint NumAttrs;
        public fixed uint Padding[5];
        public ConfigAttribute Attr0; // followed by 9 more attribute slots (the struct is sized for all 10)
    }

    [StructLayout(LayoutKind.Explicit, Size = 592)]
    internal struct LineRequest
    {
        [FieldOffset(0)] public fixed uint Offsets[LinesMax];
        [FieldOffset(256)] public fixed byte Consumer[NameSize];
        [FieldOffset(288)] public LineConfig Config;
        [FieldOffset(560)] public uint NumLines;
        [FieldOffset(564)] public uint EventBufferSize;
        [FieldOffset(588)] public int Fd;
    }

    [StructLayout(LayoutKind.Sequential, Size = 48)]
    internal struct LineEvent
    {
        public ulong TimestampNs;
        public uint Id;
        public uint Offset;
        public uint Seqno;
        public uint LineSeqno;
    }

    /// <summary>A one-line configuration: <paramref name="flags"/>, and for an output its level.</summary>
    internal static LineConfig Config(LineFlags flags, bool? outputHigh)
    {
        var c = new LineConfig { Flags = flags };
        if (outputHigh is bool high)
        {
            c.NumAttrs = 1;
            c.Attr0 = new ConfigAttribute { Id = AttrIdOutputValues, Value = high ? 1UL : 0UL, Mask = 1 };
        }
        return c;
    }
}
