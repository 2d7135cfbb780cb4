namespace Cnn.Edge.Devices.Frames;

/// <summary>
/// Deterministic test pattern for demos and tests: a dim gradient background and, in each "scene",
/// a moving filled square of one palette colour (or no square). Scenes change every
/// <see cref="SceneFrames"/> frames in an order drawn from the seed, so the same seed gives the
/// same frames on every machine. Frames are RGB24 in one buffer reused for every capture.
/// </summary>
public sealed class SyntheticSource : IFrameSource
{
    /// <summary>Scene colours: red, green, blue. Scene index 3 means "no square".</summary>
    public static readonly (byte R, byte G, byte B)[] Palette = [(220, 30, 30), (30, 200, 40), (40, 60, 230)];

    private readonly byte[] _buffer;
    private readonly Random _random;
    private readonly int[] _sceneOrder;
    private long _frame;

    public SyntheticSource(int width = 160, int height = 120, int seed = 1, int sceneFrames = 8, long maxFrames = 0)
    {
        if (width < 8 || height < 8) throw new ArgumentOutOfRangeException(nameof(width), $"synthetic frame {width}x{height} is smaller than 8x8");
        if (sceneFrames < 1) throw new ArgumentOutOfRangeException(nameof(sceneFrames), "scene length must be at least 1 frame");
        Width = width;
        Height = height;
        SceneFrames = sceneFrames;
        MaxFrames = maxFrames;
        _buffer = new byte[width * height * 3];
        _random = new Random(seed);
        _sceneOrder = new int[64];
        for (int i = 0; i < _sceneOrder.Length; i++) _sceneOrder[i] = _random.Next(Palette.Length + 1);
    }

    public int Width { get; }
    public int Height { get; }
    public int SceneFrames { get; }
    /// <summary>0 = endless; otherwise the source reports end of stream after this many frames.</summary>
    public long MaxFrames { get; }
    public string Description => $"synthetic {Width}x{Height} RGB24";
    public bool IsOpen { get; private set; }

    /// <summary>The scene of frame <paramref name="frame"/>: 0..2 a palette colour, 3 no square.</summary>
    public int SceneOf(long frame) => _sceneOrder[(int)(frame / SceneFrames % _sceneOrder.Length)];

    public void Open() => IsOpen = true;
    public void Close() => IsOpen = false;
    public void Dispose() => IsOpen = false;

    public bool Capture(IFrameSink sink, int timeoutMs)
    {
        if (!IsOpen) throw new FrameSourceException(FrameErrorKind.Lost, "synthetic source is not open");
        if (MaxFrames > 0 && _frame >= MaxFrames) throw new FrameSourceException(FrameErrorKind.EndOfStream, $"synthetic source ended after {MaxFrames} frames");
        Render(_frame);
        sink.OnFrame(new RawFrame(_buffer, Width, Height, Width * 3, PixelFormat.Rgb24, _frame));
        _frame++;
        return true;
    }

    private void Render(long frame)
    {
        int w = Width, h = Height;
        for (int y = 0; y < h; y++)
        {
            Span<byte> row = _buffer.AsSpan(y * w * 3, w * 3);
            byte shade = (byte)(40 + 40 * y / h);
            row.Fill(shade);
        }
        int scene = SceneOf(frame);
        if (scene >= Palette.Length) return;
        var (r, g, b) = Palette[scene];
        // A square of half the short side moving along a diagonal path, one step per frame.
        int side = Math.Min(w, h) / 2;
        int span = Math.Max(1, Math.Min(w, h) - side);
        int step = (int)(frame % (2 * span));
        int pos = step < span ? step : 2 * span - step;
        int x0 = pos * (w - side) / span, y0 = pos * (h - side) / span;
        for (int y = y0; y < y0 + side; y++)
        {
            Span<byte> row = _buffer.AsSpan((y * w + x0) * 3, side * 3);
            for (int i = 0; i < row.Length; i += 3) { row[i] = r; row[i + 1] = g; row[i + 2] = b; }
        }
    }
}
