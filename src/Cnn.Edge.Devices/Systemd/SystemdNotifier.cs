using System.Text;
using Cnn.Edge.Devices.Interop;

namespace Cnn.Edge.Devices.Systemd;

/// <summary>
/// sd_notify(3) in a few lines: datagrams like "READY=1" or "WATCHDOG=1" to the unix socket systemd
/// names in NOTIFY_SOCKET ('@' = abstract namespace). With <c>WatchdogSec=</c> in the unit, systemd sets
/// WATCHDOG_USEC and restarts the service when pings stop; <see cref="Ping"/> sends one at most every
/// half period, so the loop may call it on every step. Two libc calls (socket, sendto) rather than
/// System.Net.Sockets, which would add about 70 KB to the device binary for one datagram.
/// </summary>
public sealed unsafe class SystemdNotifier : IDisposable
{
    private static readonly byte[] WatchdogMessage = "WATCHDOG=1"u8.ToArray();
    private readonly FileDescriptorHandle _socket;
    private Libc.SockAddrUnix _address;
    private readonly uint _addressLength;
    private long _nextPing;

    private SystemdNotifier(FileDescriptorHandle socket, byte[] path, TimeSpan? watchdog)
    {
        _socket = socket;
        _address.Family = Libc.AF_UNIX;
        for (int i = 0; i < path.Length; i++) _address.Path[i] = path[i];
        // Abstract names ('\0' first) are exactly their bytes; a file path also gets its NUL terminator.
        _addressLength = (uint)(sizeof(ushort) + path.Length + (path[0] == 0 ? 0 : 1));
        WatchdogInterval = watchdog;
    }

    /// <summary>The watchdog period systemd expects pings within, or null when the watchdog is off.</summary>
    public TimeSpan? WatchdogInterval { get; }

    /// <summary>A notifier when running under systemd with Type=notify (NOTIFY_SOCKET set), else null.</summary>
    public static SystemdNotifier? FromEnvironment()
    {
        string? path = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        if (string.IsNullOrEmpty(path)) return null;
        if (path[0] == '@') path = "\0" + path[1..];
        TimeSpan? watchdog = null;
        if (long.TryParse(Environment.GetEnvironmentVariable("WATCHDOG_USEC"), out long usec) && usec > 0)
        {
            string? pid = Environment.GetEnvironmentVariable("WATCHDOG_PID");
            if (string.IsNullOrEmpty(pid) || pid == Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture))
                watchdog = TimeSpan.FromMicroseconds(usec);
        }
        byte[] bytes = Encoding.UTF8.GetBytes(path);
        if (bytes.Length > 107) throw new IOException($"NOTIFY_SOCKET is longer than the 107 bytes a unix socket address holds: {path}");
        var socket = Libc.Socket(Libc.AF_UNIX, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC);
        if (socket.IsInvalid) throw new IOException($"cannot create the sd_notify socket: {Libc.Describe(System.Runtime.InteropServices.Marshal.GetLastPInvokeError())}");
        return new SystemdNotifier(socket, bytes, watchdog);
    }

    public void Ready(string status) => Send($"READY=1\nSTATUS={status}");
    public void Status(string status) => Send($"STATUS={status}");
    public void Stopping() => Send("STOPPING=1");

    /// <summary>Sends WATCHDOG=1 if half the watchdog period has passed since the last ping.</summary>
    public void Ping()
    {
        if (WatchdogInterval is not TimeSpan period) return;
        long now = Environment.TickCount64;
        if (now < _nextPing) return;
        _nextPing = now + (long)(period.TotalMilliseconds / 2);
        Send(WatchdogMessage);
    }

    private void Send(string message) => Send(Encoding.UTF8.GetBytes(message));

    /// <summary>Best effort: when systemd is gone or not listening there is nothing to tell (the error is ignored).</summary>
    private void Send(byte[] message)
    {
        fixed (byte* m = message)
        fixed (Libc.SockAddrUnix* a = &_address)
            Libc.sendto(_socket, m, (nuint)message.Length, Libc.MSG_NOSIGNAL, a, _addressLength);
    }

    public void Dispose() => _socket.Dispose();
}
