using Cnn.Edge;
using Cnn.Edge.Runtime;

namespace Cnn.Bench;

/// <summary>
/// Runs an edge model the way the interpreter does (ops prepared once by OpFactory with a chosen ISA,
/// one arena, one scratch buffer), so the benchmark does not depend on the interpreter's schedule.
/// Invoke allocates nothing.
/// </summary>
public sealed class EdgeRunner
{
    private readonly PreparedOp[] _ops;
    private readonly byte[] _arena;
    private readonly byte[] _scratch;

    public EdgeModel Model { get; }
    public KernelIsa Isa { get; }

    public EdgeRunner(EdgeModel model, KernelIsa isa)
    {
        Model = model;
        Isa = Cnn.Edge.Kernels.KernelSelector.Resolve(isa);
        _ops = new PreparedOp[model.Ops.Count];
        int scratch = 0;
        for (int i = 0; i < _ops.Length; i++)
        {
            _ops[i] = OpFactory.Prepare(model.Ops[i], model.Tensors, Isa);
            scratch = Math.Max(scratch, _ops[i].ScratchBytes);
        }
        _arena = new byte[model.Plan.ArenaBytes];
        _scratch = new byte[scratch];
        var input = model.Tensors[model.Inputs[0]];
        _input = new byte[input.ByteLength];
        _inputOffset = input.ArenaOffset;
        new Random(5).NextBytes(_input);
        _input.CopyTo(_arena, _inputOffset);
    }

    private readonly byte[] _input;
    private readonly int _inputOffset;

    /// <summary>One inference: writes the input (the arena may reuse its bytes once it is dead), runs every op.</summary>
    public void Invoke()
    {
        _input.CopyTo(_arena, _inputOffset);
        foreach (var op in _ops) op.Invoke(_arena, _scratch);
    }

    public void InvokeOp(int i) => _ops[i].Invoke(_arena, _scratch);

    public ReadOnlySpan<byte> OpOutput(int i)
    {
        var t = Model.Tensors[Model.Ops[i].Outputs[0]];
        return _arena.AsSpan(t.ArenaOffset, t.ByteLength);
    }

    /// <summary>A checksum of the output, to check that every ISA computes the same thing.</summary>
    public long OutputChecksum()
    {
        var t = Model.Tensors[Model.Outputs[0]];
        long sum = 0;
        foreach (byte b in _arena.AsSpan(t.ArenaOffset, t.ByteLength)) sum = sum * 31 + b;
        return sum;
    }
}
