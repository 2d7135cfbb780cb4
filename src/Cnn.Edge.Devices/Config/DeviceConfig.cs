namespace Cnn.Edge.Devices.Config;

/// <summary>
/// The device configuration file (JSON, snake_case keys, comments and trailing commas allowed).
/// Every key is optional except <c>model</c>; defaults are given per property. See
/// samples/RaspberryPi/README.md for the reference and <see cref="ConfigValidator"/> for the rules.
/// </summary>
public sealed class DeviceConfig
{
    /// <summary>Path of the edge model file (.cnnq), watched for replacement.</summary>
    public string? Model { get; set; }
    /// <summary>How often the model file is checked for a replacement (ms).</summary>
    public int ModelPollMs { get; set; } = 2000;
    /// <summary>Arena byte budget for the interpreter; a model that needs more is refused. 0 = no limit.</summary>
    public long MemoryBudgetBytes { get; set; }
    /// <summary>
    /// Interpreter threads, the loop's own included (outputs are identical for any count). Not set: the board profile's
    /// <c>threads</c> when <see cref="Board"/> is named, otherwise the core count (see <see cref="EffectiveThreads"/>).
    /// </summary>
    public int? Threads { get; set; }
    /// <summary>Board profile name (pi4, pi5, zero2w): checks pins and fills defaults (GPIO driver, chip). Optional.</summary>
    public string? Board { get; set; }
    /// <summary>Class names, overriding the model's <c>labels</c> metadata.</summary>
    public string[]? Labels { get; set; }
    public CameraConfig Camera { get; set; } = new();
    public TriggerConfig Trigger { get; set; } = new();
    public DecisionConfig Decision { get; set; } = new();
    public GpioConfig Gpio { get; set; } = new();
    public LogConfig Log { get; set; } = new();


    /// <summary>The thread count the interpreter gets: <see cref="Threads"/>, else the board's suggestion, else the core count.</summary>
    public int EffectiveThreads(Boards.BoardProfile? board) =>
        Threads ?? board?.Threads ?? Math.Min(Environment.ProcessorCount, 64);

    internal static DeviceConfig Read(JsonFields f)
    {
        var c = new DeviceConfig();
        c.Model = f.OptString("model");
        c.ModelPollMs = f.Int("model_poll_ms", c.ModelPollMs);
        c.MemoryBudgetBytes = f.Long("memory_budget_bytes", c.MemoryBudgetBytes);
        c.Threads = f.OptInt("threads");
        c.Board = f.OptString("board");
        c.Labels = f.Strings("labels");
        c.Camera = CameraConfig.Read(f.Object("camera"));
        c.Trigger = TriggerConfig.Read(f.Object("trigger"));
        c.Decision = DecisionConfig.Read(f.Object("decision"));
        c.Gpio = GpioConfig.Read(f.Object("gpio"));
        c.Log = LogConfig.Read(f.Object("log"));
        f.Finish();
        return c;
    }
}

public sealed class CameraConfig
{
    /// <summary>v4l2 | pipe | folder | synthetic.</summary>
    public string Source { get; set; } = "v4l2";
    /// <summary>v4l2: device node (/dev/video0).</summary>
    public string Device { get; set; } = "/dev/video0";
    /// <summary>folder: an image file or a folder of .pgm/.ppm/.bmp; pipe: "-" (stdin) or a FIFO path.</summary>
    public string? Path { get; set; }
    public int Width { get; set; } = 640;
    public int Height { get; set; } = 480;
    /// <summary>v4l2: yuyv | nv12 | yuv420 | rgb24 | grey; pipe: the producer's format (yuv420 for rpicam-vid).</summary>
    public string PixelFormat { get; set; } = "yuyv";
    /// <summary>pipe: bytes per row of the Y plane when the producer pads rows (0 = width).</summary>
    public int Stride { get; set; }
    /// <summary>center (crop to the model's aspect ratio) | stretch.</summary>
    public string Crop { get; set; } = "center";
    /// <summary>YUV sources: true when luma spans 0..255 (JPEG range), false for video range 16..235.</summary>
    public bool FullRange { get; set; }
    /// <summary>folder: start again after the last image.</summary>
    public bool Loop { get; set; } = true;
    /// <summary>synthetic: pattern seed and frames per scene.</summary>
    public int Seed { get; set; } = 1;
    public int SceneFrames { get; set; } = 8;
    /// <summary>Stop after this many frames (0 = run forever); for demos and smoke tests.</summary>
    public long MaxFrames { get; set; }
    /// <summary>A capture that takes longer counts as a camera failure (ms).</summary>
    public int FrameTimeoutMs { get; set; } = 2000;
    /// <summary>This many bad frames in a row count as a lost camera.</summary>
    public int MaxBadFrames { get; set; } = 10;
    /// <summary>Reopen backoff after a camera loss: starts at min, doubles per failure up to max (ms).</summary>
    public int ReopenMinMs { get; set; } = 500;
    public int ReopenMaxMs { get; set; } = 30000;
    /// <summary>v4l2 mmap buffers.</summary>
    public int Buffers { get; set; } = 3;

