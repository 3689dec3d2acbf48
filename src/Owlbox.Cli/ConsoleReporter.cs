using System.Globalization;
using Owlbox.Pipeline;

namespace Owlbox.Cli;

/// <summary>Prints progress the way the seed block does (<c>[ 3/10] Labeling x.jpg... OK (took 120 ms)</c>, then the
/// objects found), and a summary that lists every failed sample with its reason.</summary>
public sealed class ConsoleReporter(TextWriter output) : IJobReporter
{
    public void Started(JobPlan plan)
    {
        output.WriteLine($"Labeling with {plan.ModelId} ({plan.ModelType}) on {plan.ExecutionProvider}");
        output.WriteLine();
        output.WriteLine("Detecting objects:");
        output.WriteLine("    Prompts:");
        foreach (var line in plan.Lines)
        {
            output.WriteLine($"        - {line.SearchText}, label: {line.Label}, min confidence: {line.MinConfidence.ToString(CultureInfo.InvariantCulture)}");
        }
        output.WriteLine($"    Samples: {plan.SampleCount}");
        output.WriteLine($"    Writing to: {plan.Destination}");
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
        if (outcome.Kept.Count == 0)
        {
            output.WriteLine($"    No objects found{(outcome.Dropped > 0 ? $" ({outcome.Dropped} below threshold, outside the size limits or suppressed)" : "")}");
            return;
        }
        output.WriteLine("    Found objects:");
        foreach (var b in outcome.Kept)
        {
            output.WriteLine($"        {b.Label} ({b.Score.ToString("0.000", CultureInfo.InvariantCulture)}), x={b.Box.X} y={b.Box.Y} w={b.Box.Width} h={b.Box.Height}");
        }
        if (outcome.Dropped > 0)
        {
            output.WriteLine($"        ({outcome.Dropped} more below threshold, outside the size limits or suppressed)");
        }
    }

    public void Finished(JobSummary summary)
    {
        output.WriteLine();
        var seconds = summary.Elapsed.TotalSeconds;
        var rate = seconds > 0 ? summary.Succeeded / seconds : 0;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Labeled {summary.Succeeded} of {summary.Total} samples in {seconds:0.0} s ({rate:0.0} images/s); {summary.BoxesAdded} boxes added; written to {summary.Destination}"));
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
