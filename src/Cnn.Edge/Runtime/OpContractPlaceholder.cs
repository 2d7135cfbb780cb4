// PLACEHOLDER until the edge-kernels branch lands: the same signatures as the contract, minimal bodies.
// Delete this file when merging edge-kernels.
namespace Cnn.Edge.Runtime;

public static class OpShapes
{
    public static int[][] InferOutputShapes(OpInfo op, IReadOnlyList<TensorInfo> tensors)
    {
        ModelFormatException Bad(string what) => new("ops", op.FileOffset, "consistent shapes", what, $"op #{op.Index} {op.Code} '{op.Name}'");
        int[] x = tensors[op.Inputs[0]].Shape;
        int[] P = op.Params;
        switch (op.Code)
        {
            case OpCode.Conv2D:
            {
                if (x.Length != 4) throw Bad("rank");
                int[] w = tensors[op.Inputs[1]].Shape;
                if (w.Length != 4 || P[0] < 1 || P[1] < 1 || P[2] < 1 || P[3] < 1 || P[8] < 1 || x[3] % P[8] != 0 || w[0] % P[8] != 0 || w[3] * P[8] != x[3]) throw Bad("weights/params");
                long oh = ((long)x[1] + P[4] + P[6] - (long)P[2] * (w[1] - 1) - 1) / P[0] + 1;
                long ow = ((long)x[2] + P[5] + P[7] - (long)P[3] * (w[2] - 1) - 1) / P[1] + 1;
                if (oh < 1 || ow < 1 || oh > 65535 || ow > 65535) throw Bad("output size");
                return [[x[0], (int)oh, (int)ow, w[0]]];
            }
            case OpCode.FullyConnected:
            {
                int[] w = tensors[op.Inputs[1]].Shape;
                if (w.Length != 2 || (long)x[0] * w[1] != tensors[op.Inputs[0]].ElementCount) throw Bad("weights");
                return [[x[0], w[0]]];
            }
            case OpCode.MaxPool2D:
            case OpCode.AveragePool2D:
            {
                if (x.Length != 4 || P[0] < 1 || P[1] < 1 || P[2] < 1 || P[3] < 1) throw Bad("params");
                long oh = ((long)x[1] + P[4] + P[6] - P[0]) / P[2] + 1, ow = ((long)x[2] + P[5] + P[7] - P[1]) / P[3] + 1;
                if (oh < 1 || ow < 1 || oh > 65535 || ow > 65535) throw Bad("output size");
                return [[x[0], (int)oh, (int)ow, x[3]]];
            }
            case OpCode.GlobalAveragePool:
            case OpCode.GlobalMaxPool:
                if (x.Length != 4) throw Bad("rank");
                return [[x[0], 1, 1, x[3]]];
            case OpCode.Add:
                if (!x.AsSpan().SequenceEqual(tensors[op.Inputs[1]].Shape)) throw Bad("shapes differ");
                return [(int[])x.Clone()];
            case OpCode.Concat:
            {
                long c = 0;
                foreach (int i in op.Inputs)
                {
                    int[] s = tensors[i].Shape;
                    if (s.Length != 4 || s[0] != x[0] || s[1] != x[1] || s[2] != x[2]) throw Bad("shapes differ");
                    c += s[3];
                }
                return [[x[0], x[1], x[2], (int)Math.Min(c, int.MaxValue)]];
            }
            case OpCode.Reshape:
            {
                var o = tensors[op.Outputs[0]];
                if (o.ElementCount != tensors[op.Inputs[0]].ElementCount) throw Bad("element count");
                return [(int[])o.Shape.Clone()];
            }
            case OpCode.TransposeConv2D:
            {
                int[] w = tensors[op.Inputs[1]].Shape;
                if (x.Length != 4 || w.Length != 4 || w[3] != x[3] || P[0] < 1 || P[1] < 1 || P[2] < 1 || P[3] < 1) throw Bad("params");
                long oh = ((long)x[1] - 1) * P[0] - P[4] - P[6] + (long)P[2] * (w[1] - 1) + P[8] + 1;
                long ow = ((long)x[2] - 1) * P[1] - P[5] - P[7] + (long)P[3] * (w[2] - 1) + P[9] + 1;
                if (oh < 1 || ow < 1 || oh > 65535 || ow > 65535) throw Bad("output size");
                return [[x[0], (int)oh, (int)ow, w[0]]];
            }
            default:
                return [(int[])x.Clone()];
        }
    }
}

public static class OpFactory
{
    public static PreparedOp Prepare(OpInfo op, IReadOnlyList<TensorInfo> tensors, KernelIsa isa) =>
        new ZeroFill(tensors[op.Outputs[0]].ArenaOffset, tensors[op.Outputs[0]].ByteLength);

    private sealed class ZeroFill(int offset, int length) : PreparedOp
    {
        public override void Invoke(Span<byte> arena, Span<byte> scratch) => arena.Slice(offset, length).Clear();
    }
}
