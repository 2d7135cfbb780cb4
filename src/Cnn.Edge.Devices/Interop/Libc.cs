using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Cnn.Edge.Devices.Interop;

/// <summary>
/// The few libc calls the V4L2 capture and GPIO chip lookup need, one call per file
/// (Libc.Open.cs, Libc.Ioctl.cs, ...), source-generated with LibraryImport so they are NativeAOT-clean.
/// Linux only; the structs they take are laid out for 64-bit (LP64) kernels.
/// </summary>
internal static partial class Libc
{
    internal const string Library = "libc";

    internal const int O_RDWR = 0x2;
    internal const int O_RDONLY = 0x0;
    internal const int O_NONBLOCK = 0x800;
    internal const int O_CLOEXEC = 0x80000;

    internal const int EINTR = 4;
    internal const int EIO = 5;
    internal const int ENXIO = 6;
    internal const int EAGAIN = 11;
    internal const int ENOENT = 2;
    internal const int ENODEV = 19;
    internal const int EACCES = 13;
    internal const int EBUSY = 16;
    internal const int EINVAL = 22;

    internal static string Describe(int errno) => errno switch
    {
        ENOENT => "no such file (ENOENT)",
        EACCES => "permission denied (EACCES: add the user to the video or gpio group)",
        EBUSY => "device busy (EBUSY: another process holds it)",
        ENODEV => "no such device (ENODEV: unplugged?)",
        ENXIO => "no such device or address (ENXIO)",
        EIO => "I/O error (EIO)",
        EINVAL => "invalid argument (EINVAL)",
        EAGAIN => "try again (EAGAIN)",
        EINTR => "interrupted (EINTR)",
        _ => $"errno {errno}",
    };
}

/// <summary>A Linux file descriptor, closed exactly once.</summary>
internal sealed class FileDescriptorHandle : SafeHandleMinusOneIsInvalid
{
    public FileDescriptorHandle(int fd) : base(ownsHandle: true) => SetHandle(fd);

    internal int Fd => (int)handle;

    protected override bool ReleaseHandle() => Libc.close((int)handle) == 0;
}

/// <summary>An mmap'ed region, unmapped exactly once.</summary>
internal sealed unsafe class MappedMemoryHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public MappedMemoryHandle(nint address, nuint length) : base(ownsHandle: true)
    {
        SetHandle(address);
        Length = length;
    }

    public nuint Length { get; }
    public byte* Pointer => (byte*)handle;

    protected override bool ReleaseHandle() => Libc.munmap(handle, Length) == 0;
}
