using System.Net.Sockets;
using System.Text;
using Cnn.Edge.Devices.Systemd;

namespace Cnn.Edge.Devices.Tests;

public class SystemdTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void NotifierSendsReadyAndRateLimitedWatchdogPings(bool abstractName)
    {
        if (!OperatingSystem.IsLinux()) Assert.Skip("sd_notify is Linux only");
        string path = abstractName
            ? $"cnn-notify-{Environment.ProcessId}-{Guid.NewGuid():N}"
            : Path.Combine(Path.GetTempPath(), $"cnn-notify-{Environment.ProcessId}-{Guid.NewGuid():N}.sock");
        using var server = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        server.Bind(new UnixDomainSocketEndPoint(abstractName ? "\0" + path : path));
        server.ReceiveTimeout = 2000;
        // systemd writes an abstract socket name with a leading '@'.
        Environment.SetEnvironmentVariable("NOTIFY_SOCKET", abstractName ? "@" + path : path);
        Environment.SetEnvironmentVariable("WATCHDOG_USEC", "10000000");
        try
        {
            using var n = SystemdNotifier.FromEnvironment();
            Assert.NotNull(n);
            Assert.Equal(TimeSpan.FromSeconds(10), n.WatchdogInterval);
            n.Ready("classifying");
            for (int i = 0; i < 5; i++) n.Ping(); // only the first is sent: the next is due in 5 s
            n.Stopping();
            var buffer = new byte[256];
            string[] got = new string[3];
            for (int i = 0; i < 3; i++) got[i] = Encoding.UTF8.GetString(buffer, 0, server.Receive(buffer));
            Assert.Equal(["READY=1\nSTATUS=classifying", "WATCHDOG=1", "STOPPING=1"], got);
        }
        finally
        {
            Environment.SetEnvironmentVariable("NOTIFY_SOCKET", null);
            Environment.SetEnvironmentVariable("WATCHDOG_USEC", null);
            if (!abstractName) File.Delete(path);
        }
    }

    [Fact]
    public void NoNotifySocketMeansNoNotifier()
    {
        if (Environment.GetEnvironmentVariable("NOTIFY_SOCKET") is not null) Assert.Skip("running under systemd with NOTIFY_SOCKET set");
        Assert.Null(SystemdNotifier.FromEnvironment());
    }
}
