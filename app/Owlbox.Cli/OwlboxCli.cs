using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using Owlbox.Contracts.V1;
using Owlbox.Datasets;

namespace Owlbox.Cli;

/// <summary>The <c>owlbox</c> command line. Exit codes: 0 done; 1 the job could not start (usage, prompt, model,
/// dataset); 2 the job finished but some samples failed (listed). The original OWL block stops at the first failure
/// (exit 1) and the GPT-4o block exits 0 over failures; Owlbox labels the rest, and a run that skipped images is a
/// failure a script must be able to see. Every verb is a <see cref="Command"/> that declares its options once; its
/// <c>--help</c> is generated from them.</summary>
public static class OwlboxCli
{
    public const int Ok = 0;
    public const int SetupError = 1;
    public const int SamplesFailed = 2;
    public const int Cancelled = 130;

    /// <summary>No <c>@file</c> expansion: a dataset folder may start with <c>@</c>.</summary>
    private static readonly ParserConfiguration s_parsing = new() { ResponseFileTokenReplacer = null };

    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default) =>
        RunAsync(args, stdout, stderr, null, cancellationToken);

    /// <param name="busTap">Extra bus registrations for in-process jobs (tests use it to see every message).</param>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr,
        Action<MassTransit.IBusRegistrationConfigurator>? busTap, CancellationToken cancellationToken)
    {
        var parsed = CreateRootCommand(new CliContext(stdout, stderr, busTap)).Parse(args is ["help"] ? ["--help"] : args, s_parsing);
        try
        {
            if (parsed.Action is ParseErrorAction)
            {
                throw new UsageException(ParseProblem(parsed));
            }
            return await parsed.InvokeAsync(new InvocationConfiguration
            {
                Output = stdout,
                Error = stderr,
                EnableDefaultExceptionHandler = false, // the catches below say what went wrong, without a stack trace
                ProcessTerminationTimeout = null, // signals are StopSignal's alone; its token reaches every action
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (UsageException e)
        {
            await stderr.WriteLineAsync($"error: {e.Message}{Environment.NewLine}('{CommandPath(parsed.CommandResult)} --help' lists its options)").ConfigureAwait(false);
            return SetupError;
        }
        catch (Microsoft.Extensions.Options.OptionsValidationException e)
        {
            // A setting that does not convert or would run wrong, named, one line each: never a stack trace.
            await stderr.WriteLineAsync("error: the configuration would not run:" + string.Concat(e.Failures.Select(f => $"{Environment.NewLine}  - {f}"))).ConfigureAwait(false);
            return SetupError;
        }
        catch (Exception e) when (e is JobSetupException or DatasetException or Owlbox.Jobs.JobStoreException)
        {
            await stderr.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return SetupError;
        }
        catch (OperationCanceledException e) when (cancellationToken.IsCancellationRequested)
        {
            // A requested stop (Ctrl+C, SIGTERM: StopSignal) before a job got under way, or in a command with nothing
            // to list: said in one line, never as an exception. A command that can say more throws its own message.
            await stderr.WriteLineAsync(e is CommandStoppedException ? e.Message : "cancelled on request; nothing under way was left half-written").ConfigureAwait(false);
            return Cancelled;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("OWLBOX_DEBUG") != "1")
        {
            // A user sees what went wrong, not a stack trace; OWLBOX_DEBUG=1 lets it through for a bug report.
            await stderr.WriteLineAsync($"error: {e.Message} ({e.GetType().Name}; OWLBOX_DEBUG=1 shows where)").ConfigureAwait(false);
            return SetupError;
        }
    }

    /// <summary>Every verb, as the command line and its help know them.</summary>
    public static RootCommand CreateRootCommand(CliContext io)
    {
        var root = new RootCommand("owlbox: label images with boxes from a text prompt (OWL-ViT / OWLv2), locally or on a deployment")
        {
            LabelCommand.Create(io),
            VerifyCommand.Create(io),
            ServeCommand.Create(io),
            SubmitCommand.Create(io),
            BlockCommand.Create(io),
            RelabelBlockCommand.Create(io),
            JobsCommand.Create(io),
            ProposalsCommand.Create(io),
            Review.ReviewCommand.Create(io),
            ModelsCommand.Create(io),
            EvalCommand.Create(io),
            CalibrateCommand.Create(io),
            FormatsCommand.CreateExport(io),
            FormatsCommand.CreateImport(io),
        };
        root.Directives.Clear(); // a first argument in [brackets] is an argument, not a directive
        return root;
    }

    /// <summary>One line per problem; a word the verb does not know is named as such.</summary>
    private static string ParseProblem(ParseResult parsed) =>
        parsed.UnmatchedTokens.Count > 0 && parsed.CommandResult.Command.TreatUnmatchedTokensAsErrors
            ? string.Join(Environment.NewLine + "error: ", parsed.UnmatchedTokens.Select(t => $"unknown argument '{t}'"))
            : string.Join(Environment.NewLine + "error: ", parsed.Errors.Select(e => e.Message).Distinct(StringComparer.Ordinal));

    private static string CommandPath(CommandResult result) =>
        result.Parent is CommandResult parent ? $"{CommandPath(parent)} {result.Command.Name}" : "owlbox";

    internal static int ExitCode(JobStatus jobStatus) => jobStatus switch
    {
        JobStatus.Completed => Ok,
        JobStatus.Cancelled => Cancelled,
        _ => SamplesFailed,
    };

    /// <summary>Value option names every job-defining command accepts (the block's parameters must be among them).</summary>
    public static string[] JobValueNames => [.. new JobOptionGroup().All.Where(o => o is not Option<bool>).Select(o => o.Name)];

    /// <summary>Flag names every job-defining command accepts.</summary>
    public static string[] JobFlagNames => [.. new JobOptionGroup().All.OfType<Option<bool>>().Select(o => o.Name)];
}
