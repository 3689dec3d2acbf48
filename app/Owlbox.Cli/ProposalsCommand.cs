using System.CommandLine;
using Owlbox.Datasets.Local;
using Owlbox.Datasets.Proposals;

namespace Owlbox.Cli;

/// <summary><c>owlbox proposals list|apply|discard</c>: the proposal sets a preview (<c>--propose-actions</c>) wrote.</summary>
public static class ProposalsCommand
{
    public static Command Create(CliContext io) => new("proposals", "list, apply or discard the proposal sets previews wrote")
    {
        List(io), Apply(io), Discard(io),
    };

    private static Argument<string> Dataset() => CliOptions.Positional("dataset-folder", "the dataset the proposal sets belong to");

    private static Argument<string> JobId() => CliOptions.Positional("job-id", "the proposal set (the --propose-actions id)");

    private static Command List(CliContext io)
    {
        var dataset = Dataset();
        return new Command("list", "the dataset's proposal sets, one a line") { dataset }.WithAction((p, _) =>
        {
            var dir = p.GetValue(dataset)!;
            var sets = new ProposalStore(dir).List();
            if (sets.Count == 0)
            {
                io.Out.WriteLine($"no proposal sets in {dir}");
            }
            foreach (var s in sets)
            {
                io.Out.WriteLine($"{s.JobId}\t{s.CreatedUtc:u}\t{s.ModelId}\t{s.Samples.Count} samples, {s.Samples.Sum(p => p.Detections.Count)} new boxes, {s.Failed.Count} failed\tdelete existing: {s.DeleteExisting}");
            }
            return Task.FromResult(OwlboxCli.Ok);
        });
    }

    private static Command Apply(CliContext io)
    {
        var (dataset, jobId) = (Dataset(), JobId());
        var force = CliOptions.Flag("--force", "apply even to images whose labels changed since the preview (those edits are lost)");
        return new Command("apply", "write a proposal set into the labels file, then discard it") { dataset, jobId, force }.WithAction(async (p, cancellationToken) =>
        {
            var (dir, id) = (p.GetValue(dataset)!, p.GetValue(jobId)!);
            var store = new ProposalStore(dir);
            var set = store.Load(id);
            LocalDataset.CheckFolder(dir);
            var result = await ProposalApplier.ApplyAsync(Path.GetFullPath(dir), set, p.GetValue(force), cancellationToken).ConfigureAwait(false);
            io.Out.WriteLine($"applied proposal set {id} to {result.Applied} of {set.Samples.Count} samples");
            foreach (var (sample, problem) in result.Conflicts)
            {
                io.Error.WriteLine($"    skipped {sample}: {problem}");
            }
            if (result.Conflicts.Count > 0)
            {
                return OwlboxCli.SamplesFailed;
            }
            store.Discard(id);
            return OwlboxCli.Ok;
        });
    }

    private static Command Discard(CliContext io)
    {
        var (dataset, jobId) = (Dataset(), JobId());
        return new Command("discard", "delete a proposal set, leaving the labels untouched") { dataset, jobId }.WithAction((p, _) =>
        {
            new ProposalStore(p.GetValue(dataset)!).Discard(p.GetValue(jobId)!);
            io.Out.WriteLine($"discarded proposal set {p.GetValue(jobId)}");
            return Task.FromResult(OwlboxCli.Ok);
        });
    }
}
