using System.Text.Json;

namespace Cnn.Edge.Devices.Config;

/// <summary>
/// Reads one JSON object field by field (snake_case keys), for the configuration and the board profiles.
/// A key that is missing or JSON null keeps the default; a value of the wrong type keeps the default and
/// adds a problem naming its key path, so every type error in a file is reported at once (a serializer
/// stops at the first). <see cref="Finish"/> reports the keys nobody asked for: a typo must not silently
/// fall back to a default. Written by hand rather than with JsonSerializer: the device binary then
/// carries only System.Text.Json's reader, not its serializer and converters (about 0.5 MB of arm64 code).
/// </summary>
internal sealed class JsonFields
{
    private readonly JsonElement _object;
    private readonly string _path;
    private readonly List<ConfigProblem> _problems;
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    private JsonFields(JsonElement obj, string path, List<ConfigProblem> problems)
    {
        _object = obj;
        _path = path;
        _problems = problems;
    }

    internal static readonly JsonDocumentOptions Options = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    /// <summary>The root object of the document; null (and one problem) when it is no object.</summary>
    public static JsonFields? Root(JsonDocument document, List<ConfigProblem> problems)
    {
        if (document.RootElement.ValueKind == JsonValueKind.Object) return new JsonFields(document.RootElement, "", problems);
        problems.Add(new ConfigProblem("(file)", $"the file holds {Kind(document.RootElement)}, not a JSON object"));
        return null;
    }

    /// <summary>Parses with comments and trailing commas allowed; a syntax error becomes one "(file)" problem with line and column.</summary>
    public static JsonDocument? Parse(string json, List<ConfigProblem> problems)
    {
        try { return JsonDocument.Parse(json, Options); }
        catch (JsonException e)
        {
            string where = e.LineNumber is long line ? $" (line {line + 1}, column {e.BytePositionInLine + 1})" : "";
            problems.Add(new ConfigProblem("(file)", "not valid JSON" + where + ": " + FirstSentence(e.Message)));
            return null;
        }
    }

    private static string FirstSentence(string message)
    {
        int cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (cut > 0 ? message[..cut] : message).TrimEnd();
    }

    private string Key(string name) => _path + name;

    private bool TryGet(string name, out JsonElement value)
    {
        _read.Add(name);
        return _object.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;
    }

