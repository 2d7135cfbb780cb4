using System.Device.Gpio;
using System.Runtime.InteropServices;
using Cnn.Edge.Devices.Interop;

namespace Cnn.Edge.Devices.Gpio;

/// <summary>
/// A GpioDriver over the Linux GPIO character device (/dev/gpiochipN, uAPI v2, kernel 5.10+), without
/// libgpiod: one line request per open pin, values through GPIO_V2_LINE_{GET,SET}_VALUES, pin modes and
/// edge detection through GPIO_V2_LINE_SET_CONFIG, edge events read by one background thread that
/// poll()s every watched line plus an eventfd that wakes it when the set changes or the driver closes.
/// It works on every Raspberry Pi (the Pi 5's RP1 header bank included) and on gpio-sim in QEMU.
/// <para>
/// Used through <see cref="GpioController"/> like any driver. Writes go straight to the kernel with
/// no allocation (<see cref="IDirectGpioWriter"/>); errors name the pin, the chip and the errno.
/// </para>
/// </summary>
public sealed unsafe class CdevGpioDriver : GpioDriver, IDirectGpioWriter
{
    private const int EventsPerRead = 16;

    private sealed class Line(int pin)
    {
        public readonly int Pin = pin;
        public FileDescriptorHandle? Fd;
        public PinMode Mode = PinMode.Input;
        public bool High;
        public readonly List<(PinEventTypes Events, PinChangeEventHandler Handler)> Callbacks = new();

        public PinEventTypes Edges
        {
            get
            {
                PinEventTypes e = PinEventTypes.None;
                foreach (var c in Callbacks) e |= c.Events;
                return e;
            }
        }
    }

    private readonly FileDescriptorHandle _chip;
    private readonly string _chipText;
    private readonly string _consumer;
    private readonly Line?[] _lines;
    private readonly object _lock = new();
    private Line[] _watched = [];
    private Thread? _eventThread;
    private WakeEvent? _wake;
    private volatile bool _stopping;
    private long _generation, _seenGeneration;

    /// <summary>Opens /dev/gpiochip<paramref name="chip"/>; throws naming the chip and the reason (missing, permissions).</summary>
    public CdevGpioDriver(int chip, string consumer = "cnn-edge", string devDirectory = "/dev")
        : this(Path.Combine(devDirectory, $"gpiochip{chip}"), consumer)
    {
    }

