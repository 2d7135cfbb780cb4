using System.Net.Sockets;
using System.Text;

namespace Cnn.Edge.Devices.Systemd;

/// <summary>
/// sd_notify(3) in a few lines: datagrams like "READY=1" or "WATCHDOG=1" to the unix socket systemd
/// names in NOTIFY_SOCKET ('@' = abstract namespace). With <c>WatchdogSec=</c> in the unit, systemd sets
/// WATCHDOG_USEC and restarts the service when pings stop; <see cref="Ping"/> sends one at most every
/// half period, so the loop may call it on every step.
/// </summary>
public sealed class SystemdNotifier : IDisposable
{
    private static readonly byte[] WatchdogMessage = "WATCHDOG=1"u8.ToArray();
    private readonly Socket _socket;
    private readonly UnixDomainSocketEndPoint _endPoint;
    private long _nextPing;

    private SystemdNotifier(Socket socket, UnixDomainSocketEndPoint endPoint, TimeSpan? watchdog)
    {
        _socket = socket;
        _endPoint = endPoint;
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
        var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        return new SystemdNotifier(socket, new UnixDomainSocketEndPoint(path), watchdog);
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

    private void Send(byte[] message)
    {
        try { _socket.SendTo(message, SocketFlags.None, _endPoint); }
        catch (SocketException) { /* systemd gone or not listening: nothing to tell */ }
    }

    public void Dispose() => _socket.Dispose();
}
