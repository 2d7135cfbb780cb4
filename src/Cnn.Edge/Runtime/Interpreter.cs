using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Cnn.Edge.Kernels;
using Cnn.Edge.Runtime;
using Cnn.Edge.Runtime.Ops;

namespace Cnn.Edge;

public sealed class InterpreterOptions
{
    /// <summary>Bytes the interpreter may use for activations and scratch; null = no limit.</summary>
    public long? BudgetBytes { get; init; }
    /// <summary>Kernel instruction set; Auto picks once at construction.</summary>
    public KernelIsa Isa { get; init; } = KernelIsa.Auto;
    /// <summary>
    /// Threads an inference runs on, the calling thread included (default: the core count). The interpreter starts
    /// Threads - 1 workers at construction and stops them at Dispose; the output bytes are the same for any count.
    /// </summary>
    public int Threads { get; init; } = Environment.ProcessorCount;
    /// <summary>
    /// Least work worth one thread's chunk, in multiply-accumulates of a large pointwise convolution on the fastest path (on ARM64
    /// about 1/8 instruction: the SDOT GEMM's MAC), each op's work weighed by its ISA's measured costs (ChunkCosts: on Cortex-A76
    /// a depthwise MAC counts 5, an Add element 120; without SDOT a pointwise MAC 3; on x86 a depthwise MAC 4, an Add element 32): a layer with less
    /// than twice this runs on one thread, since waking a second thread costs about that much. Tests lower it to
    /// split tiny layers.
    /// </summary>
    public int MinWorkPerChunk { get; init; } = DefaultMinWorkPerChunk;
    /// <summary>
    /// Run one inference on the zeroed arena at construction, then zero it again (default true): the packed weights, the
    /// arena and the kernels' code are then warm, so the first real inference after load costs what the next ones do
    /// (without it, MobileNetV2 0.35 96's first inference on x64 took 1.4–1.5× the median: a fixed ~0.2 ms of cold caches).
    /// Costs one inference's time at load.
    /// </summary>
    public bool WarmUp { get; init; } = true;
    /// <summary>
    /// Fuse inverted-residual blocks (1x1 expand → depthwise → 1x1 project [→ residual Add]) into one op that streams rows through
    /// per-thread scratch, so the expanded tensors never reach the arena (optimized ISAs only; the output bytes are the same either
    /// way). Null (the default): fuse only when <see cref="BudgetBytes"/> is set and the unfused arena and scratch exceed it. Fusion
    /// trades speed for memory: MobileNetV2 1.0 224 needs 0.59× the memory at one thread, but runs ~1.5 % more instructions on
    /// ARM64 and its 4-thread work bound drops from 3.9× to 3.4–3.7× (halo rows recomputed per chunk; bench/README.md).
    /// The fused blocks' intermediate tensors are not readable (<see cref="Interpreter.IsMaterialized"/>).
    /// </summary>
    public bool? FuseBlocks { get; init; }

    /// <summary>About 4,000 ARM64 instructions (1-3 µs on a Cortex-A76 or A72), a few µs of int8 convolution on a workstation core: several times the cost of handing a chunk to a spinning worker.</summary>
    public const int DefaultMinWorkPerChunk = 32 * 1024;
}

/// <summary>
/// Runs a loaded model in one fixed arena. Construction prepares every op (validation, multipliers,
/// packed weights), decides how each op splits over the threads, starts the worker threads and allocates
/// the arena (plan.ArenaBytes) and one scratch buffer per thread (the largest op's ScratchBytes), all pinned
/// and 64-byte aligned; after that <see cref="Invoke()"/> allocates nothing and throws nothing.
/// <para>Not for concurrent use: one Invoke at a time. Dispose stops the workers.</para>
/// </summary>
public sealed class Interpreter : IDisposable, IChunkWork
{
    private PreparedOp[] _ops;
    /// <summary>The model's tensors with this interpreter's arena offsets (the model's own unless blocks were fused).</summary>
    private readonly IReadOnlyList<TensorInfo> _tensors;
    private readonly bool[]? _fusedAway;
    private readonly int[] _chunks;
    private byte[] _arena;
    private readonly int _arenaStart, _arenaBytes;
    private byte[] _scratch;
    private readonly int _scratchStart, _scratchBytes, _scratchStride, _scratchTotal;
    private WorkerPool? _pool;
    private int _current; // the op whose chunks the pool is running
    private bool _disposed;

