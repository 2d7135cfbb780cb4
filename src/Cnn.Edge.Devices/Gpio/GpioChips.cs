using System.Runtime.InteropServices;
using Cnn.Edge.Devices.Interop;

namespace Cnn.Edge.Devices.Gpio;

/// <summary>A GPIO chip character device (/dev/gpiochipN) as the kernel describes it.</summary>
public sealed record GpioChipDescription(int Number, string Name, string Label, int Lines)
{
    public override string ToString() => $"gpiochip{Number} '{Label}' ({Lines} lines)";
}

/// <summary>
/// Finds GPIO chips by label through the kernel's GPIO_GET_CHIPINFO ioctl, without libgpiod. Labels are
/// stable where numbers are not: the Pi 5's RP1 header bank moved from gpiochip4 to gpiochip0 in kernel
/// 6.6.45, and gpio-sim chips in QEMU get whatever number is free.
/// </summary>
public static unsafe class GpioChips
{
    // _IOR(0xB4, 0x01, struct gpiochip_info { char name[32]; char label[32]; __u32 lines; }) = 68 bytes.
    private const nuint GPIO_GET_CHIPINFO_IOCTL = 0x8044B401;

    [StructLayout(LayoutKind.Sequential, Size = 68)]
    private struct ChipInfo
    {
        public fixed byte Name[32];
        public fixed byte Label[32];
        public uint Lines;
    }

    /// <summary>All chips under <paramref name="devDirectory"/>, in number order; unreadable ones are skipped.</summary>
    public static List<GpioChipDescription> List(string devDirectory = "/dev")
    {
        var chips = new List<GpioChipDescription>();
        if (!OperatingSystem.IsLinux() || !Directory.Exists(devDirectory)) return chips;
        foreach (string path in Directory.GetFiles(devDirectory, "gpiochip*"))
        {
            if (!int.TryParse(Path.GetFileName(path).AsSpan("gpiochip".Length), out int number)) continue;
            using var fd = Libc.Open(path, Libc.O_RDONLY | Libc.O_CLOEXEC);
            if (fd.IsInvalid) continue;
            if (Describe(fd, path) is { } chip) chips.Add(chip);
        }
        chips.Sort((a, b) => a.Number.CompareTo(b.Number));
        return chips;
    }

    /// <summary>What GPIO_GET_CHIPINFO says about an open chip; null (errno kept) when it is not a GPIO chip.</summary>
    internal static GpioChipDescription? Describe(FileDescriptorHandle fd, string path)
    {
        ChipInfo info;
        if (Libc.ioctl(fd, GPIO_GET_CHIPINFO_IOCTL, &info) < 0) return null;
        string file = Path.GetFileName(path);
        int.TryParse(file.StartsWith("gpiochip", StringComparison.Ordinal) ? file.AsSpan("gpiochip".Length) : default, out int number);
        return new GpioChipDescription(number, Marshal.PtrToStringUTF8((nint)info.Name) ?? "",
            Marshal.PtrToStringUTF8((nint)info.Label) ?? "", (int)info.Lines);
    }

    /// <summary>The chip with this exact label; throws naming the chips that exist when none matches.</summary>
    public static GpioChipDescription FindByLabel(string label, string devDirectory = "/dev")
    {
        var chips = List(devDirectory);
        foreach (var c in chips)
            if (c.Label == label) return c;
        string found = chips.Count == 0 ? "no readable /dev/gpiochip* (is the user in the gpio group?)" : "found " + string.Join(", ", chips);
        throw new InvalidOperationException($"no GPIO chip labelled '{label}': {found}");
    }
}
