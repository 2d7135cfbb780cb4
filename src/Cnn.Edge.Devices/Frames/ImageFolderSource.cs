using Microsoft.Win32.SafeHandles;

namespace Cnn.Edge.Devices.Frames;

/// <summary>
/// Frames from one image file or a folder of PGM/PPM/BMP files (sorted by name), optionally looping.
/// A missing folder reports the camera as lost (so it is retried); an undecodable file is a bad frame
/// naming the file. File and pixel buffers are reused, grown only for a larger image.
/// </summary>
public sealed class ImageFolderSource : IFrameSource
{
    private string[] _files = [];
    private int _next;
    private long _sequence;
    private byte[] _fileBuffer = new byte[64 * 1024];
    private byte[] _pixels = new byte[64 * 1024];

    public ImageFolderSource(string path, bool loop = true)
    {
        Path = path;
        Loop = loop;
    }

    public string Path { get; }
    public bool Loop { get; }
    public string Description => $"images {Path}{(Loop ? " (looping)" : "")}";
    public bool IsOpen { get; private set; }
    /// <summary>The file the last frame came from.</summary>
    public string? CurrentFile { get; private set; }
    public IReadOnlyList<string> Files => _files;

    public void Open()
    {
        string[] files;
        if (File.Exists(Path)) files = [Path];
        else if (Directory.Exists(Path))
        {
            files = Directory.GetFiles(Path).Where(ImageDecoder.IsSupportedExtension).ToArray();
            Array.Sort(files, StringComparer.Ordinal);
        }
        else throw new FrameSourceException(FrameErrorKind.Lost, $"image path '{Path}' does not exist");
        if (files.Length == 0) throw new FrameSourceException(FrameErrorKind.Lost, $"folder '{Path}' has no .pgm/.ppm/.pnm/.bmp files");
        _files = files;
        _next = 0;
        IsOpen = true;
    }

    public void Close() => IsOpen = false;
    public void Dispose() => IsOpen = false;

    public bool Capture(IFrameSink sink, int timeoutMs)
    {
        if (!IsOpen) throw new FrameSourceException(FrameErrorKind.Lost, "image source is not open");
        if (_next >= _files.Length)
        {
            if (!Loop) throw new FrameSourceException(FrameErrorKind.EndOfStream, $"all {_files.Length} images of '{Path}' were read");
            _next = 0;
        }
        string file = _files[_next++];
        CurrentFile = file;
        int length;
        try
        {
            using SafeFileHandle handle = File.OpenHandle(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            long size = RandomAccess.GetLength(handle);
            if (size > 256L * 1024 * 1024) throw new FrameSourceException(FrameErrorKind.BadFrame, $"image '{file}' is {size} bytes, over the 256 MB limit");
            if (_fileBuffer.Length < size) _fileBuffer = new byte[size];
            length = 0;
            while (length < size)
            {
                int n = RandomAccess.Read(handle, _fileBuffer.AsSpan(length, (int)size - length), length);
                if (n == 0) break;
                length += n;
            }
        }
        catch (IOException e) { throw new FrameSourceException(FrameErrorKind.BadFrame, $"image '{file}' cannot be read: {e.Message}", e); }
        catch (UnauthorizedAccessException e) { throw new FrameSourceException(FrameErrorKind.BadFrame, $"image '{file}' cannot be read: {e.Message}", e); }
        DecodedImage img;
        try { img = ImageDecoder.Decode(_fileBuffer.AsSpan(0, length), ref _pixels); }
        catch (FormatException e) { throw new FrameSourceException(FrameErrorKind.BadFrame, $"image '{file}': {e.Message}", e); }
        sink.OnFrame(new RawFrame(_pixels.AsSpan(0, img.Stride * img.Height), img.Width, img.Height, img.Stride, img.Format, _sequence++));
        return true;
    }
}
