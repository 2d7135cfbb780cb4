namespace Cnn.Edge.AotTests;

/// <summary>One named check; its body throws <see cref="CheckException"/> (or anything) to fail.</summary>
public sealed record Check(string Name, Action Body);

public sealed class CheckException(string message) : Exception(message);

/// <summary>Thrown when a check does not apply on this CPU or configuration (counted apart, never as a pass).</summary>
public sealed class SkipException(string message) : Exception(message);

public static class Expect
{
    public static void True(bool condition, string message)
    {
        if (!condition) throw new CheckException(message);
    }

    public static void Equal<T>(T expected, T actual, string what) where T : IEquatable<T>
    {
        if (!expected.Equals(actual)) throw new CheckException($"{what}: expected {expected}, got {actual}");
    }

    /// <summary>Bit-exact comparison; the message names the first differing element and the count.</summary>
    public static void SameBytes(ReadOnlySpan<sbyte> expected, ReadOnlySpan<sbyte> actual, string what)
    {
        if (expected.Length != actual.Length)
            throw new CheckException($"{what}: length {actual.Length}, expected {expected.Length}");
        int first = -1, count = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            if (expected[i] == actual[i]) continue;
            if (first < 0) first = i;
            count++;
        }
        if (count > 0)
            throw new CheckException($"{what}: {count} of {expected.Length} elements differ, first at [{first}]: expected {expected[first]}, got {actual[first]}");
    }

    public static TException Throws<TException>(Action action, string what) where TException : Exception
    {
        try
        {
            action();
        }
        catch (TException e)
        {
            return e;
        }
        catch (Exception e)
        {
            throw new CheckException($"{what}: expected {typeof(TException).Name}, got {e.GetType().Name}: {e.Message}");
        }
        throw new CheckException($"{what}: expected {typeof(TException).Name}, nothing was thrown");
    }
}
