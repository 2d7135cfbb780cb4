using System.Runtime.InteropServices;

namespace Cnn.Edge.Devices.Interop;

internal static unsafe partial class Libc
{
    internal const int MSG_NOSIGNAL = 0x4000;

    /// <summary>struct sockaddr_un: the family, then a 108-byte path (abstract names start with a NUL byte).</summary>
    [StructLayout(LayoutKind.Sequential, Size = 110)]
    internal struct SockAddrUnix
    {
        public ushort Family;
        public fixed byte Path[108];
    }

    [LibraryImport(Library, EntryPoint = "sendto", SetLastError = true)]
    internal static partial nint sendto(FileDescriptorHandle fd, void* buffer, nuint length, int flags, void* address, uint addressLength);
}
