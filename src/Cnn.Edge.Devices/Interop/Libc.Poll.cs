using System.Runtime.InteropServices;

namespace Cnn.Edge.Devices.Interop;

internal static unsafe partial class Libc
{
    internal const short POLLIN = 0x1;
    internal const short POLLERR = 0x8;
    internal const short POLLHUP = 0x10;
    internal const short POLLNVAL = 0x20;

    [StructLayout(LayoutKind.Sequential)]
    internal struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport(Library, EntryPoint = "poll", SetLastError = true)]
    internal static partial int poll(PollFd* fds, nuint count, int timeoutMs);
}
