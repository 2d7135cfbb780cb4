using System.Device.Gpio;
using System.Diagnostics;
using Cnn.Edge.Devices.Config;
using Cnn.Edge.Devices.Frames;
using Cnn.Edge.Devices.Gpio;

namespace Cnn.Edge.Devices.Loop;

/// <summary>What a finished run did.</summary>
public sealed record LoopSummary(long Frames, long Decisions, long BadFrames, int CameraLosses, int ModelSwaps, int ModelRefusals, string StopReason);

/// <summary>
/// The device loop: trigger (interval, motion or GPIO edge) → capture straight into the model input →
/// classify → decision with hysteresis → GPIO outputs and one JSON line per decision. A bad frame is
/// logged and skipped; a lost camera puts the outputs in the safe state and is reopened with
/// exponential backoff; a replaced model file is swapped between frames (a bad one is refused and the
/// old model keeps running). One iteration is <see cref="Step"/>; after warm-up a step that captures
/// and classifies allocates nothing.
/// </summary>
public sealed class ClassifyLoop : IDisposable
{
    private static readonly TimeSpan MaxWait = TimeSpan.FromMilliseconds(250);

    private readonly DeviceConfig _config;
    private readonly IFrameSource _source;
    private readonly ModelSlot _model;
    private readonly EventLog _log;
    private readonly LoopClock _clock;
    private readonly GpioOutputs _outputs;
    private readonly GpioTrigger? _trigger;
    private readonly MotionDetector? _motion;
    private readonly DecisionFilter _decision;
    private readonly Sink _sink;
    private readonly string _mode;
    private readonly TimeSpan _interval;
    private readonly TimeSpan _hold;
    private readonly int _burst;
    private readonly int _frameTimeoutMs;

    private TimeSpan _nextDue;
    private int _burstLeft;
    private TimeSpan _reopenAt;
    private TimeSpan _reopenDelay;
    private int _badInARow;
    private TimeSpan _lastClassified;
    private bool _cameraWasLost;

    public ClassifyLoop(DeviceConfig config, IFrameSource source, GpioController gpio, ModelSlot model, EventLog log, LoopClock? clock = null)
    {
        _config = config;
        _source = source;
        _model = model;
        _log = log;
        _clock = clock ?? LoopClock.System;
        _mode = config.Trigger.Mode;
        _interval = TimeSpan.FromMilliseconds(config.Trigger.IntervalMs);
        _hold = TimeSpan.FromMilliseconds(config.Decision.HoldMs);
        _burst = config.Trigger.Burst;
        _frameTimeoutMs = config.Camera.FrameTimeoutMs;
        _reopenDelay = TimeSpan.FromMilliseconds(config.Camera.ReopenMinMs);
        _decision = new DecisionFilter(config.Decision.MinConfidence, ConfigValidator.ReleaseConfidence(config.Decision),
            config.Decision.ConfirmFrames, ResolveBackground(config, model.Classifier));
        string? problem = ResolveOutputs(config, model.Classifier, out var specs);
        if (problem is not null) throw new ArgumentException(problem);
        _outputs = new GpioOutputs(gpio, specs, _clock, config.Gpio.BusyPin, config.Gpio.BusyActiveLow, config.Gpio.HeartbeatPin, config.Gpio.HeartbeatMs);
        try
        {
            if (_mode == "gpio")
            {
                var t = config.Trigger;
                var edges = t.Edge switch { "falling" => PinEventTypes.Falling, "both" => PinEventTypes.Rising | PinEventTypes.Falling, _ => PinEventTypes.Rising };
                var pull = t.Pull switch { "up" => PinMode.InputPullUp, "down" => PinMode.InputPullDown, _ => PinMode.Input };
                _trigger = new GpioTrigger(gpio, t.Pin!.Value, edges, pull, t.DebounceMs, _clock);
            }
        }
        catch
        {
            _outputs.Dispose();
            throw;
        }
        if (_mode == "motion") _motion = new MotionDetector(cellThreshold: config.Trigger.MotionThreshold, minChangedFraction: config.Trigger.MotionFraction);
        _sink = new Sink(this);
        _nextDue = _clock.Now;
    }

