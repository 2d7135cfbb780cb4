using Cnn.Edge.Kernels;
using static Cnn.Edge.Tests.Simd.SimdTestUtil;

namespace Cnn.Edge.Tests.Simd;

/// <summary>
/// The depthwise kernel's own paths, bit for bit against the reference: the unrolled 3x3 block (stride 1 and 2,
/// padding, dilation) and the any-size tap loop, over channel counts with 16-lane blocks, 8-lane tails and scalar
/// tails, with each NEON requantization variant (left shifts, shifts ≤ 0, right shifts only).
/// </summary>
public class DepthwiseEquivalenceTests
{
    [Theory, MemberData(nameof(OptimizedIsas), MemberType = typeof(SimdTestUtil))]
    public void DepthwiseMatchesReferenceOverRandomShapes(KernelIsa isa)
    {
        SkipUnlessSupported(isa);
        var rng = new Random(31 + (int)isa);
        int[] channelCounts = [1, 7, 8, 15, 16, 17, 24, 32, 40, 57, 96];
        for (int i = 0, n = Cases(120, 40); i < n; i++)
        {
            bool k3 = i % 3 != 0;
            int kh = k3 ? 3 : rng.Next(1, 6), kw = k3 ? 3 : rng.Next(1, 6);
            int c = i < channelCounts.Length ? channelCounts[i] : rng.Next(1, 70);
            int stride = rng.Next(1, 3);
            int dil = rng.Next(4) == 0 ? 2 : 1;
            int pad = rng.Next(3) == 0 ? 0 : rng.Next(1, kh + 1);
            var s = ConvShape(rng.Next(1, 3), rng.Next(1, 12), rng.Next(1, 12), c, c, kh, kw, stride, stride + rng.Next(2) - (stride > 1 ? 1 : 0),
                dil, dil, pad, rng.Next(0, kw + 1), rng.Next(0, kh + 1), pad, c);
            // Each requantization variant with both kernel paths (3x3 and any size): the wide x86 path needs shifts ≤ 0.
            int maxLog2 = ((i + i / 3) % 3) switch { 0 => 2, 1 => 0, _ => -1 };
            CheckConv2D(isa, rng, s, $"depthwise case {i} (multipliers below 2^{maxLog2})", maxLog2);
        }
    }

    /// <summary>
    /// 3x3 rows with padding above or below, whose windows inside the width run the interior kernel with each missing input row
    /// read from the zero-point row: few output rows (1-3, so most or all rows touch the padding), strides 1 and 2, dilation,
    /// top and bottom padding of 1 or 2 with or without left/right padding, channel counts with 16-lane blocks, 8-lane and
    /// scalar tails, and half the cases run as random rectangles of rows and channel blocks (blocks that start past channel 0).
    /// </summary>
    [Theory, MemberData(nameof(OptimizedIsas), MemberType = typeof(SimdTestUtil))]
    public void DepthwisePaddedRowsMatchReference(KernelIsa isa)
    {
        SkipUnlessSupported(isa);
        var rng = new Random(77 + (int)isa);
        int[] channelCounts = [16, 1, 7, 8, 24, 32, 40, 57, 70, 96];
        for (int i = 0, n = Cases(60, 24); i < n; i++)
        {
            int c = i < channelCounts.Length ? channelCounts[i] : rng.Next(1, 100);
            int stride = 1 + i % 2, dil = i % 5 == 4 ? 2 : 1;
            int padTop = rng.Next(1, 3), padBottom = rng.Next(0, 3), padSide = rng.Next(2);
            int height = rng.Next(1, 5), width = rng.Next(3, 20);
            var s = ConvShape(rng.Next(1, 3), height, width, c, c, 3, 3, stride, stride, dil, dil,
                padTop, padSide, padBottom, padSide, c);
            if (s.OutputHeight < 1 || s.OutputWidth < 1) continue;
            int maxLog2 = (i % 3) switch { 0 => 2, 1 => 0, _ => -1 };
            CheckConv2D(isa, rng, s, $"padded depthwise case {i} (multipliers below 2^{maxLog2})", maxLog2,
                depthwiseAvx512: false, splitDepthwise: i % 2 == 0);
        }
    }

