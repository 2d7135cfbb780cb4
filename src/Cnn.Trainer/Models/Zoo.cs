using Cnn.Trainer.Layers;

namespace Cnn.Trainer.Models;

/// <summary>
/// Named architectures sized for small images (28×28 to 64×64). Every builder takes the input shape
/// and the class count, so they work for grey and RGB data alike.
/// </summary>
public static class Zoo
{
    public static readonly string[] Names =
        ["lenet5", "convnet", "simplecnn", "vgg", "inception", "resnet", "resnet-bottleneck", "densenet", "mobilenet", "shufflenet", "allconv"];

    public static Network Create(string name, Shape input, int classes, int seed = 0, bool auxiliaryHead = false) => name.ToLowerInvariant() switch
    {
        "lenet5" or "lenet-5" or "lenet" => LeNet5(input, classes, seed),
        "convnet" or "seed" => ConvNet(input, classes, seed),
        "simplecnn" => SimpleCnn(input, classes, seed),
        "vgg" => Vgg(input, classes, seed),
        "inception" => Inception(input, classes, seed, auxiliaryHead),
        "resnet" => ResNet(input, classes, seed, bottleneck: false),
        "resnet-bottleneck" => ResNet(input, classes, seed, bottleneck: true),
        "densenet" => DenseNet(input, classes, seed),
        "mobilenet" or "dwsep" => MobileNet(input, classes, seed),
        "shufflenet" => ShuffleNet(input, classes, seed),
        "allconv" => AllConv(input, classes, seed),
        _ => throw new ArgumentException($"unknown model '{name}'; known: {string.Join(", ", Names)}"),
    };

    /// <summary>LeNet-5 (ReLU, max pooling): conv5(6, pad 2) → pool → conv5(16) → pool → fc120 → fc84 → fc K.</summary>
    public static Network LeNet5(Shape input, int classes, int seed = 0)
    {
        var b = new NetworkBuilder(input, seed);
        int x = b.Conv(NetworkBuilder.Input, 6, 5, padding: 2, name: "conv1");
        x = b.MaxPool(b.Relu(x, "relu1"), 2, name: "pool1");
        x = b.Conv(x, 16, 5, name: "conv2");
        x = b.MaxPool(b.Relu(x, "relu2"), 2, name: "pool2");
        x = b.Flatten(x, "flatten");
        x = b.Relu(b.Linear(x, 120, name: "fc1"), "relu3");
        x = b.Relu(b.Linear(x, 84, name: "fc2"), "relu4");
        return b.Build(b.Linear(x, classes, name: "fc3"));
    }

    /// <summary>The seed ConvNet: stride-2 3×3 convs with channels [c, 20, 40, 80], adaptive max pool, linear head.</summary>
    public static Network ConvNet(Shape input, int classes, int seed = 0)
    {
        var b = new NetworkBuilder(input, seed);
        int x = NetworkBuilder.Input;
        int i = 1;
        foreach (int c in new[] { 20, 40, 80 })
        {
            x = b.Conv(x, c, 3, stride: 2, padding: 1, name: $"conv{i}");
            x = b.Relu(x, $"relu{i++}");
        }
        x = b.GlobalMaxPool(x, "pool");
        x = b.Flatten(x, "flatten");
        return b.Build(b.Linear(x, classes, name: "fc"));
    }

    /// <summary>conv5(32) → pool → conv5(64) → pool → fc128 → fc K.</summary>
    public static Network SimpleCnn(Shape input, int classes, int seed = 0)
    {
        var b = new NetworkBuilder(input, seed);
        int x = b.MaxPool(b.Relu(b.Conv(NetworkBuilder.Input, 32, 5, padding: 2, name: "conv1"), "relu1"), 2, name: "pool1");
        x = b.MaxPool(b.Relu(b.Conv(x, 64, 5, padding: 2, name: "conv2"), "relu2"), 2, name: "pool2");
        x = b.Flatten(x, "flatten");
        x = b.Dropout(b.Relu(b.Linear(x, 128, name: "fc1"), "relu3"), 0.25f, "drop");
        return b.Build(b.Linear(x, classes, name: "fc2"));
    }

    /// <summary>Small VGG: [32, 32, M, 64, 64, M, 128, 128, M] 3×3 conv-BN-ReLU, global average pool, fc K.</summary>
    public static Network Vgg(Shape input, int classes, int seed = 0)
    {
        var b = new NetworkBuilder(input, seed);
        int x = NetworkBuilder.Input, stage = 1;
        foreach (int c in new[] { 32, 64, 128 })
        {
            x = b.ConvBnAct(x, c, 3, name: $"s{stage}a");
            x = b.ConvBnAct(x, c, 3, name: $"s{stage}b");
            x = b.MaxPool(x, 2, name: $"pool{stage++}");
        }
        x = b.Flatten(b.GlobalAvgPool(x, "gap"), "flatten");
        return b.Build(b.Linear(x, classes, name: "fc"));
    }

