using System.Buffers;
using System.Text.Json;

namespace Cnn.Edge.Devices.Loop;

/// <summary>
/// One JSON object per line on a stream (standard output under systemd goes to the journal). Every
/// line has <c>"event"</c>: decision lines are <c>{"event":"decision","time":...,"frame":N,"class":"...",
/// "class_index":i,"score":s,"latency_ms":t,"state":"...","changed":bool,"model":g}</c>; others are
/// start, camera_error, camera_reopened, model_swapped, model_refused, stop. Decision lines reuse one
/// buffer and writer, so logging them allocates nothing.
/// </summary>
public sealed class EventLog
{
    private readonly Stream _out;
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private readonly Utf8JsonWriter _writer;
    private readonly object _lock = new();

    public EventLog(Stream output)
    {
        _out = output;
        _writer = new Utf8JsonWriter(_buffer, new JsonWriterOptions { Indented = false, SkipValidation = true });
    }

    /// <summary>Number of lines written.</summary>
    public long Lines { get; private set; }

    public void Decision(DateTimeOffset time, long frame, string label, int classIndex, float score, double latencyMs,
        string state, bool changed, int modelGeneration)
    {
        lock (_lock)
        {
            Begin("decision", time);
            _writer.WriteNumber("frame"u8, frame);
            _writer.WriteString("class"u8, label);
            _writer.WriteNumber("class_index"u8, classIndex);
            _writer.WriteNumber("score"u8, Math.Round(score, 4));
            _writer.WriteNumber("latency_ms"u8, Math.Round(latencyMs, 3));
            _writer.WriteString("state"u8, state);
            _writer.WriteBoolean("changed"u8, changed);
            _writer.WriteNumber("model"u8, modelGeneration);
            End();
        }
    }

    /// <summary>A non-decision event with a message and optional extra string fields.</summary>
    public void Event(string name, DateTimeOffset time, string message, params ReadOnlySpan<(string Key, string Value)> fields)
    {
        lock (_lock)
        {
            Begin(name, time);
            _writer.WriteString("message"u8, message);
            foreach (var (k, v) in fields) _writer.WriteString(k, v);
            End();
        }
    }

    private void Begin(string name, DateTimeOffset time)
    {
        _buffer.ResetWrittenCount();
        _writer.Reset(_buffer);
        _writer.WriteStartObject();
        _writer.WriteString("event"u8, name);
        // Raw: the writer's default encoder would escape the offset's '+' as \u002B.
        Span<byte> text = stackalloc byte[40];
        text[0] = (byte)'"';
        int end = 1 + FormatTime(time, text[1..]);
        text[end++] = (byte)'"';
        _writer.WritePropertyName("time"u8);
        _writer.WriteRawValue(text[..end], skipInputValidation: true);
    }

    /// <summary>
    /// ISO 8601 as Utf8JsonWriter writes a DateTimeOffset (<c>2026-11-30T09:15:52.5706+00:00</c>: the fraction
    /// without trailing zeros, none when zero), formatted here because the BCL's date formatting brings the
    /// local time zone machinery (TimeZoneInfo, about 40 KB) into the device binary. Needs 33 bytes at most.
    /// </summary>
    internal static int FormatTime(DateTimeOffset time, Span<byte> utf8)
    {
        DateTime t = time.DateTime; // the clock reading at the offset; no time zone lookup
        int pos = Digits(utf8, 0, t.Year, 4);
        utf8[pos++] = (byte)'-';
        pos = Digits(utf8, pos, t.Month, 2);
        utf8[pos++] = (byte)'-';
        pos = Digits(utf8, pos, t.Day, 2);
        utf8[pos++] = (byte)'T';
        pos = Digits(utf8, pos, t.Hour, 2);
        utf8[pos++] = (byte)':';
        pos = Digits(utf8, pos, t.Minute, 2);
        utf8[pos++] = (byte)':';
        pos = Digits(utf8, pos, t.Second, 2);
        long fraction = t.Ticks % TimeSpan.TicksPerSecond;
        if (fraction != 0)
        {
            int digits = 7;
            while (fraction % 10 == 0)
            {
                fraction /= 10;
                digits--;
            }
            utf8[pos++] = (byte)'.';
            pos = Digits(utf8, pos, fraction, digits);
        }
        int minutes = (int)time.Offset.TotalMinutes;
        utf8[pos++] = (byte)(minutes < 0 ? '-' : '+');
        minutes = Math.Abs(minutes);
        pos = Digits(utf8, pos, minutes / 60, 2);
        utf8[pos++] = (byte)':';
        return Digits(utf8, pos, minutes % 60, 2);
    }

    /// <summary>Writes <paramref name="value"/> as exactly <paramref name="count"/> decimal digits at <paramref name="pos"/>; returns the end.</summary>
    private static int Digits(Span<byte> utf8, int pos, long value, int count)
    {
        for (int i = count - 1; i >= 0; i--, value /= 10) utf8[pos + i] = (byte)('0' + value % 10);
        return pos + count;
    }

    private void End()
    {
        _writer.WriteEndObject();
        _writer.Flush();
        _buffer.GetSpan(1)[0] = (byte)'\n';
        _buffer.Advance(1);
        try
        {
            _out.Write(_buffer.WrittenSpan);
            _out.Flush();
        }
        catch (IOException) { /* a closed stdout must not stop the device */ }
        Lines++;
    }
}
