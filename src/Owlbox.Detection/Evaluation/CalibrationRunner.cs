using System.Text.Json;
using Owlbox.Datasets;
using Owlbox.Datasets.Local;
using Owlbox.Detection.Imaging;
using Owlbox.Detection.Inference;
using Owlbox.Labeling;
using Owlbox.Labeling.Evaluation;
using Owlbox.Labeling.Prompts;
using Owlbox.Models;

namespace Owlbox.Detection.Evaluation;

/// <summary>What to calibrate: a labeled local dataset, the model and the job's prompt and filters.</summary>
/// <param name="Output">Where to write the calibrated prompt too (the caller has checked it may be written).</param>
public sealed record CalibrationRequest(string Dataset, string Model, string ModelVariant, string Prompt, LabelingOptions Options,
    string ExecutionProvider, double TargetPrecision, string? Output)
{
    /// <summary>The images of the prompt's <c>[label]</c> lines with their example boxes; null when it has none.</summary>
    public IReadOnlyList<ExampleImage>? Examples { get; init; }
}

/// <summary>The report, and the images left out (<c>id: reason</c>), each a corrupt image rather than a failed calibration.</summary>
public sealed record CalibrationResult(CalibrationReport Report, IReadOnlyList<string> Failed);

/// <summary>
/// The I/O around <see cref="ThresholdCalibration"/>: runs the detector over a small labeled set with every threshold
/// at the score floor (the job's other filters as given), calibrates per label, and writes the result to the dataset's
/// <c>.owlbox/calibration.json</c> (for the review page) and the calibrated prompt to <see cref="CalibrationRequest.Output"/>.
/// The labels are never touched. The labeled set must carry every box of the prompt's labels: a box the labels lack
/// counts against precision.
/// </summary>
public static class CalibrationRunner
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <exception cref="DatasetException">The dataset holds no images, or none of the prompt's labels.</exception>
    /// <exception cref="ModelException">The model cannot be loaded.</exception>
    /// <exception cref="InvalidPromptException">The prompt does not parse for this model.</exception>
    /// <exception cref="ExampleException">An example box or image cannot serve as a query.</exception>
    public static async Task<CalibrationResult> RunAsync(CalibrationRequest request, CancellationToken cancellationToken)
    {
        var directory = Path.GetFullPath(request.Dataset);
        LocalDataset.CheckFolder(directory);
        var dataset = LocalDataset.Open(directory); // checks the labels file whole, streamed
        if (dataset.Samples.Count == 0)
        {
            throw new DatasetException($"dataset '{request.Dataset}' holds no images: there is nothing to calibrate on");
        }
        using var detector = new OwlDetector(ModelDirectory.Load(request.Model, request.ModelVariant), new DetectorOptions { ExecutionProvider = request.ExecutionProvider });
        var prompt = LabelingPrompt.Parse(request.Prompt, detector.CountTokens, detector.Model.MaxTextTokens);
        var examples = request.Examples is { } images ? ExampleQueries.Embed(detector, images, null, new DecodeLimits()) : null;
        var open = DetectionPlan.Create(detector, ThresholdCalibration.AtScoreFloor(prompt), request.Options, examples);
        var labels = prompt.Labels.ToHashSet(StringComparer.Ordinal);
        // Only the images' boxes of the prompt's labels are kept (streamed): the truth, not the labels file, in memory.
        var imageIds = dataset.Samples.Select(s => s.Id).ToHashSet(StringComparer.Ordinal);
        var datasetLabels = CurrentLabels.Boxes(directory, imageIds.Contains, b => labels.Contains(b.Label));
        if (datasetLabels.Count == 0)
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
                truth.AddRange((datasetLabels.GetValueOrDefault(sample.Id) ?? []).Select(b => new EvalBox(sample.Id, b.Label, b.Box)));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                failed.Add($"{sample.Id}: {e.Message}"); // a corrupt image is left out, not the calibration
            }
        }
        var thresholds = ThresholdCalibration.Calibrate(prompt.Labels, truth, detections, request.TargetPrecision);
        var report = new CalibrationReport(request.TargetPrecision, dataset.Samples.Count - failed.Count, request.Model, DateTimeOffset.UtcNow, thresholds,
            ThresholdCalibration.WriteBack(prompt.Text, thresholds));
        AtomicFile.WriteAllText(OwlboxFolder.PathOf(directory, "calibration.json"), ToJson(report) + "\n");
        if (request.Output is { } output)
        {
            AtomicFile.WriteAllText(output, report.Prompt.EndsWith('\n') ? report.Prompt : report.Prompt + "\n");
        }
        return new CalibrationResult(report, failed);
    }

    /// <summary>The report as <c>calibration.json</c> holds it.</summary>
    public static string ToJson(CalibrationReport report) => JsonSerializer.Serialize(report, s_json);
}
