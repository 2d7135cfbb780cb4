using Cnn.Edge.Runtime;
using static Cnn.Edge.Tests.Kernels.QuantTestUtil;

namespace Cnn.Edge.Tests.Ops;

/// <summary>
/// Hostile ops (20,000 per run: random codes, counts, parameter values, types, shapes and quantization): OpShapes and
/// OpFactory either accept or throw ModelFormatException, never anything else; whatever they accept
/// runs without an exception. The loader passes every op of an untrusted file through them.
/// </summary>
public class OpFuzzTests
{
    private static readonly int[] Interesting = [-1, 0, 1, 1, 1, 2, 2, 3, 4, 5, 7, 127, 128, -128, -129, 1 << 20, (1 << 20) + 1, int.MaxValue, int.MinValue, 65536];

    [Fact]
    public void RandomOpsAreAcceptedOrRejectedCleanly()
    {
        var rng = new Random(4242);
        int accepted = 0, rejected = 0, invoked = 0;
        for (int t = 0; t < 20_000; t++)
        {
            var hs = new OpHarness();
            var code = (OpCode)rng.Next(0, 18);
            int[] inputs;
            int[] p;
            if (rng.Next(3) != 0)
            {
                // A plausible op with one or two fields mutated: reaches the deeper checks and the kernels.
                (inputs, p) = PlausibleOp(hs, rng, code);
                for (int m = rng.Next(0, 3); m > 0; m--)
                {
                    if (p.Length > 0 && rng.Next(2) == 0) p[rng.Next(p.Length)] = Interesting[rng.Next(Interesting.Length)];
                    else if (inputs.Length > 0) inputs[rng.Next(inputs.Length)] = rng.Next(4) == 0 ? rng.Next(-2, 30) : RandomTensor(hs, rng, rng.Next(3));
                }
            }
            else
            {
                int inputCount = rng.Next(0, 5);
                inputs = new int[inputCount];
                for (int i = 0; i < inputCount; i++)
                    inputs[i] = rng.Next(20) == 0 ? rng.Next(-2, 30) : RandomTensor(hs, rng, i);
                int paramCount = rng.Next(3) == 0 ? rng.Next(0, 14) : ExpectedParams(code);
                p = new int[paramCount];
                for (int i = 0; i < paramCount; i++)
                    p[i] = rng.Next(3) == 0 ? Interesting[rng.Next(Interesting.Length)] : rng.Next(-2, 6);
                if (paramCount >= 2 && rng.Next(2) == 0) { p[^2] = -128; p[^1] = 127; }
            }
            if (code == OpCode.Softmax && p.Length == 1 && rng.Next(2) == 0) p[0] = BitConverter.SingleToInt32Bits(RandomScale(rng, 0.1, 10));
            int output = RandomTensor(hs, rng, 9);
            var op = OpHarness.Op(code, inputs, output, p, $"fuzz{t}");
            int[][] shapes;
            try
            {
                shapes = OpShapes.InferOutputShapes(op, hs.Tensors);
            }
            catch (ModelFormatException) { rejected++; continue; }
            catch (Exception e) { Assert.Fail($"case {t}: {code} inputs=[{Describe(hs, inputs)}] params=[{string.Join(",", p)}] threw {e}"); return; }

            // Re-declare the output with the inferred shape so Prepare checks quantization and data.
            var o = hs.Tensors[output];
            int output2 = hs.Activation(rng.Next(4) == 0 ? o.Type : OutputType(code, hs, inputs, rng), shapes[0], o.Scale, o.ZeroPoint);
            var op2 = OpHarness.Op(code, inputs, output2, p, $"fuzz{t}");
            PreparedOp prepared;
            try
            {
                prepared = hs.Prepare(op2);
            }
            catch (ModelFormatException) { rejected++; continue; }
            catch (Exception e) { Assert.Fail($"case {t}: {code} prepare inputs=[{Describe(hs, inputs)}] params=[{string.Join(",", p)}] threw {e}"); return; }
            accepted++;
            if (hs.ArenaBytes > 1 << 16) continue; // accepted but large: not worth allocating here
            // Random input bytes, then the reference and the kernel KernelIsa.Auto picks on this CPU
            // must agree bit for bit on these odd shapes too.
            rng.NextBytes(hs.Arena);
            for (int i = 0; i < hs.Tensors.Count; i++)
                if (hs.Tensors[i].Type == TensorType.Float32 && hs.Tensors[i].ArenaOffset >= 0 && hs.Tensors[i].Shape.All(d => d > 0))
                    foreach (ref float f in hs.FloatOf(i)) f = (float)(rng.NextDouble() * 200 - 100);
            byte[] before = hs.Arena.ToArray();
            try
            {
                prepared.Invoke(hs.Arena, new byte[prepared.ScratchBytes]);
                var best = OpFactory.Prepare(op2, hs.Tensors, KernelIsa.Auto);
                byte[] arena2 = before;
                best.Invoke(arena2, new byte[best.ScratchBytes]);
                var o2 = hs.Tensors[output2];
                Assert.True(hs.Arena.Slice(o2.ArenaOffset, o2.ByteLength).SequenceEqual(arena2.AsSpan(o2.ArenaOffset, o2.ByteLength)),
                    $"case {t}: {code} {best.GetType().Name} differs from the reference: inputs=[{Describe(hs, inputs)}] output={o2} params=[{string.Join(",", p)}]");
            }
            catch (Exception e) when (e is not Xunit.Sdk.XunitException)
            {
                Assert.Fail($"case {t}: {code} invoke inputs=[{Describe(hs, inputs)}] output={hs.Tensors[output2]} params=[{string.Join(",", p)}] threw {e}");
            }
            invoked++;
        }
        // The generator must reach the kernels, not only the early checks.
        Assert.True(invoked > 1000, $"only {invoked} ops invoked ({accepted} accepted, {rejected} rejected)");
    }

