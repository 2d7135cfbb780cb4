using System.Device.Gpio;
using Cnn.Edge.Devices.Loop;

namespace Cnn.Edge.Devices.Gpio;

/// <summary>
/// An input that starts a classification: a button or a PIR sensor. Edges arrive on the driver's
/// event thread; an edge within <c>debounce</c> of the last accepted one is contact bounce and is
/// dropped. The loop polls <see cref="TryConsume"/> and sleeps on <see cref="Signal"/>.
/// </summary>
public sealed class GpioTrigger : IDisposable
{
    private readonly GpioController _gpio;
    private readonly LoopClock _clock;
    private readonly TimeSpan _debounce;
    private readonly PinChangeEventHandler _handler;
    private readonly object _lock = new();
    private TimeSpan _lastAccepted = TimeSpan.MinValue;
    private bool _pending;

    public GpioTrigger(GpioController gpio, int pin, PinEventTypes edges, PinMode inputMode, int debounceMs, LoopClock clock)
    {
        _gpio = gpio;
        _clock = clock;
        Pin = pin;
        _debounce = TimeSpan.FromMilliseconds(debounceMs);
        _handler = OnEdge;
        _gpio.OpenPin(pin, inputMode);
        try { _gpio.RegisterCallbackForPinValueChangedEvent(pin, edges, _handler); }
        catch
        {
            _gpio.ClosePin(pin);
            throw;
        }
    }

    public int Pin { get; }
    public AutoResetEvent Signal { get; } = new(false);
    public int Accepted { get; private set; }
    public int Rejected { get; private set; }

    private void OnEdge(object sender, PinValueChangedEventArgs e)
    {
        lock (_lock)
        {
            TimeSpan now = _clock.Now;
            if (_lastAccepted != TimeSpan.MinValue && now - _lastAccepted < _debounce)
            {
                Rejected++;
                return;
            }
            _lastAccepted = now;
            _pending = true;
            Accepted++;
        }
        Signal.Set();
    }

    /// <summary>True once per accepted edge (several edges before the loop looks count as one trigger).</summary>
    public bool TryConsume()
    {
        lock (_lock)
        {
            bool p = _pending;
            _pending = false;
            return p;
        }
    }

    public void Dispose()
    {
        try
        {
            _gpio.UnregisterCallbackForPinValueChangedEvent(Pin, _handler);
            if (_gpio.IsPinOpen(Pin)) _gpio.ClosePin(Pin);
        }
        catch (Exception) { /* released on the way out; the driver may already be gone */ }
        Signal.Dispose();
    }
}
