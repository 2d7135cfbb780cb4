using System.Runtime.InteropServices;

namespace Cnn.Edge.Devices.Interop;

internal static partial class Libc
{
    internal const int PROT_READ = 0x1;
    internal const int PROT_WRITE = 0x2;
    internal const int MAP_SHARED = 0x1;
    internal static readonly nint MAP_FAILED = -1;

    [LibraryImport(Library, EntryPoint = "mmap", SetLastError = true)]
    internal static partial nint mmap(nint address, nuint length, int protection, int flags, FileDescriptorHandle fd, long offset);
}
