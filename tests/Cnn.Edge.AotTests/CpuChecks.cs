using System.Runtime.Intrinsics.Arm;

namespace Cnn.Edge.AotTests;

public static class CpuChecks
{
    /// <summary>
    /// build/test-arm64.sh sets CNN_EXPECT_CPU to the QEMU CPU model it runs. If the emulated CPU
    /// did not show the features of that model, the "Pi 4" run would silently test the Pi 5 paths
    /// (or the reverse): the A72 has NEON but no dot product, the A76 has both.
    /// </summary>
    public static void ModelMatchesExpectation()
    {
        string? expected = Environment.GetEnvironmentVariable("CNN_EXPECT_CPU");
        switch (expected)
        {
            case null or "":
                throw new SkipException("CNN_EXPECT_CPU is not set (build/test-arm64.sh sets it)");
            case "cortex-a72" or "cortex-a53":
                Expect.True(AdvSimd.Arm64.IsSupported && !Dp.IsSupported,
                    $"{expected} must have AdvSimd and no dot product; got {Cpu.Describe()}");
                break;
            case "cortex-a76" or "neoverse-n1":
                Expect.True(AdvSimd.Arm64.IsSupported && Dp.IsSupported,
                    $"{expected} must have AdvSimd and the dot product; got {Cpu.Describe()}");
                break;
            default:
                throw new CheckException($"CNN_EXPECT_CPU={expected} is not a model this check knows (cortex-a53/a72/a76, neoverse-n1)");
        }
    }
}
