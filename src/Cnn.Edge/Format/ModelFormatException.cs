namespace Cnn.Edge;

/// <summary>
/// The one exception a malformed model file raises, whatever is wrong with it. It names the
/// section and byte offset, what was expected and what was found, and a hint for the user.
/// </summary>
public sealed class ModelFormatException : Exception
{
    public ModelFormatException(string section, long offset, string expected, string actual, string hint)
        : base($"invalid model file: {section} at byte {offset}: expected {expected}, found {actual}. {hint}")
    {
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
}
