using System.Runtime.InteropServices;
using Cnn.Edge.Devices.Interop;

namespace Cnn.Edge.Devices.Frames;

/// <summary>
/// Video4Linux2 capture with mmap streaming from /dev/videoN (USB webcams, HDMI grabbers, vivid in
/// QEMU). The frame is converted straight out of the driver's buffer, which is re-queued right after.
/// Formats: YUYV, NV12, YUV420 (YU12), RGB24 (RGB3) and GREY. Pi camera modules on the libcamera stack
/// give raw Bayer here: use <see cref="RawPipeSource"/> with rpicam-vid for them.
/// </summary>
public sealed unsafe class V4L2Source : IInterruptibleFrameSource
{
    private readonly WakeEvent _wake;
    private FileDescriptorHandle? _fd;
    private MappedMemoryHandle[] _buffers = [];
    private bool _streaming;

    public V4L2Source(string device, int width, int height, PixelFormat format, int bufferCount = 3)
    {
        if (!OperatingSystem.IsLinux() || !Environment.Is64BitProcess)
            throw new PlatformNotSupportedException("V4L2 capture needs 64-bit Linux");
        Device = device;
        RequestedWidth = width;
        RequestedHeight = height;
        Format = format;
        BufferCount = bufferCount;
        _wake = new WakeEvent();
    }

    public string Device { get; }
    public int RequestedWidth { get; }
    public int RequestedHeight { get; }
    public PixelFormat Format { get; }
    public int BufferCount { get; }
    /// <summary>The geometry the driver agreed to (it may round the requested size).</summary>
    public int Width { get; private set; }
    public int Height { get; private set; }
    public int Stride { get; private set; }
    public string Card { get; private set; } = "";
    public string Description => $"v4l2 {Device} {(Width > 0 ? Width : RequestedWidth)}x{(Height > 0 ? Height : RequestedHeight)} {Format}{(Card.Length > 0 ? " (" + Card + ")" : "")}";
    public bool IsOpen => _streaming;

    public static uint FourCcOf(PixelFormat f) => f switch
    {
        PixelFormat.Yuyv => V4L2.FourCc("YUYV"),
        PixelFormat.Nv12 => V4L2.FourCc("NV12"),
        PixelFormat.I420 => V4L2.FourCc("YU12"),
        PixelFormat.Rgb24 => V4L2.FourCc("RGB3"),
        PixelFormat.Grey8 => V4L2.FourCc("GREY"),
        _ => throw new ArgumentOutOfRangeException(nameof(f), $"{f} is not a V4L2 capture format here"),
    };

    public void Open()
    {
        Close();
        try { OpenCore(); }
        catch
        {
            Close();
            throw;
        }
    }

    private void OpenCore()
    {
        var fd = Libc.Open(Device, Libc.O_RDWR | Libc.O_NONBLOCK | Libc.O_CLOEXEC);
        if (fd.IsInvalid) throw Lost($"cannot open {Device}: {Libc.Describe(Marshal.GetLastPInvokeError())}");
        _fd = fd;

        V4L2.Capability cap;
        Ioctl(V4L2.VIDIOC_QUERYCAP, &cap, "VIDIOC_QUERYCAP (is it a video device?)");
        Card = Marshal.PtrToStringUTF8((nint)cap.Card) ?? "";
        uint caps = (cap.Capabilities & V4L2.CapDeviceCaps) != 0 ? cap.DeviceCaps : cap.Capabilities;
        if ((caps & V4L2.CapVideoCapture) == 0) throw Lost($"{Device} ({Card}) is not a single-planar video capture device");
        if ((caps & V4L2.CapStreaming) == 0) throw Lost($"{Device} ({Card}) does not support streaming I/O");

        uint want = FourCcOf(Format);
        var fmt = new V4L2.Format
        {
            Type = V4L2.BufTypeVideoCapture,
            Width = (uint)RequestedWidth,
            Height = (uint)RequestedHeight,
            PixelFormat = want,
            Field = V4L2.FieldAny,
        };
        Ioctl(V4L2.VIDIOC_S_FMT, &fmt, "VIDIOC_S_FMT");
        if (fmt.PixelFormat != want)
            throw Lost($"{Device} ({Card}) does not offer {V4L2.FourCcText(want)}; it chose {V4L2.FourCcText(fmt.PixelFormat)} (set camera.pixel_format)");
        Width = (int)fmt.Width;
        Height = (int)fmt.Height;
        Stride = (int)Math.Max(fmt.BytesPerLine, (uint)RawFrame.MinStride(Format, Width));

        var req = new V4L2.RequestBuffers { Count = (uint)BufferCount, Type = V4L2.BufTypeVideoCapture, Memory = V4L2.MemoryMmap };
        Ioctl(V4L2.VIDIOC_REQBUFS, &req, "VIDIOC_REQBUFS (mmap)");
        if (req.Count < 2) throw Lost($"{Device} granted only {req.Count} capture buffer(s); at least 2 are needed");

        _buffers = new MappedMemoryHandle[req.Count];
        for (uint i = 0; i < req.Count; i++)
        {
            var buf = new V4L2.Buffer { Index = i, Type = V4L2.BufTypeVideoCapture, Memory = V4L2.MemoryMmap };
            Ioctl(V4L2.VIDIOC_QUERYBUF, &buf, "VIDIOC_QUERYBUF");
            nint addr = Libc.mmap(0, buf.Length, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, _fd, buf.Offset);
            if (addr == Libc.MAP_FAILED) throw Lost($"mmap of {Device} buffer {i} ({buf.Length} bytes) failed: {Libc.Describe(Marshal.GetLastPInvokeError())}");
            _buffers[i] = new MappedMemoryHandle(addr, buf.Length);
            Ioctl(V4L2.VIDIOC_QBUF, &buf, "VIDIOC_QBUF");
        }
        int type = (int)V4L2.BufTypeVideoCapture;
        Ioctl(V4L2.VIDIOC_STREAMON, &type, "VIDIOC_STREAMON");
        _streaming = true;
    }

