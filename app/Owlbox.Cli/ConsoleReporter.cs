using System.Globalization;

namespace Owlbox.Cli;

/// <summary>Prints progress the way the original Edge Impulse block does (<c>[ 3/10] Labeling x.jpg... OK (took 120 ms)</c>, then the
/// objects found), and a summary that lists every failed sample with its reason.</summary>
public sealed class ConsoleReporter(TextWriter output) : IJobReporter
{
    /// <summary>Samples a stopped job names as not labeled; past these, a count (a stop early in a 100k-sample job
    /// is not 100k lines).</summary>
    public const int NotDoneListed = 20;

    public void Started(RunHeader header)
    {
        if (header.Resumed is { } r)
        {
            // A run stopped while setting up never listed its samples: there is no count to give ("0 of 0").
            output.WriteLine(r.Total is { } total
                ? $"Resuming interrupted job {r.JobId}: {r.Written} of {total} samples already written, skipping them (--fresh starts afresh)"
                : $"Resuming interrupted job {r.JobId} (the previous run stopped before listing its samples; --fresh starts afresh)");
        }
        output.WriteLine($"Labeling with {header.ModelId} ({header.ModelType})");
        if (header.Form is { } form)
        {
            output.WriteLine($"    Model form: {form}");
        }
        output.WriteLine();
        output.WriteLine("Detecting objects:");
        output.WriteLine("    Prompts:");
        foreach (var line in header.Lines)
        {
            output.WriteLine($"        - {line.SearchText}, label: {line.Label}, min confidence: {line.MinConfidence.ToString(CultureInfo.InvariantCulture)}");
        }
        output.WriteLine($"    Samples: {header.SampleCount}");
        output.WriteLine($"    Writing to: {header.Destination}");
        output.WriteLine();
    }

    public void SampleDone(SampleOutcome outcome)
    {
        var width = outcome.Total.ToString(CultureInfo.InvariantCulture).Length;
        var prefix = $"[{outcome.Index.ToString(CultureInfo.InvariantCulture).PadLeft(width)}/{outcome.Total}]";
        if (!outcome.Succeeded)
        {
            output.WriteLine($"{prefix} Labeling {outcome.SampleId}... FAILED: {outcome.Error}");
            return;
        }
        output.WriteLine($"{prefix} Labeling {outcome.SampleId}... OK (took {outcome.Elapsed.TotalMilliseconds:0} ms)");
        if (outcome.Objects.Count == 0)
        {
            output.WriteLine($"    No objects found{(outcome.Rejected > 0 ? $" ({outcome.Rejected} below threshold, outside the size limits or suppressed)" : "")}");
            return;
        }
        output.WriteLine("    Found objects:");
        foreach (var b in outcome.Objects)
        {
            output.WriteLine($"        {b.Label} ({b.Score.ToString("0.000", CultureInfo.InvariantCulture)}), x={b.X} y={b.Y} w={b.Width} h={b.Height}");
        }
        if (outcome.Rejected > 0)
        {
            output.WriteLine($"        ({outcome.Rejected} more below threshold, outside the size limits or suppressed)");
        }
    }

    public void Finished(JobSummary summary)
    {
        output.WriteLine();
        var seconds = summary.Elapsed.TotalSeconds;
        var rate = seconds > 0 ? (summary.Succeeded - summary.WrittenBefore) / seconds : 0;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Labeled {summary.Succeeded} of {summary.Total} samples in {seconds.ToString(seconds < 10 ? "0.00" : "0.0", CultureInfo.InvariantCulture)} s ({rate:0.0} images/s); {summary.BoxesAdded} boxes added; written to {summary.Destination}"));
        if (summary.WrittenBefore > 0)
        {
            output.WriteLine($"    ({summary.WrittenBefore} of them were written before this run resumed the job; the {summary.BoxesAdded} boxes are this run's)");
        }
        if (summary.Verification is var (model, usage))
        {
            // As the relabel block ends its run ("OpenAI usage info: Model = ..., Input tokens = ..., Output tokens = ...").
            output.WriteLine($"Vision model usage: Model = {model}, Calls = {usage.Calls}, Answers from cache = {usage.CacheHits}, Input tokens = {usage.InputTokens}, Output tokens = {usage.OutputTokens}");
            if (usage.LeftByBudget > 0)
            {
                output.WriteLine($"    {usage.LeftByBudget} box{(usage.LeftByBudget == 1 ? " was" : "es were")} left unverified: --max-llm-calls was spent");
            }
        }
        if (summary.Status == Owlbox.Contracts.V1.JobStatus.Cancelled)
        {
            var left = summary.Total - summary.Succeeded - summary.Failed.Count;
            output.WriteLine($"Stopped on request: {left} sample{(left == 1 ? " was" : "s were")} not labeled; the same command resumes the job (--fresh starts afresh){(left > 0 ? ":" : "")}");
            foreach (var id in summary.NotDone.Take(NotDoneListed))
            {
                output.WriteLine($"    {id}");
            }
            if (left > Math.Min(summary.NotDone.Count, NotDoneListed))
            {
                output.WriteLine($"    ... and {left - Math.Min(summary.NotDone.Count, NotDoneListed)} more");
            }
        }
        if (summary.Failed.Count > 0)
        {
            output.WriteLine($"{summary.Failed.Count} sample{(summary.Failed.Count == 1 ? "" : "s")} failed:");
            foreach (var (id, reason) in summary.Failed)
            {
                output.WriteLine($"    {id}: {reason}");
            }
        }
    }
}
