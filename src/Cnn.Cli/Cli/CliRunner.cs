using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Runtime.CompilerServices;
using Cnn.Edge;

namespace Cnn.Cli;

/// <summary>Shared plumbing for commands: the --json option, error mapping and help examples.</summary>
public static class CliRunner
{
    private static readonly ConditionalWeakTable<Command, string[]> ExamplesByCommand = new();

    public static Option<bool> JsonOption() => new("--json")
    {
        Description = "Write the figures as one JSON document on stdout (progress and notes go to stderr)",
    };

    /// <summary>
    /// --budget BYTES: a plain byte count or one with a unit, <c>64KB</c>, <c>64K</c>, <c>64KiB</c>, <c>1.5MB</c>
    /// (K = 1024, as memory sizes of boards are quoted). A bad value is a usage error naming it.
    /// </summary>
    public static Option<long?> BudgetOption(string description) => new("--budget")
    {
        Description = description + " (bytes, or with a unit: 64KB, 1MB; K = 1024)",
        CustomParser = r =>
        {
            string text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
            if (TryParseBytes(text, out long v)) return v;
            r.AddError($"--budget '{text}' is not a byte size (examples: 65536, 64KB, 1.5MB)");
            return null;
        },
    };

    public static bool TryParseBytes(string text, out long bytes)
    {
        bytes = 0;
        string t = text.Trim().ToUpperInvariant();
        long unit = 1;
        foreach (var (suffix, u) in new[] { ("KIB", 1L << 10), ("MIB", 1L << 20), ("GIB", 1L << 30), ("KB", 1L << 10), ("MB", 1L << 20), ("GB", 1L << 30), ("K", 1L << 10), ("M", 1L << 20), ("G", 1L << 30), ("B", 1L) })
        {
            if (!t.EndsWith(suffix, StringComparison.Ordinal)) continue;
            unit = u;
            t = t[..^suffix.Length].TrimEnd();
            break;
        }
        if (!double.TryParse(t, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double n) ||
            !double.IsFinite(n) || n <= 0 || n * unit > long.MaxValue)
            return false;
        bytes = (long)Math.Round(n * unit);
        return bytes > 0;
    }

    /// <summary>Lines shown under "Examples:" in this command's --help.</summary>
    public static T WithExamples<T>(this T command, params string[] examples) where T : Command
    {
        ExamplesByCommand.AddOrUpdate(command, examples);
        return command;
    }

    /// <summary>
    /// Sets the command's action: runs <paramref name="body"/> and turns the errors a user can
    /// cause (missing or corrupt file, budget, device) into a one-paragraph message and the
    /// documented exit code, never a stack trace (CNN_DEBUG=1 adds it).
    /// </summary>
    public static void SetGuardedAction(this Command command, Option<bool>? json, Func<ParseResult, CliContext, int> body)
    {
        command.SetAction(parseResult =>
        {
            var ctx = new CliContext(parseResult, json is not null && parseResult.GetValue(json));
            return Guard(ctx, () => body(parseResult, ctx));
        });
    }

    public static int Guard(CliContext ctx, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e)
        {
            (int code, string message, string? hint) = Describe(e);
            ctx.Err.WriteLine($"cnn: error: {message}");
            if (hint is not null) ctx.Err.WriteLine($"cnn: hint: {hint}");
            if (Environment.GetEnvironmentVariable("CNN_DEBUG") == "1") ctx.Err.WriteLine(e);
            return code;
        }
    }

    internal static (int Code, string Message, string? Hint) Describe(Exception e) => e switch
    {
        CliException c => (c.ExitCode, c.Message, c.Hint),
        ModelFormatException m => (ExitCodes.BadInput, m.Message, null),
        Cnn.Onnx.OnnxFormatException o => (ExitCodes.BadInput, $"invalid ONNX file: {o.Message}", "export the model again (opset 13, batch 1); see docs/getting-started.md"),
        Cnn.Trainer.Layers.ModelSpecException m => (ExitCodes.BadInput, $"network description: {m.Message}", null),
        Cnn.Quantize.Import.UnsupportedModelException u => (ExitCodes.BadInput, u.Message, null),
        Cnn.Edge.Devices.Config.ConfigException c => (ExitCodes.BadInput, c.Message, null),
        Cnn.Edge.Devices.Frames.FrameSourceException f => (ExitCodes.DeviceError, f.Message, "check the camera or frame folder"),
        ArenaBudgetException b => (ExitCodes.BudgetExceeded,
            $"the model needs {b.RequiredBytes:N0} bytes but the budget is {b.BudgetBytes:N0} ({b.MissingBytes:N0} missing); " +
            $"the peak is at op #{b.PeakOpIndex} '{b.PeakOpName}' with {string.Join(", ", b.AliveTensors)} alive",
            "raise --budget, or shrink the layers around the peak (fewer channels, an earlier stride)"),
        FileNotFoundException f => (ExitCodes.BadInput, $"file not found: {f.FileName ?? f.Message}", null),
        DirectoryNotFoundException d => (ExitCodes.BadInput, d.Message, null),
        UnauthorizedAccessException u => (ExitCodes.BadInput, u.Message, "check the file's permissions"),
        InvalidDataException i => (ExitCodes.BadInput, i.Message, null),
        OperationCanceledException => (ExitCodes.Interrupted, "interrupted", null),
        _ => (ExitCodes.InternalError, $"{e.GetType().Name}: {e.Message}",
              "this is a bug in cnn; run again with CNN_DEBUG=1 and report the stack trace"),
    };

    /// <summary>Adds "Examples:" to the built-in help of every command that has them.</summary>
    public static void InstallExamplesHelp(RootCommand root)
    {
        foreach (var option in root.Options)
        {
            if (option is HelpOption help && help.Action is HelpAction builtIn)
                help.Action = new ExamplesHelpAction(builtIn);
        }
    }

    private sealed class ExamplesHelpAction(HelpAction builtIn) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            int rc = builtIn.Invoke(parseResult);
            if (ExamplesByCommand.TryGetValue(parseResult.CommandResult.Command, out var examples))
            {
                var output = parseResult.InvocationConfiguration.Output;
                output.WriteLine("Examples:");
                foreach (string line in examples) output.WriteLine($"  {line}");
                output.WriteLine();
            }
            return rc;
        }
    }

    /// <summary>The file named by a required path option, or exit code 2 with its name.</summary>
    public static FileInfo ExistingFile(FileInfo? file, string what)
    {
        if (file is null) throw new CliException(ExitCodes.Usage, $"{what} is required");
        if (!file.Exists) throw CliException.MissingFile(what, file.FullName);
        return file;
    }
}