    /// <summary>A well-formed op of the given code on small random tensors (before mutation).</summary>
    private static (int[] Inputs, int[] Params) PlausibleOp(OpHarness hs, Random rng, OpCode code)
    {
        int n = rng.Next(1, 3), h = rng.Next(1, 7), w = rng.Next(1, 7), c = rng.Next(1, 5) * 2;
        int x = hs.Int8([n, h, w, c], RandomScale(rng, 1e-2, 1), rng.Next(-128, 128));
        int k = rng.Next(1, 4), cout = rng.Next(1, 4) * 2;
        float[] Scales(int count) => Enumerable.Range(0, count).Select(_ => RandomScale(rng, 1e-3, 0.1)).ToArray();
        int Bias(int count) => hs.ConstInt32([count], Enumerable.Range(0, count).Select(_ => rng.Next(-500, 500)).ToArray());
        int pad = rng.Next(0, 2);
        switch (code)
        {
            case OpCode.Conv2D:
            {
                int groups = rng.Next(2) == 0 ? 1 : 2;
                int wt = hs.ConstInt8([cout, k, k, c / groups], RandomInt8(rng, cout * k * k * c / groups, -127, 127), Scales(cout));
                return ([x, wt, Bias(cout)], [1, rng.Next(1, 3), 1, rng.Next(1, 3), pad, pad, pad, pad, groups, -128, 127]);
            }
            case OpCode.TransposeConv2D:
            {
                int wt = hs.ConstInt8([cout, k, k, c], RandomInt8(rng, cout * k * k * c, -127, 127), Scales(cout));
                return ([x, wt, Bias(cout)], [2, 2, 1, 1, 0, 0, 0, 0, rng.Next(2), 0, -128, 127]);
            }
            case OpCode.FullyConnected:
            {
                int cin = h * w * c;
                int wt = hs.ConstInt8([cout, cin], RandomInt8(rng, cout * cin, -127, 127), Scales(cout));
                return ([x, wt, Bias(cout)], [-128, 127]);
            }
            case OpCode.MaxPool2D:
            case OpCode.AveragePool2D:
                k = Math.Min(k, Math.Min(h, w));
                return ([x], [k, k, rng.Next(1, 3), rng.Next(1, 3), 0, 0, 0, 0, rng.Next(2), rng.Next(2), -128, 127]);
            case OpCode.GlobalAveragePool:
            case OpCode.Add:
            case OpCode.Concat:
                return (code == OpCode.GlobalAveragePool ? [x] : [x, x], [-128, 127]);
            case OpCode.ChannelShuffle:
                return ([x], [2]);
            case OpCode.Softmax:
                return ([x], [BitConverter.SingleToInt32Bits(1f)]);
            case OpCode.Quantize:
                return ([hs.Activation(TensorType.Float32, [n, h, w, c])], []);
            case OpCode.LeakyRelu:
                return ([x], [BitConverter.SingleToInt32Bits((float)rng.NextDouble() - 0.2f)]);
            case OpCode.Pad2D:
                return ([x], [rng.Next(0, 3), rng.Next(0, 3), rng.Next(0, 3), rng.Next(0, 3), rng.Next(-128, 128), rng.Next(0, 3)]);
            default:
                return ([x], []);
        }
    }

