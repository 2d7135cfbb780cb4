using System.Device.Gpio;
using Cnn.Edge.Devices.Config;
using Cnn.Edge.Devices.Frames;
using Cnn.Edge.Devices.Gpio;
using Cnn.Edge.Devices.Loop;

namespace Cnn.Cli.Demo;

/// <summary>
/// The device's classify loop (Cnn.Edge.Devices.ClassifyLoop, the code the Pi runs) on this
/// machine: a frame source, the int8 model through EdgeModelLoader, the decision filter, and
/// output pins on the simulated GPIO driver. With <c>intervalMs == 0</c> a manual clock stands in
/// for time, so a folder of frames runs as fast as the model does.
/// </summary>
public static class DeviceRun
{
    public sealed record Pin(string Class, int Number);

    public sealed record Frame(long Index, string? File, string Class, float Score, double LatencyMs, bool[] PinLevels);

    public sealed record Outcome(LoopSummary Summary, IReadOnlyList<Frame> Frames, IReadOnlyList<Pin> Pins,
        IReadOnlyList<string> Log, IReadOnlyList<string> Labels);

    public static readonly Pin[] DemoPins = [new("0", 17), new("1", 27), new("7", 22)];

    public static Outcome Run(string modelPath, IFrameSource source, IReadOnlyList<Pin> pins, long budgetBytes, long maxFrames,
        int intervalMs, Action<double>? progress = null, CancellationToken cancel = default)
    {
        var config = new DeviceConfig
        {
            Model = modelPath,
            MemoryBudgetBytes = budgetBytes,
            Camera = new CameraConfig { Source = "folder", Path = modelPath, MaxFrames = maxFrames, Loop = false },
            Trigger = new TriggerConfig { Mode = "interval", IntervalMs = Math.Max(1, intervalMs == 0 ? 100 : intervalMs) },
            Decision = new DecisionConfig { MinConfidence = 0.5f, ConfirmFrames = 1 },
            Gpio = new GpioConfig { Driver = "sim", Outputs = [.. pins.Select(p => new OutputConfig { Class = p.Class, Pin = p.Number })] },
        };
        var problems = ConfigValidator.Validate(config, checkFiles: false);
        if (problems.Count > 0) throw new ConfigException("cnn run", problems);

        LoopClock clock = intervalMs == 0 ? new ManualClock() : LoopClock.System;
        var driver = new SimulatedGpioDriver(clock: () => clock.Now);
        using var gpio = new DirectWriteGpioController(driver); // pin writes go straight to the driver (GpioController.Write allocates)
        var log = new MemoryStream();
        var slot = new ModelSlot(modelPath, new EdgeModelLoader(budgetBytes), c => ClassifyLoop.ResolveOutputs(config, c, out _),
            TimeSpan.FromMilliseconds(Math.Max(100, config.ModelPollMs)));
        using var loop = new ClassifyLoop(config, source, gpio, slot, new EventLog(log), clock);
        var frames = new List<Frame>();
        var labels = slot.Classifier.Labels;
        long seen = 0;
        bool more = true;
        while (more && !cancel.IsCancellationRequested)
        {
            more = loop.Step(cancel); // false after the last frame, which is still recorded below
            if (loop.Frames == seen) continue;
            seen = loop.Frames;
            var (index, result, latency) = loop.Last;
            string? file = source is ImageFolderSource f ? f.CurrentFile : null;
            frames.Add(new Frame(index, file is null ? null : Path.GetFileName(file), labels[result.Class], result.Score, latency,
                [.. pins.Select(p => driver.ValueOf(p.Number) == PinValue.High)]));
            progress?.Invoke(seen);
        }
        loop.Outputs.SafeState();
        var lines = System.Text.Encoding.UTF8.GetString(log.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return new Outcome(loop.Summary(), frames, pins, lines, labels);
    }

    /// <summary>"folder:DIR", "file:PATH" or "synthetic" (28×28 generated scenes) as a frame source.</summary>
    public static IFrameSource Source(string spec)
    {
        if (spec.StartsWith("folder:", StringComparison.Ordinal)) return new ImageFolderSource(spec[7..], loop: false);
        if (spec.StartsWith("file:", StringComparison.Ordinal)) return new ImageFolderSource(spec[5..], loop: false);
        if (spec == "synthetic") return new SyntheticSource(28, 28, seed: 1);
        throw new CliException(ExitCodes.Usage, $"unknown --source '{spec}'", "use folder:DIR, file:PATH or synthetic");
    }

    /// <summary>"CLASS=PIN" pairs, e.g. 7=17.</summary>
    public static Pin[] ParsePins(IEnumerable<string> specs) => [.. specs.Select(s =>
    {
        int eq = s.LastIndexOf('=');
        if (eq <= 0 || !int.TryParse(s[(eq + 1)..], out int pin) || pin < 0)
            throw new CliException(ExitCodes.Usage, $"--pin '{s}' is not CLASS=PIN", "for example --pin 7=17 lights BCM pin 17 while the class is 7");
        return new Pin(s[..eq], pin);
    })];
}
