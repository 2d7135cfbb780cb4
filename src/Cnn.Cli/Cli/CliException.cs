namespace Cnn.Cli;

/// <summary>
/// An error the user can act on: the message is printed as is (no stack trace) and the process
/// exits with <see cref="ExitCode"/>.
/// </summary>
public sealed class CliException(int exitCode, string message, string? hint = null) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
    public string? Hint { get; } = hint;

    public static CliException MissingFile(string what, string path) =>
        new(ExitCodes.BadInput, $"{what} not found: {path}", "check the path; relative paths are taken from the current folder");

    public static CliException NotInThisBuild(string step, string part) =>
        new(ExitCodes.NotAvailable, $"'{step}' needs {part}, which this build of cnn does not contain yet",
            "update to a build that has it (see docs/cli.md, 'Parts of the SDK')");
}
