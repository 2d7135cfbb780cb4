using System.Text;
using Cnn.Edge.Devices.Frames;

namespace Cnn.Edge.Devices.Tests;

public class FrameConverterTests
{
    private static InputSpec Rgb(int h, int w) => new() { Height = h, Width = w, Channels = 3, Scale = 1f / 255f, ZeroPoint = -128 };

    [Fact]
    public void Int8LutFollowsScaleZeroPointMeanAndStd()
    {
        var meta = new Dictionary<string, string> { ["input.layout"] = "grey", ["input.mean"] = "0.5", ["input.std"] = "0.25" };
        var spec = InputSpec.FromModel([1, 4, 4, 1], scale: 0.02f, zeroPoint: 3, meta);
        sbyte[] lut = spec.BuildInt8Luts()[0];
        // byte 0 → (0 - 0.5)/0.25 = -2 → -2/0.02 + 3 = -97; byte 255 → 2 → 103; byte 128 → (128/255-0.5)/0.25 ≈ 0.00784 → 0.39 → 3.
        Assert.Equal(-97, lut[0]);
        Assert.Equal(103, lut[255]);
        Assert.Equal(3, lut[128]);
    }

    [Fact]
    public void LutSaturatesAtInt8Bounds()
    {
        var spec = InputSpec.FromModel([1, 2, 2, 1], scale: 1f / 512f, zeroPoint: 0, new Dictionary<string, string>());
        sbyte[] lut = spec.BuildInt8Luts()[0];
        Assert.Equal(0, lut[0]);
        Assert.Equal(127, lut[255]);
    }

    [Theory]
    [InlineData("rgb", 1, "needs 3 channel")]
    [InlineData("bgra", 3, "not grey or rgb")]
    public void MetadataThatContradictsTheTensorIsRejectedByName(string layout, int channels, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => InputSpec.FromModel([1, 8, 8, channels], 0.1f, 0, new Dictionary<string, string> { ["input.layout"] = layout }));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void MeanListMustMatchChannels()
    {
        var e = Assert.Throws<ArgumentException>(() => InputSpec.FromModel([1, 8, 8, 3], 0.1f, 0, new Dictionary<string, string> { ["input.mean"] = "0.1,0.2" }));
        Assert.Contains("input.mean", e.Message);
    }

    [Fact]
    public void YuvFormatsOfOneColourMatchTheRgbConversion()
    {
        // One solid colour in YUV (BT.601 video range): Y=81, U=90, V=240 is about RGB (255, 0, 0).
        const int w = 8, h = 4;
        var conv = new FrameConverter(Rgb(2, 2));
        var yuyv = new byte[w * h * 2];
        for (int i = 0; i < yuyv.Length; i += 4) { yuyv[i] = 81; yuyv[i + 1] = 90; yuyv[i + 2] = 81; yuyv[i + 3] = 240; }
        var nv12 = new byte[w * h * 3 / 2];
        nv12.AsSpan(0, w * h).Fill(81);
        for (int i = w * h; i < nv12.Length; i += 2) { nv12[i] = 90; nv12[i + 1] = 240; }
        var i420 = new byte[w * h * 3 / 2];
        i420.AsSpan(0, w * h).Fill(81);
        i420.AsSpan(w * h, w * h / 4).Fill(90);
        i420.AsSpan(w * h + w * h / 4).Fill(240);

        var a = new sbyte[12]; var b = new sbyte[12]; var c = new sbyte[12];
        conv.Convert(new RawFrame(yuyv, w, h, w * 2, PixelFormat.Yuyv, 0), a);
        conv.Convert(new RawFrame(nv12, w, h, w, PixelFormat.Nv12, 0), b);
        conv.Convert(new RawFrame(i420, w, h, w, PixelFormat.I420, 0), c);
        Assert.Equal(a, b);
        Assert.Equal(a, c);
        // Red saturates near 127 (255 with zero point -128), green and blue near -128.
        Assert.InRange(a[0], 120, 127);
        Assert.InRange(a[1], -128, -120);
        Assert.InRange(a[2], -128, -120);
    }

