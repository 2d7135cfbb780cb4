using System.Device.Gpio;

namespace Cnn.Edge.Devices.Gpio;

/// <summary>
/// An in-memory GPIO chip for tests and the demo: outputs are recorded (with a timestamp from the
/// supplied clock), inputs are driven by <see cref="SetInput"/>, which raises edge callbacks the way
/// a real driver does. Thread-safe; callbacks run on the thread that calls <see cref="SetInput"/>.
/// The write record keeps the last <see cref="MaxRecordedWrites"/> writes (a demo runs for days), and a
/// write allocates nothing.
/// </summary>
public sealed class SimulatedGpioDriver : GpioDriver, IDirectGpioWriter
{
    public const int MaxRecordedWrites = 4096;

    public readonly record struct PinWrite(TimeSpan Time, int Pin, PinValue Value);

    private readonly object _lock = new();
    private readonly Dictionary<int, PinMode> _modes = new();
    private readonly Dictionary<int, PinValue> _values = new();
    private readonly List<(int Pin, PinEventTypes Events, PinChangeEventHandler Handler)> _callbacks = new();
    private readonly List<PinWrite> _writes = new(MaxRecordedWrites);
    private readonly Func<TimeSpan> _now;
    private long _totalWrites;

    public SimulatedGpioDriver(int pinCount = 28, Func<TimeSpan>? clock = null)
    {
        PinCountValue = pinCount;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        _now = clock ?? (() => sw.Elapsed);
    }

    private int PinCountValue { get; }
    protected override int PinCount => PinCountValue;

    /// <summary>Every value written to an output, in order.</summary>
    public IReadOnlyList<PinWrite> Writes { get { lock (_lock) return _writes.ToArray(); } }
    public bool IsOpen(int pin) { lock (_lock) return _modes.ContainsKey(pin); }
    public PinValue ValueOf(int pin) { lock (_lock) return _values.TryGetValue(pin, out var v) ? v : PinValue.Low; }
    public PinMode? ModeOf(int pin) { lock (_lock) return _modes.TryGetValue(pin, out var m) ? m : null; }
    public void ClearWrites() { lock (_lock) _writes.Clear(); }
    /// <summary>Writes since the driver was made (the record above keeps only the last ones).</summary>
    public long TotalWrites { get { lock (_lock) return _totalWrites; } }

    /// <summary>Drives an input pin from outside (a button, a PIR sensor) and raises matching edge callbacks.</summary>
    public void SetInput(int pin, PinValue value)
    {
        PinChangeEventHandler[] handlers;
        PinEventTypes edge;
        lock (_lock)
        {
            PinValue old = _values.TryGetValue(pin, out var v) ? v : PinValue.Low;
            _values[pin] = value;
            if (old == value) return;
            edge = value == PinValue.High ? PinEventTypes.Rising : PinEventTypes.Falling;
            handlers = _callbacks.Where(c => c.Pin == pin && (c.Events & edge) != 0).Select(c => c.Handler).ToArray();
        }
        foreach (var h in handlers) h(this, new PinValueChangedEventArgs(edge, pin));
    }

    protected override void OpenPin(int pinNumber)
    {
        CheckPin(pinNumber);
        lock (_lock) _modes[pinNumber] = PinMode.Input;
    }

    protected override void ClosePin(int pinNumber)
    {
        lock (_lock)
        {
            _modes.Remove(pinNumber);
            _callbacks.RemoveAll(c => c.Pin == pinNumber);
        }
    }

    protected override void SetPinMode(int pinNumber, PinMode mode)
    {
        lock (_lock)
        {
            _modes[pinNumber] = mode;
            if (mode == PinMode.InputPullUp && !_values.ContainsKey(pinNumber)) _values[pinNumber] = PinValue.High;
        }
    }

    protected override PinMode GetPinMode(int pinNumber)
    {
        lock (_lock) return _modes.TryGetValue(pinNumber, out var m) ? m : throw new InvalidOperationException($"GPIO {pinNumber} is not open");
    }

    protected override bool IsPinModeSupported(int pinNumber, PinMode mode) => true;

    protected override PinValue Read(int pinNumber)
    {
        lock (_lock) return _values.TryGetValue(pinNumber, out var v) ? v : PinValue.Low;
    }

    protected override void Toggle(int pinNumber) => Write(pinNumber, !Read(pinNumber));

    protected override void Write(int pinNumber, PinValue value) => WriteOutput(pinNumber, value);

    public void WriteOutput(int pinNumber, PinValue value)
    {
        lock (_lock)
        {
            if (!_modes.TryGetValue(pinNumber, out var mode) || mode != PinMode.Output)
                throw new InvalidOperationException($"GPIO {pinNumber} is not an open output");
            _values[pinNumber] = value;
            if (_writes.Count == MaxRecordedWrites) _writes.RemoveRange(0, MaxRecordedWrites / 2);
            _writes.Add(new PinWrite(_now(), pinNumber, value));
            _totalWrites++;
        }
    }

    protected override WaitForEventResult WaitForEvent(int pinNumber, PinEventTypes eventTypes, CancellationToken cancellationToken)
        => DriverEvents.WaitWithCallback(pinNumber, eventTypes, cancellationToken, AddCallbackForPinValueChangedEvent, RemoveCallbackForPinValueChangedEvent);

    protected override void AddCallbackForPinValueChangedEvent(int pinNumber, PinEventTypes eventTypes, PinChangeEventHandler callback)
    {
        lock (_lock) _callbacks.Add((pinNumber, eventTypes, callback));
    }

    protected override void RemoveCallbackForPinValueChangedEvent(int pinNumber, PinChangeEventHandler callback)
    {
        lock (_lock) _callbacks.RemoveAll(c => c.Pin == pinNumber && c.Handler == callback);
    }

    private void CheckPin(int pin)
    {
        if (pin < 0 || pin >= PinCountValue) throw new ArgumentOutOfRangeException(nameof(pin), $"GPIO {pin} is outside the simulated chip's 0..{PinCountValue - 1}");
    }
}
