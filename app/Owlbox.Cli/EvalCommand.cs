using System.Globalization;
using System.Text.Json;
using Owlbox.Datasets.Local;
using Owlbox.Datasets.Proposals;
using Owlbox.Labeling.Boxes;
using Owlbox.Labeling.Evaluation;

namespace Owlbox.Cli;

/// <summary>
/// <c>owlbox eval &lt;dataset&gt; --truth &lt;dataset&gt; [--proposals &lt;job-id&gt;] [--json]</c>: COCO-style average precision of
/// a proposal set's boxes (scored by the model) or of a dataset's labels against a ground-truth dataset with the same
/// image file names. Labels written by a job carry the model's <c>score</c>; a box without one (drawn by a person) counts as 1.
/// </summary>
public static class EvalCommand
{
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, CancellationToken cancellationToken)
    {
        var a = new ArgumentReader(args, new HashSet<string>(["--truth", "--proposals"]), new HashSet<string>(["--json"]), ignoreUnknown: false);
        if (a.Positionals.Count != 1 || a.Get("--truth") is not { } truthDir)
        {
            throw new UsageException("eval takes a dataset folder and --truth <dataset folder>");
        }
        var truthSet = LocalDataset.Open(truthDir);
        var truth = truthSet.Samples.SelectMany(s => truthSet.Labels.GetBoxes(s.Id).Select(b => new EvalBox(s.Id, b.Label, b.Box))).ToArray();
        var images = truthSet.Samples.Select(s => s.Id).ToHashSet(StringComparer.Ordinal);
        EvalBox[] detections;
        if (a.Get("--proposals") is { } jobId)
        {
            var set = new ProposalStore(a.Positionals[0]).Load(jobId);
            detections = set.Samples.Where(p => images.Contains(p.SampleId))
                .SelectMany(p => p.Detections.Select(d => new EvalBox(p.SampleId, d.Label, new PixelBox(d.X, d.Y, d.Width, d.Height), d.Provenance.Score))).ToArray();
        }
        else
        {
            var dataset = LocalDataset.Open(a.Positionals[0]);
            detections = dataset.Samples.Where(s => images.Contains(s.Id))
                .SelectMany(s => dataset.Labels.GetBoxes(s.Id).Select(b => new EvalBox(s.Id, b.Label, b.Box, b.Score ?? 1))).ToArray();
        }
        var result = AveragePrecision.Evaluate(truth, detections);
        if (a.Flag("--json", false))
        {
            await stdout.WriteLineAsync(JsonSerializer.Serialize(new
            {
                ap50 = result.Ap50,
                ap75 = result.Ap75,
                map = result.Map,
                per_label = result.PerLabelAt50.ToDictionary(kv => kv.Key, kv => new
                {
                    ap50 = kv.Value.AveragePrecision, precision = kv.Value.Precision, recall = kv.Value.Recall,
                    true_positives = kv.Value.TruePositives, false_positives = kv.Value.FalsePositives, ground_truth = kv.Value.GroundTruth,
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
