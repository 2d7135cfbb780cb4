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
        _writer.WriteString("time"u8, time);
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
