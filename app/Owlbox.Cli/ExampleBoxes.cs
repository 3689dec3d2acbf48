using Owlbox.Contracts.V1;
using Owlbox.Datasets;
using Owlbox.Datasets.Local;
using Owlbox.Detection.Inference;
using Owlbox.Labeling.Boxes;
using Owlbox.Labeling.Prompts;
using Owlbox.Pipeline;

namespace Owlbox.Cli;

/// <summary>The boxes an example prompt line (<c>[label]</c>) stands for: every box of that label a person drew in a
/// local dataset's labels (a pending journal folded first), gathered at setup before anything is written and carried in the job's spec (the detector
/// reads their images, once).</summary>
public static class ExampleBoxes
{
    /// <summary>Null when the prompt has no example lines (or does not parse: the submission reports that in full).
    /// Throws <see cref="JobSetupException"/> naming the prompt line of a label with no box, or the file that cannot
    /// be read.</summary>
    public static JobExamples? Gather(string prompt, string folder)
    {
        var (lines, errors) = PromptGrammar.Parse(prompt);
        var exampleLines = lines.Where(l => l.IsExample).ToArray();
        if (errors.Count > 0 || exampleLines.Length == 0)
        {
            return null;
        }
        var names = exampleLines.Select(l => l.SearchText).ToHashSet(StringComparer.Ordinal);
        if (!Directory.Exists(folder))
        {
            throw new JobSetupException($"examples folder '{folder}' does not exist");
        }
        // Streamed, keeping only the example boxes: memory is the examples', not the labels file's.
        var labels = CurrentLabels.Boxes(folder, samples: null, keep: b => ExampleGathering.IsExample(b, names));
        var boxesFound = new List<ExampleBox>();
        var found = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (file, boxes) in labels)
        {
            if (!LocalDataset.HasImage(folder, file))
            {
                throw new JobSetupException($"example boxes labelled '{boxes[0].Label}' are on '{file}', which is not an image in {folder}");
            }
            boxesFound.AddRange(boxes.Select(b => new ExampleBox(file, b.Label, b.X, b.Y, b.Width, b.Height)));
            found.UnionWith(boxes.Select(b => b.Label));
        }
        var missing = exampleLines.Where(l => !found.Contains(l.SearchText)).ToArray();
        if (missing.Length > 0)
        {
            throw new JobSetupException(string.Join(Environment.NewLine, missing.Select(l =>
                $"prompt line {l.LineNumber} \"[{l.SearchText}]\": no box labelled '{l.SearchText}' in {Path.Combine(folder, LabelsFile.FileName)} to use as an example; draw one, or take examples from another dataset with --examples-from")));
        }
        return new JobExamples(new DatasetReference("local", folder), boxesFound);
    }

    /// <summary>The example images of a local dataset's examples, read here (commands that run the model themselves:
    /// <c>calibrate</c>).</summary>
    public static IReadOnlyList<ExampleImage> ReadImages(JobExamples examples)
    {
        var folder = examples.Dataset.Location;
        return [.. examples.Boxes.GroupBy(b => b.SampleId, StringComparer.Ordinal).Select(g =>
        {
            var path = Path.Combine(folder, g.Key);
            try
            {
                return new ExampleImage(g.Key, File.ReadAllBytes(path), [.. g.Select(b => (b.Label, new PixelBox(b.X, b.Y, b.Width, b.Height)))]);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new JobSetupException($"example image '{path}' cannot be read: {e.Message}", e);
            }
        })];
    }
}
