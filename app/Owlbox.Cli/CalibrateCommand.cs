using System.CommandLine;
using System.Globalization;
using Owlbox.Contracts.V1;
using Owlbox.Detection.Evaluation;
using Owlbox.Detection.Inference;
using Owlbox.Labeling.Evaluation;
using Owlbox.Labeling.Prompts;
using Owlbox.Models;
using Owlbox.Pipeline;

namespace Owlbox.Cli;

/// <summary>
/// <c>owlbox calibrate &lt;labeled-dataset&gt; --model &lt;dir&gt; (--prompt|--prompt-file) [--target-precision 0.9] [--out &lt;file&gt;]
/// [--json]</c>: runs the detector over a small labeled set with every threshold at the score floor (the job's other
/// filters as given) and proposes, per label, the lowest threshold whose precision meets the target
/// (<see cref="ThresholdCalibration"/>; the work is <see cref="CalibrationRunner"/>'s). Prints the precision and recall each gives and the prompt with them filled in;
/// <c>--out</c> writes that prompt (a new file, or the prompt file itself); the dataset's <c>.owlbox/calibration.json</c>
/// keeps the result for the review page. The labels are never touched. The labeled set must carry every box of the
/// prompt's labels: a box the labels lack counts against precision.
/// </summary>
public static class CalibrateCommand
{
    public static Command Create(CliContext io)
    {
        var dataset = CliOptions.Positional("labeled-dataset", "a few images labeled with every box of the prompt's labels");
        var job = new JobOptionGroup();
        var provider = JobOptionGroup.ExecutionProviderOption();
        var targetPrecision = CliOptions.Number("--target-precision", "the precision each label's threshold must reach (IoU 0.5)", 0.9, "fraction");
        var output = CliOptions.Text("--out", "write the calibrated prompt here (a new file, or the --prompt-file itself)", "file");
        var json = CliOptions.Flag("--json", "print the result as JSON");
        var examplesFrom = CliOptions.Text("--examples-from", "the local dataset whose boxes [label] prompt lines use as examples (default: this dataset)", "folder");
        var command = new Command("calibrate", "per-label thresholds from a few labeled images; the labels are never touched") { dataset };
        return command.WithOptions([.. job.All, provider, targetPrecision, output, json, examplesFrom]).WithAction((p, cancellationToken) =>
            RunAsync(new Request(p.GetValue(dataset)!, job, p, p.GetValue(provider)!, p.GetValue(targetPrecision), p.GetValue(output), p.GetValue(json),
                p.GetValue(examplesFrom)), io.Out, cancellationToken));
    }

    private sealed record Request(string Dataset, JobOptionGroup Job, ParseResult Parsed, string ExecutionProvider, double TargetPrecision, string? Output, bool Json, string? ExamplesFrom);

    private static async Task<int> RunAsync(Request request, TextWriter stdout, CancellationToken cancellationToken)
    {
        var target = request.TargetPrecision;
        if (target is <= 0 or > 1)
        {
            throw new UsageException($"--target-precision must be above 0 and at most 1, got {target.ToString(CultureInfo.InvariantCulture)}");
        }
        var spec = request.Job.Read(request.Parsed, new DatasetReference("local", Path.GetFullPath(request.Dataset)), Path.GetFullPath);
        var output = request.Output;
        if (output is not null && File.Exists(output) && Path.GetFullPath(output) != (request.Parsed.GetValue(request.Job.PromptFile) is { } pf ? Path.GetFullPath(pf) : null))
        {
            throw new UsageException($"--out '{output}' exists and is not the --prompt-file: Owlbox writes a calibrated prompt over its own prompt file only");
        }
        CalibrationResult result;
        try
        {
            // Example lines: the boxes of their labels (in this labeled set unless --examples-from), each image read once.
            var examples = ExampleBoxes.Gather(spec.Prompt, request.ExamplesFrom is { } from ? Path.GetFullPath(from) : Path.GetFullPath(request.Dataset)) is { } boxes
                ? ExampleBoxes.ReadImages(boxes)
                : null;
            result = await CalibrationRunner.RunAsync(new CalibrationRequest(request.Dataset, spec.Model, spec.ModelVariant, spec.Prompt, spec.Options.ToLabelingOptions(),
                request.ExecutionProvider, target, output)
            { Examples = examples }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ModelException or InvalidPromptException or ExampleException)
        {
            throw new JobSetupException(e.Message, e);
        }
        var report = result.Report;
        if (request.Json)
        {
            await stdout.WriteLineAsync(CalibrationRunner.ToJson(report)).ConfigureAwait(false);
        }
        else
        {
            string F(double? v) => v is { } x ? x.ToString("0.000", CultureInfo.InvariantCulture) : "-";
            await stdout.WriteLineAsync($"Calibrated on {report.Images} labeled images, target precision {F(target)} (IoU 0.5):").ConfigureAwait(false);
            foreach (var t in report.Labels)
            {
                await stdout.WriteLineAsync(t.Threshold is null
                    ? $"  {t.Label}: no threshold reaches precision {F(target)} ({t.GroundTruth} true boxes); its lines keep their thresholds"
                    : $"  {t.Label}: threshold {t.Threshold.Value.ToString("0.######", CultureInfo.InvariantCulture)} gives precision {F(t.Precision)}, recall {F(t.Recall)} ({t.TruePositives} of {t.GroundTruth} found, {t.FalsePositives} wrong)").ConfigureAwait(false);
            }
            await stdout.WriteLineAsync(output is null ? "Calibrated prompt:" : $"Calibrated prompt written to {output}:").ConfigureAwait(false);
            await stdout.WriteLineAsync(report.Prompt.TrimEnd('\n')).ConfigureAwait(false);
        }
        foreach (var f in result.Failed)
        {
            await stdout.WriteLineAsync($"    left out {f}").ConfigureAwait(false);
        }
        return result.Failed.Count == 0 ? OwlboxCli.Ok : OwlboxCli.SamplesFailed;
    }
}
