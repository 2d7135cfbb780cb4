namespace Cnn.Edge.Devices.Loop;

/// <summary>Monotonic time and waiting for the loop, replaceable in tests by <see cref="ManualClock"/>.</summary>
public abstract class LoopClock
{
    public static LoopClock System { get; } = new SystemClock();

    /// <summary>Monotonic time since an arbitrary start.</summary>
    public abstract TimeSpan Now { get; }
    public abstract DateTimeOffset UtcNow { get; }
    /// <summary>Waits until <paramref name="timeout"/> passes, <paramref name="wake"/> is signalled or the token is cancelled.</summary>
    public abstract void Wait(TimeSpan timeout, WaitHandle? wake, CancellationToken cancellationToken);

    private sealed class SystemClock : LoopClock
    {
        private readonly long _start = global::System.Diagnostics.Stopwatch.GetTimestamp();
        [ThreadStatic] private static WaitHandle[]? t_handles;

        public override TimeSpan Now => global::System.Diagnostics.Stopwatch.GetElapsedTime(_start);
        public override DateTimeOffset UtcNow => DateTimeOffset.UtcNow;

        public override void Wait(TimeSpan timeout, WaitHandle? wake, CancellationToken cancellationToken)
        {
            if (timeout <= TimeSpan.Zero) return;
            if (timeout > TimeSpan.FromDays(1)) timeout = TimeSpan.FromDays(1);
            if (wake is null) { cancellationToken.WaitHandle.WaitOne(timeout); return; }
            // Reuse the handle pair so a steady loop does not allocate an array per wait.
            var handles = t_handles ??= new WaitHandle[2];
            handles[0] = wake;
            handles[1] = cancellationToken.WaitHandle;
            WaitHandle.WaitAny(handles, timeout);
        }
    }
}

/// <summary>
/// Test clock: time moves only when the loop waits (by the full timeout unless the wake handle is
/// already set) or when a test calls <see cref="Advance"/>. <see cref="Waiting"/> runs before each
/// wait so a test can inject GPIO edges at chosen times.
/// </summary>
public sealed class ManualClock : LoopClock
{
    private TimeSpan _now;
    private readonly DateTimeOffset _epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public override TimeSpan Now => _now;
    public override DateTimeOffset UtcNow => _epoch + _now;
    /// <summary>Called with (now, timeout) before each wait.</summary>
    public Action<TimeSpan, TimeSpan>? Waiting { get; set; }
    public int WaitCount { get; private set; }

    public void Advance(TimeSpan by) => _now += by;

    public override void Wait(TimeSpan timeout, WaitHandle? wake, CancellationToken cancellationToken)
    {
        WaitCount++;
        Waiting?.Invoke(_now, timeout);
        if (cancellationToken.IsCancellationRequested) return;
        // A signalled wake handle ends the wait at once (and is consumed, as a real wait would).
        if (wake is not null && wake.WaitOne(0)) return;
        if (timeout > TimeSpan.Zero) _now += timeout;
    }
}
