using System.Runtime.InteropServices;
using Cnn.Edge.Devices.Frames;
using Cnn.Edge.Devices.Interop;

namespace Cnn.Edge.Devices.Loop;

/// <summary>
/// The model the loop runs, with hot swap. The file is polled (inode, size and modification time); a changed
/// file is loaded and validated completely on the side, checked for compatibility with the outputs
/// (its labels must include every configured class), and only then swapped in, between two frames.
/// A file that fails is refused and remembered, so the last good model keeps running and the bad file
/// is not retried until it changes again. Deploy new models with write-to-temp + rename.
/// </summary>
public sealed class ModelSlot : IDisposable
{
    private readonly IModelLoader _loader;
    private readonly Func<IClassifier, string?> _compatible;
    private readonly CropMode _crop;
    private readonly bool _fullRange;
    private readonly TimeSpan _pollInterval;
    private TimeSpan _nextPoll;
    private FileStamp _loadedStamp;
    private FileStamp _refusedStamp;

    /// <param name="compatible">Returns null when a loaded model can drive the configured outputs, else why not.</param>
    public ModelSlot(string path, IModelLoader loader, Func<IClassifier, string?> compatible, TimeSpan pollInterval,
        CropMode crop = CropMode.Center, bool fullRangeYuv = false)
    {
        Path = path;
        _loader = loader;
        _compatible = compatible;
        _pollInterval = pollInterval;
        _crop = crop;
        _fullRange = fullRangeYuv;
        var stamp = Stamp();
        var classifier = LoadChecked();
        Classifier = classifier;
        Converter = new FrameConverter(classifier.Input, classifier.IsFloatInput, crop, fullRangeYuv);
        _loadedStamp = stamp;
        Generation = 1;
    }

    public string Path { get; }
    public IClassifier Classifier { get; private set; }
    public FrameConverter Converter { get; private set; }
    /// <summary>1 for the first model, +1 per successful swap.</summary>
    public int Generation { get; private set; }

    public enum PollResult { Unchanged, Swapped, Refused }

    /// <summary>Checks the file if the poll interval has passed; swaps or refuses a changed file.</summary>
    /// <param name="message">For <see cref="PollResult.Refused"/>: why; for Swapped: a summary.</param>
    public PollResult Poll(TimeSpan now, out string? message)
    {
        message = null;
        if (now < _nextPoll) return PollResult.Unchanged;
        _nextPoll = now + _pollInterval;
        FileStamp stamp;
        try { stamp = Stamp(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FileNotFoundException)
        {
            return PollResult.Unchanged; // A rename in progress or a removed file: keep running the loaded model.
        }
        if (stamp == _loadedStamp || stamp == _refusedStamp) return PollResult.Unchanged;
        IClassifier next;
        try { next = LoadChecked(); }
        catch (Exception e)
        {
            _refusedStamp = stamp;
            message = e.Message;
            return PollResult.Refused;
        }
        FrameConverter converter;
        try { converter = new FrameConverter(next.Input, next.IsFloatInput, _crop, _fullRange); }
        catch (ArgumentException e)
        {
            next.Dispose();
            _refusedStamp = stamp;
            message = e.Message;
            return PollResult.Refused;
        }
        var old = Classifier;
        Classifier = next;
        Converter = converter;
        Generation++;
        _loadedStamp = stamp;
        _refusedStamp = default;
        old.Dispose();
        message = $"{next.ClassCount} classes, input {next.Input.Height}x{next.Input.Width}x{next.Input.Channels}";
        return PollResult.Swapped;
    }

    private IClassifier LoadChecked()
    {
        var c = _loader.Load(Path);
        string? problem;
        try { problem = _compatible(c); }
        catch
        {
            c.Dispose();
            throw;
        }
        if (problem is not null)
        {
            c.Dispose();
            throw new InvalidDataException($"model '{Path}' does not fit the configuration: {problem}");
        }
        return c;
    }

    /// <summary>What identifies one version of the file: a rename-into-place gives a new inode even when size and time match.</summary>
    private readonly record struct FileStamp(ulong Inode, long Length, long Seconds, long Nanoseconds);

    /// <summary>
    /// stat(2) directly on Linux: FileInfo's times are converted to local time, which brings TimeZoneInfo into the
    /// device binary just to compare two timestamps.
    /// </summary>
    private unsafe FileStamp Stamp()
    {
        if (OperatingSystem.IsLinux() && IntPtr.Size == 8)
        {
            Libc.Stat st;
            if (Libc.stat(Path, &st) == 0) return new FileStamp(st.Inode, st.Size, st.ModifiedSeconds, st.ModifiedNanoseconds);
            int err = Marshal.GetLastPInvokeError();
            if (err == Libc.ENOENT) throw new FileNotFoundException($"model file '{Path}' does not exist", Path);
            throw new IOException($"cannot stat model file '{Path}': {Libc.Describe(err)}");
        }
        var info = new FileInfo(Path);
        if (!info.Exists) throw new FileNotFoundException($"model file '{Path}' does not exist", Path);
        return new FileStamp(0, info.Length, info.LastWriteTimeUtc.Ticks, 0);
    }

    public void Dispose() => Classifier.Dispose();
}
