namespace Cnn.Edge.AotTests;

/// <summary>Every check the runner knows, in run order.</summary>
public static class Checks
{
    public static readonly Check[] All =
    [
        new("cpu.model-matches-expectation", CpuChecks.ModelMatchesExpectation),
        new("requantize.apply-matches-wide-reference", RequantizeChecks.ApplyMatchesWideReference),
        new("requantize.to-int8-clamps", RequantizeChecks.ToInt8Clamps),
        new("kernels.conv2d-every-isa-matches-scalar", ModelChecks.Conv2DMatchesScalar),
        new("kernels.fully-connected-every-isa-matches-scalar", ModelChecks.FullyConnectedMatchesScalar),
        new("kernels.network-every-isa-matches-scalar", ModelChecks.NetworkMatchesScalar),
        new("interpreter.invoke-allocates-nothing", ModelChecks.InvokeAllocatesNothing),
        new("interpreter.threads-match-one-thread", ModelChecks.ThreadsMatchOneThread),
        new("interpreter.threaded-invoke-allocates-nothing", ModelChecks.ThreadedInvokeAllocatesNothing),
        new("interpreter.threaded-invoke-after-idle-allocates-nothing", ModelChecks.ThreadedInvokeAfterIdleAllocatesNothing),
        new("interpreter.fused-blocks-match-scalar-and-allocate-nothing", ModelChecks.FusedBlocksMatchScalarAndAllocateNothing),
        new("interpreter.budget-below-plan-is-refused", ModelChecks.BudgetBelowPlanIsRefused),
        new("loader.truncated-files-are-rejected", LoaderChecks.TruncatedFilesAreRejected),
        new("loader.mutated-files-are-rejected-or-run", LoaderChecks.MutatedFilesAreRejectedOrRun),
        new("loader.wrong-magic-names-the-header", LoaderChecks.WrongMagicNamesTheHeader),
    ];
}
