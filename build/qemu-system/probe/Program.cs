// guest-probe --chip N --out LINE --in LINE --video /dev/videoX --ready FILE
// Runs inside the qemu-system guest (build/qemu-system/init.sh), protocol with /init:
//   1. drives --out high through System.Device.Gpio and creates --ready: /init then reads the line
//      through gpio-sim's sysfs while it is held;
//   2. waits (up to 20 s) for --in to read high: /init fires it by writing pull-up to gpio-sim;
//   3. captures one frame from the V4L2 device (vivid) and checks it is a real picture;
//   4. drives --out low and prints "PROBE OK ..." (exit 0) or "PROBE FAIL <why>" (exit 1).
using System.Device.Gpio;
using System.Device.Gpio.Drivers;
using System.Diagnostics;
using Cnn.Qemu.GuestProbe;

var opts = Args.Parse(args);
try
{
    var sw = Stopwatch.StartNew();
    using var controller = new GpioController(new LibGpiodDriver(opts.Chip));
    controller.OpenPin(opts.Out, PinMode.Output, PinValue.High);
    controller.OpenPin(opts.In, PinMode.Input);
    File.WriteAllText(opts.Ready, "held\n");
    Console.WriteLine($"PROBE gpio chip {opts.Chip} line {opts.Out} driven high ({sw.ElapsedMilliseconds} ms)");

    var waited = Stopwatch.StartNew();
    while (controller.Read(opts.In) != PinValue.High)
    {
        if (waited.Elapsed > TimeSpan.FromSeconds(20)) return Fail($"input line {opts.In} never went high (gpio-sim pull-up not seen)");
        Thread.Sleep(5);
    }
    Console.WriteLine($"PROBE trigger on line {opts.In} after {waited.ElapsedMilliseconds} ms");

    var frame = V4l2.CaptureYuyv(opts.Video, 640, 480, out int width, out int height);
    int distinct = V4l2.DistinctLuma(frame);
    controller.Write(opts.Out, PinValue.Low);
    // vivid's test pattern (colour bars) has many luma levels; a blank or garbage-free zero
    // buffer has one.
    if (distinct < 4) return Fail($"frame {width}x{height} has only {distinct} distinct luma values");
    Console.WriteLine($"PROBE OK frame {width}x{height} {frame.Length} bytes, {distinct} luma levels, total {sw.ElapsedMilliseconds} ms");
    return 0;
}
catch (Exception e)
{
    return Fail($"{e.GetType().Name}: {e.Message}");
}

static int Fail(string why)
{
    Console.WriteLine($"PROBE FAIL {why}");
    return 1;
}
