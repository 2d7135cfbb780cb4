using Cnn.Edge.Devices.Frames;

namespace Cnn.Edge.Devices.Loop;

/// <summary>Top class of one inference and its probability-like score in [0, 1].</summary>
public readonly record struct ClassScore(int Class, float Score);

/// <summary>
/// A loaded model ready to run: the frame converter writes straight into <see cref="InputInt8"/>
/// (or <see cref="InputFloat"/> when <see cref="IsFloatInput"/>), then <see cref="Classify"/> runs
/// the network and reads the top class. Classify must not allocate.
/// </summary>
public interface IClassifier : IDisposable
{
    InputSpec Input { get; }
    bool IsFloatInput { get; }
    Span<sbyte> InputInt8 { get; }
    Span<float> InputFloat { get; }
    int ClassCount { get; }
    /// <summary>One label per class (from the model metadata or the config; "class N" when unknown).</summary>
    IReadOnlyList<string> Labels { get; }
    ClassScore Classify();
}

/// <summary>Loads and fully validates a model file; throws with a message naming the problem.</summary>
public interface IModelLoader
{
    IClassifier Load(string path);
}
