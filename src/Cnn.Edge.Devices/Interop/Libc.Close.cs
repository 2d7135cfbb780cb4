using System.Runtime.InteropServices;

namespace Cnn.Edge.Devices.Interop;

internal static partial class Libc
{
    [LibraryImport(Library, EntryPoint = "close", SetLastError = true)]
    internal static partial int close(int fd);
}
