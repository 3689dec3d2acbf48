using Owlbox.Contracts.V1;
using Owlbox.Datasets;
using Owlbox.Labeling.Boxes;
using Owlbox.Labeling.Prompts;

namespace Owlbox.Pipeline;

/// <summary>A job's example boxes: every box, on any sample, labelled with a name a <c>[label]</c> prompt line uses.
/// Gathered once at submission (the gateway), so every part of the job uses the same examples.</summary>
public static class ExampleGathering
{
    /// <summary>Samples' labels read per request: a project of any size is read in bounded pieces.</summary>
    private const int ReadBatch = 500;

    /// <summary>The example lines' boxes among <paramref name="labels"/>, and one error per example line with none
    /// (naming the line and <paramref name="where"/>). Null examples when the prompt has no example line.</summary>
    public static (JobExamples? Examples, IReadOnlyList<string> Errors) Collect(IReadOnlyList<PromptLine> lines, DatasetReference dataset,
        IEnumerable<(string SampleId, IReadOnlyList<LabeledBox> Boxes)> labels, string where)
    {
        var exampleLines = lines.Where(l => l.IsExample).ToArray();
        if (exampleLines.Length == 0)
        {
            return (null, []);
        }
        var names = exampleLines.Select(l => l.SearchText).ToHashSet(StringComparer.Ordinal);
        var boxes = labels
            .SelectMany(s => s.Boxes.Where(b => IsExample(b, names)).Select(b => new ExampleBox(s.SampleId, b.Label, b.X, b.Y, b.Width, b.Height)))
            .ToArray();
        return (new JobExamples(dataset, boxes), Missing(exampleLines, boxes, where));
    }

    /// <summary>A box of an example line's label that a person drew: a box a detector wrote carries its score and is
    /// never an example, so a job's own output (journaled, folded, or left by a killed run) cannot become its queries,
    /// and a re-run finds the same examples and resumes.</summary>
    public static bool IsExample(LabeledBox box, IReadOnlySet<string> exampleLabels) => box.Score is null && exampleLabels.Contains(box.Label);

    /// <summary>One error per example line that none of <paramref name="boxes"/> serves.</summary>
    public static IReadOnlyList<string> Missing(IEnumerable<PromptLine> lines, IReadOnlyList<ExampleBox> boxes, string where)
    {
        var found = boxes.Select(b => b.Label).ToHashSet(StringComparer.Ordinal);
        return [.. lines.Where(l => l.IsExample && !found.Contains(l.SearchText)).Select(l =>
            $"prompt line {l.LineNumber} \"[{l.SearchText}]\": no box labelled '{l.SearchText}' in {where} to use as an example; draw one first")];
    }

    /// <summary>Reads every sample's labels from <paramref name="backend"/> (as the backend returns them: a Studio
    /// project's boxes as Studio stores them) and collects the examples.</summary>
    public static async Task<(JobExamples? Examples, IReadOnlyList<string> Errors)> GatherAsync(IReadOnlyList<PromptLine> lines, DatasetReference dataset,
        IDatasetBackend backend, CancellationToken cancellationToken)
    {
        if (!lines.Any(l => l.IsExample))
        {
            return (null, []);
        }
        var selection = await backend.SelectAsync(null, cancellationToken).ConfigureAwait(false);
        var read = new List<(string, IReadOnlyList<LabeledBox>)>();
        foreach (var chunk in selection.Found.Chunk(ReadBatch))
        {
            var labels = await backend.ReadLabelsAsync(chunk, null, cancellationToken).ConfigureAwait(false);
            read.AddRange(chunk.Where(labels.Labels.ContainsKey).Select(id => (id, labels.Labels[id].Boxes)));
        }
        return Collect(lines, dataset, read, $"{dataset.Kind} dataset '{dataset.Location}'");
    }
}