    public Interpreter(EdgeModel model, InterpreterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new InterpreterOptions();
        Model = model;
        // Auto picks the best the CPU supports; a forced ISA the CPU lacks is a NotSupportedException.
        Isa = KernelSelector.Resolve(options.Isa);

        if (options.Threads < 1 || options.Threads > MaxThreads)
            throw new ArgumentOutOfRangeException(nameof(options), options.Threads, $"InterpreterOptions.Threads must be in 1..{MaxThreads}");
        if (options.MinWorkPerChunk < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.MinWorkPerChunk, "InterpreterOptions.MinWorkPerChunk must be at least 1");
        Threads = options.Threads;

        Layout layout = Lay(model, options, fuse: options.FuseBlocks == true);
        // Auto: the fused plan only when the unfused one does not fit the budget (and some block fuses).
        if (options.FuseBlocks is null && options.BudgetBytes is long b0 && layout.Required > b0)
        {
            Layout fused = Lay(model, options, fuse: true);
            if (fused.Blocks > 0 && fused.Required < layout.Required) layout = fused;
        }
        (_tensors, _fusedAway, _ops, _chunks) = (layout.Tensors, layout.FusedAway, layout.Ops, layout.Chunks);
        ArenaPlan plan = Plan = layout.Plan;
        FusedBlocks = layout.Blocks;
        bool split = layout.Split;
        _arenaBytes = plan.ArenaBytes;
        _scratchBytes = layout.Scratch;
        _scratchStride = layout.ScratchStride;
        long scratchTotal = layout.ScratchTotal;
        long required = layout.Required;
        if (options.BudgetBytes is long budget && required > budget)
        {
            var alive = new List<string>();
            foreach (int t in plan.AliveAt(plan.PeakOpIndex))
            {
                TensorInfo ti = _tensors[t];
                alive.Add($"{ti.Name} {ti.Type}[{string.Join('x', ti.Shape)}] {ti.ByteLength} bytes");
            }
            throw new ArenaBudgetException(required, budget, plan.PeakOpIndex, model.Ops[plan.PeakOpIndex].Name, alive, _arenaBytes, required - _arenaBytes);
        }
        (_arena, _arenaStart) = AllocateAligned(_arenaBytes);
        _scratchTotal = (int)scratchTotal;
        (_scratch, _scratchStart) = AllocateAligned(_scratchTotal);
        // Touch every page now: the OS maps fresh memory on first write, which would otherwise land in the first inference.
        Array.Fill(_arena, (byte)0);
        Array.Fill(_scratch, (byte)0);
        // No op splits (a small model, or Threads = 1): no workers to start.
        if (split) _pool = new WorkerPool(Threads);
        if (options.WarmUp)
        {
            Invoke();
            Array.Fill(_arena, (byte)0);
        }
    }

    /// <summary>The largest <see cref="InterpreterOptions.Threads"/>.</summary>
    public const int MaxThreads = 256;

    public EdgeModel Model { get; }
    private readonly record struct Layout(IReadOnlyList<TensorInfo> Tensors, ArenaPlan Plan, bool[]? FusedAway, int Blocks, PreparedOp[] Ops,
        int[] Chunks, bool Split, int Scratch, int ScratchStride, long ScratchTotal)
    {
        public long Required => Plan.ArenaBytes + ScratchTotal;
    }

    /// <summary>Prepares every op (and so validates it) for this interpreter's ISA and threads, with or without block fusion.</summary>
    private Layout Lay(EdgeModel model, InterpreterOptions options, bool fuse)
    {
        // Block fusion: an arena planned without the fused blocks' intermediates (each op is still prepared, and so validated, alone).
        List<BlockFusion.Block> blocks = fuse && Isa != KernelIsa.Scalar ? BlockFusion.Find(model) : [];
        ArenaPlan plan = model.Plan;
        IReadOnlyList<TensorInfo> tensors = model.Tensors;
        bool[]? fusedAway = null;
        if (blocks.Count > 0) (tensors, plan) = BlockFusion.Replan(model, blocks, out fusedAway);
        var ops = new PreparedOp[model.Ops.Count];
        for (int i = 0; i < ops.Length; i++) ops[i] = OpFactory.Prepare(model.Ops[i], tensors, Isa);
        foreach (BlockFusion.Block b in blocks) BlockFusion.Apply(b, ops, model, tensors);
        var chunks = new int[ops.Length];
        int scratch = 0;
        bool split = false;
        for (int i = 0; i < ops.Length; i++)
        {
            chunks[i] = Threads == 1 ? 1 : ops[i].PlanChunks(Threads, options.MinWorkPerChunk);
            split |= chunks[i] > 1;
            scratch = Math.Max(scratch, ops[i].ScratchBytes);
        }
        // Fused blocks' strips grow into the scratch every thread gets anyway.
        foreach (PreparedOp op in ops) (op as FusedInvertedResidualOp)?.FitStrip(scratch);
        // Each thread gets its own scratch, 64-byte aligned so no two threads write one cache line.
        int stride = (scratch + 63) & ~63;
        long scratchTotal = (long)stride * ((split ? Threads : 1) - 1) + scratch;
        return new Layout(tensors, plan, fusedAway, blocks.Count, ops, chunks, split, scratch, stride, scratchTotal);
    }

