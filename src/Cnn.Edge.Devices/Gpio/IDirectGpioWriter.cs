using System.Device.Gpio;

namespace Cnn.Edge.Devices.Gpio;

/// <summary>A driver that can set an open output without going through GpioController's bookkeeping (see <see cref="DirectWriteGpioController"/>).</summary>
public interface IDirectGpioWriter
{
    /// <summary>Sets an open output pin; allocates nothing. Throws when the pin is not an open output.</summary>
    void WriteOutput(int pinNumber, PinValue value);
}

/// <summary>
/// The GpioController the device code uses: System.Device.Gpio's controller (pin bookkeeping, modes,
/// edge callbacks, errors that name the pin), except that a write goes straight to a driver that
/// implements <see cref="IDirectGpioWriter"/>. GpioController.Write in 4.2 records every written value
/// in a ConcurrentDictionary&lt;int, PinValue?&gt;; a Nullable&lt;PinValue&gt; value is not written
/// atomically, so each store allocates a new dictionary node (about 40 bytes per pin change, also
/// through GpioPin.Write). The loop changes pins on every decision and must not allocate.
/// </summary>
public sealed class DirectWriteGpioController : GpioController
{
    private readonly IDirectGpioWriter _writer;

    public DirectWriteGpioController(GpioDriver driver) : base(driver)
        => _writer = driver as IDirectGpioWriter ?? throw new ArgumentException($"{driver.GetType().Name} does not implement {nameof(IDirectGpioWriter)}", nameof(driver));

    public override void Write(int pinNumber, PinValue value)
    {
        if (!IsPinOpen(pinNumber)) throw new InvalidOperationException($"cannot write GPIO {pinNumber}: it is not open");
        _writer.WriteOutput(pinNumber, value);
    }
}

/// <summary>Shared by the drivers here: GpioDriver.WaitForEvent built on their edge callbacks.</summary>
internal static class DriverEvents
{
    public static WaitForEventResult WaitWithCallback(int pin, PinEventTypes eventTypes, CancellationToken cancellationToken,
        Action<int, PinEventTypes, PinChangeEventHandler> add, Action<int, PinChangeEventHandler> remove)
    {
        using var done = new ManualResetEventSlim();
        PinEventTypes got = PinEventTypes.None;
        PinChangeEventHandler handler = (_, e) =>
        {
            got = e.ChangeType;
            done.Set();
        };
        add(pin, eventTypes, handler);
        try
        {
            done.Wait(cancellationToken);
            return new WaitForEventResult { EventTypes = got, TimedOut = false };
        }
        catch (OperationCanceledException)
        {
            return new WaitForEventResult { EventTypes = PinEventTypes.None, TimedOut = true };
        }
        finally { remove(pin, handler); }
    }
}
