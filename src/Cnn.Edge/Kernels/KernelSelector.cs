using System.Runtime.Intrinsics;
using ArmBase = System.Runtime.Intrinsics.Arm.AdvSimd;
using ArmDp = System.Runtime.Intrinsics.Arm.Dp;
using X86Avx2 = System.Runtime.Intrinsics.X86.Avx2;
using X86AvxVnni = System.Runtime.Intrinsics.X86.AvxVnni;

namespace Cnn.Edge.Kernels;

/// <summary>
/// Picks the kernel instruction set once, at load, from the runtime's IsSupported flags
/// (a NativeAOT binary checks them at run time too, so one arm64 binary serves a Pi 4 and a Pi 5).
/// A forced ISA (tests, benchmarks) must be supported by the CPU, or loading fails with a clear message.
/// </summary>
public static class KernelSelector
{
    /// <summary>The ISA <see cref="KernelIsa.Auto"/> resolves to on this CPU.</summary>
    public static KernelIsa Best { get; } = ComputeBest();

    /// <summary>True when this CPU (or emulator) can run kernels of <paramref name="isa"/>.</summary>
    public static bool IsSupported(KernelIsa isa) => isa switch
    {
        KernelIsa.Auto or KernelIsa.Scalar => true,
        KernelIsa.Vector128 => Vector128.IsHardwareAccelerated,
        KernelIsa.AdvSimd => ArmBase.Arm64.IsSupported,
        KernelIsa.AdvSimdDp => ArmBase.Arm64.IsSupported && ArmDp.IsSupported,
        KernelIsa.Avx2 => X86Avx2.IsSupported,
        KernelIsa.AvxVnni => X86Avx2.IsSupported && X86AvxVnni.IsSupported,
        _ => false,
    };

    /// <summary>Resolves Auto to <see cref="Best"/>; checks that a forced ISA is available.</summary>
    /// <exception cref="NotSupportedException">The requested ISA is not supported by this CPU.</exception>
    public static KernelIsa Resolve(KernelIsa requested)
    {
        if (requested == KernelIsa.Auto) return Best;
        if (!Enum.IsDefined(requested))
            throw new NotSupportedException($"Unknown kernel ISA value {(int)requested}.");
        if (!IsSupported(requested))
            throw new NotSupportedException(
                $"Kernel ISA {requested} was forced but this CPU does not support it (best available: {Best}). " +
                "Use KernelIsa.Auto, or one of: " + string.Join(", ", Supported()));
        return requested;
    }

    /// <summary>Every ISA this CPU can run, best last (for tests and benchmarks).</summary>
    public static IReadOnlyList<KernelIsa> Supported()
    {
        var list = new List<KernelIsa>();
        foreach (KernelIsa isa in new[] { KernelIsa.Scalar, KernelIsa.Vector128, KernelIsa.AdvSimd, KernelIsa.AdvSimdDp, KernelIsa.Avx2, KernelIsa.AvxVnni })
            if (IsSupported(isa)) list.Add(isa);
        return list;
    }

    private static KernelIsa ComputeBest()
    {
        if (IsSupported(KernelIsa.AdvSimdDp)) return KernelIsa.AdvSimdDp;
        if (IsSupported(KernelIsa.AdvSimd)) return KernelIsa.AdvSimd;
        if (IsSupported(KernelIsa.AvxVnni)) return KernelIsa.AvxVnni;
        if (IsSupported(KernelIsa.Avx2)) return KernelIsa.Avx2;
        if (IsSupported(KernelIsa.Vector128)) return KernelIsa.Vector128;
        return KernelIsa.Scalar;
    }
}