    /// <summary>The instruction set the kernels were prepared for.</summary>
    public KernelIsa Isa { get; }
    public int ArenaBytes => _arenaBytes;
    /// <summary>This interpreter's arena plan: the model's, or with <see cref="InterpreterOptions.FuseBlocks"/> one without the fused blocks' intermediates.</summary>
    public ArenaPlan Plan { get; }
    /// <summary>Inverted-residual blocks run as one fused op (see <see cref="InterpreterOptions.FuseBlocks"/>).</summary>
    public int FusedBlocks { get; }
    /// <summary>Whether the tensor has bytes to read: false for the intermediates of fused blocks (constants: true).</summary>
    public bool IsMaterialized(int tensorIndex)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)tensorIndex, (uint)Model.Tensors.Count, nameof(tensorIndex));
        return _fusedAway is null || !_fusedAway[tensorIndex];
    }
    /// <summary>Scratch of all threads (each thread that runs chunks has its own, the largest op's ScratchBytes); ArenaBytes + ScratchBytes is what the budget counts.</summary>
    public int ScratchBytes => _scratchTotal;
    /// <summary>Threads an inference runs on, the calling thread included.</summary>
    public int Threads { get; }
    /// <summary>Into how many chunks op <paramref name="op"/> is split (1: it runs on the calling thread).</summary>
    public int ChunksOf(int op) => _chunks[op];

    private Span<byte> Arena => new(_arena, _arenaStart, _arenaBytes);

    /// <summary>Runs every op in order. Allocation-free; throws nothing (every check happened at construction).</summary>
    public void Invoke()
    {
        if (_disposed) return;
        Span<byte> arena = Arena;
        Span<byte> scratch = new(_scratch, _scratchStart, _scratchBytes);
        PreparedOp[] ops = _ops;
        for (int i = 0; i < ops.Length; i++) RunOp(i, arena, scratch);
    }

    /// <summary>
    /// Runs op <paramref name="index"/> alone on whatever its inputs hold in the arena now (profiling and debugging:
    /// call it after a full <see cref="Invoke()"/>, while the op's inputs are still alive in the plan).
    /// </summary>
    public void InvokeOp(int index)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)_ops.Length, nameof(index));
        RunOp(index, Arena, new Span<byte>(_scratch, _scratchStart, _scratchBytes));
    }

    /// <summary>
    /// Runs chunk <paramref name="chunk"/> of op <paramref name="index"/> (of <see cref="ChunksOf"/>; an op that does not
    /// split has one chunk, the whole op) on the calling thread (profiling the thread split: running every chunk of every
    /// op in order is one inference, whatever the thread count).
    /// </summary>
    public void InvokeChunk(int index, int chunk)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)_ops.Length, nameof(index));
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)chunk, (uint)_chunks[index], nameof(chunk));
        Span<byte> scratch = new(_scratch, _scratchStart, _scratchBytes);
        if (_chunks[index] == 1) _ops[index].Invoke(Arena, scratch);
        else _ops[index].InvokeChunk(chunk, _chunks[index], Arena, scratch);
    }

    private void RunOp(int i, Span<byte> arena, Span<byte> scratch)
    {
        if (_chunks[i] == 1 || _pool is null)
        {
            _ops[i].Invoke(arena, scratch);
            return;
        }
        _current = i;
        _pool.Run(this, _chunks[i]);
    }

    /// <summary>Chunk <paramref name="chunk"/> of the current op, on thread <paramref name="worker"/> (0 = the caller) with that thread's scratch.</summary>
    void IChunkWork.RunChunk(int chunk, int worker)
    {
        int i = _current;
        _ops[i].InvokeChunk(chunk, _chunks[i], Arena, new Span<byte>(_scratch, _scratchStart + worker * _scratchStride, _scratchBytes));
    }

    /// <summary>Runs every op and calls <paramref name="afterOp"/> after each, while that op's tensors are alive (see <see cref="TensorBytes"/>).
    /// A fused block runs whole at the index of its last op; its other ops do nothing and their outputs are not readable.</summary>
    public void Invoke(Action<int> afterOp)
    {
        if (_disposed) return;
        Span<byte> arena = Arena;
        Span<byte> scratch = new(_scratch, _scratchStart, _scratchBytes);
        PreparedOp[] ops = _ops;
        for (int i = 0; i < ops.Length; i++)
        {
            RunOp(i, arena, scratch);
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
        TensorInfo t = _tensors[tensorIndex];
        if (!IsMaterialized(tensorIndex))
            throw new InvalidOperationException($"tensor {tensorIndex} '{t.Name}' is inside a fused block and never materialized: construct the interpreter with FuseBlocks = false to read it");
        return t.IsConstant ? t.Data.Span : Arena.Slice(t.ArenaOffset, t.ByteLength);
    }

    private Span<byte> Activation(int[] list, int i, TensorType type, string what)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if ((uint)i >= (uint)list.Length)
            throw new ArgumentOutOfRangeException(nameof(i), i, $"the model has {list.Length} {what}s");
        TensorInfo t = _tensors[list[i]];
        if (t.Type != type)
            throw new InvalidOperationException($"model {what} {i} '{t.Name}' is {t.Type}, not {type}: use the {what} accessor for {t.Type}");
        return Arena.Slice(t.ArenaOffset, t.ByteLength);
    }

    /// <summary>Stops the worker threads (each finishes the chunk in hand), drops the arena and the prepared ops;
    /// Invoke then does nothing and the accessors throw.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _pool?.Dispose();
        _pool = null;
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
