using Cnn.Edge.Devices.Frames;

namespace Cnn.Edge.Devices.Loop;

/// <summary>
/// An <see cref="IClassifier"/> over the Cnn.Edge <see cref="Interpreter"/>. The top class is the arg-max
/// of output 0; the score is a probability: taken as is from a softmax output (float32, or int8 with
/// scale 1/256 and zero point -128), otherwise a softmax over the dequantized logits computed in a
/// buffer allocated once here.
/// </summary>
public sealed class EdgeClassifier : IClassifier
{
    private readonly Interpreter _interpreter;
    private readonly TensorInfo _output;
    private readonly bool _probabilities;
    private readonly float[] _logits;

    public EdgeClassifier(Interpreter interpreter, IReadOnlyList<string>? labels = null)
    {
        _interpreter = interpreter;
        EdgeModel model = interpreter.Model;
        if (model.Inputs.Length != 1) throw new ArgumentException($"the model has {model.Inputs.Length} inputs; a camera classifier needs exactly 1");
        if (model.Outputs.Length < 1) throw new ArgumentException("the model has no output");
        TensorInfo input = model.Tensors[model.Inputs[0]];
        if (input.Type is not (TensorType.Int8 or TensorType.Float32)) throw new ArgumentException($"input tensor '{input.Name}' is {input.Type}; expected Int8 or Float32");
        Input = InputSpec.FromModel(input.Shape, input.Scale, input.ZeroPoint, model.Metadata);
        IsFloatInput = input.Type == TensorType.Float32;
        _output = model.Tensors[model.Outputs[0]];
        if (_output.Type is not (TensorType.Int8 or TensorType.Float32)) throw new ArgumentException($"output tensor '{_output.Name}' is {_output.Type}; expected Int8 or Float32");
        ClassCount = _output.ElementCount / Math.Max(1, _output.Shape.Length > 0 ? _output.Shape[0] : 1);
        if (ClassCount < 1) throw new ArgumentException($"output tensor '{_output.Name}' [{string.Join(',', _output.Shape)}] has no classes");
        _probabilities = _output.Type == TensorType.Float32
            ? model.Ops.Count > 0 && model.Ops[^1].Code == OpCode.Softmax
            : Math.Abs(_output.Scale - 1f / 256f) < 1e-7f && _output.ZeroPoint == -128;
        _logits = new float[ClassCount];
        Labels = ResolveLabels(labels, model.Metadata, ClassCount);
    }

    public Interpreter Interpreter => _interpreter;
    public InputSpec Input { get; }
    public bool IsFloatInput { get; }
    public Span<sbyte> InputInt8 => _interpreter.InputInt8();
    public Span<float> InputFloat => _interpreter.InputFloat();
    public int ClassCount { get; }
    public IReadOnlyList<string> Labels { get; }

    /// <summary>Labels from the caller, else metadata "labels" (comma or newline separated), else "class N".</summary>
    public static string[] ResolveLabels(IReadOnlyList<string>? labels, IReadOnlyDictionary<string, string> metadata, int classCount)
    {
        if (labels is not null)
        {
            if (labels.Count != classCount) throw new ArgumentException($"{labels.Count} labels given for a model with {classCount} classes");
            return labels.ToArray();
        }
        if (metadata.TryGetValue("labels", out string? text))
        {
            string[] parts = text.Split([',', '\n'], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == classCount) return parts;
        }
        var names = new string[classCount];
        for (int i = 0; i < classCount; i++) names[i] = "class " + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return names;
    }

    public ClassScore Classify()
    {
        _interpreter.Invoke();
        int n = ClassCount;
        if (_output.Type == TensorType.Float32)
        {
            ReadOnlySpan<float> o = _interpreter.OutputFloat().Slice(0, n);
            o.CopyTo(_logits);
        }
        else
        {
            ReadOnlySpan<sbyte> o = _interpreter.OutputInt8().Slice(0, n);
            for (int i = 0; i < n; i++) _logits[i] = _probabilities ? (o[i] + 128) / 256f : (o[i] - _output.ZeroPoint) * _output.Scale;
        }
        int best = 0;
        for (int i = 1; i < n; i++) if (_logits[i] > _logits[best]) best = i;
        if (_probabilities) return new ClassScore(best, Math.Clamp(_logits[best], 0f, 1f));
        // Softmax of the top class, stable: 1 / sum(exp(l_i - l_max)).
        float sum = 0;
        for (int i = 0; i < n; i++) sum += MathF.Exp(_logits[i] - _logits[best]);
        return new ClassScore(best, 1f / sum);
    }

    public void Dispose() => _interpreter.Dispose();
}

/// <summary>Loads .cnnq files with <see cref="EdgeModel.LoadFile"/> (full validation) into an interpreter within a byte budget.</summary>
public sealed class EdgeModelLoader(long budgetBytes = 0, int threads = 1, IReadOnlyList<string>? labels = null) : IModelLoader
{
    public IClassifier Load(string path)
    {
        EdgeModel model;
        try { model = EdgeModel.LoadFile(path); }
        catch (ModelFormatException e) { throw new InvalidDataException($"model '{path}' is invalid: {e.Detail}", e); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new InvalidDataException($"model '{path}' cannot be read: {e.Message}", e); }
        Interpreter interpreter;
        try { interpreter = new Interpreter(model, new InterpreterOptions { BudgetBytes = budgetBytes > 0 ? budgetBytes : null, Threads = threads }); }
        catch (ArenaBudgetException e) { throw new InvalidDataException($"model '{path}' does not fit memory_budget_bytes {budgetBytes}: {e.Message}", e); }
        try { return new EdgeClassifier(interpreter, labels); }
        catch (ArgumentException e)
        {
            interpreter.Dispose();
            throw new InvalidDataException($"model '{path}' cannot classify camera frames: {e.Message}", e);
        }
    }
}