    public CdevGpioDriver(string chipPath, string consumer = "cnn-edge")
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("the GPIO character device needs Linux");
        _consumer = consumer;
        _chip = Libc.Open(chipPath, Libc.O_RDWR | Libc.O_CLOEXEC);
        if (_chip.IsInvalid)
        {
            int err = Marshal.GetLastPInvokeError();
            throw new IOException($"cannot open {chipPath}: {Libc.Describe(err)}");
        }
        var info = GpioChips.Describe(_chip, chipPath);
        if (info is null)
        {
            int err = Marshal.GetLastPInvokeError();
            _chip.Dispose();
            throw new IOException($"{chipPath} is not a GPIO chip (GPIO_GET_CHIPINFO: {Libc.Describe(err)})");
        }
        _chipText = info.ToString();
        _lines = new Line?[info.Lines];
    }

    /// <summary>The chip as the kernel names it, e.g. <c>gpiochip0 'pinctrl-rp1' (54 lines)</c>.</summary>
    public string Chip => _chipText;

    protected override int PinCount => _lines.Length;

    protected override void OpenPin(int pinNumber)
    {
        if ((uint)pinNumber >= (uint)_lines.Length)
            throw new ArgumentOutOfRangeException(nameof(pinNumber), $"GPIO {pinNumber} is outside {_chipText}: lines 0..{_lines.Length - 1}");
        lock (_lock) _lines[pinNumber] ??= new Line(pinNumber);
    }

    protected override void ClosePin(int pinNumber)
    {
        FileDescriptorHandle? fd;
        lock (_lock)
        {
            if ((uint)pinNumber >= (uint)_lines.Length || _lines[pinNumber] is not { } line) return;
            _lines[pinNumber] = null;
            fd = line.Fd;
            if (line.Callbacks.Count > 0)
            {
                line.Callbacks.Clear();
                UpdateWatched();
            }
        }
        fd?.Dispose(); // releases the line (an output keeps its last level on most chips)
    }

    protected override bool IsPinModeSupported(int pinNumber, PinMode mode)
        => mode is PinMode.Input or PinMode.InputPullUp or PinMode.InputPullDown or PinMode.Output;

    protected override PinMode GetPinMode(int pinNumber) => LineOf(pinNumber).Mode;

    protected override void SetPinMode(int pinNumber, PinMode mode) => Configure(pinNumber, mode, null);

    /// <summary>Output with its first level in the same request: an active-low relay never clicks on at open.</summary>
    protected override void SetPinMode(int pinNumber, PinMode mode, PinValue initialValue)
        => Configure(pinNumber, mode, initialValue == PinValue.High);

    private void Configure(int pin, PinMode mode, bool? level)
    {
        if (!IsPinModeSupported(pin, mode)) throw new ArgumentException($"GPIO {pin}: pin mode {mode} is not supported by the character device driver");
        lock (_lock)
        {
            var line = LineOf(pin);
            if (mode == PinMode.Output) line.High = level ?? (line.Mode == PinMode.Output && line.High);
            line.Mode = mode;
            Apply(line);
        }
    }

    /// <summary>Requests the line, or reconfigures the request it has, to its mode, level and edge detection.</summary>
    private void Apply(Line line)
    {
        GpioV2.LineFlags flags = line.Mode switch
        {
            PinMode.Output => GpioV2.LineFlags.Output,
            PinMode.InputPullUp => GpioV2.LineFlags.Input | GpioV2.LineFlags.BiasPullUp,
            PinMode.InputPullDown => GpioV2.LineFlags.Input | GpioV2.LineFlags.BiasPullDown,
            _ => GpioV2.LineFlags.Input,
        };
        if (line.Mode != PinMode.Output)
        {
            PinEventTypes edges = line.Edges;
            if ((edges & PinEventTypes.Rising) != 0) flags |= GpioV2.LineFlags.EdgeRising;
            if ((edges & PinEventTypes.Falling) != 0) flags |= GpioV2.LineFlags.EdgeFalling;
        }
        var config = GpioV2.Config(flags, line.Mode == PinMode.Output ? line.High : null);
        if (line.Fd is { } fd)
        {
            if (Libc.ioctl(fd, GpioV2.GPIO_V2_LINE_SET_CONFIG_IOCTL, &config) < 0) throw Failed(line.Pin, "reconfiguring the line");
            return;
        }
        var request = new GpioV2.LineRequest { NumLines = 1, Config = config };
        request.Offsets[0] = (uint)line.Pin;
        int n = Math.Min(_consumer.Length, GpioV2.NameSize - 1);
        for (int i = 0; i < n; i++) request.Consumer[i] = (byte)(_consumer[i] < 128 ? _consumer[i] : '?');
        if (Libc.ioctl(_chip, GpioV2.GPIO_V2_GET_LINE_IOCTL, &request) < 0) throw Failed(line.Pin, "requesting the line");
        line.Fd = new FileDescriptorHandle(request.Fd);
    }

    protected override PinValue Read(int pinNumber)
    {
        var line = Requested(pinNumber);
        var values = new GpioV2.LineValues { Mask = 1 };
        if (Libc.ioctl(line.Fd!, GpioV2.GPIO_V2_LINE_GET_VALUES_IOCTL, &values) < 0) throw Failed(pinNumber, "reading");
        return (values.Bits & 1) != 0 ? PinValue.High : PinValue.Low;
    }

    protected override void Write(int pinNumber, PinValue value) => WriteOutput(pinNumber, value);

    /// <summary>One GPIO_V2_LINE_SET_VALUES ioctl; allocates nothing.</summary>
    public void WriteOutput(int pinNumber, PinValue value)
    {
        var line = LineOf(pinNumber);
        if (line.Mode != PinMode.Output || line.Fd is null) throw new InvalidOperationException($"GPIO {pinNumber} on {_chipText} is not an output");
        bool high = value == PinValue.High;
        var values = new GpioV2.LineValues { Bits = high ? 1UL : 0UL, Mask = 1 };
        if (Libc.ioctl(line.Fd, GpioV2.GPIO_V2_LINE_SET_VALUES_IOCTL, &values) < 0) throw Failed(pinNumber, "writing");
        line.High = high;
    }

    protected override void Toggle(int pinNumber) => WriteOutput(pinNumber, LineOf(pinNumber).High ? PinValue.Low : PinValue.High);

    protected override WaitForEventResult WaitForEvent(int pinNumber, PinEventTypes eventTypes, CancellationToken cancellationToken)
        => DriverEvents.WaitWithCallback(pinNumber, eventTypes, cancellationToken, AddCallbackForPinValueChangedEvent, RemoveCallbackForPinValueChangedEvent);

    protected override void AddCallbackForPinValueChangedEvent(int pinNumber, PinEventTypes eventTypes, PinChangeEventHandler callback)
    {
        lock (_lock)
        {
            var line = Requested(pinNumber);
            if (line.Mode == PinMode.Output) throw new InvalidOperationException($"GPIO {pinNumber} on {_chipText} is an output: edge events need an input");
            PinEventTypes before = line.Edges;
            line.Callbacks.Add((eventTypes, callback));
            if (line.Edges != before) Apply(line);
            UpdateWatched();
        }
    }

    protected override void RemoveCallbackForPinValueChangedEvent(int pinNumber, PinChangeEventHandler callback)
    {
        lock (_lock)
        {
            if ((uint)pinNumber >= (uint)_lines.Length || _lines[pinNumber] is not { } line) return;
            PinEventTypes before = line.Edges;
            line.Callbacks.RemoveAll(c => c.Handler == callback);
            if (line.Edges != before && line.Fd is not null) Apply(line);
            UpdateWatched();
        }
    }

    private Line LineOf(int pin)
        => (uint)pin < (uint)_lines.Length && _lines[pin] is { } line ? line : throw new InvalidOperationException($"GPIO {pin} on {_chipText} is not open");

    /// <summary>The line, requested as an input if nothing requested it yet (a pin opened without a mode).</summary>
    private Line Requested(int pin)
    {
        var line = LineOf(pin);
        if (line.Fd is null)
            lock (_lock) if (line.Fd is null) Apply(line);
        return line;
    }

    private IOException Failed(int pin, string what)
    {
        int err = Marshal.GetLastPInvokeError();
        string hint = err == Libc.EBUSY ? " (another process or driver holds the line: see gpioinfo)" : "";
        return new IOException($"GPIO {pin} on {_chipText}: {what} failed: {Libc.Describe(err)}{hint}");
    }

    // ---- edge events ------------------------------------------------------------------------------

    /// <summary>Called under the lock after a callback change: publishes the watched set and waits until the event thread took it.</summary>
    private void UpdateWatched()
    {
        var watched = new List<Line>();
        foreach (var l in _lines)
            if (l is { Fd: not null, Callbacks.Count: > 0 }) watched.Add(l);
        _watched = watched.ToArray();
        long generation = ++_generation;
        if (_eventThread is null)
        {
            if (_watched.Length == 0) return;
            _wake = new WakeEvent();
            _eventThread = new Thread(EventLoop) { IsBackground = true, Name = "gpio events" };
            _eventThread.Start();
        }
        _wake!.Set();
        // A line that left the set may be closed right after this returns: the poll must not hold its fd.
        if (Thread.CurrentThread == _eventThread) return;
        while (Volatile.Read(ref _seenGeneration) < generation && _eventThread.IsAlive) Monitor.Wait(_lock, 100);
    }

    private void EventLoop()
    {
        var events = stackalloc GpioV2.LineEvent[EventsPerRead];
        var fds = new Libc.PollFd[GpioV2.LinesMax + 1];
        while (!_stopping)
        {
            Line[] watched;
            lock (_lock)
            {
                watched = _watched;
                Volatile.Write(ref _seenGeneration, _generation);
                Monitor.PulseAll(_lock);
            }
            try
            {
                int count = Math.Min(watched.Length, GpioV2.LinesMax);
                fds[0] = new Libc.PollFd { Fd = _wake!.Fd, Events = Libc.POLLIN };
                for (int i = 0; i < count; i++) fds[i + 1] = new Libc.PollFd { Fd = watched[i].Fd!.Fd, Events = Libc.POLLIN };
                int n, error;
                fixed (Libc.PollFd* p = fds) n = Libc.PollUntil(p, (nuint)(count + 1), -1, out error);
                if (n < 0) throw new IOException($"poll on {_chipText} failed: {Libc.Describe(error)}");
                if ((fds[0].Revents & Libc.POLLIN) != 0)
                {
                    _wake.Reset();
                    continue; // the set may have changed: take the new one before reading any line
                }
                for (int i = 0; i < count; i++)
                {
                    if ((fds[i + 1].Revents & Libc.POLLIN) == 0) continue;
                    nint got = Libc.read(watched[i].Fd!, events, (nuint)(EventsPerRead * sizeof(GpioV2.LineEvent)));
                    for (int e = 0; e < got / sizeof(GpioV2.LineEvent); e++)
                        Dispatch(watched[i], events[e].Id == GpioV2.EventRisingEdge ? PinEventTypes.Rising : PinEventTypes.Falling);
                }
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
            {
                if (_stopping) break;
                Console.Error.WriteLine($"cnn-edge: GPIO edge events on {_chipText}: {e.Message}");
                Thread.Sleep(100);
            }
        }
    }

    private void Dispatch(Line line, PinEventTypes edge)
    {
        PinChangeEventHandler[] handlers;
        lock (_lock)
        {
            int n = 0;
            foreach (var c in line.Callbacks) if ((c.Events & edge) != 0) n++;
            if (n == 0) return;
            handlers = new PinChangeEventHandler[n];
            n = 0;
            foreach (var c in line.Callbacks) if ((c.Events & edge) != 0) handlers[n++] = c.Handler;
        }
        var args = new PinValueChangedEventArgs(edge, line.Pin);
        foreach (var h in handlers)
        {
            try { h(this, args); }
            catch (Exception e) { Console.Error.WriteLine($"cnn-edge: GPIO {line.Pin} edge handler failed: {e.Message}"); }
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _stopping = true;
            Thread? t;
            lock (_lock) t = _eventThread;
            if (t is not null)
            {
                _wake!.Set();
                t.Join(TimeSpan.FromSeconds(2));
            }
            lock (_lock)
            {
                for (int i = 0; i < _lines.Length; i++)
                {
                    _lines[i]?.Fd?.Dispose();
                    _lines[i] = null;
                }
                _watched = [];
            }
            _wake?.Dispose();
            _chip.Dispose();
        }
        base.Dispose(disposing);
    }
}
