using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Cnn.Edge.AotTests;

public static class Cpu
{
    /// <summary>The kernel ISAs this CPU can run, Scalar first (the reference the others must match).</summary>
    public static IReadOnlyList<KernelIsa> SupportedIsas()
    {
        var isas = new List<KernelIsa> { KernelIsa.Scalar };
        if (Vector128.IsHardwareAccelerated) isas.Add(KernelIsa.Vector128);
        if (AdvSimd.Arm64.IsSupported) isas.Add(KernelIsa.AdvSimd);
        if (Dp.IsSupported) isas.Add(KernelIsa.AdvSimdDp);
        if (Avx2.IsSupported) isas.Add(KernelIsa.Avx2);
        if (AvxVnni.IsSupported) isas.Add(KernelIsa.AvxVnni);
        return isas;
    }

    public static string Describe() =>
        $"AdvSimd={AdvSimd.Arm64.IsSupported} Dp={Dp.IsSupported} Rdm={Rdm.IsSupported} Avx2={Avx2.IsSupported} AvxVnni={AvxVnni.IsSupported}; kernels: {string.Join(' ', SupportedIsas())}";
}
