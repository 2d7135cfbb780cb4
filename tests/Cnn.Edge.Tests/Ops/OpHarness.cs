using System.Runtime.InteropServices;
using Cnn.Edge.Runtime;

namespace Cnn.Edge.Tests.Ops;

/// <summary>
/// Builds tensors and one op directly (no file), prepares it through <see cref="OpFactory"/> and runs
/// it on an arena: the path the interpreter takes, without the loader.
/// </summary>
internal sealed class OpHarness
{
    private readonly List<TensorInfo> _tensors = [];
    private int _arenaBytes;
    private byte[] _arena = [];

    public IReadOnlyList<TensorInfo> Tensors => _tensors;
    /// <summary>Arena size the tensors need (the arena itself is allocated on first use).</summary>
    public int ArenaBytes => _arenaBytes;

    public int Activation(TensorType type, int[] shape, float scale = 0, int zeroPoint = 0, string? name = null)
    {
        var t = new TensorInfo
        {
            Index = _tensors.Count, Name = name ?? $"t{_tensors.Count}", Type = type, Shape = shape,
            Scale = scale, ZeroPoint = zeroPoint, ArenaOffset = _arenaBytes,
        };
        _arenaBytes += (t.ByteLength + 63) & ~63;
        _tensors.Add(t);
        return t.Index;
    }

    /// <summary>Adds a tensor as given (for hostile shapes that have no valid byte length).</summary>
    public int AddRaw(TensorInfo t)
    {
        _tensors.Add(t);
        return _tensors.Count - 1;
    }

    public int Int8(int[] shape, float scale, int zeroPoint, string? name = null) => Activation(TensorType.Int8, shape, scale, zeroPoint, name);

    public int ConstInt8(int[] shape, sbyte[] data, float[]? channelScales, float scale = 0, string? name = null)
    {
        var t = new TensorInfo
        {
            Index = _tensors.Count, Name = name ?? $"w{_tensors.Count}", Type = TensorType.Int8, Shape = shape,
            Scale = scale, ChannelScales = channelScales, IsConstant = true, ArenaOffset = -1,
            Data = MemoryMarshal.AsBytes(data.AsSpan()).ToArray(),
        };
        _tensors.Add(t);
        return t.Index;
    }

    public int ConstInt32(int[] shape, int[] data, string? name = null)
    {
        var t = new TensorInfo
        {
            Index = _tensors.Count, Name = name ?? $"b{_tensors.Count}", Type = TensorType.Int32, Shape = shape,
            IsConstant = true, ArenaOffset = -1, Data = MemoryMarshal.AsBytes(data.AsSpan()).ToArray(),
        };
        _tensors.Add(t);
        return t.Index;
    }

    public static OpInfo Op(OpCode code, int[] inputs, int output, int[] parameters, string name = "op", long offset = 1234)
        => new() { Index = 7, Name = name, Code = code, Inputs = inputs, Outputs = [output], Params = parameters, FileOffset = offset };

    public PreparedOp Prepare(OpInfo op) => OpFactory.Prepare(op, _tensors, KernelIsa.Scalar);

    public Span<byte> Arena
    {
        get
        {
            if (_arena.Length != _arenaBytes) Array.Resize(ref _arena, _arenaBytes); // tensors added later keep earlier data
            return _arena;
        }
    }

    public Span<sbyte> Int8Of(int tensor) => MemoryMarshal.Cast<byte, sbyte>(Arena.Slice(_tensors[tensor].ArenaOffset, _tensors[tensor].ByteLength));
    public Span<float> FloatOf(int tensor) => MemoryMarshal.Cast<byte, float>(Arena.Slice(_tensors[tensor].ArenaOffset, _tensors[tensor].ByteLength));

    /// <summary>Prepares and invokes once; returns the prepared op for reuse.</summary>
    public PreparedOp Run(OpInfo op)
    {
        var p = Prepare(op);
        p.Invoke(Arena, new byte[p.ScratchBytes]);
        return p;
    }
}
