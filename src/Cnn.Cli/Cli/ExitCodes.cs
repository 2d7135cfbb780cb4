namespace Cnn.Cli;

/// <summary>
/// The process exit codes of <c>cnn</c>, documented in docs/cli.md. Scripts (CI, systemd) rely on
/// them, so a value never changes meaning once released.
/// </summary>
public static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Ok = 0;
    /// <summary>The command line could not be parsed (unknown option, missing argument, bad value).</summary>
    public const int Usage = 1;
    /// <summary>An input file is missing, unreadable, corrupt or of the wrong shape.</summary>
    public const int BadInput = 2;
    /// <summary>The model's arena plan does not fit the byte budget given with --budget.</summary>
    public const int BudgetExceeded = 3;
    /// <summary>A quality gate failed: accuracy below --min-accuracy or int8 drop above --max-drop.</summary>
    public const int GateFailed = 4;
    /// <summary>The command needs a part of the SDK that this build does not contain yet.</summary>
    public const int NotAvailable = 5;
    /// <summary>A device (camera, GPIO chip, frame folder) could not be opened or failed while running.</summary>
    public const int DeviceError = 6;
    /// <summary>A bug in cnn: the message says where; CNN_DEBUG=1 prints the stack trace.</summary>
    public const int InternalError = 70;
    /// <summary>Interrupted by Ctrl+C or SIGTERM.</summary>
    public const int Interrupted = 130;
}
