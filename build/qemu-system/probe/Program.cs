// guest-probe --chip N --out LINE --in LINE --video /dev/videoX --ready FILE
// Runs inside the qemu-system guest (build/qemu-system/init.sh). Protocol with /init:
//   1. captures a frame from the V4L2 device (vivid's colour bars) and classifies the red, green
//      and blue bars with a Cnn.Edge model; drives --out high through System.Device.Gpio only if
//      the red bar was classified red, then creates --ready: /init reads the line through
//      gpio-sim's sysfs while it is held;
//   2. waits (up to 20 s) for --in to read high: /init fires it by writing pull-up to gpio-sim;
//   3. captures and classifies a second frame, drives --out low, prints "PROBE OK ..." (exit 0),
//      or "PROBE FAIL <why>" (exit 1) at the first thing that is wrong.
using System.Device.Gpio;
using System.Device.Gpio.Drivers;
using System.Diagnostics;
using Cnn.Qemu.GuestProbe;

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
