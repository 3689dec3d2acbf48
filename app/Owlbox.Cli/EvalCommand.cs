using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Owlbox.Datasets;
using Owlbox.Datasets.Local;
using Owlbox.Datasets.Proposals;
using Owlbox.Labeling.Boxes;
using Owlbox.Labeling.Evaluation;

namespace Owlbox.Cli;

/// <summary>
/// <c>owlbox eval &lt;dataset&gt; --truth &lt;dataset&gt; [--proposals &lt;job-id&gt;] [--json]</c>: average precision of a
/// proposal set's boxes (scored by the model) or of a dataset's labels against a ground-truth dataset with the same
/// image file names, equal to pycocotools' COCOeval bbox AP (maxDets 100, area all; <see cref="AveragePrecision"/>) on
/// the boxes as the labels file stores them, in integer pixels. Labels written by a job carry the model's
/// <c>score</c>; a box without one (drawn by a person) counts as 1. A truth with no images or no boxes, or no image in
/// common, is a setup error: an AP of 0 would look like a measurement.
/// </summary>
public static class EvalCommand
{
    public static Command Create(CliContext io)
    {
        var dataset = CliOptions.Positional("dataset-folder", "the dataset whose labels (or proposal set) are measured");
        var truth = CliOptions.Text("--truth", "the ground-truth dataset (required; images paired by file name)", "dataset-folder");
        var proposals = CliOptions.Text("--proposals", "measure this proposal set of the dataset instead of its labels", "job-id");
        var json = CliOptions.Flag("--json", "print the result as JSON");
        var command = new Command("eval", "average precision against a ground truth: equals COCOeval's bbox AP, maxDets 100, area all; "
            + "boxes are integer pixels as the labels file stores them") { dataset, truth, proposals, json };
        return command.WithAction((p, _) => RunAsync(p.GetValue(dataset)!,
            p.GetValue(truth) ?? throw new UsageException("eval takes a dataset folder and --truth <dataset folder>"),
            p.GetValue(proposals), p.GetValue(json), io.Out));
    }

    private static async Task<int> RunAsync(string datasetDir, string truthDir, string? proposalSet, bool json, TextWriter stdout)
    {
        var truthSet = LocalDataset.List(truthDir);
        if (truthSet.Samples.Count == 0)
        {
            throw new DatasetException($"--truth '{truthDir}' holds no images: there is nothing to measure against");
        }
        var truthLabels = truthSet.ReadLabels();
        var truth = truthSet.Samples.SelectMany(s => truthLabels.GetBoxes(s.Id).Select(b => new EvalBox(s.Id, b.Label, b.Box))).ToArray();
        if (truth.Length == 0)
        {
            throw new DatasetException($"--truth '{truthDir}' has no boxes in {LabelsFile.FileName}: there is nothing to measure against");
        }
        var images = truthSet.Samples.Select(s => s.Id).ToHashSet(StringComparer.Ordinal);
        EvalBox[] detections;
        int common;
        string source;
        if (proposalSet is { } jobId)
        {
            var set = new ProposalStore(datasetDir).Load(jobId);
            var samples = set.Samples.Where(p => images.Contains(p.SampleId)).ToArray();
            common = samples.Select(p => p.SampleId).Distinct(StringComparer.Ordinal).Count();
            source = $"proposal set '{jobId}'";
            detections = samples
                .SelectMany(p => p.Detections.Select(d => new EvalBox(p.SampleId, d.Label, new PixelBox(d.X, d.Y, d.Width, d.Height), d.Provenance.Score))).ToArray();
        }
        else
        {
            var dataset = LocalDataset.List(datasetDir);
            var labels = dataset.ReadLabels();
            var samples = dataset.Samples.Where(s => images.Contains(s.Id)).ToArray();
            common = samples.Length;
            source = $"dataset '{datasetDir}'";
            detections = samples
                .SelectMany(s => labels.GetBoxes(s.Id).Select(b => new EvalBox(s.Id, b.Label, b.Box, b.Score ?? 1))).ToArray();
        }
        if (common == 0)
        {
            throw new DatasetException($"no image of the {source} has the file name of an image in --truth '{truthDir}' (eval pairs images by file name): there is nothing to measure");
        }
        var result = AveragePrecision.Evaluate(truth, detections);
        if (json)
        {
            await stdout.WriteLineAsync(JsonSerializer.Serialize(new
            {
                ap50 = result.Ap50,
                ap75 = result.Ap75,
                map = result.Map,
                per_label = result.PerLabelAt50.ToDictionary(kv => kv.Key, kv => new
                {
                    ap50 = kv.Value.AveragePrecision,
                    precision = kv.Value.Precision,
                    recall = kv.Value.Recall,
                    true_positives = kv.Value.TruePositives,
                    false_positives = kv.Value.FalsePositives,
                    ground_truth = kv.Value.GroundTruth,
                }),
            })).ConfigureAwait(false);
            return OwlboxCli.Ok;
        }
        string F(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);
        await stdout.WriteLineAsync($"AP50 {F(result.Ap50)}   AP75 {F(result.Ap75)}   mAP@[.50:.95] {F(result.Map)}   ({truth.Length} true boxes, {detections.Length} boxes, {images.Count} images)").ConfigureAwait(false);
        foreach (var (label, r) in result.PerLabelAt50.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            await stdout.WriteLineAsync($"  {label}: AP50 {F(r.AveragePrecision)}, precision {F(r.Precision)}, recall {F(r.Recall)} ({r.TruePositives} found of {r.GroundTruth}, {r.FalsePositives} extra)").ConfigureAwait(false);
        }
        return OwlboxCli.Ok;
    }
}
