using System.Device.Gpio;
using Cnn.Edge.Devices.Boards;
using Cnn.Edge.Devices.Config;

namespace Cnn.Edge.Devices.Gpio;

/// <summary>
/// Builds the GpioController for a configuration: the driver named in <c>gpio.driver</c> (or the board
/// profile's), on the chip given by number, by label (<c>gpio.chip_label</c>, then the profile's label),
/// or the profile's number. Drivers: <c>cdev</c> (<see cref="CdevGpioDriver"/>, the Linux GPIO character
/// device; <c>libgpiod</c> is accepted as its older name: libgpiod is a C wrapper of the same kernel
/// interface) and <c>sim</c>. Failures name the driver, the chip and the reason.
/// </summary>
public static class GpioFactory
{
    public static GpioController Create(GpioConfig config, BoardProfile? board, out string description, Func<TimeSpan>? simClock = null)
    {
        // "auto" means the board profile's driver, else the character device (every Pi, and gpio-sim in QEMU).
        // The controller is always given its driver: System.Device.Gpio's board detection, its libgpiod
        // drivers, RaspberryPi3Driver and SysFsDriver are never reached (they carry trim warnings: their
        // UnmanagedArray<T> calls Marshal.PtrToStructure<T> without annotations).
        string driver = config.Driver == "auto" ? board?.GpioDriver ?? "cdev" : config.Driver;
        if (driver == "sim")
        {
            description = "simulated GPIO (no pins are driven)";
            return new DirectWriteGpioController(new SimulatedGpioDriver(64, simClock));
        }
        if (driver is not ("cdev" or "libgpiod")) throw new InvalidOperationException($"unknown GPIO driver '{driver}': expected one of {string.Join(", ", ConfigValidator.Drivers)}");

        int chip = ResolveChip(config, board, out string chipText);
        description = $"{driver} (GPIO character device, uAPI v2) on {chipText}";
        return Wrap(driver, () => new DirectWriteGpioController(new CdevGpioDriver(chip, "cnn-pi")));
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
        catch (Exception e) when (e is not InvalidOperationException)
        {
            throw new InvalidOperationException($"GPIO driver {driver} could not start: {e.Message}", e);
        }
    }
}