    internal static CameraConfig Read(JsonFields? f)
    {
        var c = new CameraConfig();
        if (f is null) return c;
        c.Source = f.String("source", c.Source);
        c.Device = f.String("device", c.Device);
        c.Path = f.OptString("path");
        c.Width = f.Int("width", c.Width);
        c.Height = f.Int("height", c.Height);
        c.PixelFormat = f.String("pixel_format", c.PixelFormat);
        c.Stride = f.Int("stride", c.Stride);
        c.Crop = f.String("crop", c.Crop);
        c.FullRange = f.Bool("full_range", c.FullRange);
        c.Loop = f.Bool("loop", c.Loop);
        c.Seed = f.Int("seed", c.Seed);
        c.SceneFrames = f.Int("scene_frames", c.SceneFrames);
        c.MaxFrames = f.Long("max_frames", c.MaxFrames);
        c.FrameTimeoutMs = f.Int("frame_timeout_ms", c.FrameTimeoutMs);
        c.MaxBadFrames = f.Int("max_bad_frames", c.MaxBadFrames);
        c.ReopenMinMs = f.Int("reopen_min_ms", c.ReopenMinMs);
        c.ReopenMaxMs = f.Int("reopen_max_ms", c.ReopenMaxMs);
        c.Buffers = f.Int("buffers", c.Buffers);
        f.Finish();
        return c;
    }
}

public sealed class TriggerConfig
{
    /// <summary>interval | motion | gpio.</summary>
    public string Mode { get; set; } = "interval";
    /// <summary>interval: time between classifications; motion: time between motion checks (ms).</summary>
    public int IntervalMs { get; set; } = 500;
    /// <summary>motion: grey levels a grid cell must change by, and the fraction of cells that must change.</summary>
    public int MotionThreshold { get; set; } = 20;
    public double MotionFraction { get; set; } = 0.02;
    /// <summary>gpio: input pin (BCM numbering), edge rising | falling | both, pull up | down | none, debounce (ms).</summary>
    public int? Pin { get; set; }
    public string Edge { get; set; } = "rising";
    public string Pull { get; set; } = "none";
    public int DebounceMs { get; set; } = 50;
    /// <summary>Frames classified per trigger (motion or gpio); at least decision.confirm_frames to reach a decision.</summary>
    public int Burst { get; set; } = 3;

    internal static TriggerConfig Read(JsonFields? f)
    {
        var t = new TriggerConfig();
        if (f is null) return t;
        t.Mode = f.String("mode", t.Mode);
        t.IntervalMs = f.Int("interval_ms", t.IntervalMs);
        t.MotionThreshold = f.Int("motion_threshold", t.MotionThreshold);
        t.MotionFraction = f.Double("motion_fraction", t.MotionFraction);
        t.Pin = f.OptInt("pin");
        t.Edge = f.String("edge", t.Edge);
        t.Pull = f.String("pull", t.Pull);
        t.DebounceMs = f.Int("debounce_ms", t.DebounceMs);
        t.Burst = f.Int("burst", t.Burst);
        f.Finish();
        return t;
    }
}

