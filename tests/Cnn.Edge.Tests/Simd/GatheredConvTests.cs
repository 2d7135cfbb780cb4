using System.Runtime.InteropServices;
using Cnn.Edge.Kernels;
using static Cnn.Edge.Tests.Simd.SimdTestUtil;

namespace Cnn.Edge.Tests.Simd;

/// <summary>
/// The gathered (KxK, strided, dilated, padded, grouped) path of <see cref="Conv2DOptimized"/> on the shapes its receptive-field
/// copy (<see cref="PatchGather"/>) specializes: few input channels (the 3-channel stems: whole 16-byte kernel rows, 4 windows
/// at a time; on Avx2 widened to int16 a kernel row per VPMOVSXBW), wider kernel rows, windows at every border, and inputs and
/// scratch that end where a 16-byte load or a 32-byte store would cross a no-access page.
/// </summary>
public partial class GatheredConvTests
{
    [Theory, MemberData(nameof(OptimizedIsas), MemberType = typeof(SimdTestUtil))]
    public void SmallChannelCountsMatchTheReferenceOverRandomShapesAndSplits(KernelIsa isa)
    {
        SkipUnlessSupported(isa);
        var rng = new Random(31 + (int)isa);
        for (int i = 0, n = Cases(60, 24); i < n; i++)
        {
            // Cin 1-5 mostly (kernel rows of 1-35 bytes), sometimes wider; kernels 3, 5, 7 (or mixed); groups of 1-5 channels.
            int groups = rng.Next(5) == 0 ? rng.Next(2, 4) : 1;
            int cg = i % 4 == 3 ? rng.Next(6, 40) : rng.Next(1, 6);
            int k = 3 + 2 * rng.Next(3);
            int kh = k, kw = rng.Next(4) == 0 ? 3 + 2 * rng.Next(3) : k;
            int sh = rng.Next(1, 3), sw = rng.Next(1, 3);
            int dh = 1, dw = 1;
            if (rng.Next(4) == 0) { dh = rng.Next(1, 3); dw = rng.Next(1, 3); }
            int pt = rng.Next(0, kh / 2 + 1), pl = rng.Next(0, kw / 2 + 1), pb = rng.Next(0, kh / 2 + 1), pr = rng.Next(0, kw / 2 + 1);
            // Wide enough for whole 4-window tiles inside the image, output channels around the 16-channel groups.
            int h = rng.Next(kh, 4 * kh + 6), w = rng.Next(kw + 3 * sw, 6 * kw + 10);
            int coutG = rng.Next(3) == 0 ? 16 * rng.Next(1, 3) : rng.Next(1, 40);
            var s = ConvShape(rng.Next(1, 3), h, w, groups * cg, groups * coutG, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, groups);
            // 1-4 threads: the work units run in random ranges, each on its own (any order), as a thread pool's chunks.
            int threads = rng.Next(1, 5);
            int maxLog2 = (i % 3) switch { 0 => 2, 1 => 0, _ => -1 };
            CheckConv2D(isa, rng, s, $"case {i}, {threads} threads (multipliers below 2^{maxLog2})", maxLog2, channelParts: threads);
        }
    }

    [Theory, MemberData(nameof(OptimizedIsas), MemberType = typeof(SimdTestUtil))]
    public void TheMobileNetStemShapeMatchesTheReference(KernelIsa isa)
    {
        SkipUnlessSupported(isa);
        var rng = new Random(5 + (int)isa);
        // 3x3 stride 2, pad 1 above and left, 3 -> 32 channels (MobileNetV2's stem at 40x40) and the 0.35 width's 16.
        foreach (int cout in new[] { 32, 16 })
            CheckConv2D(isa, rng, new Conv2DShape(1, 40, 40, 3, 20, 20, cout, 3, 3, 2, 2, 1, 1, 1, 1, 1), $"stem 3->{cout}");
        // ResNet's 7x7 stride 2 stem (kernel rows of 21 bytes), pad 3.
        CheckConv2D(isa, rng, new Conv2DShape(1, 30, 30, 3, 15, 15, 64, 7, 7, 2, 2, 1, 1, 3, 3, 1), "7x7 stem");
    }

