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

    /// <summary>
    /// poll(2) that waits out EINTR until the timeout: a signal (SIGTERM on its way to a clean stop, or any
    /// other) is no device fault and no missing frame. Returns poll's result; <paramref name="error"/> is
    /// errno when it is negative.
    /// </summary>
    internal static int PollUntil(PollFd* fds, nuint count, int timeoutMs, out int error)
    {
        long deadline = Environment.TickCount64 + timeoutMs;
        int n;
        error = 0;
        while ((n = poll(fds, count, timeoutMs)) < 0 && (error = Marshal.GetLastPInvokeError()) == EINTR)
            timeoutMs = timeoutMs < 0 ? -1 : (int)Math.Max(0, deadline - Environment.TickCount64);
        return n;
    }
}
