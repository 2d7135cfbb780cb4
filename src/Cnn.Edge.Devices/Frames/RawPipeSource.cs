using Cnn.Edge.Devices.Interop;
using Microsoft.Win32.SafeHandles;

namespace Cnn.Edge.Devices.Frames;

/// <summary>
/// Fixed-size raw frames from a pipe: standard input (path "-") or a FIFO/file path. This is how the
/// Pi camera modules are read since the libcamera stack (V4L2 returns unusable raw Bayer data for them):
/// <c>rpicam-vid -t 0 -n --codec yuv420 --width 640 --height 480 -o - | cnn-pi --config pi.json</c>.
/// rpicam-apps pad rows to the ISP stride; pick a width that is a multiple of 64 or set the stride.
/// <para>
/// On a real pipe the wait for data is a poll(2) with the frame timeout, together with an eventfd that
/// <see cref="Interrupt"/> signals: a stop request ends the wait at once, and a stalled producer counts
/// as a missing frame. A frame that arrives in pieces across timeouts is completed by the next capture.
/// </para>
/// </summary>
public sealed unsafe class RawPipeSource : IInterruptibleFrameSource
{
    private readonly byte[] _frame;
    private int _filled;
    private Stream? _stream;
    private SafeFileHandle? _pipe;
    private readonly WakeEvent? _wake = OperatingSystem.IsLinux() ? new WakeEvent() : null;
    private readonly Func<Stream>? _streamFactory;
    private long _sequence;

    public RawPipeSource(string path, int width, int height, PixelFormat format, int stride = 0)
        : this(width, height, format, stride)
    {
        Path = path;
    }

    /// <summary>From a stream factory (tests, or an already opened pipe); the factory runs on every open.</summary>
    public RawPipeSource(Func<Stream> streamFactory, int width, int height, PixelFormat format, int stride = 0)
        : this(width, height, format, stride)
    {
        _streamFactory = streamFactory;
        Path = "stream";
    }

    private RawPipeSource(int width, int height, PixelFormat format, int stride)
    {
        Path = "";
        Width = width;
        Height = height;
        Format = format;
        Stride = stride > 0 ? stride : RawFrame.MinStride(format, width);
        FrameBytes = checked((int)RawFrame.RequiredBytes(format, width, height, Stride));
        var probe = new RawFrame(new byte[FrameBytes], width, height, Stride, format, 0);
        if (probe.Validate() is { } problem) throw new ArgumentException($"raw pipe geometry: {problem}");
        _frame = new byte[FrameBytes];
    }

    public string Path { get; }
    public int Width { get; }
    public int Height { get; }
    public int Stride { get; }
    public PixelFormat Format { get; }
    public int FrameBytes { get; }
    public string Description => $"pipe {Path} {Width}x{Height} {Format} ({FrameBytes} bytes/frame)";
    public bool IsOpen => _stream is not null;

    public void Open()
    {
        Close();
        try
        {
            if (_streamFactory is not null) _stream = _streamFactory();
            else
            {
                var file = Path == "-" ? new FileStream(new SafeFileHandle(0, ownsHandle: false), FileAccess.Read, 1)
                    : new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None);
                _stream = file;
                _pipe = file.SafeFileHandle;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FrameSourceException(FrameErrorKind.Lost, $"cannot open pipe '{Path}': {e.Message}", e);
        }
    }

    public void Close()
    {
        _stream?.Dispose();
        _stream = null;
        _pipe = null;
        _filled = 0;
    }

    public void Dispose()
    {
        Close();
        _wake?.Dispose();
    }

    /// <summary>Ends a capture that waits for the producer (thread-safe; the loop then sees its stop request).</summary>
    public void Interrupt() => _wake?.Set();

    /// <summary>False when no whole frame arrived within <paramref name="timeoutMs"/> or the wait was interrupted.</summary>
    public bool Capture(IFrameSink sink, int timeoutMs)
    {
        if (_stream is null) throw new FrameSourceException(FrameErrorKind.Lost, $"pipe '{Path}' is not open");
        long deadline = Environment.TickCount64 + timeoutMs;
        while (_filled < _frame.Length)
        {
            if (_pipe is not null && !WaitForData((int)Math.Max(0, deadline - Environment.TickCount64))) return false;
            int n;
            try { n = _stream.Read(_frame, _filled, _frame.Length - _filled); }
            catch (IOException e) { throw new FrameSourceException(FrameErrorKind.Lost, $"pipe '{Path}' read failed: {e.Message}", e); }
            if (n == 0)
            {
                // End of stream: standard input cannot come back; a FIFO or a restarted producer can.
                int got = _filled;
                _filled = 0;
                var kind = Path == "-" ? FrameErrorKind.EndOfStream : FrameErrorKind.Lost;
                throw new FrameSourceException(kind, got == 0
                    ? $"pipe '{Path}' closed by the producer"
                    : $"pipe '{Path}' closed mid-frame: {got} of {_frame.Length} bytes");
            }
            _filled += n;
        }
        _filled = 0;
        sink.OnFrame(new RawFrame(_frame, Width, Height, Stride, Format, _sequence++));
        return true;
    }

    /// <summary>poll(2) on the pipe and the interrupt eventfd: true when the pipe has data (or its end), false on timeout or interrupt.</summary>
    private bool WaitForData(int timeoutMs)
    {
        var fds = stackalloc Libc.PollFd[2];
        fds[0] = new Libc.PollFd { Fd = (int)_pipe!.DangerousGetHandle(), Events = Libc.POLLIN };
        fds[1] = new Libc.PollFd { Fd = _wake?.Fd ?? -1, Events = Libc.POLLIN };
        int n = Libc.PollUntil(fds, 2, timeoutMs, out int error);
        if (n < 0) throw new FrameSourceException(FrameErrorKind.Lost, $"poll on pipe '{Path}' failed: {Libc.Describe(error)}");
        if ((fds[1].Revents & Libc.POLLIN) != 0)
        {
            _wake!.Reset();
            return false;
        }
        // POLLHUP without POLLIN is the producer's end: the read returns 0 and reports it.
        return n > 0;
    }
}
