using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Cnn.Edge.Runtime.Ops;

/// <summary>
/// Where an op finds one tensor at Invoke: a slice of the arena (activations) or the constant's
/// bytes in the loaded file (used in place). Built at prepare; resolving it allocates nothing.
/// </summary>
internal readonly struct TensorView
{
    public readonly int ArenaOffset;   // -1: constant
    public readonly int ByteLength;
    public readonly ReadOnlyMemory<byte> Constant;

    public TensorView(TensorInfo t)
    {
        ArenaOffset = t.IsConstant ? -1 : t.ArenaOffset;
        ByteLength = t.ByteLength;
        Constant = t.IsConstant ? t.Data[..t.ByteLength] : ReadOnlyMemory<byte>.Empty;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<byte> Bytes(ReadOnlySpan<byte> arena)
        => ArenaOffset >= 0 ? arena.Slice(ArenaOffset, ByteLength) : Constant.Span;

    public ReadOnlySpan<sbyte> Int8(ReadOnlySpan<byte> arena) => MemoryMarshal.Cast<byte, sbyte>(Bytes(arena));
    public ReadOnlySpan<float> Float(ReadOnlySpan<byte> arena) => MemoryMarshal.Cast<byte, float>(Bytes(arena));

    /// <summary>The writable arena slice of an output (outputs are never constants; checked at prepare).</summary>
    public Span<byte> OutBytes(Span<byte> arena) => arena.Slice(ArenaOffset, ByteLength);
    public Span<sbyte> OutInt8(Span<byte> arena) => MemoryMarshal.Cast<byte, sbyte>(OutBytes(arena));
    public Span<float> OutFloat(Span<byte> arena) => MemoryMarshal.Cast<byte, float>(OutBytes(arena));
}
