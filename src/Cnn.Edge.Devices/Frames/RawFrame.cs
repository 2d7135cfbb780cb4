namespace Cnn.Edge.Devices.Frames;

/// <summary>Pixel layouts a frame source can hand over. Planar YUV formats are 4:2:0 with even width and height.</summary>
public enum PixelFormat
{
    /// <summary>One byte per pixel, luma only.</summary>
    Grey8,
    /// <summary>Packed R,G,B bytes (V4L2 RGB3, PPM).</summary>
    Rgb24,
    /// <summary>Packed B,G,R bytes (BMP).</summary>
    Bgr24,
    /// <summary>Packed 4:2:2 Y0,U,Y1,V (V4L2 YUYV, the format every UVC webcam offers).</summary>
    Yuyv,
    /// <summary>Planar 4:2:0: Y plane, then interleaved U,V plane (V4L2 NV12).</summary>
    Nv12,
    /// <summary>Planar 4:2:0: Y, U, V planes (V4L2 YU12, what <c>rpicam-vid --codec yuv420</c> writes).</summary>
    I420,
}

/// <summary>
/// One captured frame, borrowed from the source for the duration of a callback (an mmap'ed V4L2
/// buffer, a pipe read buffer, a decoded file): consumers must not keep the span.
/// </summary>
public readonly ref struct RawFrame
{
    public RawFrame(ReadOnlySpan<byte> data, int width, int height, int stride, PixelFormat format, long sequence)
    {
        Data = data;
        Width = width;
        Height = height;
        Stride = stride;
        Format = format;
        Sequence = sequence;
    }

    public ReadOnlySpan<byte> Data { get; }
    public int Width { get; }
    public int Height { get; }
    /// <summary>Bytes per row of the first (or only) plane.</summary>
    public int Stride { get; }
    public PixelFormat Format { get; }
    /// <summary>Frame number as counted by the source (V4L2 sequence, file index, pipe frame index).</summary>
    public long Sequence { get; }

    /// <summary>Bytes a well-formed frame of this geometry needs; a shorter buffer is a bad frame.</summary>
    public static long RequiredBytes(PixelFormat format, int width, int height, int stride) => format switch
    {
        PixelFormat.Grey8 or PixelFormat.Rgb24 or PixelFormat.Bgr24 or PixelFormat.Yuyv => (long)stride * height,
        // Y plane stride*height, then chroma: NV12 one plane of stride*(height/2), I420 two of (stride/2)*(height/2).
        PixelFormat.Nv12 or PixelFormat.I420 => (long)stride * height + (long)stride * (height / 2),
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    public static int MinStride(PixelFormat format, int width) => format switch
    {
        PixelFormat.Grey8 or PixelFormat.Nv12 or PixelFormat.I420 => width,
        PixelFormat.Rgb24 or PixelFormat.Bgr24 => width * 3,
        PixelFormat.Yuyv => width * 2,
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    /// <summary>Returns null when the frame can be read safely, else the reason it is bad.</summary>
    public string? Validate()
    {
        if (Width <= 0 || Height <= 0) return $"frame size {Width}x{Height} is empty";
        if ((Format is PixelFormat.Nv12 or PixelFormat.I420 or PixelFormat.Yuyv) && (Width % 2 != 0 || (Format != PixelFormat.Yuyv && Height % 2 != 0)))
            return $"{Format} frame size {Width}x{Height} must be even";
        if (Stride < MinStride(Format, Width)) return $"stride {Stride} is less than {MinStride(Format, Width)} for {Format} width {Width}";
        long need = RequiredBytes(Format, Width, Height, Stride);
        if (Data.Length < need) return $"frame has {Data.Length} bytes, {Format} {Width}x{Height} stride {Stride} needs {need}";
        return null;
    }
}

/// <summary>Receives frames from a source; called on the capturing thread while the frame's memory is valid.</summary>
public interface IFrameSink
{
    void OnFrame(in RawFrame frame);
}

/// <summary>Why a capture failed: the loop keeps going after <see cref="BadFrame"/> and reopens after <see cref="Lost"/>.</summary>
public enum FrameErrorKind
{
    /// <summary>This frame is unusable (short, corrupt, wrong size); the next one may be fine.</summary>
    BadFrame,
    /// <summary>The device or stream is gone (unplugged, EOF on a pipe, I/O error): close and reopen with backoff.</summary>
    Lost,
    /// <summary>A finite source (a folder without looping) has no more frames: the loop ends.</summary>
    EndOfStream,
}

public sealed class FrameSourceException : Exception
{
    public FrameSourceException(FrameErrorKind kind, string message, Exception? inner = null) : base(message, inner) => Kind = kind;
    public FrameErrorKind Kind { get; }
}

/// <summary>
/// A camera or camera stand-in. <see cref="Open"/> acquires the device (and may be called again after
/// <see cref="Close"/> to reopen it); <see cref="Capture"/> waits for one frame and hands it to the sink
/// without copying where the device allows (a V4L2 buffer is converted in place, then re-queued).
/// Failures throw <see cref="FrameSourceException"/>; a timeout returns false.
/// </summary>
public interface IFrameSource : IDisposable
{
    /// <summary>For log lines, e.g. "v4l2 /dev/video0 640x480 YUYV".</summary>
    string Description { get; }
    bool IsOpen { get; }
    void Open();
    bool Capture(IFrameSink sink, int timeoutMs);
    void Close();
}

/// <summary>
/// A source whose <see cref="IFrameSource.Capture"/> waits in the kernel (a camera, a pipe): <see cref="Interrupt"/>
/// ends that wait from another thread, and the capture returns false. <see cref="Loop.ClassifyLoop"/> calls it on
/// a stop request, so SIGTERM does not wait for the next frame.
/// </summary>
public interface IInterruptibleFrameSource : IFrameSource
{
    void Interrupt();
}