    /// <summary>GoogLeNet-style block: 1×1 | 1×1→3×3 | 1×1→5×5 | maxpool→1×1, concatenated.</summary>
    public static int InceptionBlock(NetworkBuilder b, int x, int c1, int c3r, int c3, int c5r, int c5, int cp, string name)
    {
        int b1 = b.ConvBnAct(x, c1, 1, name: $"{name}.b1");
        int b2 = b.ConvBnAct(b.ConvBnAct(x, c3r, 1, name: $"{name}.b2r"), c3, 3, name: $"{name}.b2");
        int b3 = b.ConvBnAct(b.ConvBnAct(x, c5r, 1, name: $"{name}.b3r"), c5, 5, name: $"{name}.b3");
        int b4 = b.ConvBnAct(b.MaxPool(x, 3, 1, 1, name: $"{name}.pool"), cp, 1, name: $"{name}.b4");
        return b.Concat([b1, b2, b3, b4], $"{name}.concat");
    }

    public static Network Inception(Shape input, int classes, int seed = 0, bool auxiliaryHead = false)
    {
        var b = new NetworkBuilder(input, seed);
        int x = b.ConvBnAct(NetworkBuilder.Input, 32, 3, name: "stem");
        x = InceptionBlock(b, x, 16, 16, 24, 8, 8, 8, "inc1");
        x = b.MaxPool(x, 2, name: "pool1");
        int aux = -1;
        if (auxiliaryHead)
            aux = b.Linear(b.Flatten(b.GlobalAvgPool(x, "aux.gap"), "aux.flatten"), classes, name: "aux.fc");
        x = InceptionBlock(b, x, 32, 32, 48, 8, 16, 16, "inc2");
        x = b.Flatten(b.GlobalAvgPool(x, "gap"), "flatten");
        int head = b.Linear(x, classes, name: "fc");
        return auxiliaryHead ? b.Build(head, aux) : b.Build(head);
    }

    /// <summary>ResNet basic block: 3×3-BN-ReLU-3×3-BN + shortcut (1×1 stride-s projection when the shape changes), ReLU.</summary>
    public static int BasicBlock(NetworkBuilder b, int x, int channels, int stride, string name)
    {
        int y = b.ConvBnAct(x, channels, 3, stride, name: $"{name}.a");
        y = b.ConvBnAct(y, channels, 3, 1, act: "none", name: $"{name}.b");
        int sc = Shortcut(b, x, channels, stride, name);
        return b.Relu(b.Sum(y, sc, $"{name}.add"), $"{name}.relu");
    }

    /// <summary>ResNet bottleneck: 1×1 (c/4) → 3×3 (c/4, stride) → 1×1 (c) + shortcut, ReLU.</summary>
    public static int BottleneckBlock(NetworkBuilder b, int x, int channels, int stride, string name)
    {
        int mid = Math.Max(1, channels / 4);
        int y = b.ConvBnAct(x, mid, 1, name: $"{name}.reduce");
        y = b.ConvBnAct(y, mid, 3, stride, name: $"{name}.conv");
        y = b.ConvBnAct(y, channels, 1, act: "none", name: $"{name}.expand");
        int sc = Shortcut(b, x, channels, stride, name);
        return b.Relu(b.Sum(y, sc, $"{name}.add"), $"{name}.relu");
    }

    private static int Shortcut(NetworkBuilder b, int x, int channels, int stride, string name)
        => stride == 1 && b.ShapeOf(x).C == channels ? x : b.ConvBnAct(x, channels, 1, stride, 0, act: "none", name: $"{name}.proj");

    public static Network ResNet(Shape input, int classes, int seed = 0, bool bottleneck = false)
    {
        var b = new NetworkBuilder(input, seed);
        int x = b.ConvBnAct(NetworkBuilder.Input, 16, 3, name: "stem");
        int i = 1;
        foreach (var (c, s) in bottleneck ? new[] { (32, 1), (64, 2), (128, 2) } : new[] { (16, 1), (32, 2), (64, 2) })
            x = bottleneck ? BottleneckBlock(b, x, c, s, $"block{i++}") : BasicBlock(b, x, c, s, $"block{i++}");
        x = b.Flatten(b.GlobalAvgPool(x, "gap"), "flatten");
        return b.Build(b.Linear(x, classes, name: "fc"));
    }

    /// <summary>DenseNet block: each layer BN-ReLU-3×3 conv (growth channels) concatenated onto its input.</summary>
    public static int DenseBlock(NetworkBuilder b, int x, int layers, int growth, string name)
    {
        for (int l = 0; l < layers; l++)
        {
            int y = b.Relu(b.BatchNorm(x, $"{name}.l{l}.bn"), $"{name}.l{l}.relu");
            y = b.Conv(y, growth, 3, padding: 1, bias: false, name: $"{name}.l{l}.conv");
            x = b.Concat([x, y], $"{name}.l{l}.concat");
        }
        return x;
    }

