using System.Device.Gpio;
using System.Device.Gpio.Drivers;
using Cnn.Edge.Devices.Boards;
using Cnn.Edge.Devices.Config;

namespace Cnn.Edge.Devices.Gpio;

/// <summary>
/// Builds the GpioController for a configuration: the driver named in <c>gpio.driver</c> (or the board
/// profile's), on the chip given by number, by label (<c>gpio.chip_label</c>, then the profile's label),
/// or the profile's number. Failures name the driver, the chip and what to install.
/// </summary>
public static class GpioFactory
{
    public static GpioController Create(GpioConfig config, BoardProfile? board, out string description, Func<TimeSpan>? simClock = null)
    {
        // "auto" means the board profile's driver, else libgpiod (the character device works on every Pi
        // and in QEMU). System.Device.Gpio's own board detection and its libgpiod v2 driver are not used:
        // they carry trim warnings (UnmanagedArray<T>) that would break the NativeAOT build.
        string driver = config.Driver == "auto" ? board?.GpioDriver ?? "libgpiod" : config.Driver;
        if (driver == "sim")
        {
            description = "simulated GPIO (no pins are driven)";
            return new GpioController(new SimulatedGpioDriver(64, simClock));
        }
        if (driver is "rpi")
        {
            description = "RaspberryPi3Driver (/dev/gpiomem; Pi 3, 4 and Zero 2 W, not Pi 5)";
            return Wrap(driver, () => new GpioController(new RaspberryPi3Driver()));
        }
        if (driver is "sysfs")
        {
            description = "sysfs GPIO (/sys/class/gpio)";
            return Wrap(driver, () => new GpioController(new SysFsDriver()));
        }

        int chip = ResolveChip(config, board, out string chipText);
        description = $"{driver} on {chipText}";
        return Wrap(driver, () => new GpioController(new LibGpiodDriver(chip)));
    }

    /// <summary>Chip number from gpio.chip, else gpio.chip_label / the profile's label, else the profile's number, else 0.</summary>
    public static int ResolveChip(GpioConfig config, BoardProfile? board, out string description)
    {
        if (config.Chip is int n)
        {
            description = $"gpiochip{n}";
            return n;
        }
        string? label = config.ChipLabel ?? board?.GpioChipLabel;
        if (label is not null)
        {
            var found = GpioChips.FindByLabel(label);
            description = found.ToString();
            return found.Number;
        }
        int chip = board?.GpioChip ?? 0;
        description = $"gpiochip{chip}";
        return chip;
    }

    private static GpioController Wrap(string driver, Func<GpioController> create)
    {
        try { return create(); }
        catch (DllNotFoundException e)
        {
            throw new InvalidOperationException($"GPIO driver {driver} needs libgpiod: install it (apt install libgpiod2) or choose another gpio.driver", e);
        }
        catch (Exception e) when (e is not InvalidOperationException)
        {
            throw new InvalidOperationException($"GPIO driver {driver} could not start: {e.Message}", e);
        }
    }
}
