using System.Runtime.InteropServices;

namespace Cnn.Edge.Devices.Interop;

internal static unsafe partial class Libc
{
    /// <summary>ioctl(2) with a pointer argument. Variadic in C, but on Linux arm64 and x64 a variadic
    /// pointer is passed exactly like a fixed one, so a fixed signature is correct there.</summary>
    [LibraryImport(Library, EntryPoint = "ioctl", SetLastError = true)]
    internal static partial int ioctl(FileDescriptorHandle fd, nuint request, void* arg);
}
