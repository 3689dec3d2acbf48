using Owlbox.Contracts.V1;
using Owlbox.Datasets;
using Owlbox.Datasets.Local;
using Owlbox.Datasets.Proposals;
using Owlbox.Detection.Inference;
using Owlbox.Labeling;
using Owlbox.Labeling.Boxes;
using Owlbox.Labeling.Prompts;
using Owlbox.Pipeline;

namespace Owlbox.Cli.Review;

/// <summary>The model the review page finds more with (<c>owlbox review --model</c>).</summary>
public sealed record ReviewModel(string Directory, string Variant = "model");

/// <summary>
/// "Find more like this" on the review page: a box and the label's accepted boxes (every box of that label in the
/// labels file) become the example queries of a one-line example prompt, <c>[this] (label, min)</c>, run as a preview
/// job (<c>owlbox label --propose-actions</c>, the same code path) into a new proposal set; the labels are not touched.
/// </summary>
public static class FindMore
{
    public const string NoModel = "this review page was started without a model, so it cannot find more like a box: start it with `owlbox review <dataset> --model <model-folder>`";

    public const double DefaultMinConfidence = 0.3;

    /// <summary>The example name in the prompt; the examples are the ones given here, never looked up by it.</summary>
    private const string ExampleName = "this";

    /// <summary>Runs the preview; the new set's id and its box count. Throws <see cref="JobSetupException"/> for
    /// anything that stops it at setup (a box smaller than a patch, a model without the prepared form, a label that
    /// cannot be written as a prompt line), naming it.</summary>
    public static async Task<(string Set, int Boxes)> RunAsync(string directory, ReviewModel model, string image, LabeledBox box, double minConfidence,
        CancellationToken cancellationToken)
    {
        var prompt = $"[{ExampleName}] ({box.Label}, {minConfidence.ToString("R", System.Globalization.CultureInfo.InvariantCulture)})";
        var (lines, errors) = PromptGrammar.Parse(prompt);
        if (errors.Count > 0 || lines.Count != 1 || lines[0].Label != box.Label)
        {
            throw new JobSetupException($"the label '{box.Label}' cannot be written as a prompt line (a label with brackets, parentheses or commas): rename it to find more like it");
        }
        var examples = Examples(directory, image, box);
        var proposals = new ProposalStore(directory);
        var id = Enumerable.Range(1, int.MaxValue).Select(i => $"more-{i}").First(i => !proposals.Exists(i));
        var spec = new JobSpec(new DatasetReference("local", directory), model.Directory, model.Variant, prompt, new LabelingOptions().ToContract(), id, null,
            Examples: examples);
        var options = LabelCommand.LocalOptions(directory, new DetectorOptions(), LabelCommand.EmbeddingCacheFolder(directory, off: false, TextWriter.Null),
            new Detection.Imaging.DecodeLimits().MaxPixels);
        var summary = await LocalJobRunner.RunAsync(spec, options, proposals.PathFor(id), new ConsoleReporter(TextWriter.Null), cancellationToken).ConfigureAwait(false);
        if (summary.Status != JobStatus.Completed)
        {
            var first = summary.Failed.Count > 0 ? $", first {summary.Failed[0].SampleId}: {summary.Failed[0].Reason}" : "";
            throw new JobSetupException($"finding more like this box stopped ({summary.Status}): {summary.Failed.Count} images failed{first}");
        }
        return (id, proposals.Load(id).Samples.Sum(s => s.Detections.Count));
    }

    /// <summary>The box itself and every box of its label in the labels file, each once, grouped by image.</summary>
    public static JobExamples Examples(string directory, string image, LabeledBox box)
    {
        LocalDataset.CheckFolder(directory);
        // Streamed, keeping that label's boxes only (a 10^6-sample file is never held); a pending journal (a running
        // job's boxes, the page's own recent clicks) is folded first, so those count too.
        var labels = CurrentLabels.Boxes(directory, null, b => b.Label == box.Label);
        var byImage = new Dictionary<string, List<PixelBox>>(StringComparer.Ordinal) { [image] = [box.Box] };
        foreach (var (file, boxes) in labels)
        {
            foreach (var accepted in boxes)
            {
                var list = byImage.TryGetValue(file, out var l) ? l : byImage[file] = [];
                if (!list.Contains(accepted.Box))
                {
                    list.Add(accepted.Box);
                }
            }
        }
        foreach (var name in byImage.Keys.Where(name => !LocalDataset.HasImage(directory, name)))
        {
            throw new JobSetupException($"'{name}' is not an image in {directory}");
        }
        return new JobExamples(new DatasetReference("local", directory),
            [.. byImage.SelectMany(kv => kv.Value.Select(b => new ExampleBox(kv.Key, ExampleName, b.X, b.Y, b.Width, b.Height)))]);
    }
}