    public long Frames { get; private set; }
    public long Decisions { get; private set; }
    public long BadFrames { get; private set; }
    public int CameraLosses { get; private set; }
    public int ModelSwaps { get; private set; }
    public int ModelRefusals { get; private set; }
    public string? StopReason { get; private set; }
    public DecisionFilter Decision => _decision;
    public GpioOutputs Outputs => _outputs;
    public GpioTrigger? Trigger => _trigger;
    public ModelSlot Model => _model;
    /// <summary>Called once per step (e.g. the systemd watchdog ping, which rate-limits itself).</summary>
    public Action? Alive { get; set; }
    /// <summary>The last classification: frame number, class, score, latency.</summary>
    public (long Frame, ClassScore Result, double LatencyMs) Last { get; private set; }

    /// <summary>
    /// Library entry point (used by the sample and by <c>cnn run</c>/<c>cnn demo</c>): loads the model named by
    /// <c>config.model</c> through <paramref name="loader"/>, opens the outputs on <paramref name="gpio"/>, runs
    /// until cancelled or the source ends, then leaves the outputs safe and releases the pins. Decisions go to
    /// <paramref name="log"/> (standard output by default), one JSON line each.
    /// </summary>
    public static LoopSummary Run(DeviceConfig config, IFrameSource source, GpioController gpio, IModelLoader loader,
        CancellationToken cancellationToken, Stream? log = null, LoopClock? clock = null, Action? alive = null)
    {
        var problems = ConfigValidator.Validate(config, checkFiles: false);
        if (problems.Count > 0) throw new ConfigException("config", problems);
        clock ??= LoopClock.System;
        var events = new EventLog(log ?? Console.OpenStandardOutput());
        CropMode crop = config.Camera.Crop == "stretch" ? CropMode.Stretch : CropMode.Center;
        using var model = new ModelSlot(config.Model!, loader, c => ResolveOutputs(config, c, out _),
            TimeSpan.FromMilliseconds(Math.Max(100, config.ModelPollMs)), crop, config.Camera.FullRange);
        using var loop = new ClassifyLoop(config, source, gpio, model, events, clock) { Alive = alive };
        return loop.Run(cancellationToken);
    }

    /// <summary>Maps configured output classes (labels or indices) to the model's class indices.</summary>
    public static string? ResolveOutputs(DeviceConfig config, IClassifier model, out OutputPinSpec[] specs)
    {
        var outs = config.Gpio.Outputs;
        specs = new OutputPinSpec[outs.Length];
        for (int i = 0; i < outs.Length; i++)
        {
            var o = outs[i];
            int idx = ClassIndex(model, o.Class!);
            if (idx < 0) return $"gpio.outputs[{i}].class \"{o.Class}\" is not a class of the model (labels: {string.Join(", ", model.Labels)})";
            specs[i] = new OutputPinSpec(o.Pin!.Value, idx, o.ActiveLow, o.Mode == "pulse" ? OutputMode.Pulse : OutputMode.Level, o.PulseMs);
        }
        if (config.Labels is { } labels && labels.Length != model.ClassCount)
            return $"labels has {labels.Length} names but the model has {model.ClassCount} classes";
        if (config.Decision.BackgroundClass is { } bg && ClassIndex(model, bg) < 0)
            return $"decision.background_class \"{bg}\" is not a class of the model (labels: {string.Join(", ", model.Labels)})";
        return null;
    }

    private static int ResolveBackground(DeviceConfig config, IClassifier model)
        => config.Decision.BackgroundClass is { } bg ? ClassIndex(model, bg) : -1;

    private static int ClassIndex(IClassifier model, string cls)
    {
        for (int i = 0; i < model.Labels.Count; i++)
            if (model.Labels[i] == cls) return i;
        return int.TryParse(cls, out int n) && n >= 0 && n < model.ClassCount ? n : -1;
    }

