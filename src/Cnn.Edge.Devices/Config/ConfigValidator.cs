using Cnn.Edge.Devices.Boards;

namespace Cnn.Edge.Devices.Config;

/// <summary>One problem in a configuration, by key path (e.g. <c>gpio.outputs[1].pin</c>).</summary>
public readonly record struct ConfigProblem(string Key, string Message)
{
    public override string ToString() => $"{Key}: {Message}";
}

/// <summary>A configuration that cannot be used; <see cref="Exception.Message"/> lists every problem, one per line.</summary>
public sealed class ConfigException : Exception
{
    public ConfigException(string origin, IReadOnlyList<ConfigProblem> problems)
        : base($"{origin}: {problems.Count} problem(s):" + string.Concat(problems.Select(p => "\n  " + p)))
        => Problems = problems;

    public IReadOnlyList<ConfigProblem> Problems { get; }
}

/// <summary>
/// Reads and checks a <see cref="DeviceConfig"/>. All problems are collected and reported together, by
/// key, so one edit-run cycle fixes them all: values of the wrong type and unknown keys (typos) while
/// reading (<see cref="JsonFields"/>), then every rule. Only a JSON syntax error stops at once.
/// </summary>
public static class ConfigValidator
{
    public static readonly string[] Sources = ["v4l2", "pipe", "folder", "synthetic"];
    public static readonly string[] PixelFormats = ["yuyv", "nv12", "yuv420", "rgb24", "grey"];
    public static readonly string[] TriggerModes = ["interval", "motion", "gpio"];
    public static readonly string[] Edges = ["rising", "falling", "both"];
    public static readonly string[] Pulls = ["none", "up", "down"];
    /// <summary>GPIO drivers: cdev is the kernel's GPIO character device (libgpiod, its older name here, means the same).</summary>
    public static readonly string[] Drivers = ["auto", "cdev", "libgpiod", "sim"];
    public static readonly string[] Crops = ["center", "stretch"];
    public static readonly string[] OutputModes = ["level", "pulse"];

    /// <summary>Parses and validates; throws <see cref="ConfigException"/> listing every problem (type errors and unknown keys included).</summary>
    public static DeviceConfig Load(string json, string origin = "config", bool checkFiles = true)
    {
        var problems = new List<ConfigProblem>();
        using var document = JsonFields.Parse(json, problems);
        var root = document is null ? null : JsonFields.Root(document, problems);
        if (root is null) throw new ConfigException(origin, problems);
        var config = DeviceConfig.Read(root);
        // A value of the wrong type was left at its default: the rules would only repeat its key ("is required").
        var unreadable = problems.Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
        problems.AddRange(Validate(config, checkFiles).Where(p => !unreadable.Contains(p.Key)));
        if (problems.Count > 0) throw new ConfigException(origin, problems);
        return config;
    }

    public static DeviceConfig LoadFile(string path, bool checkFiles = true)
    {
        string json;
        try { json = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(path, [new ConfigProblem("(file)", $"cannot read: {e.Message}")]);
        }
        return Load(json, path, checkFiles);
    }