    private void Wrong(string name, string expected, JsonElement got)
        => _problems.Add(new ConfigProblem(Key(name), $"must be {expected} (got {Kind(got)} {Shorten(got.GetRawText())})"));

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "the number",
        JsonValueKind.True or JsonValueKind.False => "the boolean",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => "null",
    };

    private static string Shorten(string raw) => raw.Length <= 40 ? raw : raw[..37] + "...";

    public string String(string name, string fallback) => OptString(name) ?? fallback;

    public string? OptString(string name)
    {
        if (!TryGet(name, out var v)) return null;
        if (v.ValueKind == JsonValueKind.String) return v.GetString();
        Wrong(name, "a string", v);
        return null;
    }

    public int Int(string name, int fallback) => OptInt(name) ?? fallback;

    public int? OptInt(string name)
    {
        if (!TryGet(name, out var v)) return null;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int n)) return n;
        Wrong(name, "a whole number (32-bit)", v);
        return null;
    }

    public long Long(string name, long fallback)
    {
        if (!TryGet(name, out var v)) return fallback;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long n)) return n;
        Wrong(name, "a whole number", v);
        return fallback;
    }

    public double Double(string name, double fallback)
    {
        if (!TryGet(name, out var v)) return fallback;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d)) return d;
        Wrong(name, "a number", v);
        return fallback;
    }

    public float Float(string name, float fallback) => OptFloat(name) ?? fallback;

    public float? OptFloat(string name)
    {
        if (!TryGet(name, out var v)) return null;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetSingle(out float f)) return f;
        Wrong(name, "a number", v);
        return null;
    }

    public bool Bool(string name, bool fallback)
    {
        if (!TryGet(name, out var v)) return fallback;
        if (v.ValueKind is JsonValueKind.True or JsonValueKind.False) return v.GetBoolean();
        Wrong(name, "true or false", v);
        return fallback;
    }

    /// <summary>An array of strings; an element of another type is reported by index and left out.</summary>
    public string[]? Strings(string name)
    {
        if (!Array(name, out var v)) return null;
        var list = new List<string>();
        int i = 0;
        foreach (var e in v.EnumerateArray())
        {
            if (e.ValueKind == JsonValueKind.String) list.Add(e.GetString()!);
            else _problems.Add(new ConfigProblem($"{Key(name)}[{i}]", $"must be a string (got {Kind(e)} {Shorten(e.GetRawText())})"));
            i++;
        }
        return list.ToArray();
    }

    public int[]? Ints(string name)
    {
        if (!Array(name, out var v)) return null;
        return IntArray(v, Key(name));
    }

    private int[] IntArray(JsonElement array, string key)
    {
        var list = new List<int>();
        int i = 0;
        foreach (var e in array.EnumerateArray())
        {
            if (e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int n)) list.Add(n);
            else _problems.Add(new ConfigProblem($"{key}[{i}]", $"must be a whole number (got {Kind(e)} {Shorten(e.GetRawText())})"));
            i++;
        }
        return list.ToArray();
    }

    /// <summary>A nested object (null when absent): read its fields, then call <see cref="Finish"/> on it.</summary>
    public JsonFields? Object(string name)
    {
        if (!TryGet(name, out var v)) return null;
        if (v.ValueKind == JsonValueKind.Object) return new JsonFields(v, Key(name) + ".", _problems);
        Wrong(name, "an object", v);
        return null;
    }

    /// <summary>An array of objects; each element comes with its own field reader (null for an element that is no object, which is reported).</summary>
    public List<JsonFields?>? Objects(string name)
    {
        if (!Array(name, out var v)) return null;
        var list = new List<JsonFields?>();
        int i = 0;
        foreach (var e in v.EnumerateArray())
        {
            string key = $"{Key(name)}[{i++}]";
            if (e.ValueKind == JsonValueKind.Object) list.Add(new JsonFields(e, key + ".", _problems));
            else
            {
                _problems.Add(new ConfigProblem(key, $"must be an object (got {Kind(e)} {Shorten(e.GetRawText())})"));
                list.Add(null);
            }
        }
        return list;
    }

    /// <summary>An object used as a map from its keys to whole numbers (board header pins).</summary>
    public Dictionary<string, int>? IntMap(string name)
    {
        var map = Object(name);
        if (map is null) return null;
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var p in map._object.EnumerateObject())
        {
            if (p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetInt32(out int n)) result[p.Name] = n;
            else _problems.Add(new ConfigProblem(map.Key(p.Name), $"must be a whole number (got {Kind(p.Value)} {Shorten(p.Value.GetRawText())})"));
        }
        return result;
    }

    /// <summary>An object used as a map from its keys to arrays of whole numbers (board power pins).</summary>
    public Dictionary<string, int[]>? IntArrayMap(string name)
    {
        var map = Object(name);
        if (map is null) return null;
        var result = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (var p in map._object.EnumerateObject())
        {
            if (p.Value.ValueKind == JsonValueKind.Array) result[p.Name] = IntArray(p.Value, map.Key(p.Name));
            else _problems.Add(new ConfigProblem(map.Key(p.Name), $"must be an array of whole numbers (got {Kind(p.Value)} {Shorten(p.Value.GetRawText())})"));
        }
        return result;
    }

    private bool Array(string name, out JsonElement value)
    {
        if (!TryGet(name, out value)) return false;
        if (value.ValueKind == JsonValueKind.Array) return true;
        Wrong(name, "an array", value);
        return false;
    }

    /// <summary>Reports every key of this object that was not read (unknown: a typo) and every key given twice.</summary>
    public void Finish()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in _object.EnumerateObject())
        {
            if (!seen.Add(p.Name)) _problems.Add(new ConfigProblem(Key(p.Name), "is given twice"));
            else if (!_read.Contains(p.Name)) _problems.Add(new ConfigProblem(Key(p.Name), "unknown key"));
        }
    }
}
