using Cnn.Edge.Devices.Frames;
using Cnn.Edge.Devices.Loop;

namespace Cnn.Edge.Devices.Tests;

/// <summary>Plays back a fixed list of (class, score) results, one per Classify, repeating the last.</summary>
internal sealed class ScriptedClassifier : IClassifier
{
    private readonly sbyte[] _input;
    private readonly (int Class, float Score)[] _script;
    private int _next;

    public ScriptedClassifier(string[] labels, params (int, float)[] script)
    {
        Labels = labels;
        _script = script;
        Input = new InputSpec { Height = 8, Width = 8, Channels = 3 };
        _input = new sbyte[Input.ElementCount];
    }

    public InputSpec Input { get; }
    public bool IsFloatInput => false;
    public Span<sbyte> InputInt8 => _input;
    public Span<float> InputFloat => Span<float>.Empty;
    public int ClassCount => Labels.Count;
    public IReadOnlyList<string> Labels { get; }
    public int Calls { get; private set; }
    public bool Disposed { get; private set; }

    public ClassScore Classify()
    {
        Calls++;
        var (c, s) = _script[Math.Min(_next++, _script.Length - 1)];
        return new ClassScore(c, s);
    }

    public void Dispose() => Disposed = true;
}

/// <summary>Classifies an RGB input by its dominant channel (0 red, 1 green, 2 blue), score = share of that channel.</summary>
internal sealed class DominantColourClassifier(int height = 16, int width = 16) : IClassifier
{
    private readonly sbyte[] _input = new sbyte[height * width * 3];
    public InputSpec Input { get; } = new() { Height = height, Width = width, Channels = 3 };
    public bool IsFloatInput => false;
    public Span<sbyte> InputInt8 => _input;
    public Span<float> InputFloat => Span<float>.Empty;
    public int ClassCount => 3;
    public IReadOnlyList<string> Labels { get; } = ["red", "green", "blue"];
    public bool Disposed { get; private set; }

    public ClassScore Classify()
    {
        long r = 0, g = 0, b = 0;
        for (int i = 0; i < _input.Length; i += 3)
        {
            r += _input[i] + 128;
            g += _input[i + 1] + 128;
            b += _input[i + 2] + 128;
        }
        long max = Math.Max(r, Math.Max(g, b)), sum = Math.Max(1, r + g + b);
        int cls = max == r ? 0 : max == g ? 1 : 2;
        return new ClassScore(cls, (float)max / sum);
    }

    public void Dispose() => Disposed = true;
}

/// <summary>
/// A model "file" format for tests: a text file "labels=a,b,c". Anything else is corrupt and refused,
/// the way EdgeModel.LoadFile refuses a damaged .cnnq.
/// </summary>
internal sealed class TextModelLoader : IModelLoader
{
    public List<ScriptedClassifier> Loaded { get; } = new();
    public (int, float)[] Script { get; set; } = [(0, 0.9f)];

    public IClassifier Load(string path)
    {
        string text = File.ReadAllText(path).Trim();
        if (!text.StartsWith("labels=", StringComparison.Ordinal)) throw new InvalidDataException($"model '{path}' is corrupt: no labels= header");
        var c = new ScriptedClassifier(text["labels=".Length..].Split(','), Script);
        Loaded.Add(c);
        return c;
    }
}

/// <summary>Returns a fixed classifier (for loops built on an in-memory model).</summary>
internal sealed class FixedLoader(IClassifier classifier) : IModelLoader
{
    public IClassifier Load(string path) => classifier;
}

/// <summary>A camera that fails on command: opens fail while <see cref="OpenFailures"/> &gt; 0; frames follow <see cref="Plan"/>.</summary>
internal sealed class FlakySource : IFrameSource
{
    private readonly SyntheticSource _inner = new(32, 32, seed: 3, sceneFrames: 1000);
    public int OpenFailures { get; set; }
    public int Opens { get; private set; }
    public List<TimeSpan> OpenTimes { get; } = new();
    public Func<TimeSpan>? Clock { get; set; }
    /// <summary>Per capture: 'o' ok, 'b' bad frame, 'l' lost, 's' short buffer (bad geometry), 't' timeout. Then ok forever.</summary>
    public Queue<char> Plan { get; } = new();

    public string Description => "flaky test camera";
    public bool IsOpen { get; private set; }

    public void Open()
    {
        Opens++;
        OpenTimes.Add(Clock?.Invoke() ?? TimeSpan.Zero);
        if (OpenFailures > 0)
        {
            OpenFailures--;
            throw new FrameSourceException(FrameErrorKind.Lost, "camera /dev/video9 is not there");
        }
        _inner.Open();
        IsOpen = true;
    }

    public bool Capture(IFrameSink sink, int timeoutMs)
    {
        char step = Plan.Count > 0 ? Plan.Dequeue() : 'o';
        switch (step)
        {
            case 'b': throw new FrameSourceException(FrameErrorKind.BadFrame, "corrupt frame");
            case 'l': IsOpen = false; throw new FrameSourceException(FrameErrorKind.Lost, "device unplugged (ENODEV)");
            case 't': return false;
            case 's':
                sink.OnFrame(new RawFrame(new byte[10], 32, 32, 96, PixelFormat.Rgb24, 0));
                return true;
            default: return _inner.Capture(sink, timeoutMs);
        }
    }

    public void Close()
    {
        IsOpen = false;
        _inner.Close();
    }

    public void Dispose() => Close();
}