    public bool Capture(IFrameSink sink, int timeoutMs)
    {
        if (!_streaming || _fd is null) throw Lost($"{Device} is not open");
        bool added = false;
        _fd.DangerousAddRef(ref added);
        try
        {
            var fds = stackalloc Libc.PollFd[2];
            fds[0] = new Libc.PollFd { Fd = _fd.Fd, Events = Libc.POLLIN };
            fds[1] = new Libc.PollFd { Fd = _wake.Fd, Events = Libc.POLLIN };
            int n = Libc.PollUntil(fds, 2, timeoutMs, out int pollError);
            if (n == 0) return false;
            if (n < 0) throw Lost($"poll on {Device} failed: {Libc.Describe(pollError)}");
            if ((fds[1].Revents & Libc.POLLIN) != 0)
            {
                _wake.Reset(); // a stop request: no frame, and no camera fault
                return false;
            }
            var pfd = fds[0];
            if ((pfd.Revents & (Libc.POLLERR | Libc.POLLHUP | Libc.POLLNVAL)) != 0)
                throw Lost($"{Device} reported an error while streaming (unplugged?)");

            var buf = new V4L2.Buffer { Type = V4L2.BufTypeVideoCapture, Memory = V4L2.MemoryMmap };
            if (Libc.ioctl(_fd, V4L2.VIDIOC_DQBUF, &buf) < 0)
            {
                int err = Marshal.GetLastPInvokeError();
                if (err is Libc.EAGAIN or Libc.EINTR) return false;
                throw Lost($"VIDIOC_DQBUF on {Device} failed: {Libc.Describe(err)}");
            }
            try
            {
                if (buf.Index >= _buffers.Length) throw new FrameSourceException(FrameErrorKind.BadFrame, $"{Device} returned buffer index {buf.Index} of {_buffers.Length}");
                if ((buf.Flags & V4L2.BufFlagError) != 0) throw new FrameSourceException(FrameErrorKind.BadFrame, $"{Device} flagged frame {buf.Sequence} as corrupted");
                var mem = _buffers[buf.Index];
                int used = (int)Math.Min(buf.BytesUsed == 0 ? buf.Length : buf.BytesUsed, (uint)mem.Length);
                var frame = new RawFrame(new ReadOnlySpan<byte>(mem.Pointer, used), Width, Height, Stride, Format, buf.Sequence);
                sink.OnFrame(frame);
                return true;
            }
            finally
            {
                // Hand the buffer back even when the frame was bad; failure here surfaces on the next DQBUF.
                Libc.ioctl(_fd, V4L2.VIDIOC_QBUF, &buf);
            }
        }
        finally
        {
            if (added) _fd.DangerousRelease();
        }
    }

    public void Close()
    {
        if (_fd is { IsInvalid: false, IsClosed: false } && _streaming)
        {
            int type = (int)V4L2.BufTypeVideoCapture;
            Libc.ioctl(_fd, V4L2.VIDIOC_STREAMOFF, &type);
        }
        _streaming = false;
        foreach (var b in _buffers) b.Dispose();
        _buffers = [];
        _fd?.Dispose();
        _fd = null;
    }

    /// <summary>Ends a capture that waits for the camera (thread-safe).</summary>
    public void Interrupt() => _wake.Set();

    public void Dispose()
    {
        Close();
        _wake.Dispose();
    }

    private void Ioctl(nuint request, void* arg, string what)
    {
        if (Libc.ioctl(_fd!, request, arg) < 0)
            throw Lost($"{what} on {Device} failed: {Libc.Describe(Marshal.GetLastPInvokeError())}");
    }

    private static FrameSourceException Lost(string message) => new(FrameErrorKind.Lost, message);
}
