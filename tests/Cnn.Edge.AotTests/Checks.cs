namespace Cnn.Edge.AotTests;

/// <summary>Every check the runner knows, in run order.</summary>
public static class Checks
{
    public static readonly Check[] All =
    [
        new("cpu.model-matches-expectation", CpuChecks.ModelMatchesExpectation),
        new("requantize.apply-matches-wide-reference", RequantizeChecks.ApplyMatchesWideReference),
        new("requantize.to-int8-clamps", RequantizeChecks.ToInt8Clamps),
    ];
}
