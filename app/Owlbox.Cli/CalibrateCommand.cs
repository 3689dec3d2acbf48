using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Owlbox.Contracts.V1;
using Owlbox.Datasets;
using Owlbox.Datasets.Local;
using Owlbox.Detection.Imaging;
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
/// (<see cref="ThresholdCalibration"/>). Prints the precision and recall each gives and the prompt with them filled in;
/// <c>--out</c> writes that prompt (a new file, or the prompt file itself); the dataset's <c>.owlbox/calibration.json</c>
/// keeps the result for the review page. The labels are never touched. The labeled set must carry every box of the
/// prompt's labels: a box the labels lack counts against precision.
/// </summary>
public static class CalibrateCommand
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

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
        var directory = Path.GetFullPath(request.Dataset);
        LocalDataset.CheckFolder(directory);
        var dataset = LocalDataset.List(directory);
        var datasetLabels = dataset.ReadLabels();
        if (dataset.Samples.Count == 0)
        {
            throw new DatasetException($"dataset '{request.Dataset}' holds no images: there is nothing to calibrate on");
        }
        var spec = request.Job.Read(request.Parsed, new DatasetReference("local", directory), Path.GetFullPath);
        var output = request.Output;
        if (output is not null && File.Exists(output) && Path.GetFullPath(output) != (request.Parsed.GetValue(request.Job.PromptFile) is { } pf ? Path.GetFullPath(pf) : null))
        {
            throw new UsageException($"--out '{output}' exists and is not the --prompt-file: Owlbox writes a calibrated prompt over its own prompt file only");
        }
        OwlModel model;
        try
        {
            model = ModelDirectory.Load(spec.Model, spec.ModelVariant);
        }
        catch (ModelException e)
        {
            throw new JobSetupException(e.Message, e);
        }
        using var detector = new OwlDetector(model, new DetectorOptions { ExecutionProvider = request.ExecutionProvider });
        LabelingPrompt prompt;
        try
        {
            prompt = LabelingPrompt.Parse(spec.Prompt, detector.CountTokens, detector.Model.MaxTextTokens);
        }
        catch (InvalidPromptException e)
        {
            throw new JobSetupException(e.Message, e);
        }
        // Example lines: the boxes of their labels (in this labeled set unless --examples-from), each image encoded once.
        ExampleQueries? examples = null;
        if (ExampleBoxes.Gather(spec.Prompt, request.ExamplesFrom is { } from ? Path.GetFullPath(from) : directory) is { } boxes)
        {
            try
            {
                examples = ExampleQueries.Embed(detector, ExampleBoxes.ReadImages(boxes), null, new DecodeLimits());
            }
            catch (ExampleException e)
            {
                throw new JobSetupException(e.Message, e);
            }
        }
        // Every threshold at the floor: one run ranks every box a threshold could keep.
        var open = DetectionPlan.Create(detector, new LabelingPrompt(prompt.Text, [.. prompt.Lines.Select(l => l with { MinConfidence = 0 })]),
            spec.Options.ToLabelingOptions(), examples);
        var labels = prompt.Labels.ToHashSet(StringComparer.Ordinal);
        if (!dataset.Samples.Any(s => datasetLabels.GetBoxes(s.Id).Any(b => labels.Contains(b.Label))))
        {
            // Every detection would count as wrong and every threshold come out "none": a calibration of nothing.
            throw new DatasetException($"{dataset.LabelsPath} has no box labeled {string.Join(" or ", prompt.Labels.Select(l => $"'{l}'"))} on the dataset's images: calibrate needs images labeled with the prompt's labels");
        }
        var truth = new List<EvalBox>();
        var detections = new List<EvalBox>();
        var failed = new List<string>();
        foreach (var sample in dataset.Samples)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var found = DetectionEngine.Detect(open, await File.ReadAllBytesAsync(sample.FullPath, cancellationToken).ConfigureAwait(false));
                detections.AddRange(found.Result.Kept.Select(d => new EvalBox(sample.Id, d.Label, d.Box, d.Score)));
                truth.AddRange(datasetLabels.GetBoxes(sample.Id).Where(b => labels.Contains(b.Label)).Select(b => new EvalBox(sample.Id, b.Label, b.Box)));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                failed.Add($"{sample.Id}: {e.Message}"); // a corrupt image is left out, not the calibration
            }
        }
        var thresholds = ThresholdCalibration.Calibrate(prompt.Labels, truth, detections, target);
        var calibrated = ThresholdCalibration.WriteBack(prompt.Text, thresholds);
        var report = new
        {
            targetPrecision = target,
            images = dataset.Samples.Count - failed.Count,
            model = spec.Model,
            createdUtc = DateTimeOffset.UtcNow,
            labels = thresholds,
            prompt = calibrated,
        };
        AtomicFile.WriteAllText(OwlboxFolder.PathOf(directory, "calibration.json"), JsonSerializer.Serialize(report, s_json) + "\n");
        if (output is not null)
        {
            AtomicFile.WriteAllText(output, calibrated.EndsWith('\n') ? calibrated : calibrated + "\n");
        }
        if (request.Json)
        {
            await stdout.WriteLineAsync(JsonSerializer.Serialize(report, s_json)).ConfigureAwait(false);
        }
        else
        {
            string F(double? v) => v is { } x ? x.ToString("0.000", CultureInfo.InvariantCulture) : "-";
            await stdout.WriteLineAsync($"Calibrated on {report.images} labeled images, target precision {F(target)} (IoU 0.5):").ConfigureAwait(false);
            foreach (var t in thresholds)
            {
                await stdout.WriteLineAsync(t.Threshold is null
                    ? $"  {t.Label}: no threshold reaches precision {F(target)} ({t.GroundTruth} true boxes); its lines keep their thresholds"
                    : $"  {t.Label}: threshold {t.Threshold.Value.ToString("0.######", CultureInfo.InvariantCulture)} gives precision {F(t.Precision)}, recall {F(t.Recall)} ({t.TruePositives} of {t.GroundTruth} found, {t.FalsePositives} wrong)").ConfigureAwait(false);
            }
            await stdout.WriteLineAsync(output is null ? "Calibrated prompt:" : $"Calibrated prompt written to {output}:").ConfigureAwait(false);
            await stdout.WriteLineAsync(calibrated.TrimEnd('\n')).ConfigureAwait(false);
        }
        foreach (var f in failed)
        {
            await stdout.WriteLineAsync($"    left out {f}").ConfigureAwait(false);
        }
        return failed.Count == 0 ? OwlboxCli.Ok : OwlboxCli.SamplesFailed;
    }
}
