using System.Runtime.InteropServices;

namespace Cnn.Edge.Devices.Interop;

internal static partial class Libc
{
    internal const int AF_UNIX = 1;
    internal const int SOCK_DGRAM = 2;
    internal const int SOCK_CLOEXEC = 0x80000;

    [LibraryImport(Library, EntryPoint = "socket", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    internal static FileDescriptorHandle Socket(int domain, int type) => new(socket(domain, type, 0));
}
