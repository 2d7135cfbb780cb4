// cnn-pi: the device application. Camera frames → int8 CNN → GPIO pins, one JSON line per decision.
// See README.md beside this file for wiring, the configuration reference and installation.
using System.Globalization;
using System.Runtime.InteropServices;
using Cnn.Edge;
using Cnn.Edge.Devices.Boards;
using Cnn.Edge.Devices.Config;
using Cnn.Edge.Devices.Frames;
using Cnn.Edge.Devices.Gpio;
using Cnn.Edge.Devices.Loop;
using Cnn.Edge.Devices.Systemd;

return CnnPi.Start(args);

internal static class CnnPi
{
    private const string Usage = """
        usage: cnn-pi --config pi.json [--frames N] [--check]
               cnn-pi --demo [--frames N] [--source DIR] [--seed N]
               cnn-pi --write-demo-model FILE
               cnn-pi --list-gpio | --boards | --version

          --config FILE   run with this configuration (validated first: every problem is listed by key)
          --demo          built-in defaults: a tiny colour model, the synthetic camera (or --source, a folder
                          of .pgm/.ppm/.bmp images) and the simulated GPIO driver; runs anywhere
          --frames N      stop after N frames (overrides camera.max_frames)
          --check         validate the configuration and the model, print what would run, exit
          --write-demo-model FILE
                          write the demo's colour model (labels none, red, green, blue) to FILE, atomically
                          (a temporary file beside it, flushed, then renamed), and exit
          --list-gpio     list GPIO chips (number, label, lines) found under /dev
          --boards        list the built-in board profiles
        Output: one JSON object per line on stdout; decisions are {"event":"decision",...}.
        Exit codes: 0 done, 1 runtime failure, 2 bad usage or configuration.
        """;

