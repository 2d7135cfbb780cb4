using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Cnn.Edge.Kernels;
using Cnn.Edge.Runtime;

namespace Cnn.Edge;

public sealed class InterpreterOptions
{
    /// <summary>Bytes the interpreter may use for activations and scratch; null = no limit.</summary>
    public long? BudgetBytes { get; init; }
    /// <summary>Kernel instruction set; Auto picks once at construction.</summary>
    public KernelIsa Isa { get; init; } = KernelIsa.Auto;
    /// <summary>Reserved: kernels run on the calling thread for now.</summary>
    public int Threads { get; init; } = 1;
}

/// <summary>
/// Runs a loaded model in one fixed arena. Construction prepares every op (validation, multipliers,
/// packed weights) and allocates the arena (plan.ArenaBytes) and one scratch buffer (the largest op's
/// ScratchBytes), both pinned and 64-byte aligned; after that <see cref="Invoke()"/> allocates nothing
/// and throws nothing.
/// </summary>
public sealed class Interpreter : IDisposable
{
    private PreparedOp[] _ops;
    private byte[] _arena;
    private readonly int _arenaStart, _arenaBytes;
    private byte[] _scratch;
    private readonly int _scratchStart, _scratchBytes;
    private bool _disposed;

    public Interpreter(EdgeModel model, InterpreterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new InterpreterOptions();
        Model = model;
        // Auto picks the best the CPU supports; a forced ISA the CPU lacks is a NotSupportedException.
        Isa = KernelSelector.Resolve(options.Isa);

        _ops = new PreparedOp[model.Ops.Count];
        int scratch = 0;
        for (int i = 0; i < _ops.Length; i++)
        {
            _ops[i] = OpFactory.Prepare(model.Ops[i], model.Tensors, Isa);
            scratch = Math.Max(scratch, _ops[i].ScratchBytes);
        }
        _arenaBytes = model.Plan.ArenaBytes;
        _scratchBytes = scratch;

        long required = (long)_arenaBytes + _scratchBytes;
        if (options.BudgetBytes is long budget && required > budget)
        {
            ArenaPlan plan = model.Plan;
            var alive = new List<string>();
            foreach (int t in plan.AliveAt(plan.PeakOpIndex))
            {
                TensorInfo ti = model.Tensors[t];
                alive.Add($"{ti.Name} {ti.Type}[{string.Join('x', ti.Shape)}] {ti.ByteLength} bytes");
            }
            throw new ArenaBudgetException(required, budget, plan.PeakOpIndex, model.Ops[plan.PeakOpIndex].Name, alive, _arenaBytes, _scratchBytes);
        }
        (_arena, _arenaStart) = AllocateAligned(_arenaBytes);
        (_scratch, _scratchStart) = AllocateAligned(_scratchBytes);
    }

    public EdgeModel Model { get; }
    /// <summary>The instruction set the kernels were prepared for.</summary>
    public KernelIsa Isa { get; }
    public int ArenaBytes => _arenaBytes;
    public int ScratchBytes => _scratchBytes;

    private Span<byte> Arena => new(_arena, _arenaStart, _arenaBytes);

    /// <summary>Runs every op in order. Allocation-free; throws nothing (every check happened at construction).</summary>
    public void Invoke()
    {
        if (_disposed) return;
        Span<byte> arena = Arena;
        Span<byte> scratch = new(_scratch, _scratchStart, _scratchBytes);
        PreparedOp[] ops = _ops;
        for (int i = 0; i < ops.Length; i++) ops[i].Invoke(arena, scratch);
    }

    /// <summary>Runs every op and calls <paramref name="afterOp"/> after each, while that op's tensors are alive (see <see cref="TensorBytes"/>).</summary>
    public void Invoke(Action<int> afterOp)
    {
        if (_disposed) return;
        Span<byte> arena = Arena;
        Span<byte> scratch = new(_scratch, _scratchStart, _scratchBytes);
        PreparedOp[] ops = _ops;
        for (int i = 0; i < ops.Length; i++)
        {
            ops[i].Invoke(arena, scratch);
            afterOp(i);
        }
    }

    public Span<sbyte> InputInt8(int i = 0) => MemoryMarshal.Cast<byte, sbyte>(Activation(Model.Inputs, i, TensorType.Int8, "input"));
    public Span<float> InputFloat(int i = 0) => MemoryMarshal.Cast<byte, float>(Activation(Model.Inputs, i, TensorType.Float32, "input"));
    public ReadOnlySpan<sbyte> OutputInt8(int i = 0) => MemoryMarshal.Cast<byte, sbyte>(Activation(Model.Outputs, i, TensorType.Int8, "output"));
    public ReadOnlySpan<float> OutputFloat(int i = 0) => MemoryMarshal.Cast<byte, float>(Activation(Model.Outputs, i, TensorType.Float32, "output"));

    /// <summary>
    /// The bytes of an activation in the arena. Its memory is shared with other tensors outside its
    /// lifetime (plan.FirstOp..LastOp), so read it from an <see cref="Invoke(Action{int})"/> callback
    /// while it is alive. Constants: their data in the model.
    /// </summary>
    public ReadOnlySpan<byte> TensorBytes(int tensorIndex)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if ((uint)tensorIndex >= (uint)Model.Tensors.Count)
            throw new ArgumentOutOfRangeException(nameof(tensorIndex), tensorIndex, $"the model has {Model.Tensors.Count} tensors");
        TensorInfo t = Model.Tensors[tensorIndex];
        return t.IsConstant ? t.Data.Span : Arena.Slice(t.ArenaOffset, t.ByteLength);
    }

    private Span<byte> Activation(int[] list, int i, TensorType type, string what)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if ((uint)i >= (uint)list.Length)
            throw new ArgumentOutOfRangeException(nameof(i), i, $"the model has {list.Length} {what}s");
        TensorInfo t = Model.Tensors[list[i]];
        if (t.Type != type)
            throw new InvalidOperationException($"model {what} {i} '{t.Name}' is {t.Type}, not {type}: use the {what} accessor for {t.Type}");
        return Arena.Slice(t.ArenaOffset, t.ByteLength);
    }

    /// <summary>Drops the arena and the prepared ops; Invoke then does nothing and the accessors throw.</summary>
    public void Dispose()
    {
        _disposed = true;
        _ops = [];
        _arena = [];
        _scratch = [];
    }

    private static unsafe (byte[] Buffer, int Start) AllocateAligned(int length)
    {
        var buffer = GC.AllocateArray<byte>(length + 63, pinned: true);
        nint address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
        return (buffer, (int)((64 - (address & 63)) & 63));
    }
}