    [Fact]
    public void CenterCropSamplesTheMiddleAndStretchTheWholeFrame()
    {
        // 8x2 grey frame: columns 0-1 and 6-7 are black, 2-5 white. A 1x2 model with center crop sees a 2x2 middle: all white.
        var frame = new byte[16];
        for (int y = 0; y < 2; y++) for (int x = 2; x < 6; x++) frame[y * 8 + x] = 255;
        var spec = new InputSpec { Height = 1, Width = 2, Channels = 1, Scale = 1f / 255f, ZeroPoint = -128 };
        var center = new sbyte[2];
        new FrameConverter(spec, crop: CropMode.Center).Convert(new RawFrame(frame, 8, 2, 8, PixelFormat.Grey8, 0), center);
        Assert.Equal(new sbyte[] { 127, 127 }, center);
        var stretch = new sbyte[2];
        new FrameConverter(spec, crop: CropMode.Stretch).Convert(new RawFrame(frame, 8, 2, 8, PixelFormat.Grey8, 0), stretch);
        // Stretch samples columns 2 and 6 (centres of the two halves): white then black.
        Assert.Equal(new sbyte[] { 127, -128 }, stretch);
    }

    [Fact]
    public void ShortFrameIsABadFrameNotACrash()
    {
        var conv = new FrameConverter(Rgb(4, 4));
        var e = Assert.Throws<FrameSourceException>(() => conv.Convert(new RawFrame(new byte[100], 32, 32, 96, PixelFormat.Rgb24, 0), new sbyte[48]));
        Assert.Equal(FrameErrorKind.BadFrame, e.Kind);
        Assert.Contains("needs 3072", e.Message);
    }

    [Fact]
    public void BgrAndRgbGiveTheSameTensor()
    {
        var rgb = new byte[4 * 4 * 3];
        var bgr = new byte[rgb.Length];
        var rnd = new Random(5);
        rnd.NextBytes(rgb);
        for (int i = 0; i < rgb.Length; i += 3) { bgr[i] = rgb[i + 2]; bgr[i + 1] = rgb[i + 1]; bgr[i + 2] = rgb[i]; }
        var conv = new FrameConverter(Rgb(4, 4));
        var a = new sbyte[48]; var b = new sbyte[48];
        conv.Convert(new RawFrame(rgb, 4, 4, 12, PixelFormat.Rgb24, 0), a);
        conv.Convert(new RawFrame(bgr, 4, 4, 12, PixelFormat.Bgr24, 0), b);
        Assert.Equal(a, b);
        Assert.Equal((sbyte)(rgb[0] - 128), a[0]);
    }
}