public sealed class DecisionConfig
{
    public float MinConfidence { get; set; } = 0.6f;
    /// <summary>A decided class is kept while its score stays at or above this (≤ min_confidence).</summary>
    public float? ReleaseConfidence { get; set; }
    public int ConfirmFrames { get; set; } = 2;
    /// <summary>A label (or index) meaning "nothing there": deciding it switches all class outputs off.</summary>
    public string? BackgroundClass { get; set; }
    /// <summary>Return to "none" when nothing was classified for this long (ms; 0 = never). For motion and gpio triggers.</summary>
    public int HoldMs { get; set; }

    internal static DecisionConfig Read(JsonFields? f)
    {
        var d = new DecisionConfig();
        if (f is null) return d;
        d.MinConfidence = f.Float("min_confidence", d.MinConfidence);
        d.ReleaseConfidence = f.OptFloat("release_confidence");
        d.ConfirmFrames = f.Int("confirm_frames", d.ConfirmFrames);
        d.BackgroundClass = f.OptString("background_class");
        d.HoldMs = f.Int("hold_ms", d.HoldMs);
        f.Finish();
        return d;
    }
}

public sealed class GpioConfig
{
    /// <summary>cdev (GPIO character device; "libgpiod" means the same) | sim | auto (the board profile's driver, else cdev).</summary>
    public string Driver { get; set; } = "auto";
    /// <summary>GPIO chip number, or null to find it by <see cref="ChipLabel"/> (or the board profile's).</summary>
    public int? Chip { get; set; }
    /// <summary>Chip label, e.g. pinctrl-rp1 (Pi 5), pinctrl-bcm2711 (Pi 4), gpio-sim's bank label in QEMU.</summary>
    public string? ChipLabel { get; set; }
    public OutputConfig[] Outputs { get; set; } = [];
    public int? BusyPin { get; set; }
    public bool BusyActiveLow { get; set; }
    public int? HeartbeatPin { get; set; }
    public int HeartbeatMs { get; set; } = 1000;

    internal static GpioConfig Read(JsonFields? f)
    {
        var g = new GpioConfig();
        if (f is null) return g;
        g.Driver = f.String("driver", g.Driver);
        g.Chip = f.OptInt("chip");
        g.ChipLabel = f.OptString("chip_label");
        if (f.Objects("outputs") is { } outputs)
        {
            g.Outputs = new OutputConfig[outputs.Count];
            for (int i = 0; i < outputs.Count; i++) g.Outputs[i] = OutputConfig.Read(outputs[i]);
        }
        g.BusyPin = f.OptInt("busy_pin");
        g.BusyActiveLow = f.Bool("busy_active_low", g.BusyActiveLow);
        g.HeartbeatPin = f.OptInt("heartbeat_pin");
        g.HeartbeatMs = f.Int("heartbeat_ms", g.HeartbeatMs);
        f.Finish();
        return g;
    }
}

public sealed class OutputConfig
{
    /// <summary>Label of the class (or its index as text) this pin signals.</summary>
    public string? Class { get; set; }
    public int? Pin { get; set; }
    public bool ActiveLow { get; set; }
    /// <summary>level | pulse.</summary>
    public string Mode { get; set; } = "level";
    public int PulseMs { get; set; } = 200;

    /// <summary>An element that is no object (already reported) reads as an output with neither class nor pin.</summary>
    internal static OutputConfig Read(JsonFields? f)
    {
        var o = new OutputConfig();
        if (f is null) return o;
        o.Class = f.OptString("class");
        o.Pin = f.OptInt("pin");
        o.ActiveLow = f.Bool("active_low", o.ActiveLow);
        o.Mode = f.String("mode", o.Mode);
        o.PulseMs = f.Int("pulse_ms", o.PulseMs);
        f.Finish();
        return o;
    }
}

public sealed class LogConfig
{
    /// <summary>Log a line only when the decision changes (default: every classified frame).</summary>
    public bool OnlyChanges { get; set; }

    internal static LogConfig Read(JsonFields? f)
    {
        var l = new LogConfig();
        if (f is null) return l;
        l.OnlyChanges = f.Bool("only_changes", l.OnlyChanges);
        f.Finish();
        return l;
    }
}