    public static Network DenseNet(Shape input, int classes, int seed = 0)
    {
        var b = new NetworkBuilder(input, seed);
        int x = b.Conv(NetworkBuilder.Input, 16, 3, padding: 1, bias: false, name: "stem");
        x = DenseBlock(b, x, 4, 12, "dense1");
        // transition: BN-ReLU-1×1 halving channels, 2×2 average pool
        x = b.Relu(b.BatchNorm(x, "trans.bn"), "trans.relu");
        x = b.AvgPool(b.Conv(x, b.ShapeOf(x).C / 2, 1, bias: false, name: "trans.conv"), 2, name: "trans.pool");
        x = DenseBlock(b, x, 4, 12, "dense2");
        x = b.Relu(b.BatchNorm(x, "final.bn"), "final.relu");
        x = b.Flatten(b.GlobalAvgPool(x, "gap"), "flatten");
        return b.Build(b.Linear(x, classes, name: "fc"));
    }

    /// <summary>MobileNet block: depthwise 3×3 (stride s)-BN-ReLU then pointwise 1×1-BN-ReLU.</summary>
    public static int DepthwiseSeparable(NetworkBuilder b, int x, int outChannels, int stride, string name, string act = "relu")
    {
        int c = b.ShapeOf(x).C;
        x = b.ConvBnAct(x, c, 3, stride, 1, groups: c, act: act, name: $"{name}.dw");
        return b.ConvBnAct(x, outChannels, 1, act: act, name: $"{name}.pw");
    }

    /// <summary>
    /// The depthwise-separable CNN with BatchNorm (the Fashion-MNIST reference model):
    /// conv3(32)-BN-ReLU, dw-sep 64 s2, dw-sep 128 s2, dw-sep 128, global average pool, fc K.
    /// </summary>
    public static Network MobileNet(Shape input, int classes, int seed = 0)
    {
        var b = new NetworkBuilder(input, seed);
        int x = b.ConvBnAct(NetworkBuilder.Input, 32, 3, name: "stem");
        x = DepthwiseSeparable(b, x, 64, 2, "ds1");
        x = DepthwiseSeparable(b, x, 128, 2, "ds2");
        x = DepthwiseSeparable(b, x, 128, 1, "ds3");
        x = b.Flatten(b.GlobalAvgPool(x, "gap"), "flatten");
        return b.Build(b.Linear(x, classes, name: "fc"));
    }

    /// <summary>
    /// ShuffleNet v1 unit: grouped 1×1 → shuffle → depthwise 3×3 (stride) → grouped 1×1; stride 1 adds
    /// the input, stride 2 concatenates a 3×3 average-pooled shortcut.
    /// </summary>
    public static int ShuffleUnit(NetworkBuilder b, int x, int outChannels, int groups, int stride, string name)
    {
        int cin = b.ShapeOf(x).C;
        int branchOut = stride == 2 ? outChannels - cin : outChannels;
        int mid = Math.Max(groups, branchOut / 4 / groups * groups);
        int y = b.ConvBnAct(x, mid, 1, groups: groups, name: $"{name}.gconv1");
        y = b.Shuffle(y, groups, $"{name}.shuffle");
        y = b.ConvBnAct(y, mid, 3, stride, 1, groups: mid, act: "none", name: $"{name}.dw");
        y = b.ConvBnAct(y, branchOut, 1, groups: groups, act: "none", name: $"{name}.gconv2");
        int merged = stride == 2
            ? b.Concat([y, b.AvgPool(x, 3, 2, 1, name: $"{name}.shortcut")], $"{name}.concat")
            : b.Sum(y, x, $"{name}.add");
        return b.Relu(merged, $"{name}.relu");
    }

    public static Network ShuffleNet(Shape input, int classes, int seed = 0)
    {
        var b = new NetworkBuilder(input, seed);
        int x = b.ConvBnAct(NetworkBuilder.Input, 24, 3, name: "stem");
        x = ShuffleUnit(b, x, 96, 3, 2, "unit1");
        x = ShuffleUnit(b, x, 96, 3, 1, "unit2");
        x = ShuffleUnit(b, x, 192, 3, 2, "unit3");
        x = b.Flatten(b.GlobalAvgPool(x, "gap"), "flatten");
        return b.Build(b.Linear(x, classes, name: "fc"));
    }

    /// <summary>All-convolutional net: stride-2 convs replace pooling; a 1×1 conv to K classes then global average pooling.</summary>
    public static Network AllConv(Shape input, int classes, int seed = 0)
    {
        var b = new NetworkBuilder(input, seed);
        int x = b.ConvBnAct(NetworkBuilder.Input, 32, 3, name: "c1");
        x = b.ConvBnAct(x, 32, 3, 2, name: "c2");
        x = b.ConvBnAct(x, 64, 3, name: "c3");
        x = b.ConvBnAct(x, 64, 3, 2, name: "c4");
        x = b.ConvBnAct(x, 64, 3, name: "c5");
        x = b.Conv(x, classes, 1, name: "classifier");
        return b.Build(b.Flatten(b.GlobalAvgPool(x, "gap"), "flatten"));
    }
}