public class ImageDecoderTests
{
    [Fact]
    public void DecodesBinaryAndAsciiPnm()
    {
        byte[] buffer = [];
        var pgm = ImageDecoder.EncodePnm(new byte[] { 1, 2, 3, 4, 5, 6 }, 3, 2, 1);
        var img = ImageDecoder.Decode(pgm, ref buffer);
        Assert.Equal((3, 2, PixelFormat.Grey8), (img.Width, img.Height, img.Format));
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6 }, buffer[..6]);

        var p3 = Encoding.ASCII.GetBytes("P3\n# comment\n1 1\n15\n15 0 5\n");
        img = ImageDecoder.Decode(p3, ref buffer);
        Assert.Equal(PixelFormat.Rgb24, img.Format);
        Assert.Equal(new byte[] { 255, 0, 85 }, buffer[..3]);
    }

    [Fact]
    public void DecodesBottomUp24BitAndPaletteBmp()
    {
        byte[] buffer = [];
        // 2x2, 24-bit, bottom-up: the first stored row is the bottom one. Rows are padded to 8 bytes.
        var bmp = Bmp(2, 2, 24, [], [
            10, 20, 30, 40, 50, 60, 0, 0,     // bottom row: BGR (10,20,30) (40,50,60)
            1, 2, 3, 4, 5, 6, 0, 0]);          // top row
        var img = ImageDecoder.Decode(bmp, ref buffer);
        Assert.Equal((2, 2, PixelFormat.Bgr24), (img.Width, img.Height, img.Format));
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60 }, buffer[..12]);

        var pal = Bmp(1, 1, 8, [9, 8, 7, 0, 200, 100, 50, 0], [1, 0, 0, 0]);
        img = ImageDecoder.Decode(pal, ref buffer);
        Assert.Equal(new byte[] { 200, 100, 50 }, buffer[..3]);
    }

    [Theory]
    [InlineData("P6\n4 4\n255\n\x01\x02", "truncated")]
    [InlineData("P5\n0 4\n255\n", "outside")]
    [InlineData("GIF89a", "unknown magic")]
    [InlineData("P5\n2 2\n70000\n", "maxval")]
    public void MalformedImagesNameTheProblem(string text, string expected)
    {
        byte[] buffer = [];
        var e = Assert.Throws<FormatException>(() => ImageDecoder.Decode(Encoding.Latin1.GetBytes(text), ref buffer));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void TruncatedBmpIsRefused()
    {
        byte[] buffer = [];
        var bmp = Bmp(4, 4, 24, [], new byte[16]);
        var e = Assert.Throws<FormatException>(() => ImageDecoder.Decode(bmp, ref buffer));
        Assert.Contains("truncated", e.Message);
    }

    internal static byte[] Bmp(int w, int h, int bpp, byte[] palette, byte[] pixels)
    {
        int offset = 54 + palette.Length;
        var f = new byte[offset + pixels.Length];
        f[0] = (byte)'B'; f[1] = (byte)'M';
        BitConverter.TryWriteBytes(f.AsSpan(2), f.Length);
        BitConverter.TryWriteBytes(f.AsSpan(10), offset);
        BitConverter.TryWriteBytes(f.AsSpan(14), 40);
        BitConverter.TryWriteBytes(f.AsSpan(18), w);
        BitConverter.TryWriteBytes(f.AsSpan(22), h);
        BitConverter.TryWriteBytes(f.AsSpan(26), (short)1);
        BitConverter.TryWriteBytes(f.AsSpan(28), (short)bpp);
        BitConverter.TryWriteBytes(f.AsSpan(46), palette.Length / 4);
        palette.CopyTo(f, 54);
        pixels.CopyTo(f, offset);
        return f;
    }
}

public class SourceTests
{
    [Fact]
    public void SyntheticSourceIsDeterministicBySeed()
    {
        static byte[] Grab(int seed, int frames)
        {
            using var s = new SyntheticSource(32, 24, seed);
            s.Open();
            var sink = new CopySink();
            for (int i = 0; i < frames; i++) s.Capture(sink, 100);
            return sink.Last!;
        }
        Assert.Equal(Grab(7, 20), Grab(7, 20));
        Assert.NotEqual(Grab(7, 20), Grab(8, 20));
    }

    [Fact]
    public void FolderSourceReadsSortedFilesAndReportsABadOneByName()
    {
        string dir = Directory.CreateTempSubdirectory("cnn-folder-").FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(dir, "a.pgm"), ImageDecoder.EncodePnm(new byte[] { 7, 7, 7, 7 }, 2, 2, 1));
            File.WriteAllBytes(Path.Combine(dir, "b.ppm"), Encoding.ASCII.GetBytes("P6\n2 2\n255\nxx"));
            File.WriteAllText(Path.Combine(dir, "notes.txt"), "ignored");
            using var s = new ImageFolderSource(dir, loop: false);
            s.Open();
            Assert.Equal(2, s.Files.Count);
            var sink = new CopySink();
            Assert.True(s.Capture(sink, 100));
            Assert.Equal(new byte[] { 7, 7, 7, 7 }, sink.Last);
            var bad = Assert.Throws<FrameSourceException>(() => s.Capture(sink, 100));
            Assert.Equal(FrameErrorKind.BadFrame, bad.Kind);
            Assert.Contains("b.ppm", bad.Message);
            var end = Assert.Throws<FrameSourceException>(() => s.Capture(sink, 100));
            Assert.Equal(FrameErrorKind.EndOfStream, end.Kind);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void MissingFolderIsALostCamera()
    {
        using var s = new ImageFolderSource("/nonexistent/cnn-frames");
        var e = Assert.Throws<FrameSourceException>(s.Open);
        Assert.Equal(FrameErrorKind.Lost, e.Kind);
    }

