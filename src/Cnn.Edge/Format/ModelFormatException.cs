namespace Cnn.Edge;

/// <summary>
/// The one exception a malformed model file raises, whatever is wrong with it. It names the
/// section and byte offset, what was expected and what was found, and a hint for the user.
/// </summary>
public sealed class ModelFormatException : Exception
{
    public ModelFormatException(string section, long offset, string expected, string actual, string hint)
        : this(null, section, offset, expected, actual, hint)
    {
    }

    private ModelFormatException(string? path, string section, long offset, string expected, string actual, string hint)
        : base($"invalid model file{(path is null ? "" : $" '{path}'")}: {Describe(section, offset, expected, actual, hint)}")
    {
        Path = path;
        Section = section;
        Offset = offset;
        Expected = expected;
        Actual = actual;
        Hint = hint;
    }

    /// <summary>File section: header, tensors, ops, plan, data, metadata, strings.</summary>
    public string Section { get; }
    /// <summary>Byte offset in the file of the offending field (or of the record it belongs to).</summary>
    public long Offset { get; }
    public string Expected { get; }
    public string Actual { get; }
    public string Hint { get; }
    /// <summary>The file, when the model was read from one (<see cref="EdgeModel.LoadFile"/>); null for bytes in memory.</summary>
    public string? Path { get; }

    /// <summary>What is wrong, without the "invalid model file" prefix: for callers that name the file themselves.</summary>
    public string Detail => Describe(Section, Offset, Expected, Actual, Hint);

    private static string Describe(string section, long offset, string expected, string actual, string hint)
        => $"{section} at byte {offset}: expected {expected}, found {actual}. {hint}";

    /// <summary>The same error, naming the file it was found in.</summary>
    public ModelFormatException WithPath(string path) => new(path, Section, Offset, Expected, Actual, Hint);
}
