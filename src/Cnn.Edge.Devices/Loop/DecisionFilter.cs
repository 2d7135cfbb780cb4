namespace Cnn.Edge.Devices.Loop;

/// <summary>
/// Turns per-frame (class, score) into a stable decision. A class is only entered when its score is at
/// least <see cref="MinConfidence"/> for <see cref="ConfirmFrames"/> frames in a row; the current class
/// is kept while it stays at or above <see cref="ReleaseConfidence"/> (hysteresis: a score wobbling
/// around one threshold does not make a relay chatter). Frames where no class is confident count
/// towards "none" (-1) with the same confirmation rule. A class listed in
/// <see cref="BackgroundClass"/> decides "none".
/// </summary>
public sealed class DecisionFilter
{
    private int _candidate = -1;
    private int _streak;

    public DecisionFilter(float minConfidence, float releaseConfidence, int confirmFrames, int backgroundClass = -1)
    {
        if (!(minConfidence is >= 0f and <= 1f)) throw new ArgumentOutOfRangeException(nameof(minConfidence), "min_confidence must be in [0, 1]");
        if (!(releaseConfidence >= 0f && releaseConfidence <= minConfidence))
            throw new ArgumentOutOfRangeException(nameof(releaseConfidence), "release_confidence must be in [0, min_confidence]");
        if (confirmFrames < 1) throw new ArgumentOutOfRangeException(nameof(confirmFrames), "confirm_frames must be at least 1");
        MinConfidence = minConfidence;
        ReleaseConfidence = releaseConfidence;
        ConfirmFrames = confirmFrames;
        BackgroundClass = backgroundClass;
    }

    public float MinConfidence { get; }
    public float ReleaseConfidence { get; }
    public int ConfirmFrames { get; }
    public int BackgroundClass { get; set; }
    /// <summary>The decided class; -1 = none.</summary>
    public int State { get; private set; } = -1;

    /// <summary>Feeds one frame's top class and score; returns true when <see cref="State"/> changed.</summary>
    public bool Update(int topClass, float score)
    {
        // Holding: the current class keeps the decision while it is still reasonably sure.
        if (State >= 0 && topClass == State && score >= ReleaseConfidence)
        {
            _candidate = State;
            _streak = 0;
            return false;
        }
        int observed = score >= MinConfidence && topClass != BackgroundClass ? topClass : -1;
        if (observed == State)
        {
            _streak = 0;
            _candidate = State;
            return false;
        }
        if (observed == _candidate) _streak++;
        else
        {
            _candidate = observed;
            _streak = 1;
        }
        if (_streak < ConfirmFrames) return false;
        State = observed;
        _streak = 0;
        return true;
    }

    /// <summary>Forget everything (camera lost, model swapped): next decision starts from "none".</summary>
    public void Reset()
    {
        State = -1;
        _candidate = -1;
        _streak = 0;
    }
}
