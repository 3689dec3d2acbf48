using Owlbox.Labeling.Boxes;

namespace Owlbox.Datasets.Local;

/// <summary>
/// A dataset's boxes as they are now, for the commands that measure or gather from them (eval, calibrate, example
/// lines): a pending journal is folded first (what a running or killed job wrote is the labels too), then the labels
/// file is streamed once (<see cref="LabelsReader"/>) and checked whole, as <see cref="LabelsFile.Load"/> checks it,
/// keeping only the boxes asked for. The memory is what is kept (and the reader's 16 bytes a sample), never the file.
/// </summary>
public static class CurrentLabels
{
    /// <summary>The boxes of the samples <paramref name="samples"/> names (every sample when null) that
    /// <paramref name="keep"/> accepts (all when null), by sample in the file's order; a sample with no box kept is
    /// left out. A missing file has none.</summary>
    /// <exception cref="DatasetException">The labels file is not one Owlbox can read, naming the file and the field.</exception>
    public static IReadOnlyDictionary<string, IReadOnlyList<LabeledBox>> Boxes(string directory, Func<string, bool>? samples,
        Func<LabeledBox, bool>? keep = null)
    {
        LabelJournal.FoldPending(directory);
        // A dictionary filled once, never removed from, enumerates in insertion order: the file's.
        var kept = new Dictionary<string, IReadOnlyList<LabeledBox>>(StringComparer.Ordinal);
        foreach (var entry in LabelsReader.ReadFile(Path.Combine(directory, LabelsFile.FileName), samples))
        {
            if (entry.Boxes is not { } boxes)
            {
                continue; // a metadata entry
            }
            var chosen = keep is null ? boxes : boxes.Where(keep).ToArray();
            if (chosen.Count > 0)
            {
                kept.Add(entry.SampleId, chosen);
            }
        }
        return kept;
    }
}
