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
    public void RealInterpreterLoopAllocatesNothingPerFrame()
    {
        string path = WriteModel();
        var config = ConfigValidator.Load($$"""
            { "model": "{{path}}", "model_poll_ms": 0, "trigger": { "interval_ms": 1 }, "camera": { "source": "synthetic" },
              "decision": { "min_confidence": 0.5, "confirm_frames": 1 }, "gpio": { "outputs": [] } }
            """);
        using var gpio = new GpioController(new NullGpioDriver());
        using var slot = new ModelSlot(path, new EdgeModelLoader(), _ => null, TimeSpan.FromHours(1));
        using var loop = new ClassifyLoop(config, new SyntheticSource(64, 48, seed: 9, sceneFrames: 3), gpio, slot, new EventLog(Stream.Null), new ManualClock());
        for (int i = 0; i < 50; i++) loop.Step(CancellationToken.None);
        long frames = loop.Frames;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 200; i++) loop.Step(CancellationToken.None);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(loop.Frames - frames >= 90);
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