    [Fact]
    public void RawPipeReadsWholeI420FramesAndReportsAShortOne()
    {
        // Two 4x2 I420 frames (12 bytes each) and a half frame.
        var data = new byte[12 * 2 + 5];
        for (int i = 0; i < data.Length; i++) data[i] = (byte)i;
        using var s = new RawPipeSource(() => new MemoryStream(data), 4, 2, PixelFormat.I420);
        Assert.Equal(12, s.FrameBytes);
        s.Open();
        var sink = new CopySink();
        Assert.True(s.Capture(sink, 100));
        Assert.True(s.Capture(sink, 100));
        Assert.Equal(12, sink.Last![0]);
        Assert.Equal(1, sink.Sequence);
        var e = Assert.Throws<FrameSourceException>(() => s.Capture(sink, 100));
        Assert.Equal(FrameErrorKind.Lost, e.Kind);
        Assert.Contains("mid-frame: 5 of 12", e.Message);
    }

    [Fact]
    public void RawPipeWaitsWithTheFrameTimeoutKeepsAPartialFrameAndCanBeInterrupted()
    {
        if (!OperatingSystem.IsLinux()) Assert.Skip("needs /proc/self/fd and poll(2)");
        using var producer = new System.IO.Pipes.AnonymousPipeServerStream(System.IO.Pipes.PipeDirection.Out);
        string path = $"/proc/self/fd/{producer.ClientSafePipeHandle.DangerousGetHandle()}";
        using var s = new RawPipeSource(path, 4, 2, PixelFormat.I420);
        s.Open();
        producer.DisposeLocalCopyOfClientHandle();
        var sink = new CopySink();

        // Half a frame, then nothing: a missing frame after the timeout, not an error.
        producer.Write(Enumerable.Range(0, 5).Select(i => (byte)i).ToArray());
        producer.Flush();
        Assert.False(s.Capture(sink, 50));
        // The rest arrives: the frame is completed, not misaligned.
        producer.Write(Enumerable.Range(5, 7).Select(i => (byte)i).ToArray());
        producer.Flush();
        Assert.True(s.Capture(sink, 1000));
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (byte)i).ToArray(), sink.Last);

        // A stop request while waiting for a producer that sends nothing ends the wait at once.
        var sw = System.Diagnostics.Stopwatch.StartNew();
        using (var stop = new Timer(_ => s.Interrupt(), null, 100, Timeout.Infinite))
            Assert.False(s.Capture(sink, 30_000));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"the interrupted wait took {sw.Elapsed}");

        producer.Dispose();
        var e = Assert.Throws<FrameSourceException>(() => s.Capture(sink, 1000));
        Assert.Equal(FrameErrorKind.Lost, e.Kind);
        Assert.Contains("closed by the producer", e.Message);
    }

    [Fact]
    public void MotionDetectorFiresOnChangeOnly()
    {
        var m = new MotionDetector(8, 6, cellThreshold: 20, minChangedFraction: 0.05);
        var a = new byte[64 * 48];
        var b = (byte[])a.Clone();
        for (int y = 10; y < 30; y++) for (int x = 10; x < 30; x++) b[y * 64 + x] = 200;
        Assert.False(m.Update(new RawFrame(a, 64, 48, 64, PixelFormat.Grey8, 0)));
        Assert.False(m.Update(new RawFrame(a, 64, 48, 64, PixelFormat.Grey8, 1)));
        Assert.True(m.Update(new RawFrame(b, 64, 48, 64, PixelFormat.Grey8, 2)));
        Assert.True(m.ChangedCells > 0);
        Assert.False(m.Update(new RawFrame(b, 64, 48, 64, PixelFormat.Grey8, 3)));
    }

    internal sealed class CopySink : IFrameSink
    {
        public byte[]? Last;
        public long Sequence;
        public void OnFrame(in RawFrame frame)
        {
            Last = frame.Data.ToArray();
            Sequence = frame.Sequence;
        }
    }
}