    /// <summary>Runs until cancelled, the source ends, or camera.max_frames frames; leaves the outputs safe.</summary>
    public LoopSummary Run(CancellationToken cancellationToken)
    {
        _log.Event("start", _clock.UtcNow, $"classifying from {_source.Description}, trigger {_mode}",
            ("model", _model.Path), ("labels", string.Join(",", _model.Classifier.Labels)));
        // A stop request ends a capture that waits in the kernel at once (SIGTERM must not wait for a frame).
        using var interrupt = _source is IInterruptibleFrameSource waiting ? cancellationToken.Register(waiting.Interrupt) : default;
        try
        {
            while (!cancellationToken.IsCancellationRequested && Step(cancellationToken)) { }
            StopReason ??= "cancelled";
        }
        catch (Exception e)
        {
            StopReason = "error: " + e.Message;
            throw;
        }
        finally
        {
            _outputs.SafeState();
            _log.Event("stop", _clock.UtcNow, StopReason ?? "stopped", ("frames", Frames.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        return Summary();
    }

    public LoopSummary Summary() => new(Frames, Decisions, BadFrames, CameraLosses, ModelSwaps, ModelRefusals, StopReason ?? "running");

    /// <summary>One iteration: housekeeping, then either a wait or one capture (+ classification). False when the loop is done.</summary>
    public bool Step(CancellationToken cancellationToken)
    {
        TimeSpan now = _clock.Now;
        Alive?.Invoke();
        TimeSpan wakeAt = _outputs.Tick();
        PollModel(now);
        if (_hold > TimeSpan.Zero && _decision.State >= 0 && now - _lastClassified >= _hold)
        {
            _decision.Reset();
            _outputs.SetState(-1);
        }

        if (!_source.IsOpen)
        {
            if (now < _reopenAt)
            {
                Wait(Min(_reopenAt, wakeAt), null, cancellationToken);
                return true;
            }
            try
            {
                _source.Open();
                if (_cameraWasLost) _log.Event("camera_reopened", _clock.UtcNow, _source.Description);
                _cameraWasLost = false;
            }
            catch (FrameSourceException e) when (e.Kind != FrameErrorKind.EndOfStream)
            {
                CameraLost(now, e.Message);
                return true;
            }
            catch (FrameSourceException e)
            {
                StopReason = e.Message;
                return false;
            }
        }

        bool classify;
        switch (_mode)
        {
            case "gpio":
                if (_burstLeft == 0)
                {
                    if (!_trigger!.TryConsume())
                    {
                        Wait(wakeAt, _trigger.Signal, cancellationToken);
                        return true;
                    }
                    _burstLeft = _burst;
                }
                classify = true;
                break;
            case "motion":
                if (_burstLeft == 0 && now < _nextDue)
                {
                    Wait(Min(_nextDue, wakeAt), null, cancellationToken);
                    return true;
                }
                if (_burstLeft == 0) _nextDue = now + _interval;
                classify = _burstLeft > 0;
                break;
            default:
                if (now < _nextDue)
                {
                    Wait(Min(_nextDue, wakeAt), null, cancellationToken);
                    return true;
                }
                // Fixed rate, but never a catch-up burst after a stall.
                _nextDue = _nextDue + _interval > now ? _nextDue + _interval : now + _interval;
                classify = true;
                break;
        }
        return CaptureAndClassify(classify, cancellationToken);
    }

    private bool CaptureAndClassify(bool classify, CancellationToken cancellationToken)
    {
        _sink.Reset();
        _outputs.Busy(true);
        try
        {
            bool got;
            try { got = _source.Capture(_sink, _frameTimeoutMs); }
            catch (FrameSourceException e)
            {
                // A stop request closes a pipe source under the read: that is the shutdown, not a camera fault.
                return cancellationToken.IsCancellationRequested ? Cancelled() : FrameFailed(e.Kind, e.Message);
            }
            if (!got)
            {
                return cancellationToken.IsCancellationRequested ? Cancelled()
                    : FrameFailed(FrameErrorKind.BadFrame, $"no frame within {_frameTimeoutMs} ms");
            }
            if (_sink.Problem is { } problem) return FrameFailed(FrameErrorKind.BadFrame, problem);
            _badInARow = 0;
            _reopenDelay = TimeSpan.FromMilliseconds(_config.Camera.ReopenMinMs);
            Frames++;

            if (_motion is not null && !classify)
            {
                if (!_sink.Motion) return !MaxFramesReached();
                _burstLeft = _burst;
            }
            if (_burstLeft > 0) _burstLeft--;

            ClassScore result = _model.Classifier.Classify();
            double latencyMs = Stopwatch.GetElapsedTime(_sink.ArrivedAt).TotalMilliseconds;
            _lastClassified = _clock.Now;
            bool changed = _decision.Update(result.Class, result.Score);
            if (changed) _outputs.SetState(_decision.State);
            Decisions++;
            Last = (_sink.Sequence, result, latencyMs);
            if (!_config.Log.OnlyChanges || changed)
            {
                var labels = _model.Classifier.Labels;
                _log.Decision(_clock.UtcNow, _sink.Sequence, labels[result.Class], result.Class, result.Score, latencyMs,
                    _decision.State >= 0 ? labels[_decision.State] : "none", changed, _model.Generation);
            }
            return !MaxFramesReached();
        }
        finally
        {
            _outputs.Busy(false);
        }
    }

    /// <summary>Stopped while waiting for a frame (SIGTERM, Ctrl+C): a clean stop, nothing to report as an error.</summary>
    private bool Cancelled()
    {
        StopReason = "cancelled";
        return false;
    }

    private bool MaxFramesReached()
    {
        if (_config.Camera.MaxFrames <= 0 || Frames < _config.Camera.MaxFrames) return false;
        StopReason = $"max_frames {_config.Camera.MaxFrames} reached";
        return true;
    }

    private bool FrameFailed(FrameErrorKind kind, string message)
    {
        if (kind == FrameErrorKind.EndOfStream)
        {
            StopReason = message;
            return false;
        }
        if (kind == FrameErrorKind.BadFrame)
        {
            BadFrames++;
            _badInARow++;
            _log.Event("camera_error", _clock.UtcNow, message, ("kind", "bad_frame"));
            if (_badInARow < _config.Camera.MaxBadFrames) return true;
            message = $"{_badInARow} bad frames in a row (last: {message})";
        }
        CameraLost(_clock.Now, message);
        return true;
    }

    private void CameraLost(TimeSpan now, string message)
    {
        if (!_cameraWasLost) CameraLosses++;
        _cameraWasLost = true;
        _badInARow = 0;
        _burstLeft = 0;
        _outputs.SafeState();
        _decision.Reset();
        _motion?.Reset();
        try { _source.Close(); } catch (Exception) { /* already broken */ }
        _reopenAt = now + _reopenDelay;
        _log.Event("camera_error", _clock.UtcNow, message, ("kind", "lost"), ("retry_ms", ((long)_reopenDelay.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var max = TimeSpan.FromMilliseconds(_config.Camera.ReopenMaxMs);
        _reopenDelay = _reopenDelay * 2 > max ? max : _reopenDelay * 2;
    }

    private void PollModel(TimeSpan now)
    {
        if (_config.ModelPollMs <= 0) return;
        switch (_model.Poll(now, out string? message))
        {
            case ModelSlot.PollResult.Swapped:
                ModelSwaps++;
                ResolveOutputs(_config, _model.Classifier, out var specs);
                _outputs.Remap(specs);
                _decision.Reset();
                _decision.BackgroundClass = ResolveBackground(_config, _model.Classifier);
                _log.Event("model_swapped", _clock.UtcNow, message ?? "", ("model", _model.Path));
                break;
            case ModelSlot.PollResult.Refused:
                ModelRefusals++;
                _log.Event("model_refused", _clock.UtcNow, message ?? "", ("model", _model.Path));
                break;
        }
    }

    private void Wait(TimeSpan until, WaitHandle? wake, CancellationToken ct)
    {
        TimeSpan d = until - _clock.Now;
        if (d > MaxWait) d = MaxWait;
        if (d <= TimeSpan.Zero) return;
        _clock.Wait(d, wake, ct);
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    public void Dispose()
    {
        _trigger?.Dispose();
        _outputs.Dispose();
    }

    /// <summary>Receives the frame while the source holds it: motion check, then conversion into the model input.</summary>
    private sealed class Sink(ClassifyLoop loop) : IFrameSink
    {
        public string? Problem;
        public bool Motion;
        public long Sequence;
        public long ArrivedAt;

        public void Reset()
        {
            Problem = null;
            Motion = false;
        }

        public void OnFrame(in RawFrame frame)
        {
            ArrivedAt = Stopwatch.GetTimestamp();
            Sequence = frame.Sequence;
            if (frame.Validate() is { } p)
            {
                Problem = p;
                return;
            }
            if (loop._motion is not null) Motion = loop._motion.Update(frame);
            var model = loop._model;
            if (model.Converter.IsFloat) model.Converter.Convert(frame, model.Classifier.InputFloat);
            else model.Converter.Convert(frame, model.Classifier.InputInt8);
        }
    }
}
