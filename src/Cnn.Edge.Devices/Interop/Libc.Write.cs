using System.Runtime.InteropServices;

namespace Cnn.Edge.Devices.Interop;

internal static unsafe partial class Libc
{
    [LibraryImport(Library, EntryPoint = "write", SetLastError = true)]
    internal static partial nint write(FileDescriptorHandle fd, void* buffer, nuint count);
}
