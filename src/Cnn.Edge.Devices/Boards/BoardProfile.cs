using System.Reflection;
using Cnn.Edge.Devices.Config;

namespace Cnn.Edge.Devices.Boards;

/// <summary>
/// What the device code needs to know about a board (hardware/boards/*.json): CPU and NEON features
/// (which int8 kernels apply), a RAM budget for the arena, the GPIO driver and chip, and the 40-pin
/// header map (physical pin → BCM GPIO number) used to check a configuration's pins.
/// </summary>
public sealed class BoardProfile
{
    public string Name { get; set; } = "";
    public string Model { get; set; } = "";
    public string Soc { get; set; } = "";
    public string Cpu { get; set; } = "";
    public int Cores { get; set; }
    public int ClockMhz { get; set; }
    public bool Neon { get; set; }
    public bool NeonDotprod { get; set; }
    public int[] RamMb { get; set; } = [];
    /// <summary>Suggested interpreter arena budget on the smallest RAM variant.</summary>
    public long MemoryBudgetBytes { get; set; }
    public int Threads { get; set; } = 1;
    public string GpioDriver { get; set; } = "cdev";
    public int? GpioChip { get; set; }
    public string? GpioChipLabel { get; set; }
    public int GpioLines { get; set; }
    /// <summary>The kernel ISA the interpreter picks on this CPU (Cnn.Edge KernelIsa name).</summary>
    public string KernelIsa { get; set; } = "";
    /// <summary>-cpu model that emulates this board's core in QEMU.</summary>
    public string QemuCpu { get; set; } = "";
    public string Notes { get; set; } = "";
    /// <summary>Physical header pin (as text) → BCM GPIO number.</summary>
    public Dictionary<string, int> HeaderPins { get; set; } = new();
    public Dictionary<string, int[]> PowerPins { get; set; } = new();
    /// <summary>GPIOs with another job (ID EEPROM, I2C with pull-ups, UART console): allowed, but warned about.</summary>
    public int[] ReservedGpio { get; set; } = [];
    public int GpioOutputMa { get; set; }
    public double GpioLogicVolts { get; set; }

    /// <summary>BCM GPIO numbers brought out on the header.</summary>
    public IEnumerable<int> HeaderGpios => HeaderPins.Values;

    /// <summary>Physical header pin of a BCM GPIO, or null when it is not on the header.</summary>
    public int? PhysicalPinOf(int gpio)
    {
        foreach (var (phys, g) in HeaderPins)
            if (g == gpio && int.TryParse(phys, out int p)) return p;
        return null;
    }

    public static BoardProfile Parse(string json, string origin)
    {
        var problems = new List<ConfigProblem>();
        using var document = JsonFields.Parse(json, problems);
        var f = document is null ? null : JsonFields.Root(document, problems);
        var p = new BoardProfile();
        if (f is not null)
        {
            p.Name = f.String("name", p.Name);
            p.Model = f.String("model", p.Model);
            p.Soc = f.String("soc", p.Soc);
            p.Cpu = f.String("cpu", p.Cpu);
            p.Cores = f.Int("cores", p.Cores);
            p.ClockMhz = f.Int("clock_mhz", p.ClockMhz);
            p.Neon = f.Bool("neon", p.Neon);
            p.NeonDotprod = f.Bool("neon_dotprod", p.NeonDotprod);
            p.RamMb = f.Ints("ram_mb") ?? p.RamMb;
            p.MemoryBudgetBytes = f.Long("memory_budget_bytes", p.MemoryBudgetBytes);
            p.Threads = f.Int("threads", p.Threads);
            p.GpioDriver = f.String("gpio_driver", p.GpioDriver);
            p.GpioChip = f.OptInt("gpio_chip");
            p.GpioChipLabel = f.OptString("gpio_chip_label");
            p.GpioLines = f.Int("gpio_lines", p.GpioLines);
            p.KernelIsa = f.String("kernel_isa", p.KernelIsa);
            p.QemuCpu = f.String("qemu_cpu", p.QemuCpu);
            p.Notes = f.String("notes", p.Notes);
            p.HeaderPins = f.IntMap("header_pins") ?? p.HeaderPins;
            p.PowerPins = f.IntArrayMap("power_pins") ?? p.PowerPins;
            p.ReservedGpio = f.Ints("reserved_gpio") ?? p.ReservedGpio;
            p.GpioOutputMa = f.Int("gpio_output_ma", p.GpioOutputMa);
            p.GpioLogicVolts = f.Double("gpio_logic_volts", p.GpioLogicVolts);
            f.Finish();
            if (string.IsNullOrWhiteSpace(p.Name)) problems.Add(new ConfigProblem("name", "is required"));
            if (p.Cores < 1) problems.Add(new ConfigProblem("cores", "must be at least 1"));
            if (p.HeaderPins.Count == 0) problems.Add(new ConfigProblem("header_pins", "is empty"));
        }
        if (problems.Count > 0) throw new InvalidDataException($"board profile {origin}: " + string.Join("; ", problems));
        return p;
    }

    public static BoardProfile LoadFile(string path) => Parse(File.ReadAllText(path), path);

    /// <summary>Names of the profiles built into the assembly (copied from hardware/boards).</summary>
    public static IReadOnlyList<string> BuiltInNames { get; } = ["pi4", "pi5", "zero2w", "qemu-virt"];

    /// <summary>A built-in profile by name (pi4, pi5, zero2w, qemu-virt), or a path to a profile file.</summary>
    public static BoardProfile Get(string nameOrPath)
    {
        if (nameOrPath.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || nameOrPath.Contains('/')) return LoadFile(nameOrPath);
        using Stream? s = typeof(BoardProfile).Assembly.GetManifestResourceStream($"boards/{nameOrPath}.json");
        if (s is null) throw new ArgumentException($"unknown board '{nameOrPath}': expected one of {string.Join(", ", BuiltInNames)} or a .json profile path");
        using var reader = new StreamReader(s);
        return Parse(reader.ReadToEnd(), $"built-in {nameOrPath}");
    }
}
