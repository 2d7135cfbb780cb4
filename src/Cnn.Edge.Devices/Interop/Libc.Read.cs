using System.Runtime.InteropServices;

namespace Cnn.Edge.Devices.Interop;

internal static unsafe partial class Libc
{
    [LibraryImport(Library, EntryPoint = "read", SetLastError = true)]
    internal static partial nint read(FileDescriptorHandle fd, void* buffer, nuint count);
}
