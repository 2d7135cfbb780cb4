// guest-probe --chip N --out LINE --in LINE --video /dev/videoX --ready FILE
// Runs inside the qemu-system guest (build/qemu-system/init.sh). Protocol with /init:
//   1. captures a frame from the V4L2 device (vivid's colour bars) and classifies the red, green
//      and blue bars with a Cnn.Edge model; drives --out high through System.Device.Gpio only if
//      the red bar was classified red, then creates --ready: /init reads the line through
//      gpio-sim's sysfs while it is held;
//   2. waits (up to 20 s) for --in to read high: /init fires it by writing pull-up to gpio-sim;
//   3. captures and classifies a second frame and drives --out low;
//   4. scenes: switches vivid to a solid red, green, blue picture, classifies each whole frame and
//      drives that class's pin (BCM 23/24/25, as samples/RaspberryPi/qemu-virt.json maps them)
//      high, announcing "<pin>" in /tmp/scene.N; /init reads the pins through gpio-sim's sysfs and
//      answers with /tmp/ack.N;
//   5. prints "PROBE OK ..." (exit 0), or "PROBE FAIL <why>" (exit 1) at the first thing that is wrong.
// guest-probe --vivid-pattern N [/dev/videoX] only sets vivid's test pattern and exits.
using System.Device.Gpio;
using System.Device.Gpio.Drivers;
using System.Diagnostics;
using Cnn.Qemu.GuestProbe;

// guest-probe --vivid-pattern N [DEVICE]: only switches vivid's test pattern (used by /init to
// show scenes to samples/RaspberryPi while it streams; busybox cannot issue the ioctl).
if (args.Length >= 2 && args[0] == "--vivid-pattern")
{
    V4l2.SetVividPattern(args.Length > 2 ? args[2] : "/dev/video0", int.Parse(args[1]));
    return 0;
}

var opts = Args.Parse(args);
try
{
    var sw = Stopwatch.StartNew();
    using var classifier = new ColourClassifier();
    if (!CaptureAndClassify(classifier, opts.Video, "first", out string? why)) return Fail(why!);

    using var controller = new GpioController(new LibGpiodDriver(opts.Chip));
    controller.OpenPin(opts.In, PinMode.Input);
    // The relay follows the classifier: high because the red bar was seen as red.
    controller.OpenPin(opts.Out, PinMode.Output, PinValue.High);
    File.WriteAllText(opts.Ready, "held\n");
    Console.WriteLine($"PROBE gpio chip {opts.Chip} line {opts.Out} driven high ({sw.ElapsedMilliseconds} ms)");

    var waited = Stopwatch.StartNew();
    while (controller.Read(opts.In) != PinValue.High)
    {
        if (waited.Elapsed > TimeSpan.FromSeconds(20)) return Fail($"input line {opts.In} never went high (gpio-sim pull-up not seen)");
        Thread.Sleep(5);
    }
    Console.WriteLine($"PROBE trigger on line {opts.In} after {waited.ElapsedMilliseconds} ms");

    bool ok = CaptureAndClassify(classifier, opts.Video, "triggered", out why);
    controller.Write(opts.Out, PinValue.Low);
    if (!ok) return Fail(why!);

    int[] classPins = [23, 24, 25];
    foreach (int pin in classPins) controller.OpenPin(pin, PinMode.Output, PinValue.Low);
    (int Pattern, int Class)[] scenes = [(7, 0), (8, 1), (9, 2)];
    for (int n = 0; n < scenes.Length; n++)
    {
        V4l2.SetVividPattern(opts.Video, scenes[n].Pattern);
        var frame = V4l2.CaptureYuyv(opts.Video, 640, 480, out int width, out int height);
        var (cls, score) = classifier.ClassifyFrame(frame, width, height);
        string expected = ColourClassifier.Labels[scenes[n].Class];
        Console.WriteLine($"PROBE scene {n} pattern {scenes[n].Pattern}: {ColourClassifier.Labels[cls]} {score:F3}, pin {classPins[cls]} high");
        if (cls != scenes[n].Class) return Fail($"scene {n}: solid {expected} classified {ColourClassifier.Labels[cls]}");
        controller.Write(classPins[cls], PinValue.High);
        File.WriteAllText($"/tmp/scene.{n}", $"{classPins[cls]}\n");
        var acked = Stopwatch.StartNew();
        while (!File.Exists($"/tmp/ack.{n}"))
        {
            if (acked.Elapsed > TimeSpan.FromSeconds(20)) return Fail($"scene {n}: /init never acknowledged");
            Thread.Sleep(5);
        }
        controller.Write(classPins[cls], PinValue.Low);
    }
    V4l2.SetVividPattern(opts.Video, 0);
    Console.WriteLine($"PROBE OK total {sw.ElapsedMilliseconds} ms");
    return 0;
}
catch (Exception e)
{
    return Fail($"{e.GetType().Name}: {e.Message}");
}

static bool CaptureAndClassify(ColourClassifier classifier, string video, string name, out string? why)
{
    var sw = Stopwatch.StartNew();
    var frame = V4l2.CaptureYuyv(video, 640, 480, out int width, out int height);
    int distinct = V4l2.DistinctLuma(frame);
    Console.WriteLine($"PROBE {name} frame {width}x{height} {frame.Length} bytes, {distinct} luma levels ({sw.ElapsedMilliseconds} ms)");
    // vivid's test pattern (colour bars) has many luma levels; a blank buffer has one.
    if (distinct < 4) { why = $"{name} frame has only {distinct} distinct luma values"; return false; }
    // 75% colour bars, left to right: white yellow cyan green magenta red blue black.
    (int Bar, int Expected)[] bars = [(5, 0), (3, 1), (6, 2)];
    foreach (var (bar, expected) in bars)
    {
        int cx = (2 * bar + 1) * width / 16;
        var (cls, score) = classifier.Classify(frame, width, cx, height / 2);
        Console.WriteLine($"PROBE {name} bar {bar} at x={cx}: {ColourClassifier.Labels[cls]} {score:F3}");
        if (cls != expected) { why = $"{name} frame: bar {bar} classified {ColourClassifier.Labels[cls]}, expected {ColourClassifier.Labels[expected]}"; return false; }
    }
    why = null;
    return true;
}

static int Fail(string why)
{
    Console.WriteLine($"PROBE FAIL {why}");
    return 1;
}
