namespace Cnn.Edge;

/// <summary>
/// The model's memory plan (arena + the largest op scratch) does not fit the byte budget. Names the op
/// where the live bytes peak, the tensors alive there, and how many bytes are missing.
/// </summary>
public sealed class ArenaBudgetException : Exception
{
    public ArenaBudgetException(long requiredBytes, long budgetBytes, int peakOpIndex, string peakOpName, IReadOnlyList<string> aliveTensors, long arenaBytes, long scratchBytes)
        : base($"the model needs {requiredBytes} bytes (arena {arenaBytes} + scratch {scratchBytes}) but the budget is {budgetBytes}: "
            + $"{requiredBytes - budgetBytes} bytes missing. The live bytes peak at op #{peakOpIndex} '{peakOpName}', where "
            + $"{aliveTensors.Count} tensors are alive: {string.Join(", ", aliveTensors)}. Shrink those layers (channels, resolution) or raise the budget.")
    {
        RequiredBytes = requiredBytes;
        BudgetBytes = budgetBytes;
        PeakOpIndex = peakOpIndex;
        PeakOpName = peakOpName;
        AliveTensors = aliveTensors;
    }

    public long RequiredBytes { get; }
    public long BudgetBytes { get; }
    public long MissingBytes => RequiredBytes - BudgetBytes;
    public int PeakOpIndex { get; }
    public string PeakOpName { get; }
    /// <summary>The tensors alive at the peak op, each as "name type[shape] N bytes".</summary>
    public IReadOnlyList<string> AliveTensors { get; }
}
