using System.CommandLine;
using Owlbox.Datasets;
using Owlbox.Datasets.Local;
using Owlbox.Datasets.Proposals;
using Owlbox.Verification;

namespace Owlbox.Cli;

/// <summary><c>owlbox verify &lt;dataset-folder&gt; [options]</c>: shows each box of the chosen labels to a vision language
/// model and keeps, relabels or removes it by the answer (the Edge Impulse relabel block's second stage, by its option
/// names), or with <c>--propose-actions</c> writes a proposal set and leaves the labels untouched. Answers are cached in
/// <c>.owlbox/llm-answers/</c>; the key comes from <c>OPENAI_API_KEY</c>. Exit 2 when some samples failed (listed).</summary>
public static class VerifyCommand
{
    public static Command Create(CliContext io)
    {
        var dataset = CliOptions.Positional("dataset-folder", "the folder of images; its bounding_boxes.labels is read and written");
        var verify = new VerifyOptionGroup();
        var propose = CliOptions.Text("--propose-actions", "preview: write a proposal set of this id (with each box's verdict), leave labels untouched", "job-id");
        var command = new Command("verify", "verify a local dataset's boxes with a vision language model: keep, relabel or remove each "
            + "(option names follow the Edge Impulse relabel block; key from OPENAI_API_KEY)") { dataset };
        return command.WithOptions([.. verify.All, propose]).WithAction(async (p, cancellationToken) =>
        {
            var directory = Path.GetFullPath(p.GetValue(dataset)!);
            LocalDataset.CheckFolder(directory);
            var key = VerifyOptionGroup.ReadKey();
            var (run, llm, maxCalls) = verify.Read(p, key);
            if (p.GetValue(propose) is { Length: > 0 } jobId)
            {
                new ProposalStore(directory).RequireUnused(ProposalStore.ValidateJobId(jobId));
                run = run with { ProposeJobId = jobId };
            }
            var cache = new FileAnswerCache(OwlboxFolder.PathOf(directory, "llm-answers"));
            var result = await VerifyOptionGroup.RunAsync(new LocalDatasetBackend(directory), run, llm, cache, maxCalls, cancellationToken).ConfigureAwait(false);
            await VerifyOptionGroup.PrintSummaryAsync(result, maxCalls, io.Out).ConfigureAwait(false);
            if (run.ProposeJobId is { } id)
            {
                await io.Out.WriteLineAsync($"proposal set '{id}' written; the labels are untouched (owlbox review or owlbox proposals apply {id})").ConfigureAwait(false);
            }
            return await VerifyOptionGroup.PrintFailuresAsync(result, io.Error).ConfigureAwait(false);
        });
    }
}
