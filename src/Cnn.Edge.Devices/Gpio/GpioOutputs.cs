using System.Device.Gpio;
using Cnn.Edge.Devices.Loop;

namespace Cnn.Edge.Devices.Gpio;

public enum OutputMode
{
    /// <summary>Active while the decided class is this one.</summary>
    Level,
    /// <summary>One pulse of a fixed length each time the decision enters this class.</summary>
    Pulse,
}

/// <summary>One output pin: the class it signals (index into the model's labels), polarity and mode.</summary>
public sealed record OutputPinSpec(int Pin, int ClassIndex, bool ActiveLow = false, OutputMode Mode = OutputMode.Level, int PulseMs = 200);

/// <summary>
/// The output side of the device: one pin per class, a busy pin (active during capture and
/// inference), and a heartbeat pin toggled at a fixed period while the loop is alive. Everything
/// starts and ends in the safe state (all inactive). Pin numbers are the controller's numbering
/// (BCM/GPIO line offsets on a Raspberry Pi).
/// </summary>
public sealed class GpioOutputs : IDisposable
{
    private readonly GpioController _gpio;
    private readonly LoopClock _clock;
    private OutputPinSpec[] _outputs;
    private readonly TimeSpan[] _pulseEnd;
    private readonly bool[] _active;
    private readonly int? _busyPin;
    private readonly bool _busyActiveLow;
    private readonly int? _heartbeatPin;
    private readonly TimeSpan _heartbeatPeriod;
    private TimeSpan _nextHeartbeat;
    private bool _heartbeatLevel;
    private readonly List<int> _opened = new();
    // GpioPin.Write calls GpioController.Write, which allocates per call in System.Device.Gpio 4.2; the device
    // builds a DirectWriteGpioController (GpioFactory), whose writes reach the driver without allocating.
    private readonly Dictionary<int, GpioPin> _pins = new();
    private GpioPin[] _classPins = [];
    private GpioPin? _busy, _heartbeat;
    private int _state = -1;

    public GpioOutputs(GpioController gpio, IReadOnlyList<OutputPinSpec> outputs, LoopClock clock,
        int? busyPin = null, bool busyActiveLow = false, int? heartbeatPin = null, int heartbeatMs = 1000)
    {
        _gpio = gpio;
        _clock = clock;
        _outputs = outputs.ToArray();
        _pulseEnd = new TimeSpan[_outputs.Length];
        _active = new bool[_outputs.Length];
        _busyPin = busyPin;
        _busyActiveLow = busyActiveLow;
        _heartbeatPin = heartbeatPin;
        _heartbeatPeriod = TimeSpan.FromMilliseconds(Math.Max(10, heartbeatMs));
        try
        {
            foreach (var o in _outputs) OpenOutput(o.Pin, o.ActiveLow);
            if (busyPin is int b) _busy = OpenOutput(b, busyActiveLow);
            if (heartbeatPin is int h) _heartbeat = OpenOutput(h, false);
            _classPins = _outputs.Select(o => _pins[o.Pin]).ToArray();
        }
        catch
        {
            Dispose();
            throw;
        }
        _nextHeartbeat = clock.Now;
    }

    /// <summary>The class the outputs currently show; -1 = none (safe state).</summary>
    public int State => _state;
    public IReadOnlyList<OutputPinSpec> Outputs => _outputs;

    private GpioPin OpenOutput(int pin, bool activeLow)
    {
        if (_opened.Contains(pin)) throw new ArgumentException($"GPIO {pin} is used twice in the output configuration");
        // Open with the inactive level so a relay never clicks on at start.
        var p = _gpio.OpenPin(pin, PinMode.Output, activeLow ? PinValue.High : PinValue.Low);
        _opened.Add(pin);
        _pins[pin] = p;
        return p;
    }

    /// <summary>Re-targets the class pins after a model swap changed the label order (same pins, new class indices).</summary>
    public void Remap(IReadOnlyList<OutputPinSpec> outputs)
    {
        if (outputs.Count != _outputs.Length) throw new ArgumentException("a remap must keep the same pins");
        for (int i = 0; i < outputs.Count; i++)
            if (outputs[i].Pin != _outputs[i].Pin) throw new ArgumentException("a remap must keep the same pins");
        SafeState();
        _outputs = outputs.ToArray();
        _classPins = _outputs.Select(o => _pins[o.Pin]).ToArray();
    }

    /// <summary>Shows decision <paramref name="classIndex"/> (-1 = none): level pins follow it, pulse pins fire on entry.</summary>
    public void SetState(int classIndex)
    {
        if (classIndex == _state) return;
        TimeSpan now = _clock.Now;
        for (int i = 0; i < _outputs.Length; i++)
        {
            var o = _outputs[i];
            bool match = o.ClassIndex == classIndex;
            if (o.Mode == OutputMode.Level) Drive(i, match);
            else if (match)
            {
                Drive(i, true);
                _pulseEnd[i] = now + TimeSpan.FromMilliseconds(o.PulseMs);
            }
        }
        _state = classIndex;
    }

    public void Busy(bool busy)
    {
        _busy?.Write(busy ^ _busyActiveLow ? PinValue.High : PinValue.Low);
    }

    /// <summary>Ends due pulses and toggles the heartbeat; returns when it next needs to be called.</summary>
    public TimeSpan Tick()
    {
        TimeSpan now = _clock.Now;
        TimeSpan next = TimeSpan.MaxValue;
        for (int i = 0; i < _outputs.Length; i++)
        {
            if (_outputs[i].Mode != OutputMode.Pulse || !_active[i]) continue;
            if (now >= _pulseEnd[i]) Drive(i, false);
            else if (_pulseEnd[i] < next) next = _pulseEnd[i];
        }
        if (_heartbeat is { } h)
        {
            if (now >= _nextHeartbeat)
            {
                _heartbeatLevel = !_heartbeatLevel;
                h.Write(_heartbeatLevel ? PinValue.High : PinValue.Low);
                _nextHeartbeat = now + _heartbeatPeriod;
            }
            if (_nextHeartbeat < next) next = _nextHeartbeat;
        }
        return next;
    }

    /// <summary>All class pins and the busy pin inactive; the decision state forgotten.</summary>
    public void SafeState()
    {
        for (int i = 0; i < _outputs.Length; i++)
            if (_opened.Contains(_outputs[i].Pin)) Drive(i, false, force: true);
        if (_busyPin is int b && _opened.Contains(b)) Busy(false);
        _state = -1;
    }

    private void Drive(int i, bool active, bool force = false)
    {
        if (_active[i] == active && !force) return;
        _active[i] = active;
        _classPins[i].Write(active ^ _outputs[i].ActiveLow ? PinValue.High : PinValue.Low);
    }

    public bool IsActive(int outputIndex) => _active[outputIndex];

    /// <summary>Safe state, then the pins are released (they keep the inactive level on most drivers).</summary>
    public void Dispose()
    {
        try { SafeState(); } catch (Exception) { /* best effort on the way out: still close the pins */ }
        if (_heartbeatPin is int h && _opened.Contains(h))
        {
            try { _gpio.Write(h, PinValue.Low); } catch (Exception) { }
        }
        foreach (int pin in _opened)
        {
            try { if (_gpio.IsPinOpen(pin)) _gpio.ClosePin(pin); } catch (Exception) { }
        }
        _opened.Clear();
    }
}