    private static int ExpectedParams(OpCode code) => code switch
    {
        OpCode.Conv2D => 11,
        OpCode.MaxPool2D or OpCode.AveragePool2D or OpCode.TransposeConv2D => 12,
        OpCode.FullyConnected or OpCode.GlobalAveragePool or OpCode.Add or OpCode.Concat => 2,
        OpCode.ChannelShuffle or OpCode.Softmax or OpCode.LeakyRelu => 1,
        OpCode.Pad2D => 6,
        _ => 0,
    };

    private static TensorType OutputType(OpCode code, OpHarness hs, int[] inputs, Random rng) => code switch
    {
        OpCode.Dequantize => TensorType.Float32,
        OpCode.Softmax => rng.Next(2) == 0 ? TensorType.Float32 : TensorType.Int8,
        OpCode.Reshape when inputs.Length > 0 && inputs[0] >= 0 && inputs[0] < hs.Tensors.Count => hs.Tensors[inputs[0]].Type,
        _ => TensorType.Int8,
    };

    /// <summary>Small tensors of any type and rank, sometimes constant (with data), sometimes badly quantized.</summary>
    private static int RandomTensor(OpHarness hs, Random rng, int slot)
    {
        int rank = rng.Next(5) == 0 ? rng.Next(1, 6) : 4;
        var shape = new int[rank];
        for (int d = 0; d < rank; d++) shape[d] = rng.Next(12) == 0 ? rng.Next(-1, 2) : rng.Next(1, 5);
        var type = rng.Next(6) switch { 0 => TensorType.Int32, 1 => TensorType.Float32, _ => TensorType.Int8 };
        float scale = rng.Next(10) switch { 0 => 0f, 1 => float.NaN, 2 => 1e-30f, 3 => 1e30f, _ => RandomScale(rng, 1e-3, 1) };
        int zp = rng.Next(15) == 0 ? 300 : rng.Next(-128, 128);
        long count = 1;
        foreach (int d in shape) count *= Math.Max(d, 0);
        bool constant = (slot == 1 || slot == 2) && rng.Next(4) != 0 && shape.All(d => d > 0);
        if (!constant)
        {
            if (shape.Any(d => d < 1))
            {
                // An invalid shape: keep it off the arena (it has no byte length).
                var t = new TensorInfo { Index = hs.Tensors.Count, Name = "bad", Type = type, Shape = shape, Scale = scale, ZeroPoint = zp, ArenaOffset = 0 };
                return AddRaw(hs, t);
            }
            return hs.Activation(type, shape, scale, zp);
        }
        if (slot == 2 || type == TensorType.Int32)
            return hs.ConstInt32(shape, Enumerable.Range(0, (int)count).Select(_ => rng.Next(-1000, 1000)).ToArray());
        int cout = shape[0];
        float[]? channelScales = rng.Next(5) == 0 ? null : Enumerable.Range(0, rng.Next(6) == 0 ? cout + 1 : cout).Select(_ => RandomScale(rng, 1e-3, 0.1)).ToArray();
        return hs.ConstInt8(shape, RandomInt8(rng, (int)count, -127, 127), channelScales, rng.Next(2) == 0 ? 0 : 0.01f);
    }

    private static int AddRaw(OpHarness hs, TensorInfo t) => hs.AddRaw(t);

    private static string Describe(OpHarness hs, int[] inputs)
        => string.Join("; ", inputs.Select(i => i >= 0 && i < hs.Tensors.Count ? hs.Tensors[i].ToString() : i.ToString()));
}
