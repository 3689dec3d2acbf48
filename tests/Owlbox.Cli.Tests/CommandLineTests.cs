using System.CommandLine;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Owlbox.Cli;

namespace Owlbox.Cli.Tests;

/// <summary>The command line as System.CommandLine declares it: every verb answers <c>--help</c> with every option
/// it takes (a new verb or option is covered without touching this file), the README's label options are the CLI's,
/// and a usage error is one clear line, exit 1.</summary>
public sealed partial class CommandLineTests
{
    private static RootCommand Root() => OwlboxCli.CreateRootCommand(new CliContext(TextWriter.Null, TextWriter.Null));

    private static IEnumerable<(string Path, Command Command)> Verbs(Command command, string path)
    {
        foreach (var sub in command.Subcommands)
        {
            var subPath = path.Length == 0 ? sub.Name : $"{path} {sub.Name}";
            yield return (subPath, sub);
            foreach (var nested in Verbs(sub, subPath))
            {
                yield return nested;
            }
        }
    }

    public static TheoryData<string> EveryVerb() => [.. Verbs(Root(), "").Select(v => v.Path)];

    /// <summary>An option's name as a whole word: <c>--nms</c> is not found inside <c>--nms-iou-threshold</c>.</summary>
    private static bool Lists(string help, string name) => Regex.IsMatch(help, $@"(?<![\w-]){Regex.Escape(name)}(?![\w-])");

    [Theory]
    [MemberData(nameof(EveryVerb))]
    public async Task EveryVerb_AnswersHelp_WithExitZero_ListingEveryOptionAndArgument(string verb)
    {
        var command = Verbs(Root(), "").Single(v => v.Path == verb).Command;

        var (exit, output, err) = await Workspace.RunAsync([.. verb.Split(' '), "--help"]);

        Assert.Equal(OwlboxCli.Ok, exit);
        Assert.Equal("", err);
        Assert.Contains(verb, output, StringComparison.Ordinal);
        Assert.All(command.Options.Where(o => !o.Hidden), o => Assert.True(Lists(output, o.Name), $"'{verb} --help' does not list {o.Name}:\n{output}"));
        Assert.All(command.Arguments, a => Assert.Contains($"<{a.Name}>", output, StringComparison.Ordinal));
        Assert.All(command.Subcommands, s => Assert.Contains(s.Name, output, StringComparison.Ordinal));
    }

    [Fact]
    public void TheVerbs_AreAllThere()
    {
        string[] expected = ["label", "verify", "serve", "submit", "block", "relabel-block", "jobs redrive", "proposals list", "proposals apply", "proposals discard", "review",
            "models prepare", "eval", "calibrate", "export", "import"];

        Assert.Empty(expected.Except(Verbs(Root(), "").Select(v => v.Path)));
    }

