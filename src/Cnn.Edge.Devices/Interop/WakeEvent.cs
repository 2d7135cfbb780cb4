using System.Runtime.InteropServices;

namespace Cnn.Edge.Devices.Interop;

/// <summary>
/// An eventfd that wakes a poll(2) from another thread: <see cref="Set"/> makes it readable until
/// <see cref="Reset"/>. Used to end a blocking wait (for a frame, for GPIO edges) on a stop request.
/// </summary>
internal sealed unsafe class WakeEvent : IDisposable
{
    private readonly FileDescriptorHandle _fd = Libc.EventFd(Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);

    public WakeEvent()
    {
        if (_fd.IsInvalid) throw new IOException($"eventfd failed: {Libc.Describe(Marshal.GetLastPInvokeError())}");
    }

    /// <summary>For a <see cref="Libc.PollFd"/> entry (POLLIN).</summary>
    public int Fd => _fd.Fd;

    public void Set()
    {
        ulong one = 1;
        if (!_fd.IsClosed) Libc.write(_fd, &one, sizeof(ulong));
    }

    public void Reset()
    {
        ulong count;
        Libc.read(_fd, &count, sizeof(ulong));
    }

    public void Dispose() => _fd.Dispose();
}
