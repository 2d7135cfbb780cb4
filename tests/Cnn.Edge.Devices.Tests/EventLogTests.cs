using System.Text;
using System.Text.Json;
using Cnn.Edge.Devices.Loop;

namespace Cnn.Edge.Devices.Tests;

public class EventLogTests
{
    [Fact]
    public void TimesAreWrittenExactlyAsUtf8JsonWriterWritesADateTimeOffset()
    {
        var random = new Random(7);
        var times = new List<DateTimeOffset>
        {
            new(2026, 11, 30, 9, 15, 52, TimeSpan.Zero),
            new DateTimeOffset(2026, 11, 30, 9, 15, 52, TimeSpan.Zero).AddTicks(5_706_040),
            new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.FromHours(-7)).AddTicks(50),
            new DateTimeOffset(1999, 12, 31, 23, 59, 59, TimeSpan.FromMinutes(330)).AddTicks(9_999_999),
        };
        for (int i = 0; i < 200; i++)
            times.Add(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.FromMinutes(15 * random.Next(-48, 57))).AddTicks(random.NextInt64(0, TimeSpan.TicksPerDay * 3650)));
        Span<byte> mine = stackalloc byte[40];
        foreach (var t in times)
        {
            var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer)) w.WriteStringValue(t);
            string expected = Encoding.UTF8.GetString(buffer.ToArray()).Trim('"');
            Assert.Equal(expected, Encoding.UTF8.GetString(mine[..EventLog.FormatTime(t, mine)]));
        }
    }

    [Fact]
    public void EveryLineIsOneJsonObjectWithEventAndTime()
    {
        var output = new MemoryStream();
        var log = new EventLog(output);
        var time = new DateTimeOffset(2026, 11, 30, 9, 15, 52, TimeSpan.Zero).AddTicks(5_706_040);
        log.Decision(time, 4, "red", 1, 0.99614f, 0.1956, "red", true, 1);
        log.Event("stop", time, "cancelled", ("frames", "16"));
        string[] lines = Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("""{"event":"decision","time":"2026-11-30T09:15:52.570604+00:00","frame":4,"class":"red","class_index":1,"score":0.9961,"latency_ms":0.196,"state":"red","changed":true,"model":1}""", lines[0]);
        Assert.Equal("""{"event":"stop","time":"2026-11-30T09:15:52.570604+00:00","message":"cancelled","frames":"16"}""", lines[1]);
    }
}
