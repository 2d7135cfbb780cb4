namespace Cnn.Edge.Devices.Frames;

/// <summary>
/// Fixed-size raw frames from a pipe: standard input (path "-") or a FIFO/file path. This is how the
/// Pi camera modules are read since the libcamera stack (V4L2 returns unusable raw Bayer data for them):
/// <c>rpicam-vid -t 0 -n --codec yuv420 --width 640 --height 480 -o - | cnn-pi --config pi.json</c>.
/// rpicam-apps pad rows to the ISP stride; pick a width that is a multiple of 64 or set the stride.
/// </summary>
public sealed class RawPipeSource : IFrameSource
{
    private readonly byte[] _frame;
    private Stream? _stream;
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
            _stream = _streamFactory is not null ? _streamFactory()
                : Path == "-" ? Console.OpenStandardInput()
                : new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None);
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
    }

    public void Dispose() => Close();

    /// <remarks>Blocks until a whole frame has arrived (pipes have no timeout); a hung producer stops
    /// the watchdog pings, and systemd restarts the service.</remarks>
    public bool Capture(IFrameSink sink, int timeoutMs)
    {
        if (_stream is null) throw new FrameSourceException(FrameErrorKind.Lost, $"pipe '{Path}' is not open");
        int got;
        try { got = _stream.ReadAtLeast(_frame, _frame.Length, throwOnEndOfStream: false); }
        catch (IOException e) { throw new FrameSourceException(FrameErrorKind.Lost, $"pipe '{Path}' read failed: {e.Message}", e); }
        if (got < _frame.Length)
        {
            // End of stream: standard input cannot come back; a FIFO or a restarted producer can.
            var kind = Path == "-" ? FrameErrorKind.EndOfStream : FrameErrorKind.Lost;
            throw new FrameSourceException(kind, got == 0
                ? $"pipe '{Path}' closed by the producer"
                : $"pipe '{Path}' closed mid-frame: {got} of {_frame.Length} bytes");
        }
        sink.OnFrame(new RawFrame(_frame, Width, Height, Stride, Format, _sequence++));
        return true;
    }
}