    /// <summary>Every problem in an already parsed configuration (empty when it is usable).</summary>
    public static List<ConfigProblem> Validate(DeviceConfig c, bool checkFiles = true)
    {
        var p = new List<ConfigProblem>();
        void Bad(string key, string message) => p.Add(new ConfigProblem(key, message));
        void Range(string key, long v, long min, long max)
        {
            if (v < min || v > max) Bad(key, $"must be in {min}..{max} (got {v})");
        }
        void OneOf(string key, string v, string[] allowed)
        {
            if (!allowed.Contains(v, StringComparer.Ordinal)) Bad(key, $"must be one of {string.Join(", ", allowed)} (got \"{v}\")");
        }

        if (string.IsNullOrWhiteSpace(c.Model)) Bad("model", "is required: the path of the .cnnq model file");
        else if (checkFiles && !File.Exists(c.Model)) Bad("model", $"file '{c.Model}' does not exist");
        if (c.ModelPollMs != 0) Range("model_poll_ms", c.ModelPollMs, 100, 3_600_000);
        if (c.MemoryBudgetBytes < 0) Bad("memory_budget_bytes", $"must be 0 (no limit) or positive (got {c.MemoryBudgetBytes})");
        if (c.Threads is int threads) Range("threads", threads, 1, 64);

        BoardProfile? board = null;
        if (c.Board is not null)
        {
            try { board = BoardProfile.Get(c.Board); }
            catch (Exception e) when (e is ArgumentException or InvalidDataException or IOException) { Bad("board", e.Message); }
        }
        if (board is not null && c.Threads > board.Cores) Bad("threads", $"{c.Threads} is more than the {board.Cores} cores of {board.Model}");

        if (c.Labels is not null)
        {
            if (c.Labels.Length == 0) Bad("labels", "is empty: leave it out to use the model's labels");
            for (int i = 0; i < c.Labels.Length; i++)
            {
                if (string.IsNullOrWhiteSpace(c.Labels[i])) Bad($"labels[{i}]", "is empty");
                else if (Array.IndexOf(c.Labels, c.Labels[i]) != i) Bad($"labels[{i}]", $"\"{c.Labels[i]}\" appears twice");
            }
        }

        var cam = c.Camera ?? new CameraConfig();
        OneOf("camera.source", cam.Source, Sources);
        OneOf("camera.pixel_format", cam.PixelFormat, PixelFormats);
        OneOf("camera.crop", cam.Crop, Crops);
        Range("camera.width", cam.Width, 16, 4096);
        Range("camera.height", cam.Height, 16, 4096);
        if (cam.Source is "v4l2" or "pipe" && cam.PixelFormat is "yuyv" or "nv12" or "yuv420" && (cam.Width % 2 != 0 || cam.Height % 2 != 0))
            Bad("camera.width", $"{cam.PixelFormat} needs an even width and height (got {cam.Width}x{cam.Height})");
        if (cam.Source == "v4l2" && string.IsNullOrWhiteSpace(cam.Device)) Bad("camera.device", "is required for source v4l2 (e.g. /dev/video0)");
        if (cam.Source is "folder" or "pipe")
        {
            if (string.IsNullOrWhiteSpace(cam.Path)) Bad("camera.path", $"is required for source {cam.Source}" + (cam.Source == "pipe" ? " (\"-\" for standard input)" : ""));
            else if (checkFiles && cam.Source == "folder" && !File.Exists(cam.Path) && !Directory.Exists(cam.Path))
                Bad("camera.path", $"'{cam.Path}' is neither a file nor a folder");
        }
        if (cam.Stride != 0 && cam.Stride < cam.Width) Bad("camera.stride", $"must be 0 or at least the width {cam.Width} (got {cam.Stride})");
        if (cam.MaxFrames < 0) Bad("camera.max_frames", $"must be 0 (forever) or positive (got {cam.MaxFrames})");
        Range("camera.scene_frames", cam.SceneFrames, 1, 1_000_000);
        Range("camera.frame_timeout_ms", cam.FrameTimeoutMs, 10, 600_000);
        Range("camera.max_bad_frames", cam.MaxBadFrames, 1, 1_000_000);
        Range("camera.reopen_min_ms", cam.ReopenMinMs, 10, 3_600_000);
        Range("camera.reopen_max_ms", cam.ReopenMaxMs, 10, 3_600_000);
        if (cam.ReopenMaxMs < cam.ReopenMinMs) Bad("camera.reopen_max_ms", $"must be at least reopen_min_ms {cam.ReopenMinMs} (got {cam.ReopenMaxMs})");
        Range("camera.buffers", cam.Buffers, 2, 32);

        var dec = c.Decision ?? new DecisionConfig();
        if (!(dec.MinConfidence is >= 0f and <= 1f)) Bad("decision.min_confidence", $"must be in [0, 1] (got {dec.MinConfidence})");
        if (dec.ReleaseConfidence is float rc && !(rc >= 0f && rc <= dec.MinConfidence))
            Bad("decision.release_confidence", $"must be in [0, min_confidence {dec.MinConfidence}] (got {rc})");
        Range("decision.confirm_frames", dec.ConfirmFrames, 1, 1000);
        Range("decision.hold_ms", dec.HoldMs, 0, 86_400_000);
        if (dec.BackgroundClass is "") Bad("decision.background_class", "is empty");

        var t = c.Trigger ?? new TriggerConfig();
        OneOf("trigger.mode", t.Mode, TriggerModes);
        Range("trigger.interval_ms", t.IntervalMs, 1, 86_400_000);
        Range("trigger.motion_threshold", t.MotionThreshold, 0, 255);
        if (!(t.MotionFraction > 0 && t.MotionFraction <= 1)) Bad("trigger.motion_fraction", $"must be in (0, 1] (got {t.MotionFraction})");
        OneOf("trigger.edge", t.Edge, Edges);
        OneOf("trigger.pull", t.Pull, Pulls);
        Range("trigger.debounce_ms", t.DebounceMs, 0, 60_000);
        Range("trigger.burst", t.Burst, 1, 1000);
        if (t.Mode == "gpio" && t.Pin is null) Bad("trigger.pin", "is required for trigger mode gpio");
        if (t.Mode is "gpio" or "motion" && t.Burst < dec.ConfirmFrames)
            Bad("trigger.burst", $"{t.Burst} frames per trigger can never confirm a decision that needs decision.confirm_frames = {dec.ConfirmFrames}");

        var g = c.Gpio ?? new GpioConfig();
        if (g.Driver is "rpi" or "sysfs")
            Bad("gpio.driver", $"{g.Driver} ({(g.Driver == "rpi" ? "RaspberryPi3Driver over /dev/gpiomem" : "/sys/class/gpio")}) is no longer offered: use cdev, which drives the same pins on every Pi");
        else OneOf("gpio.driver", g.Driver, Drivers);
        if (g.Chip is int chip) Range("gpio.chip", chip, 0, 255);
        if (g.ChipLabel is "") Bad("gpio.chip_label", "is empty");
        Range("gpio.heartbeat_ms", g.HeartbeatMs, 10, 3_600_000);
        var pins = new Dictionary<int, string>();
        void Pin(string key, int? pin)
        {
            if (pin is not int v) return;
            int max = board is { GpioLines: > 0 } ? board.GpioLines - 1 : 1023;
            if (v < 0 || v > max) { Bad(key, $"must be in 0..{max} (got {v})"); return; }
            if (board is not null && !board.HeaderGpios.Contains(v)) Bad(key, $"GPIO {v} is not on the 40-pin header of {board.Model}");
            if (pins.TryGetValue(v, out string? other)) Bad(key, $"GPIO {v} is already used by {other}");
            else pins[v] = key;
        }
        if (t.Mode == "gpio") Pin("trigger.pin", t.Pin);
        Pin("gpio.busy_pin", g.BusyPin);
        Pin("gpio.heartbeat_pin", g.HeartbeatPin);
        var outs = g.Outputs ?? [];
        for (int i = 0; i < outs.Length; i++)
        {
            var o = outs[i];
            string k = $"gpio.outputs[{i}].";
            if (o is null) { Bad($"gpio.outputs[{i}]", "is null"); continue; }
            if (string.IsNullOrWhiteSpace(o.Class)) Bad(k + "class", "is required: the label (or index) of the class this pin signals");
            else if (c.Labels is { Length: > 0 } labels && !labels.Contains(o.Class) && !(int.TryParse(o.Class, out int ci) && ci >= 0 && ci < labels.Length))
                Bad(k + "class", $"\"{o.Class}\" is not one of the labels ({string.Join(", ", labels)})");
            if (o.Pin is null) Bad(k + "pin", "is required");
            else Pin(k + "pin", o.Pin);
            OneOf(k + "mode", o.Mode, OutputModes);
            Range(k + "pulse_ms", o.PulseMs, 1, 600_000);
        }
        return p;
    }

    /// <summary>The release threshold in effect: configured, or 0.8 × min_confidence.</summary>
    public static float ReleaseConfidence(DecisionConfig d) => d.ReleaseConfidence ?? d.MinConfidence * 0.8f;
}
