using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.Json;
using Owlbox.Datasets;
using Owlbox.Datasets.Local;
using Owlbox.Datasets.Proposals;
using Owlbox.Labeling.Boxes;
using Owlbox.Labeling.Evaluation;
using Owlbox.Verification;
using PixelBox = Owlbox.Labeling.Boxes.PixelBox;

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
        var verify = CliOptions.Flag("--verify", "measure the labels before and after a verification by a vision model (the verify options below; "
            + "nothing is written, answers are cached for the run that applies them)");
        var verifyOptions = new VerifyOptionGroup();
        var command = new Command("eval", "average precision against a ground truth: equals COCOeval's bbox AP, maxDets 100, area all; "
            + "boxes are integer pixels as the labels file stores them") { dataset, truth, proposals, json, verify };
        return command.WithOptions(verifyOptions.All).WithAction((p, cancellationToken) =>
        {
            var truthDir = p.GetValue(truth) ?? throw new UsageException("eval takes a dataset folder and --truth <dataset folder>");
            if (!p.GetValue(verify))
            {
                return RunAsync(p.GetValue(dataset)!, truthDir, p.GetValue(proposals), p.GetValue(json), io.Out);
            }
            if (p.GetValue(proposals) is not null)
            {
                throw new UsageException("give --verify or --proposals, not both");
            }
            return VerifyAndEvalAsync(p, verifyOptions, p.GetValue(dataset)!, truthDir, p.GetValue(json), io, cancellationToken);
        });
    }

    /// <summary>The truth's boxes and images; a truth with nothing to measure against is a setup error.</summary>
    private static (EvalBox[] Boxes, HashSet<string> Images) ReadTruth(string truthDir)
    {
        var truthSet = LocalDataset.List(truthDir);
        if (truthSet.Samples.Count == 0)
        {
            throw new DatasetException($"--truth '{truthDir}' holds no images: there is nothing to measure against");
        }
        var images = truthSet.Samples.Select(s => s.Id).ToHashSet(StringComparer.Ordinal);
        var truthLabels = CurrentLabels.Boxes(truthDir, images.Contains);
        var truth = truthSet.Samples.SelectMany(s => BoxesOf(truthLabels, s.Id).Select(b => new EvalBox(s.Id, b.Label, b.Box))).ToArray();
        if (truth.Length == 0)
        {
            throw new DatasetException($"--truth '{truthDir}' has no boxes in {LabelsFile.FileName}: there is nothing to measure against");
        }
        return (truth, images);
    }

    /// <summary>A sample's boxes among those read (<see cref="CurrentLabels"/>: only the measured samples', streamed).</summary>
    private static IReadOnlyList<LabeledBox> BoxesOf(IReadOnlyDictionary<string, IReadOnlyList<LabeledBox>> labels, string id) =>
        labels.GetValueOrDefault(id) ?? [];

    /// <summary>
    /// <c>eval --verify</c>: verifies the dataset's images that the truth has (or those of <c>--data-ids-file</c>)
    /// without writing, and measures their labels as they are and as the verification would leave them, with the calls
    /// and tokens it took: the lift on 100 images, before paying for 10,000. The answers are cached in the dataset, so
    /// <c>owlbox verify</c> with the same options afterwards asks nothing about these images again.
    /// </summary>
    private static async Task<int> VerifyAndEvalAsync(ParseResult parsed, VerifyOptionGroup group, string datasetDir, string truthDir, bool json,
        CliContext io, CancellationToken cancellationToken)
    {
        var (truth, images) = ReadTruth(truthDir);
        var directory = Path.GetFullPath(datasetDir);
        var dataset = LocalDataset.Open(directory);
        var key = VerifyOptionGroup.ReadKey();
        var (run, llm, maxCalls) = group.Read(parsed, key);
        var common = dataset.Samples.Select(s => s.Id).Where(images.Contains).ToArray();
        if (common.Length == 0)
        {
            throw new DatasetException($"no image of dataset '{datasetDir}' has the file name of an image in --truth '{truthDir}' (eval pairs images by file name): there is nothing to measure");
        }
        var ids = run.SampleIds is { } chosen ? dataset.Select(chosen).Found.Select(f => f.Id).Where(images.Contains).ToArray() : common;
        run = run with { SampleIds = ids, DryRun = true };
        var cache = new FileAnswerCache(OwlboxFolder.PathOf(directory, "llm-answers"));
        var result = await VerifyOptionGroup.RunAsync(new LocalDatasetBackend(directory), run, llm, cache, maxCalls, cancellationToken).ConfigureAwait(false);
        var measured = ids.ToHashSet(StringComparer.Ordinal);
        var truthOfThese = truth.Where(t => measured.Contains(t.Image)).ToArray();
        var labels = CurrentLabels.Boxes(directory, measured.Contains);
        var before = ids.SelectMany(id => BoxesOf(labels, id).Select(b => new EvalBox(id, b.Label, b.Box, b.Score ?? 1))).ToArray();
        var decided = result.Samples.Where(s => !s.Failed).ToDictionary(s => s.SampleId, StringComparer.Ordinal);
        var after = ids.SelectMany(id =>
        {
            var boxes = BoxesOf(labels, id);
            var kept = decided.TryGetValue(id, out var s) ? VerificationProvenance.Apply(s.Boxes, s.Decisions) : boxes;
            return kept.Select(b => new EvalBox(id, b.Label, b.Box, b.Score ?? 1));
        }).ToArray();
        var (was, now) = (AveragePrecision.Evaluate(truthOfThese, before), AveragePrecision.Evaluate(truthOfThese, after));
        if (json)
        {
            await io.Out.WriteLineAsync(JsonSerializer.Serialize(new
            {
                images = ids.Length,
                before = new { ap50 = was.Ap50, ap75 = was.Ap75, map = was.Map, boxes = before.Length },
                after = new { ap50 = now.Ap50, ap75 = now.Ap75, map = now.Map, boxes = after.Length },
                kept = result.Count(DecisionKind.Kept),
                relabelled = result.Count(DecisionKind.Relabelled),
                removed = result.Count(DecisionKind.Removed),
                failed_samples = result.Failed.Count,
                calls = result.Calls,
                cache_hits = result.CacheHits,
                budget_left = result.BudgetLeft,
                model = result.Model,
                input_tokens = result.Usage.InputTokens,
                output_tokens = result.Usage.OutputTokens,
            })).ConfigureAwait(false);
            return result.Failed.Count > 0 ? OwlboxCli.SamplesFailed : OwlboxCli.Ok;
        }
        string F(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);
        await io.Out.WriteLineAsync($"{ids.Length} image(s), {truthOfThese.Length} true boxes; nothing was written").ConfigureAwait(false);
        await io.Out.WriteLineAsync($"before verification: AP50 {F(was.Ap50)}   AP75 {F(was.Ap75)}   mAP@[.50:.95] {F(was.Map)}   ({before.Length} boxes)").ConfigureAwait(false);
        await io.Out.WriteLineAsync($"after verification:  AP50 {F(now.Ap50)}   AP75 {F(now.Ap75)}   mAP@[.50:.95] {F(now.Map)}   ({after.Length} boxes)").ConfigureAwait(false);
        await VerifyOptionGroup.PrintSummaryAsync(result, maxCalls, io.Out).ConfigureAwait(false);
        if (ids.Length > 0 && result.Calls > 0)
        {
            await io.Out.WriteLineAsync($"per image: {(double)result.Usage.InputTokens / ids.Length:0} input and {(double)result.Usage.OutputTokens / ids.Length:0.#} output tokens, "
                + $"{(double)result.Calls / ids.Length:0.##} calls").ConfigureAwait(false);
        }
        return await VerifyOptionGroup.PrintFailuresAsync(result, io.Error).ConfigureAwait(false);
    }

    private static async Task<int> RunAsync(string datasetDir, string truthDir, string? proposalSet, bool json, TextWriter stdout)
    {
        var (truth, images) = ReadTruth(truthDir);
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
            var labels = CurrentLabels.Boxes(datasetDir, images.Contains);
            var samples = dataset.Samples.Where(s => images.Contains(s.Id)).ToArray();
            common = samples.Length;
            source = $"dataset '{datasetDir}'";
            detections = samples
                .SelectMany(s => BoxesOf(labels, s.Id).Select(b => new EvalBox(s.Id, b.Label, b.Box, b.Score ?? 1))).ToArray();
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
