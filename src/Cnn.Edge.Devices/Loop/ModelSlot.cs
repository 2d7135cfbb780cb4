using Cnn.Edge.Devices.Frames;

namespace Cnn.Edge.Devices.Loop;

/// <summary>
/// The model the loop runs, with hot swap. The file is polled (size and modification time); a changed
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
    private (long Length, DateTime Modified) _loadedStamp;
    private (long Length, DateTime Modified) _refusedStamp;

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
        (long, DateTime) stamp;
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

    private (long, DateTime) Stamp()
    {
        var info = new FileInfo(Path);
        if (!info.Exists) throw new FileNotFoundException($"model file '{Path}' does not exist", Path);
        return (info.Length, info.LastWriteTimeUtc);
    }

    public void Dispose() => Classifier.Dispose();
}