    public static int Start(string[] args)
    {
        string? configPath = null, sourceDir = null;
        bool demo = false, check = false;
        long? frames = null;
        int? seed = null;
        try
        {
            for (int i = 0; i < args.Length; i++)
            {
                string a = args[i];
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{a} needs a value");
                switch (a)
                {
                    case "--config": configPath = Next(); break;
                    case "--demo": demo = true; break;
                    case "--check": check = true; break;
                    case "--frames": frames = long.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--seed": seed = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--source": sourceDir = Next(); break;
                    case "--write-demo-model": return WriteDemoModel(Next());
                    case "--list-gpio": return ListGpio();
                    case "--boards": return ListBoards();
                    case "--version":
                        Console.WriteLine($"cnn-pi {typeof(CnnPi).Assembly.GetName().Version} ({(RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "arm64" : RuntimeInformation.RuntimeIdentifier)}, {RuntimeInformation.OSDescription})");
                        return 0;
                    case "-h" or "--help": Console.WriteLine(Usage); return 0;
                    default: throw new ArgumentException($"unknown argument '{a}'");
                }
            }
        }
        catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
        {
            Console.Error.WriteLine($"cnn-pi: {e.Message}\n{Usage}");
            return 2;
        }
        if (configPath is null && !demo)
        {
            Console.Error.WriteLine("cnn-pi: give --config FILE or --demo\n" + Usage);
            return 2;
        }

        DeviceConfig config;
        try
        {
            config = configPath is null ? DemoConfig(sourceDir, seed) : ConfigValidator.LoadFile(configPath);
            if (frames is long n) config.Camera.MaxFrames = n;
        }
        catch (ConfigException e)
        {
            Console.Error.WriteLine($"cnn-pi: {e.Message}");
            return 2;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"cnn-pi: {e.Message}");
            return 2;
        }
        return Run(config, check);
    }

    private static int WriteDemoModel(string path)
    {
        try
        {
            byte[] model = DemoModels.ColourClassifier();
            ModelBuilder.WriteFileAtomically(path, model);
            Console.WriteLine($"wrote {path}: {model.Length} bytes, the demo colour model (labels {string.Join(", ", DemoModels.ColourLabels)})");
            return 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
            string why = dir is not null && !Directory.Exists(dir) ? $"the folder '{dir}' does not exist" : e.Message;
            Console.Error.WriteLine($"cnn-pi: cannot write the demo model to '{path}': {why}");
            return 1;
        }
    }

    private static DeviceConfig DemoConfig(string? sourceDir, int? seed)
    {
        // The demo model is built in code (ModelBuilder) and written like any deployed model.
        string dir = Path.Combine(Path.GetTempPath(), "cnn-pi-demo");
        Directory.CreateDirectory(dir);
        string model = Path.Combine(dir, "colour.cnnq");
        ModelBuilder.WriteFileAtomically(model, DemoModels.ColourClassifier());
        var c = new DeviceConfig
        {
            Model = model,
            ModelPollMs = 0,
            Camera = sourceDir is null
                ? new CameraConfig { Source = "synthetic", Width = 160, Height = 120, Seed = seed ?? 1, SceneFrames = 4, MaxFrames = 24 }
                : new CameraConfig { Source = "folder", Path = sourceDir, Loop = false },
            Trigger = new TriggerConfig { Mode = "interval", IntervalMs = 50 },
            Decision = new DecisionConfig { MinConfidence = 0.6f, ConfirmFrames = 1, BackgroundClass = "none" },
            Gpio = new GpioConfig
            {
                Driver = "sim",
                BusyPin = 22,
                Outputs =
                [
                    new OutputConfig { Class = "red", Pin = 23 },
                    new OutputConfig { Class = "green", Pin = 24 },
                    new OutputConfig { Class = "blue", Pin = 25, Mode = "pulse", PulseMs = 100 },
                ],
            },
        };
        var problems = ConfigValidator.Validate(c);
        if (problems.Count > 0) throw new ConfigException("demo defaults", problems);
        return c;
    }

    private static int Run(DeviceConfig config, bool checkOnly)
    {
        BoardProfile? board = config.Board is null ? null : BoardProfile.Get(config.Board);
        var loader = new EdgeModelLoader(config.MemoryBudgetBytes, config.EffectiveThreads(board), config.Labels);

        if (checkOnly)
        {
            try
            {
                using var c = loader.Load(config.Model!);
                string? problem = ClassifyLoop.ResolveOutputs(config, c, out _);
                if (problem is not null) throw new InvalidDataException(problem);
                Console.WriteLine($"ok: model {config.Model}: {c.ClassCount} classes ({string.Join(", ", c.Labels)}), input {c.Input.Height}x{c.Input.Width}x{c.Input.Channels}");
                Console.WriteLine($"ok: camera {config.Camera.Source}, trigger {config.Trigger.Mode}, {config.Gpio.Outputs.Length} output pin(s), " +
                    $"gpio driver {config.Gpio.Driver}{(board is null ? "" : ", board " + board.Model)}");
                return 0;
            }
            catch (InvalidDataException e)
            {
                Console.Error.WriteLine($"cnn-pi: {e.Message}");
                return 2;
            }
        }

        using var cts = new CancellationTokenSource();
        using var notifier = SystemdNotifier.FromEnvironment();
        // SIGTERM (systemctl stop) and Ctrl+C end the loop between frames; outputs go safe, pins are released.
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; cts.Cancel(); });
        using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => { ctx.Cancel = true; cts.Cancel(); });

        System.Device.Gpio.GpioController? gpio = null;
        IFrameSource? source = null;
        try
        {
            gpio = GpioFactory.Create(config.Gpio, board, out string gpioText);
            source = FrameSources.Create(config.Camera);
            Console.Error.WriteLine($"cnn-pi: gpio {gpioText}; camera {source.Description}; model {config.Model}");
            bool ready = false;
            var summary = ClassifyLoop.Run(config, source, gpio, loader, cts.Token, alive: () =>
            {
                if (!ready)
                {
                    notifier?.Ready($"classifying from {config.Camera.Source}");
                    ready = true;
                }
                notifier?.Ping();
            });
            notifier?.Stopping();
            Console.Error.WriteLine($"cnn-pi: stopped ({summary.StopReason}): {summary.Frames} frames, {summary.Decisions} decisions, " +
                $"{summary.BadFrames} bad frames, {summary.CameraLosses} camera losses, {summary.ModelSwaps} model swaps, {summary.ModelRefusals} refused");
            return 0;
        }
        catch (ConfigException e)
        {
            Console.Error.WriteLine($"cnn-pi: {e.Message}");
            return 2;
        }
        catch (Exception e) when (e is InvalidDataException or InvalidOperationException or ArgumentException or IOException
            or PlatformNotSupportedException or UnauthorizedAccessException or ObjectDisposedException)
        {
            Console.Error.WriteLine($"cnn-pi: {e.Message}");
            return 1;
        }
        finally
        {
            source?.Dispose();
            gpio?.Dispose();
        }
    }

    private static int ListGpio()
    {
        var chips = GpioChips.List();
        if (chips.Count == 0) Console.WriteLine("no readable /dev/gpiochip* (missing, or the user is not in the gpio group)");
        foreach (var c in chips) Console.WriteLine($"gpiochip{c.Number}\t{c.Label}\t{c.Lines} lines\t{c.Name}");
        return 0;
    }

    private static int ListBoards()
    {
        foreach (string name in BoardProfile.BuiltInNames)
        {
            var b = BoardProfile.Get(name);
            Console.WriteLine($"{b.Name,-10} {b.Model}: {b.Cores}x {b.Cpu}, dotprod {(b.NeonDotprod ? "yes" : "no")}, " +
                $"budget {b.MemoryBudgetBytes / (1024 * 1024)} MiB, gpio {b.GpioDriver} '{b.GpioChipLabel}'");
        }
        return 0;
    }
}
