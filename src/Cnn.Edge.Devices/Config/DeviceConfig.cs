using System.Text.Json;
using System.Text.Json.Serialization;

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
    /// <summary>Interpreter threads (1 = deterministic, lowest latency jitter).</summary>
    public int Threads { get; set; } = 1;
    /// <summary>Board profile name (pi4, pi5, zero2w): checks pins and fills defaults (GPIO driver, chip). Optional.</summary>
    public string? Board { get; set; }
    /// <summary>Class names, overriding the model's <c>labels</c> metadata.</summary>
    public string[]? Labels { get; set; }
    public CameraConfig Camera { get; set; } = new();
    public TriggerConfig Trigger { get; set; } = new();
    public DecisionConfig Decision { get; set; } = new();
    public GpioConfig Gpio { get; set; } = new();
    public LogConfig Log { get; set; } = new();

    /// <summary>Keys the schema does not know: reported as errors (a typo must not silently fall back to a default).</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Unknown { get; set; }
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
    [JsonExtensionData] public Dictionary<string, JsonElement>? Unknown { get; set; }
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
    [JsonExtensionData] public Dictionary<string, JsonElement>? Unknown { get; set; }
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
    [JsonExtensionData] public Dictionary<string, JsonElement>? Unknown { get; set; }
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
    [JsonExtensionData] public Dictionary<string, JsonElement>? Unknown { get; set; }
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
    [JsonExtensionData] public Dictionary<string, JsonElement>? Unknown { get; set; }
}

public sealed class LogConfig
{
    /// <summary>Log a line only when the decision changes (default: every classified frame).</summary>
    public bool OnlyChanges { get; set; }
    [JsonExtensionData] public Dictionary<string, JsonElement>? Unknown { get; set; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(DeviceConfig))]
[JsonSerializable(typeof(Boards.BoardProfile))]
internal sealed partial class DevicesJsonContext : JsonSerializerContext;
