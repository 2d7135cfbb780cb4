using Cnn.Edge.Runtime;

namespace Cnn.Edge.Tests.Ops;

public class OpAllocationTests
{
    /// <summary>Every prepared op's Invoke allocates nothing on the managed heap.</summary>
    [Fact]
    public void InvokeAllocatesNothingForAnyOp()
    {
        var hs = new OpHarness();
        float[] s4 = [0.01f, 0.02f, 0.03f, 0.04f];
        int x = hs.Int8([1, 6, 6, 4], 0.05f, 3, "x");
        int cw = hs.ConstInt8([4, 3, 3, 2], new sbyte[72], s4);
        int cb = hs.ConstInt32([4], [1, 2, 3, 4]);
        int conv = hs.Int8([1, 6, 6, 4], 0.1f, -2);
        int pool = hs.Int8([1, 3, 3, 4], 0.1f, -2);
        int avg = hs.Int8([1, 3, 3, 4], 0.1f, -2);
        int gap = hs.Int8([1, 1, 1, 4], 0.07f, 1);
        int gmp = hs.Int8([1, 1, 1, 4], 0.1f, -2);
        int add = hs.Int8([1, 6, 6, 4], 0.2f, 0);
        int cat = hs.Int8([1, 6, 6, 8], 0.1f, 0);
        int shuf = hs.Int8([1, 6, 6, 8], 0.1f, 0);
        int flat = hs.Int8([1, 36], 0.1f, -2);
        int fw = hs.ConstInt8([3, 36], new sbyte[108], [0.01f, 0.01f, 0.01f]);
        int fc = hs.Int8([1, 3], 0.3f, 0);
        int smf = hs.Activation(TensorType.Float32, [1, 3]);
        int smq = hs.Int8([1, 3], 1f / 256, -128);
        int deq = hs.Activation(TensorType.Float32, [1, 6, 6, 4]);
        int qz = hs.Int8([1, 6, 6, 4], 0.05f, 3);
        int tw = hs.ConstInt8([2, 2, 2, 4], new sbyte[32], [0.01f, 0.01f]);
        int tc = hs.Int8([1, 12, 12, 2], 0.1f, 0);
        OpInfo[] ops =
        [
            OpHarness.Op(OpCode.Conv2D, [x, cw, cb], conv, [1, 1, 1, 1, 1, 1, 1, 1, 2, -128, 127]),
            OpHarness.Op(OpCode.MaxPool2D, [conv], pool, [2, 2, 2, 2, 0, 0, 0, 0, 0, 0, -128, 127]),
            OpHarness.Op(OpCode.AveragePool2D, [conv], avg, [3, 3, 2, 2, 1, 1, 1, 1, 0, 1, -128, 127]),
            OpHarness.Op(OpCode.GlobalAveragePool, [conv], gap, [-128, 127]),
            OpHarness.Op(OpCode.GlobalMaxPool, [conv], gmp, []),
            OpHarness.Op(OpCode.Add, [x, conv], add, [0, 127]),
            OpHarness.Op(OpCode.Concat, [x, conv], cat, [-128, 127]),
            OpHarness.Op(OpCode.ChannelShuffle, [cat], shuf, [2]),
            OpHarness.Op(OpCode.Reshape, [pool], flat, []),
            OpHarness.Op(OpCode.FullyConnected, [flat, fw], fc, [-128, 127]),
            OpHarness.Op(OpCode.Softmax, [fc], smf, [BitConverter.SingleToInt32Bits(1f)]),
            OpHarness.Op(OpCode.Softmax, [fc], smq, [BitConverter.SingleToInt32Bits(1f)]),
            OpHarness.Op(OpCode.Dequantize, [x], deq, []),
            OpHarness.Op(OpCode.Quantize, [deq], qz, []),
            OpHarness.Op(OpCode.TransposeConv2D, [x, tw], tc, [2, 2, 1, 1, 0, 0, 0, 0, 0, 0, -128, 127]),
        ];
        var prepared = ops.Select(hs.Prepare).ToArray();
        byte[] arena = new byte[hs.Arena.Length];
        byte[] scratch = new byte[prepared.Max(p => p.ScratchBytes)];
        foreach (var p in prepared) p.Invoke(arena, scratch); // warm up (JIT)
        for (int i = 0; i < prepared.Length; i++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int r = 0; r < 20; r++) prepared[i].Invoke(arena, scratch);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated == 0, $"{ops[i].Code} allocated {allocated} bytes in 20 invocations");
        }
    }
}
