using System.Runtime.InteropServices;

namespace Cnn.Edge.Devices.Interop;

internal static partial class Libc
{
    internal const int EFD_NONBLOCK = 0x800;
    internal const int EFD_CLOEXEC = 0x80000;

    /// <summary>eventfd(2): a counter that poll() sees as readable while it is nonzero; used to wake a poll loop.</summary>
    [LibraryImport(Library, EntryPoint = "eventfd", SetLastError = true)]
    private static partial int eventfd(uint initialValue, int flags);

    internal static FileDescriptorHandle EventFd(int flags) => new(eventfd(0, flags));
}