    /// <summary>
    /// The NEON row kernel of 3x3 interior windows (whole 16-channel blocks outer, two windows per step, the input columns they
    /// share loaded once): rows long and short, of even and odd window counts (the last window alone), strides 1, 2 and 3 with
    /// dilation 1 and 2 (each column-sharing mode: two shared columns, one, none), padding on any side, 1-100 channels (blocks
    /// with 8-lane and scalar tails after them), planes from 1x1 on, batches of 1-2, and half the cases run as random rectangles of
    /// rows and channel blocks (as the threads split it). Runs on every ISA; on x86 it checks the same shapes through the other paths.
    /// </summary>
    [Theory, MemberData(nameof(OptimizedIsas), MemberType = typeof(SimdTestUtil))]
    public void DepthwiseRowKernelMatchesReference(KernelIsa isa)
    {
        SkipUnlessSupported(isa);
        var rng = new Random(903 + (int)isa);
        int[] channelCounts = [16, 32, 48, 17, 24, 40, 1, 7, 100, 64, 96, 33];
        for (int i = 0, n = Cases(80, 36); i < n; i++)
        {
            int c = i < channelCounts.Length ? channelCounts[i] : rng.Next(1, 101);
            int stride = 1 + i % 3, dil = (i / 3) % 4 == 3 ? 2 : 1;
            int padT = rng.Next(3) == 0 ? 0 : 1, padL = rng.Next(3) == 0 ? 0 : 1, padB = rng.Next(0, 2), padR = rng.Next(0, 2);
            int height = i % 7 == 0 ? 1 : rng.Next(1, 7), width = i % 7 == 0 ? 1 : rng.Next(1, 5) == 1 ? rng.Next(1, 6) : rng.Next(6, 40);
            var s = ConvShape(rng.Next(1, 3), height, width, c, c, 3, 3, stride, stride, dil, dil, padT, padL, padB, padR, c);
            int maxLog2 = (i % 3) switch { 0 => -1, 1 => 0, _ => 2 };
            CheckConv2D(isa, rng, s, $"row kernel case {i} (multipliers below 2^{maxLog2})", maxLog2,
                depthwiseAvx512: false, splitDepthwise: i % 2 == 1);
        }
    }

    /// <summary>
    /// Both x86 paths by name, whatever the CPU picks at load: AVX-512 (64- and 32-channel steps, a masked last group) where the
    /// CPU has it, and the 256/128-bit AVX2 path that an AVX2-only CPU runs (forced here). Channel counts around 32 and 64 and
    /// the divisors of 32 (folded windows), rows of stride 1 (windows in pairs) and wide ones,
    /// strides 1 and 2, dilation, padding, 3x3 and other sizes, every requantization variant (with a left shift the
    /// AVX-512 path must step aside).
    /// </summary>
    [Theory, InlineData(true), InlineData(false)]
    public void X86DepthwisePathsMatchReference(bool avx512)
    {
        SkipUnlessSupported(KernelIsa.Avx2);
        if (avx512 && !System.Runtime.Intrinsics.X86.Avx512BW.VL.IsSupported)
            Assert.Skip("This CPU has no AVX-512BW/VL: its depthwise layers run the AVX2 path (the other case of this test).");
        var rng = new Random(avx512 ? 512 : 256);
        // The first five: 3x3 stride-1 rows of 1-16 channels, wide enough to fold 32 / C windows into one group of 32 lanes.
        int[] channelCounts = [1, 2, 4, 8, 16, 5, 24, 31, 32, 33, 47, 63, 64, 65, 96, 100, 128, 144, 161, 16, 8];
        for (int i = 0, n = 90; i < n; i++)
        {
            bool fold = i < 5, k3 = fold || i % 4 != 3;
            int kh = k3 ? 3 : rng.Next(1, 6), kw = k3 ? 3 : rng.Next(1, 6);
            int c = i < channelCounts.Length ? channelCounts[i] : rng.Next(1, 200);
            int stride = fold ? 1 : rng.Next(1, 3);
            int dil = !fold && rng.Next(5) == 0 ? 2 : 1;
            int pad = rng.Next(4) == 0 ? 0 : 1;
            int width = i % 3 == 0 || c <= 16 ? rng.Next(36, 75) : rng.Next(1, 9);
            var s = ConvShape(rng.Next(1, 3), rng.Next(1, 9), width, c, c, kh, kw, stride, stride, dil, dil,
                pad, pad, rng.Next(0, 2), rng.Next(0, 2), c);
            int maxLog2 = (i % 5) switch { 0 => 2, 1 or 2 => 0, _ => -1 };
            CheckConv2D(KernelIsa.Avx2, rng, s, $"x86 depthwise ({(avx512 ? "AVX-512 allowed" : "AVX2 forced")}) case {i} (multipliers below 2^{maxLog2})",
                maxLog2, depthwiseAvx512: avx512, expectFolded: avx512 && maxLog2 <= 0 ? true : null); // M < 1: FoldedRequant
        }
    }
}
