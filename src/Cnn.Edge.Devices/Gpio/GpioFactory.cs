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
        string driver = config.Driver == "auto" && board is not null ? board.GpioDriver : config.Driver;
        if (driver == "sim")
        {
            description = "simulated GPIO (no pins are driven)";
            return new GpioController(new SimulatedGpioDriver(64, simClock));
        }
        if (driver == "auto")
        {
            description = "System.Device.Gpio default driver for this board";
            try { return new GpioController(); }
            catch (Exception e) { throw new InvalidOperationException($"no GPIO driver fits this machine: {e.Message} (set gpio.driver, e.g. sim or libgpiod)", e); }
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
        return driver switch
        {
            "libgpiod2" => Wrap(driver, () => new GpioController(new LibGpiodV2Driver(chip))),
            _ => Wrap(driver, () => new GpioController(new LibGpiodDriver(chip))),
        };
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
