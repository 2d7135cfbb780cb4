namespace Cnn.Edge.Devices.Frames;

/// <summary>
/// Motion from a low-resolution frame difference: the luma of a small grid (default 32x24 cells, each
/// the mean of 4 samples) is compared with the previous frame's; motion is when at least
/// <see cref="MinChangedFraction"/> of the cells changed by more than <see cref="CellThreshold"/>
/// grey levels. Two fixed buffers, no allocation per frame.
/// </summary>
public sealed class MotionDetector
{
    private byte[] _previous;
    private byte[] _current;
    private bool _hasPrevious;

    public MotionDetector(int gridWidth = 32, int gridHeight = 24, int cellThreshold = 20, double minChangedFraction = 0.02)
    {
        if (gridWidth < 2 || gridHeight < 2) throw new ArgumentOutOfRangeException(nameof(gridWidth), "motion grid must be at least 2x2");
        GridWidth = gridWidth;
        GridHeight = gridHeight;
        CellThreshold = cellThreshold;
        MinChangedFraction = minChangedFraction;
        _previous = new byte[gridWidth * gridHeight];
        _current = new byte[gridWidth * gridHeight];
    }

    public int GridWidth { get; }
    public int GridHeight { get; }
    public int CellThreshold { get; }
    public double MinChangedFraction { get; }
    /// <summary>Cells that changed in the last update.</summary>
    public int ChangedCells { get; private set; }

    public void Reset() => _hasPrevious = false;

    /// <summary>Samples the frame; true when it differs enough from the previous one (never on the first frame).</summary>
    public bool Update(in RawFrame frame)
    {
        if (frame.Validate() is not null) return false;
        int gw = GridWidth, gh = GridHeight;
        for (int gy = 0; gy < gh; gy++)
        {
            for (int gx = 0; gx < gw; gx++)
            {
                // Four samples at the quarter points of the cell.
                int sum = 0;
                for (int s = 0; s < 4; s++)
                {
                    int x = (int)(((4L * gx + 1 + 2 * (s & 1)) * frame.Width) / (4L * gw));
                    int y = (int)(((4L * gy + 1 + (s & 2)) * frame.Height) / (4L * gh));
                    sum += LumaAt(frame, x, y);
                }
                _current[gy * gw + gx] = (byte)(sum >> 2);
            }
        }
        int changed = 0;
        if (_hasPrevious)
            for (int i = 0; i < _current.Length; i++)
                if (Math.Abs(_current[i] - _previous[i]) > CellThreshold) changed++;
        ChangedCells = changed;
        bool motion = _hasPrevious && changed >= Math.Max(1, (int)Math.Ceiling(MinChangedFraction * _current.Length));
        (_previous, _current) = (_current, _previous);
        _hasPrevious = true;
        return motion;
    }

    /// <summary>Luma of pixel (x, y); for YUV formats the Y sample as is.</summary>
    public static byte LumaAt(in RawFrame f, int x, int y)
    {
        ReadOnlySpan<byte> d = f.Data;
        int row = y * f.Stride;
        return f.Format switch
        {
            PixelFormat.Grey8 or PixelFormat.Nv12 or PixelFormat.I420 => d[row + x],
            PixelFormat.Yuyv => d[row + 2 * x],
            PixelFormat.Rgb24 => FrameConverter.Luma(d[row + 3 * x], d[row + 3 * x + 1], d[row + 3 * x + 2]),
            PixelFormat.Bgr24 => FrameConverter.Luma(d[row + 3 * x + 2], d[row + 3 * x + 1], d[row + 3 * x]),
            _ => 0,
        };
    }
}