    [Fact]
    public async Task SubmitHelp_ListsTheOptionsOnceDocumentedNowhere()
    {
        var (exit, output, _) = await Workspace.RunAsync("submit", "--help");

        Assert.Equal(OwlboxCli.Ok, exit);
        Assert.All(["--dataset-kind", "--job-id", "--api-key-env", "--poll-seconds", "--no-follow", "--gateway"], o => Assert.True(Lists(output, o), o));
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("help")]
    public async Task TheRootAnswersHelp_NamingEveryVerb(string help)
    {
        var (exit, output, err) = await Workspace.RunAsync(help);

        Assert.Equal(OwlboxCli.Ok, exit);
        Assert.Equal("", err);
        Assert.All(Root().Subcommands, c => Assert.Contains(c.Name, output, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(new string[0], "owlbox --help")]
    [InlineData(new[] { "frobnicate" }, "owlbox --help")]
    [InlineData(new[] { "label" }, "owlbox label --help")]
    [InlineData(new[] { "proposals", "apply", "x" }, "owlbox proposals apply --help")]
    [InlineData(new[] { "export", "x", "--format", "tiff", "--out", "y" }, "owlbox export --help")]
    [InlineData(new[] { "review", "x", "--port", "http" }, "--port must be a number, got 'http'")]
    [InlineData(new[] { "review", ".", "--model", "/no/such/model" }, "--model '/no/such/model' is not a folder")]
    [InlineData(new[] { "submit", "x", "--gateway", "http://127.0.0.1:1", "--model", "m", "--prompt", "p", "--job-id", "7" }, "--job-id '7' is not a GUID")]
    public async Task UsageErrors_ExitOne_WithTheProblemAndWhereHelpIs_NoStackTrace(string[] args, string expected)
    {
        var (exit, output, err) = await Workspace.RunAsync(args);

        Assert.Equal(OwlboxCli.SetupError, exit);
        Assert.Equal("", output);
        Assert.StartsWith("error: ", err, StringComparison.Ordinal);
        Assert.Contains(expected, err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
    }

    /// <summary>The README's label options: the paragraph that lists them, and every <c>owlbox label</c> example.</summary>
    private static string[] ReadmeLabelOptions()
    {
        var readme = File.ReadAllText(Path.Combine(Workspace.RepoRoot, "README.md")).ReplaceLineEndings("\n");
        var paragraph = readme.Split("\n\n").Single(p => p.StartsWith("Options keep the Edge Impulse block's names", StringComparison.Ordinal));
        var examples = CommandExample().Matches(readme).Select(m => m.Value);
        return [.. OptionName().Matches(string.Join("\n", [paragraph, .. examples])).Select(m => m.Value).Distinct(StringComparer.Ordinal)];
    }

    [GeneratedRegex(@"owlbox(\.dll)? label [^\n]*(\\\n[^\n]*)*")]
    private static partial Regex CommandExample();

    [GeneratedRegex(@"(?<![\w-])--[a-z][a-z0-9_-]*")]
    private static partial Regex OptionName();

    [Fact]
    public async Task TheReadmesLabelOptions_AreTheOnesLabelHelpLists_AndEveryLabelOptionIsInTheReadme()
    {
        var (_, help, _) = await Workspace.RunAsync("label", "--help");
        var documented = ReadmeLabelOptions();
        var readme = File.ReadAllText(Path.Combine(Workspace.RepoRoot, "README.md"));

        Assert.True(documented.Length >= 10, string.Join(" ", documented)); // the paragraph was found and read
        Assert.All(documented, o => Assert.True(Lists(help, o), $"README documents {o} for label; 'owlbox label --help' does not list it"));
        var label = Root().Subcommands.Single(c => c.Name == "label");
        Assert.All(label.Options.Where(o => !o.Hidden), o => Assert.True(Lists(readme, o.Name), $"'owlbox label' takes {o.Name}; README.md does not mention it"));
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    private const int SigInt = 2;

    /// <summary>Ctrl+C reaches the command through the one <see cref="StopSignal"/>, not a handler of the parser's own:
    /// a submit waiting on a gateway that never answers stops on it, exit 130, in one line.</summary>
    [Fact]
    public async Task CtrlC_StopsTheRunningVerb_ThroughStopSignal_Exit130()
    {
        using var gateway = new TcpListener(IPAddress.Loopback, 0);
        gateway.Start();
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Workspace.OwlboxDll, "submit", "/data", "--gateway", $"http://127.0.0.1:{((IPEndPoint)gateway.LocalEndpoint).Port}", "--model", "m", "--prompt", "p" })
        {
            info.ArgumentList.Add(a);
        }
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            using var connection = await gateway.AcceptTcpClientAsync().WaitAsync(TimeSpan.FromMinutes(2)); // the job is being submitted

            Assert.Equal(0, kill(process.Id, SigInt));
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        Assert.Equal(OwlboxCli.Cancelled, process.ExitCode);
        var err = await stderr;
        Assert.Contains("cancelled on request", err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", err + await stdout, StringComparison.Ordinal);
    }
}
