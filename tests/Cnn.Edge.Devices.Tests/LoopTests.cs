using System.Device.Gpio;
using System.Text.Json;
using Cnn.Edge.Devices.Config;
using Cnn.Edge.Devices.Frames;
using Cnn.Edge.Devices.Gpio;
using Cnn.Edge.Devices.Loop;

namespace Cnn.Edge.Devices.Tests;

public sealed class LoopTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cnn-loop-").FullName;
    private readonly ManualClock _clock = new();
    private readonly SimulatedGpioDriver _driver;
    private readonly GpioController _gpio;
    private readonly MemoryStream _log = new();

    public LoopTests()
    {
        _driver = new SimulatedGpioDriver(clock: () => _clock.Now);
        _gpio = new GpioController(_driver);
    }

    public void Dispose()
    {
        _gpio.Dispose();
        Directory.Delete(_dir, true);
    }

    private string ModelFile(string content = "labels=red,green,blue")
    {
        string path = Path.Combine(_dir, "model.txt");
        if (!File.Exists(path)) File.WriteAllText(path, content);
        return path;
    }

    private DeviceConfig Config(string json)
    {
        return ConfigValidator.Load(json.Replace("\"model\": null", $"\"model\": \"{ModelFile()}\""), checkFiles: false);
    }

    private ClassifyLoop Build(DeviceConfig config, IFrameSource source, IModelLoader loader)
    {
        var slot = new ModelSlot(config.Model!, loader, c => ClassifyLoop.ResolveOutputs(config, c, out _),
            TimeSpan.FromMilliseconds(Math.Max(100, config.ModelPollMs)));
        return new ClassifyLoop(config, source, _gpio, slot, new EventLog(_log), _clock);
    }

    private List<JsonElement> LogLines(string? evt = null)
    {
        var lines = new List<JsonElement>();
        foreach (string line in System.Text.Encoding.UTF8.GetString(_log.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var e = JsonDocument.Parse(line).RootElement;
            if (evt is null || e.GetProperty("event").GetString() == evt) lines.Add(e);
        }
        return lines;
    }

    private static void StepUntil(ClassifyLoop loop, Func<bool> done, int maxSteps = 10_000)
    {
        for (int i = 0; i < maxSteps && !done(); i++)
            if (!loop.Step(CancellationToken.None)) return;
        Assert.True(done(), "loop did not reach the expected state");
    }

    [Fact]
    public void IntervalLoopClassifiesSyntheticScenesDrivesPinsAndLogsEveryDecision()
    {
        var config = Config("""
            { "model": null, "camera": { "source": "synthetic", "max_frames": 48 },
              "trigger": { "mode": "interval", "interval_ms": 50 },
              "decision": { "min_confidence": 0.4, "release_confidence": 0.4, "confirm_frames": 1 },
              "gpio": { "busy_pin": 22, "outputs": [ { "class": "red", "pin": 5 }, { "class": "green", "pin": 6 },
                                                     { "class": "blue", "pin": 7, "mode": "pulse", "pulse_ms": 120 } ] } }
            """);
        var source = new SyntheticSource(32, 32, seed: 11, sceneFrames: 4);
        using var loop = Build(config, source, new FixedLoader(new DominantColourClassifier()));
        _driver.ClearWrites(); // drop the inactive levels written when the pins were opened
        var summary = loop.Run(CancellationToken.None);

        Assert.Equal(48, summary.Frames);
        Assert.Contains("max_frames", summary.StopReason);
        var decisions = LogLines("decision");
        Assert.Equal(48, decisions.Count);
        int checkedFrames = 0;
        foreach (var d in decisions)
        {
            long frame = d.GetProperty("frame").GetInt64();
            int scene = source.SceneOf(frame);
            string state = d.GetProperty("state").GetString()!;
            Assert.Equal(scene < 3 ? new[] { "red", "green", "blue" }[scene] : "none", state);
            Assert.True(d.GetProperty("latency_ms").GetDouble() >= 0);
            checkedFrames++;
        }
        Assert.Equal(48, checkedFrames);
        // Frames are 50 ms apart on the test clock.
        Assert.Equal(TimeSpan.FromMilliseconds(50), decisions[1].GetProperty("time").GetDateTimeOffset() - decisions[0].GetProperty("time").GetDateTimeOffset());
        // Level pins went high in their scenes; the blue pulse pin always came back low after 120 ms.
        var writes = _driver.Writes;
        Assert.Contains(writes, w => w.Pin == 5 && w.Value == PinValue.High);
        Assert.Contains(writes, w => w.Pin == 6 && w.Value == PinValue.High);
        var blue = writes.Where(w => w.Pin == 7).ToList();
        for (int i = 0; i + 1 < blue.Count; i += 2)
        {
            Assert.Equal(PinValue.High, blue[i].Value);
            Assert.Equal(PinValue.Low, blue[i + 1].Value);
            Assert.InRange((blue[i + 1].Time - blue[i].Time).TotalMilliseconds, 120, 170);
        }
        Assert.Equal(48, writes.Count(w => w.Pin == 22 && w.Value == PinValue.High));
        // Run ends in the safe state.
        Assert.All(new[] { 5, 6, 7, 22 }, p => Assert.Equal(PinValue.Low, _driver.ValueOf(p)));
    }

    [Fact]
    public void LostCameraGoesSafeAndReopensWithExponentialBackoff()
    {
        var config = Config("""
            { "model": null, "trigger": { "interval_ms": 10 }, "decision": { "min_confidence": 0.5, "confirm_frames": 1 },
              "camera": { "source": "synthetic", "reopen_min_ms": 100, "reopen_max_ms": 400 },
              "gpio": { "outputs": [ { "class": "red", "pin": 5 } ] } }
            """);
        var source = new FlakySource { OpenFailures = 4, Clock = () => _clock.Now };
        var classifier = new ScriptedClassifier(["red", "green", "blue"], (0, 0.9f));
        using var loop = Build(config, source, new FixedLoader(classifier));

        StepUntil(loop, () => loop.Frames >= 3);
        // Opens at 0, then after 100, 200, 400 and 400 ms (capped).
        var gaps = source.OpenTimes.Zip(source.OpenTimes.Skip(1), (a, b) => (b - a).TotalMilliseconds).ToArray();
        Assert.Equal(new double[] { 100, 200, 400, 400 }, gaps);
        Assert.Equal(PinValue.High, _driver.ValueOf(5));

        // Unplugged while the output is on: outputs go safe at once, then the camera comes back after min backoff.
        source.Plan.Enqueue('l');
        StepUntil(loop, () => !source.IsOpen);
        Assert.Equal(PinValue.Low, _driver.ValueOf(5));
        Assert.Equal(-1, loop.Decision.State);
        TimeSpan lostAt = _clock.Now;
        StepUntil(loop, () => source.IsOpen);
        Assert.Equal(100, (source.OpenTimes[^1] - lostAt).TotalMilliseconds);
        StepUntil(loop, () => _driver.ValueOf(5) == PinValue.High);
        Assert.Equal(2, loop.CameraLosses);
        Assert.Contains(LogLines("camera_error"), e => e.GetProperty("kind").GetString() == "lost");
        Assert.NotEmpty(LogLines("camera_reopened"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AStopDuringTheFrameWaitIsACleanShutdownNotACameraError(bool sourceThrows)
    {
        // SIGTERM while the loop waits for a frame: V4L2's poll returns (EINTR, or the frame timeout), a pipe
        // source is closed under its read and throws. Either way the stop request is already set.
        var config = Config("""
            { "model": null, "trigger": { "interval_ms": 10 }, "decision": { "min_confidence": 0.5, "confirm_frames": 1 },
              "camera": { "source": "synthetic" }, "gpio": { "busy_pin": 22, "outputs": [ { "class": "red", "pin": 5 } ] } }
            """);
        using var cts = new CancellationTokenSource();
        var source = new StopDuringWaitSource(cts, framesBeforeStop: 3, sourceThrows);
        using var loop = Build(config, source, new FixedLoader(new ScriptedClassifier(["red", "green"], (0, 0.9f))));
        var summary = loop.Run(cts.Token);

        Assert.Equal("cancelled", summary.StopReason);
        Assert.Equal(3, summary.Frames);
        Assert.Equal((0L, 0), (summary.BadFrames, summary.CameraLosses));
        Assert.Empty(LogLines("camera_error"));
        Assert.Equal("cancelled", LogLines("stop").Single().GetProperty("message").GetString());
        // The red output was on; the stop left every output (and the busy pin) inactive.
        Assert.Contains(_driver.Writes, w => w.Pin == 5 && w.Value == PinValue.High);
        Assert.Equal(PinValue.Low, _driver.ValueOf(5));
        Assert.Equal(PinValue.Low, _driver.ValueOf(22));
        loop.Dispose();
        Assert.False(_driver.IsOpen(5));
        Assert.False(_driver.IsOpen(22));
    }

    [Fact]
    public void AStopRequestInterruptsACaptureThatWaitsInTheKernel()
    {
        var config = Config("""
            { "model": null, "trigger": { "interval_ms": 10 }, "camera": { "source": "synthetic", "frame_timeout_ms": 600000 },
              "gpio": { "outputs": [ { "class": "red", "pin": 5 } ] } }
            """);
        using var cts = new CancellationTokenSource();
        var source = new BlockingSource();
        using var loop = Build(config, source, new FixedLoader(new ScriptedClassifier(["red", "green"], (0, 0.9f))));
        cts.CancelAfter(100);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var summary = loop.Run(cts.Token); // LoopClock is manual, the wait is real: only Interrupt can end it
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30), $"the stop took {sw.Elapsed}");
        Assert.Equal(1, source.Interrupts);
        Assert.Equal("cancelled", summary.StopReason);
        Assert.Empty(LogLines("camera_error"));
    }

    /// <summary>A camera that never delivers: Capture blocks until <see cref="Interrupt"/>.</summary>
    private sealed class BlockingSource : IInterruptibleFrameSource
    {
        private readonly ManualResetEventSlim _interrupted = new();
        public int Interrupts;
        public string Description => "blocking";
        public bool IsOpen { get; private set; }
        public void Open() => IsOpen = true;
        public void Close() => IsOpen = false;
        public void Dispose() => _interrupted.Dispose();
        public void Interrupt()
        {
            Interlocked.Increment(ref Interrupts);
            _interrupted.Set();
        }
        public bool Capture(IFrameSink sink, int timeoutMs) => _interrupted.Wait(timeoutMs) && false;
    }

    /// <summary>Delivers red frames, then a stop request arrives while the next capture waits.</summary>
    private sealed class StopDuringWaitSource(CancellationTokenSource stop, int framesBeforeStop, bool throws) : IFrameSource
    {
        private readonly byte[] _frame = Enumerable.Repeat((byte)200, 16 * 16).ToArray();
        private int _frames;
        public string Description => "stop-during-wait";
        public bool IsOpen { get; private set; }
        public void Open() => IsOpen = true;
        public void Close() => IsOpen = false;
        public void Dispose() { }
        public bool Capture(IFrameSink sink, int timeoutMs)
        {
            if (_frames < framesBeforeStop)
            {
                sink.OnFrame(new RawFrame(_frame, 16, 16, 16, PixelFormat.Grey8, _frames++));
                return true;
            }
            stop.Cancel();
            if (throws) throw new FrameSourceException(FrameErrorKind.Lost, "pipe '-' read failed: the pipe was closed");
            return false;
        }
    }

    [Fact]
    public void BadFramesAreSkippedUntilTooManyInARow()
    {
        var config = Config("""
            { "model": null, "trigger": { "interval_ms": 10 }, "camera": { "source": "synthetic", "max_bad_frames": 4 },
              "gpio": { "outputs": [] } }
            """);
        var source = new FlakySource();
        foreach (char c in "bsto") source.Plan.Enqueue(c);
        using var loop = Build(config, source, new FixedLoader(new ScriptedClassifier(["a"], (0, 0.9f))));
        StepUntil(loop, () => loop.Frames >= 1);
        Assert.Equal(3, loop.BadFrames);
        Assert.Equal(0, loop.CameraLosses);
        var errors = LogLines("camera_error").Select(e => e.GetProperty("message").GetString()).ToArray();
        Assert.Contains("corrupt frame", errors);
        Assert.Contains(errors, m => m!.Contains("needs 3072"));
        Assert.Contains(errors, m => m!.Contains("no frame within"));

        foreach (char c in "bbbb") source.Plan.Enqueue(c);
        StepUntil(loop, () => loop.CameraLosses == 1);
        Assert.Contains(LogLines("camera_error"), e => e.GetProperty("message").GetString()!.Contains("4 bad frames in a row"));
    }

    [Fact]
    public void ReplacedModelIsSwappedAndACorruptOneRefusedWhileTheOldKeepsRunning()
    {
        string path = ModelFile("labels=a,b");
        var config = Config("""
            { "model": null, "model_poll_ms": 100, "trigger": { "interval_ms": 20 }, "camera": { "source": "synthetic" },
              "decision": { "min_confidence": 0.5, "confirm_frames": 1 },
              "gpio": { "outputs": [ { "class": "a", "pin": 5 } ] } }
            """);
        var loader = new TextModelLoader { Script = [(0, 0.9f)] };
        using var loop = Build(config, new FlakySource(), loader);
        StepUntil(loop, () => loop.Frames >= 3);
        var first = loader.Loaded[0];
        Assert.Equal(PinValue.High, _driver.ValueOf(5));

        // A half-copied file: refused, the first model keeps classifying.
        File.WriteAllText(path, "\0\0garbage");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(1));
        StepUntil(loop, () => loop.ModelRefusals == 1);
        long framesAtRefusal = loop.Frames;
        StepUntil(loop, () => loop.Frames >= framesAtRefusal + 5);
        Assert.Same(first, loop.Model.Classifier);
        Assert.False(first.Disposed);
        Assert.Equal(1, loop.Model.Generation);
        Assert.Equal(1, loader.Loaded.Count(c => !c.Disposed));
        Assert.Contains("corrupt", LogLines("model_refused").Single().GetProperty("message").GetString());
        Assert.Equal(1, loop.ModelRefusals); // not retried while the file is unchanged

        // A model whose labels lack the configured class "a": refused too.
        File.WriteAllText(path, "labels=x,y,z");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(2));
        StepUntil(loop, () => loop.ModelRefusals == 2);
        Assert.Contains("gpio.outputs[0].class \"a\" is not a class", LogLines("model_refused")[1].GetProperty("message").GetString());

        // A good model with the classes in another order: swapped, the pin follows "a" at its new index 1.
        loader.Script = [(1, 0.95f)];
        File.WriteAllText(path, "labels=b,a");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(3));
        StepUntil(loop, () => loop.ModelSwaps == 1);
        Assert.True(first.Disposed);
        Assert.Equal(2, loop.Model.Generation);
        Assert.Equal(["b", "a"], loop.Model.Classifier.Labels);
        StepUntil(loop, () => _driver.ValueOf(5) == PinValue.High);
        Assert.Equal(1, loop.Decision.State);
        Assert.Equal(2, LogLines("decision").Last().GetProperty("model").GetInt32());
    }

    [Fact]
    public void GpioTriggerClassifiesOneBurstPerDebouncedPress()
    {
        var config = Config("""
            { "model": null, "camera": { "source": "synthetic" },
              "trigger": { "mode": "gpio", "pin": 17, "edge": "rising", "pull": "down", "debounce_ms": 50, "burst": 2 },
              "decision": { "min_confidence": 0.5, "confirm_frames": 2 },
              "gpio": { "outputs": [ { "class": "green", "pin": 6 } ] } }
            """);
        var classifier = new ScriptedClassifier(["red", "green", "blue"], (1, 0.9f));
        using var loop = Build(config, new FlakySource(), new FixedLoader(classifier));
        for (int i = 0; i < 20; i++) loop.Step(CancellationToken.None);
        Assert.Equal(0, classifier.Calls);

        // A bouncy press: three edges within a few ms count as one trigger.
        for (int i = 0; i < 3; i++) { _driver.SetInput(17, PinValue.High); _clock.Advance(TimeSpan.FromMilliseconds(2)); _driver.SetInput(17, PinValue.Low); }
        for (int i = 0; i < 20; i++) loop.Step(CancellationToken.None);
        Assert.Equal(2, classifier.Calls);
        Assert.Equal(PinValue.High, _driver.ValueOf(6));
        Assert.Equal((1, 2), (loop.Trigger!.Accepted, loop.Trigger.Rejected));
    }

    [Fact]
    public void MotionTriggerClassifiesOnlyWhenTheSceneChanges()
    {
        var config = Config("""
            { "model": null, "camera": { "source": "synthetic" },
              "trigger": { "mode": "motion", "interval_ms": 20, "burst": 2 },
              "decision": { "confirm_frames": 1 }, "gpio": { "outputs": [] } }
            """);
        var still = new byte[64 * 48];
        var moved = (byte[])still.Clone();
        for (int y = 10; y < 40; y++) for (int x = 10; x < 40; x++) moved[y * 64 + x] = 220;
        var source = new ListSource(64, 48, [still, still, still, still, moved, moved, moved, moved, moved]);
        var classifier = new ScriptedClassifier(["a", "b"], (0, 0.9f));
        using var loop = Build(config, source, new FixedLoader(classifier));
        var summary = loop.Run(CancellationToken.None);
        Assert.Equal(9, summary.Frames);
        Assert.Equal(2, classifier.Calls);
        Assert.Equal([4L, 5L], LogLines("decision").Select(d => d.GetProperty("frame").GetInt64()).ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CaptureClassifyDecideAndLogAllocateNothingPerFrame(bool withPins)
    {
        string gpioJson = withPins
            ? """{ "busy_pin": 22, "heartbeat_pin": 4, "outputs": [ { "class": "red", "pin": 5 }, { "class": "green", "pin": 6, "mode": "pulse" } ] }"""
            : """{ "outputs": [] }""";
        var config = Config($$"""
            { "model": null, "model_poll_ms": 0, "camera": { "source": "synthetic" }, "trigger": { "interval_ms": 1 },
              "decision": { "min_confidence": 0.4, "confirm_frames": 1 }, "gpio": {{gpioJson}} }
            """);
        var source = new SyntheticSource(64, 48, seed: 2, sceneFrames: 3);
        var slot = new ModelSlot(config.Model!, new FixedLoader(new DominantColourClassifier(24, 24)), _ => null, TimeSpan.FromHours(1));
        var driver = new SimulatedGpioDriver(clock: () => _clock.Now);
        using var gpio = new DirectWriteGpioController(driver);
        using var loop = new ClassifyLoop(config, source, gpio, slot, new EventLog(Stream.Null), _clock);
        for (int i = 0; i < 100; i++) loop.Step(CancellationToken.None);
        long framesBefore = loop.Frames, decisionsBefore = loop.Decisions, writesBefore = driver.TotalWrites;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 400; i++) loop.Step(CancellationToken.None);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        long writes = driver.TotalWrites - writesBefore;
        Assert.True(loop.Frames - framesBefore >= 150, $"only {loop.Frames - framesBefore} frames were captured");
        Assert.True(loop.Decisions - decisionsBefore >= 150);
        // With pins: the busy pin twice per frame, and a class pin on every change of scene (every 3 frames).
        if (withPins) Assert.True(writes >= 2 * (loop.Frames - framesBefore), $"{writes} pin writes over {loop.Frames - framesBefore} frames");
        Assert.Equal(0, allocated);
    }

    /// <summary>Plays a fixed list of grey frames, then ends.</summary>
    private sealed class ListSource(int width, int height, byte[][] frames) : IFrameSource
    {
        private int _next;
        public string Description => "list";
        public bool IsOpen { get; private set; }
        public void Open() => IsOpen = true;
        public void Close() => IsOpen = false;
        public void Dispose() { }
        public bool Capture(IFrameSink sink, int timeoutMs)
        {
            if (_next >= frames.Length) throw new FrameSourceException(FrameErrorKind.EndOfStream, "end of list");
            sink.OnFrame(new RawFrame(frames[_next], width, height, width, PixelFormat.Grey8, _next));
            _next++;
            return true;
        }
    }
}
