using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Cnn.Cli;

/// <summary>
/// What one command invocation writes to: human output through Spectre.Console, or one JSON
/// document on stdout with --json (then nothing else goes to stdout, so `cnn x --json | jq` works).
/// Both writers come from the parse result's InvocationConfiguration, which tests replace.
/// </summary>
public sealed class CliContext : IProgressSink
{
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    public CliContext(ParseResult parseResult, bool json)
    {
        Out = parseResult.InvocationConfiguration.Output;
        Err = parseResult.InvocationConfiguration.Error;
        Json = json;
        bool terminal = ReferenceEquals(Out, System.Console.Out) && !System.Console.IsOutputRedirected;
        // In JSON mode the human console writes to stderr so that stdout stays one document.
        Console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(json ? Err : Out),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        Interactive = terminal && !json;
    }

    public TextWriter Out { get; }
    public TextWriter Err { get; }
    public bool Json { get; }
    public IAnsiConsole Console { get; }

    /// <summary>True when progress bars can redraw in place (a real terminal, not --json).</summary>
    public bool Interactive { get; }

    /// <summary>A line for the human reader; silent in --json mode.</summary>
    public void Info(string markup)
    {
        if (!Json) Console.MarkupLine(markup);
    }

    public void WriteJson(JsonNode node) => Out.WriteLine(node.ToJsonString(JsonOptions));

    /// <summary>
    /// Runs <paramref name="work"/> with a progress bar of <paramref name="total"/> steps when the
    /// output is a terminal; otherwise runs it plainly (CI logs and --json get no redraw noise).
    /// </summary>
    public T WithProgress<T>(string label, double total, Func<Action<double>, T> work)
    {
        if (!Interactive) return work(_ => { });
        return Console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                     new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(label, maxValue: total);
                T result = work(v => task.Value = v);
                task.Value = total;
                return result;
            });
    }
}

/// <summary>Shows progress for work longer than a second (a bar on a terminal, nothing otherwise).</summary>
public interface IProgressSink
{
    T WithProgress<T>(string label, double total, Func<Action<double>, T> work);
}

public sealed class NoProgress : IProgressSink
{
    public static readonly NoProgress Instance = new();
    public T WithProgress<T>(string label, double total, Func<Action<double>, T> work) => work(_ => { });
}
