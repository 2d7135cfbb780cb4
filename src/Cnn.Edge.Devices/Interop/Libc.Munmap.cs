using System.Runtime.InteropServices;

namespace Cnn.Edge.Devices.Interop;

internal static partial class Libc
{
    [LibraryImport(Library, EntryPoint = "munmap", SetLastError = true)]
    internal static partial int munmap(nint address, nuint length);
}