    [Theory, MemberData(nameof(OptimizedIsas), MemberType = typeof(SimdTestUtil))]
    public unsafe void InputsAndScratchEndingAtANoAccessPageAreNotReadOrWrittenPast(KernelIsa isa)
    {
        SkipUnlessSupported(isa);
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the no-access page is made with mmap/mprotect (Linux)");
        var rng = new Random(13 + (int)isa);
        // No bottom/right padding: the last windows reach the input's last bytes, where a 16-byte row load would cross the end.
        // The first shape's images have 64 output pixels (one x86 panel) whose last window lies inside the image, not at the
        // input's end: its widened rows spill past the panel's last row, into the scratch's slack.
        Conv2DShape[] shapes =
        [
            ConvShape(2, 17, 17, 3, 24, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 1),
            ConvShape(1, 9, 13, 1, 7, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0, 1),
            ConvShape(1, 11, 12, 4, 20, 5, 5, 1, 2, 1, 1, 2, 0, 0, 0, 1),
            ConvShape(1, 8, 19, 2, 9, 3, 3, 1, 1, 2, 2, 0, 0, 0, 0, 1),
            ConvShape(1, 10, 10, 6, 6, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 2),
        ];
        foreach (Conv2DShape s in shapes)
        {
            int inputBytes = s.Batch * s.InputHeight * s.InputWidth * s.InputChannels;
            sbyte[] x = RandomInt8(rng, inputBytes);
            sbyte[] wt = RandomInt8(rng, s.OutputChannels * s.KernelHeight * s.KernelWidth * s.InputChannelsPerGroup);
            int[] bias = Enumerable.Range(0, s.OutputChannels).Select(_ => rng.Next(-1 << 16, 1 << 16)).ToArray();
            (int[] mult, int[] shift) = RandomMultipliers(rng, s.OutputChannels);
            int inZp = rng.Next(-128, 128), outZp = rng.Next(-128, 128);
            var expected = new sbyte[s.Batch * s.OutputHeight * s.OutputWidth * s.OutputChannels];
            Conv2DReference.Run(s, x, inZp, wt, bias, mult, shift, outZp, -128, 127, expected);
            var kernel = Conv2DOptimized.TryCreate(isa, s, wt, bias, mult, shift, inZp, outZp, -128, 127);
            Assert.NotNull(kernel);
            var got = new sbyte[expected.Length];
            using (var guarded = new GuardedBuffer(inputBytes))
            using (var scratch = new GuardedBuffer(kernel.ScratchBytes))
            {
                x.CopyTo(guarded.Span);
                kernel.Run(guarded.Span, got, new Span<byte>(scratch.Start, kernel.ScratchBytes));
            }
            int d = FirstDifference(got, expected);
            Assert.True(d < 0, $"{isa} {s}: output[{d}] differs from the reference");
        }
    }

    /// <summary>length bytes that end where a no-access page begins (a read past them faults).</summary>
    private sealed unsafe partial class GuardedBuffer : IDisposable
    {
        private const int ProtNone = 0, ProtRead = 1, ProtWrite = 2, MapPrivate = 2, MapAnonymous = 0x20;
        private readonly byte* _map;
        private readonly nuint _mapBytes;
        private readonly int _length;

        public GuardedBuffer(int length)
        {
            nuint page = (nuint)Environment.SystemPageSize;
            nuint data = ((nuint)length + page - 1) / page * page;
            _mapBytes = data + page;
            _map = Mmap(null, _mapBytes, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
            Assert.True(_map != (byte*)-1, $"mmap failed: errno {Marshal.GetLastPInvokeError()}");
            Assert.True(Mprotect(_map + data, page, ProtNone) == 0, $"mprotect failed: errno {Marshal.GetLastPInvokeError()}");
            _length = length;
            Start = (sbyte*)(_map + data - (nuint)length);
        }

        public sbyte* Start { get; }
        public Span<sbyte> Span => new(Start, _length);

        public void Dispose() => Munmap(_map, _mapBytes);

        [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
        private static partial byte* Mmap(void* addr, nuint length, int prot, int flags, int fd, nint offset);

        [LibraryImport("libc", EntryPoint = "mprotect", SetLastError = true)]
        private static partial int Mprotect(void* addr, nuint length, int prot);

        [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
        private static partial int Munmap(void* addr, nuint length);
    }
}
