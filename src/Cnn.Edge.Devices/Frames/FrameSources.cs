using Cnn.Edge.Devices.Config;

namespace Cnn.Edge.Devices.Frames;

/// <summary>Creates the frame source a <see cref="CameraConfig"/> describes.</summary>
public static class FrameSources
{
    public static PixelFormat ParsePixelFormat(string name) => name switch
    {
        "yuyv" => PixelFormat.Yuyv,
        "nv12" => PixelFormat.Nv12,
        "yuv420" => PixelFormat.I420,
        "rgb24" => PixelFormat.Rgb24,
        "grey" => PixelFormat.Grey8,
        _ => throw new ArgumentException($"camera.pixel_format '{name}' is not one of yuyv, nv12, yuv420, rgb24, grey"),
    };

    public static IFrameSource Create(CameraConfig c) => c.Source switch
    {
        "synthetic" => new SyntheticSource(c.Width, c.Height, c.Seed, c.SceneFrames),
        "folder" => new ImageFolderSource(c.Path!, c.Loop),
        "pipe" => new RawPipeSource(c.Path!, c.Width, c.Height, ParsePixelFormat(c.PixelFormat), c.Stride),
        "v4l2" => new V4L2Source(c.Device, c.Width, c.Height, ParsePixelFormat(c.PixelFormat), c.Buffers),
        _ => throw new ArgumentException($"camera.source '{c.Source}' is not one of v4l2, pipe, folder, synthetic"),
    };
}
