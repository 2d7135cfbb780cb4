using System.Device.Gpio;
using Cnn.Edge.Devices.Config;
using Cnn.Edge.Devices.Frames;
using Cnn.Edge.Devices.Gpio;
using Cnn.Edge.Devices.Loop;

namespace Cnn.Edge.Devices.Tests;

/// <summary>The loop on the real Cnn.Edge interpreter with a ModelBuilder-made model.</summary>
public sealed class EdgeModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cnn-edge-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private string WriteModel(string name = "colour.cnnq")
    {
        string path = Path.Combine(_dir, name);
        ModelBuilder.WriteFileAtomically(path, DemoModels.ColourClassifier());
        return path;
    }

    [Fact]
    public void DemoModelClassifiesSyntheticScenes()
    {
        using var c = (EdgeClassifier)new EdgeModelLoader().Load(WriteModel());
        Assert.Equal(DemoModels.ColourLabels, c.Labels);
        Assert.Equal((16, 16, 3), (c.Input.Height, c.Input.Width, c.Input.Channels));
        var conv = new FrameConverter(c.Input);
        var src = new SyntheticSource(64, 64, seed: 4, sceneFrames: 1);
        src.Open();
        var sink = new Sink(conv, c);
        int matched = 0;
        for (long f = 0; f < 24; f++)
        {
            src.Capture(sink, 100);
            var r = c.Classify();
            int expected = src.SceneOf(f) < 3 ? src.SceneOf(f) + 1 : 0;
            Assert.Equal(expected, r.Class);
            Assert.InRange(r.Score, 0.6f, 1f);
            matched++;
        }
        Assert.Equal(24, matched);
    }

    [Fact]
    public void CorruptModelFileIsRefusedAndTheLastGoodKeepsRunning()
    {
        string path = WriteModel();
        var config = ConfigValidator.Load($$"""
            { "model": "{{path}}", "model_poll_ms": 100, "trigger": { "interval_ms": 20 }, "camera": { "source": "synthetic" },
              "decision": { "min_confidence": 0.5, "confirm_frames": 1 }, "gpio": { "outputs": [ { "class": "red", "pin": 5 } ] } }
            """);
        var clock = new ManualClock();
        using var gpio = new GpioController(new SimulatedGpioDriver());
        using var slot = new ModelSlot(path, new EdgeModelLoader(), c => ClassifyLoop.ResolveOutputs(config, c, out _), TimeSpan.FromMilliseconds(100));
        var log = new MemoryStream();
        using var loop = new ClassifyLoop(config, new SyntheticSource(32, 32, seed: 1, sceneFrames: 2), gpio, slot, new EventLog(log), clock);
        for (int i = 0; i < 20; i++) loop.Step(CancellationToken.None);
        var first = slot.Classifier;

        // Flip one byte in the middle: the checksum/validation refuses it.
        byte[] bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x5A;
        File.WriteAllBytes(path, bytes);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(1));
        long frames = loop.Frames;
        for (int i = 0; i < 40; i++) loop.Step(CancellationToken.None);
        Assert.Equal(1, loop.ModelRefusals);
        Assert.Same(first, slot.Classifier);
        Assert.True(loop.Frames > frames + 5);
        string text = System.Text.Encoding.UTF8.GetString(log.ToArray());
        Assert.Contains("\"event\":\"model_refused\"", text);
        Assert.Contains("is invalid", text);

        // A truncated file is refused too; then a good one swaps in.
        File.WriteAllBytes(path, bytes[..40]);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(2));
        for (int i = 0; i < 40; i++) loop.Step(CancellationToken.None);
        Assert.Equal(2, loop.ModelRefusals);
        WriteModel();
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(3));
        for (int i = 0; i < 40; i++) loop.Step(CancellationToken.None);
        Assert.Equal(1, loop.ModelSwaps);
        Assert.NotSame(first, slot.Classifier);
    }

    [Fact]
    public void ModelOverTheMemoryBudgetIsRefusedByName()
    {
        var e = Assert.Throws<InvalidDataException>(() => new EdgeModelLoader(budgetBytes: 16).Load(WriteModel()));
        Assert.Contains("memory_budget_bytes 16", e.Message);
    }

    [Fact]
    public void RealInterpreterLoopAllocatesNothingPerDecisionIncludingPinWrites()
    {
        string path = WriteModel();
        var config = ConfigValidator.Load($$"""
            { "model": "{{path}}", "model_poll_ms": 0, "trigger": { "interval_ms": 1 }, "camera": { "source": "synthetic" },
              "decision": { "min_confidence": 0.5, "confirm_frames": 1 },
              "gpio": { "busy_pin": 22, "outputs": [ { "class": "red", "pin": 23 }, { "class": "green", "pin": 24 }, { "class": "blue", "pin": 25 } ] } }
            """);
        var driver = new SimulatedGpioDriver();
        using var gpio = new DirectWriteGpioController(driver);
        using var slot = new ModelSlot(path, new EdgeModelLoader(), _ => null, TimeSpan.FromHours(1));
        using var loop = new ClassifyLoop(config, new SyntheticSource(64, 48, seed: 9, sceneFrames: 3), gpio, slot, new EventLog(Stream.Null), new ManualClock());
        for (int i = 0; i < 50; i++) loop.Step(CancellationToken.None);
        long frames = loop.Frames;
        long before = GC.GetAllocatedBytesForCurrentThread();
        long writes = driver.TotalWrites;
        for (int i = 0; i < 200; i++) loop.Step(CancellationToken.None);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(loop.Frames - frames >= 90);
        // The scene (red, green, blue, nothing) changes every 3 frames: class pins switch as well as the busy pin.
        Assert.True(driver.TotalWrites - writes > 2 * (loop.Frames - frames), $"{driver.TotalWrites - writes} writes");
    }

    [Fact]
    public void V4L2StructsHaveTheKernelSizes()
    {
        // The ioctl numbers encode these sizes; a mismatch would make every VIDIOC call fail with ENOTTY.
        Assert.Equal(104, System.Runtime.CompilerServices.Unsafe.SizeOf<Interop.V4L2.Capability>());
        Assert.Equal(208, System.Runtime.CompilerServices.Unsafe.SizeOf<Interop.V4L2.Format>());
        Assert.Equal(20, System.Runtime.CompilerServices.Unsafe.SizeOf<Interop.V4L2.RequestBuffers>());
        Assert.Equal(88, System.Runtime.CompilerServices.Unsafe.SizeOf<Interop.V4L2.Buffer>());
        Assert.Equal(88u, (uint)(Interop.V4L2.VIDIOC_QBUF >> 16) & 0x3FFF);
        Assert.Equal(208u, (uint)(Interop.V4L2.VIDIOC_S_FMT >> 16) & 0x3FFF);
        Assert.Equal("YUYV", Interop.V4L2.FourCcText(V4L2Source.FourCcOf(PixelFormat.Yuyv)));
    }

    [Fact]
    public void MissingVideoDeviceIsALostCameraNamingTheDevice()
    {
        if (!OperatingSystem.IsLinux()) Assert.Skip("V4L2 is Linux only");
        using var s = new V4L2Source("/dev/video-cnn-missing", 640, 480, PixelFormat.Yuyv);
        var e = Assert.Throws<FrameSourceException>(s.Open);
        Assert.Equal(FrameErrorKind.Lost, e.Kind);
        Assert.Contains("/dev/video-cnn-missing", e.Message);
        Assert.Contains("ENOENT", e.Message);
    }

    [Fact]
    public void GpioV2StructsHaveTheKernelSizes()
    {
        // linux/gpio.h: the sizes are part of the ioctl numbers (bits 16..29), so both must agree.
        Assert.Equal(592, System.Runtime.CompilerServices.Unsafe.SizeOf<Interop.GpioV2.LineRequest>());
        Assert.Equal(272, System.Runtime.CompilerServices.Unsafe.SizeOf<Interop.GpioV2.LineConfig>());
        Assert.Equal(16, System.Runtime.CompilerServices.Unsafe.SizeOf<Interop.GpioV2.LineValues>());
        Assert.Equal(48, System.Runtime.CompilerServices.Unsafe.SizeOf<Interop.GpioV2.LineEvent>());
        Assert.Equal(592u, (uint)(Interop.GpioV2.GPIO_V2_GET_LINE_IOCTL >> 16) & 0x3FFF);
        Assert.Equal(272u, (uint)(Interop.GpioV2.GPIO_V2_LINE_SET_CONFIG_IOCTL >> 16) & 0x3FFF);
        Assert.Equal(16u, (uint)(Interop.GpioV2.GPIO_V2_LINE_SET_VALUES_IOCTL >> 16) & 0x3FFF);
        Assert.Equal(16u, (uint)(Interop.GpioV2.GPIO_V2_LINE_GET_VALUES_IOCTL >> 16) & 0x3FFF);
        unsafe
        {
            var r = new Interop.GpioV2.LineRequest();
            Assert.Equal(288, (int)((byte*)&r.Config - (byte*)&r));
            Assert.Equal(560, (int)((byte*)&r.NumLines - (byte*)&r));
            Assert.Equal(588, (int)((byte*)&r.Fd - (byte*)&r));
            var c = new Interop.GpioV2.LineConfig();
            Assert.Equal(32, (int)((byte*)&c.Attr0 - (byte*)&c));
        }
    }

    [Fact]
    public void CharacterDeviceDriverNamesTheChipAndTheReason()
    {
        if (!OperatingSystem.IsLinux()) Assert.Skip("the GPIO character device is Linux only");
        var missing = Assert.Throws<IOException>(() => new CdevGpioDriver(Path.Combine(_dir, "gpiochip9")));
        Assert.Contains("gpiochip9", missing.Message);
        Assert.Contains("ENOENT", missing.Message);
        // /dev/null opens but is no GPIO chip: GPIO_GET_CHIPINFO fails (ENOTTY).
        var notAChip = Assert.Throws<IOException>(() => new CdevGpioDriver("/dev/null"));
        Assert.Contains("/dev/null is not a GPIO chip", notAChip.Message);
    }

    [Fact]
    public void GpioControllerWriteAllocatesButTheDirectWriteControllerDoesNot()
    {
        // Why DirectWriteGpioController exists: System.Device.Gpio 4.2's GpioController.Write (and GpioPin.Write,
        // which calls it) stores each value in a ConcurrentDictionary<int, PinValue?>, one new node per write.
        // If a new System.Device.Gpio stops allocating, the first half fails: the workaround can then go.
        static long BytesPer1000Writes(GpioController gpio)
        {
            var pin = gpio.OpenPin(5, PinMode.Output, PinValue.Low);
            for (int i = 0; i < 10; i++) pin.Write(i % 2 == 0 ? PinValue.High : PinValue.Low);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1000; i++) pin.Write(i % 2 == 0 ? PinValue.High : PinValue.Low);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        using (var plain = new GpioController(new SimulatedGpioDriver())) Assert.True(BytesPer1000Writes(plain) >= 1000 * 24);
        var driver = new SimulatedGpioDriver();
        using (var direct = new DirectWriteGpioController(driver)) Assert.Equal(0, BytesPer1000Writes(direct));
        Assert.Equal(1011, driver.TotalWrites); // the open's initial level, then every write reached the driver
        var e = Assert.Throws<InvalidOperationException>(() => new DirectWriteGpioController(new SimulatedGpioDriver()).Write(6, PinValue.High));
        Assert.Contains("GPIO 6", e.Message);
    }

    [Fact]
    public void GpioChipLookupByLabelListsWhatExists()
    {
        var e = Assert.Throws<InvalidOperationException>(() => GpioChips.FindByLabel("no-such-label", _dir));
        Assert.Contains("no GPIO chip labelled 'no-such-label'", e.Message);
    }

    private sealed class Sink(FrameConverter conv, IClassifier c) : IFrameSink
    {
        public void OnFrame(in RawFrame frame) => conv.Convert(frame, c.InputInt8);
    }
}
