using System.Text.Json;
using Owlbox.Datasets;
using Owlbox.Datasets.Local;
using Owlbox.Datasets.Proposals;
using Owlbox.Labeling.Review;

namespace Owlbox.Cli.Review;

/// <summary>What the review page shows, read from the files as they are now: images with their labels, one
/// proposal set's boxes (pending and decided) and how each relates to the labels (<see cref="ReviewTriage"/>), the
/// proposal sets there are, and the latest calibration of the dataset's prompt when <c>owlbox calibrate</c> wrote one.</summary>
public static class ReviewState
{
    /// <param name="Verdict">What the shown set's verification said of this box (<c>owlbox verify --propose-actions</c>), in words.</param>
    public sealed record LabelView(string Label, int X, int Y, int Width, int Height, double? Score, string Triage, string? Verdict = null);

    public sealed record ProposalView(int Index, string Label, int X, int Y, int Width, int Height, double Score, int Line,
        string SearchText, string Decision, string? Triage);

    public sealed record ImageView(string Id, IReadOnlyList<LabelView> Labels, IReadOnlyList<ProposalView> Proposals);

    public sealed record SetView(string JobId, string Prompt, string ModelId, DateTimeOffset CreatedUtc, int Boxes, int Pending);

    /// <summary>Which page of images a state holds.</summary>
    /// <param name="Matching">The images the page's filter lets through, on every page (every image of the folder,
    /// or those with a pending box in the set shown).</param>
    public sealed record PageView(int Offset, int Limit, string Only, int Matching);

    /// <summary>The dataset's totals, every page counted: the folder's images, those the set shown has proposals for,
    /// and that set's boxes on them by decision.</summary>
    public sealed record Totals(int Images, int ImagesWithProposals, int ImagesWithPending, int Pending, int Accepted, int Rejected);

    /// <param name="Warnings">What the page could not show and why (a calibration file it cannot read), in words.</param>
    /// <param name="FindMore">The model "find more like this" runs (its folder's name); null: the page was started
    /// without <c>--model</c>, so it has no such button.</param>
    /// <param name="Page">The page of images held; null: every image (<see cref="Build"/>).</param>
    /// <param name="Labels">The label names of the set shown and of the images on the page (the page's label filter).</param>
    public sealed record State(string Dataset, IReadOnlyList<SetView> Sets, string? Set, IReadOnlyList<ImageView> Images,
        bool CanUndo, JsonElement? Calibration, IReadOnlyList<string> Warnings, string? FindMore = null, PageView? Page = null,
        Totals? Totals = null, IReadOnlyList<string>? Labels = null);

    /// <summary>Every image at once, the labels file read whole: for small datasets and tests; the server pages
    /// (<see cref="ReviewStateCache"/>).</summary>
    /// <param name="setId">The proposal set to show; null: the newest, if any.</param>
    public static State Build(LocalDataset dataset, ProposalStore store, string? setId, bool canUndo)
    {
        var sets = store.List();
        var set = Pick(sets, setId);
        var byImage = set?.Samples.ToDictionary(s => s.SampleId, StringComparer.Ordinal) ?? [];
        var labelsFile = dataset.ReadLabels();
        var images = dataset.Samples.Select(s => ViewOf(s.Id, labelsFile.GetBoxes(s.Id), byImage.GetValueOrDefault(s.Id), set is not null)).ToArray();
        return Assemble(dataset.Directory, sets.Select(SetViewOf).ToArray(), set?.JobId, images, canUndo);
    }

    /// <summary>The set a request names; null names the newest.</summary>
    public static ProposalSet? Pick(IReadOnlyList<ProposalSet> sets, string? setId) =>
        setId is null ? sets.MaxBy(s => s.CreatedUtc) : sets.FirstOrDefault(s => s.JobId == setId);

    public static SetView SetViewOf(ProposalSet x) => new(x.JobId, x.Prompt, x.ModelId, x.CreatedUtc, x.Samples.Sum(p => p.Detections.Count),
        x.Samples.Sum(p => p.Detections.Count(d => d.Decision is null)));

    /// <summary>One image as the page shows it: its labels, and its proposed boxes in the set shown (pending ones judged
    /// against the labels, <see cref="ReviewTriage"/>).</summary>
    public static ImageView ViewOf(string id, IReadOnlyList<Owlbox.Labeling.Boxes.LabeledBox> labels, SampleProposal? proposal, bool hasSet)
    {
        var detections = proposal?.Detections ?? [];
        // Pending boxes are judged against the labels; decided ones are labels already, or gone.
        var pending = detections.Select((d, i) => (d, i)).Where(x => x.d.Decision is null).ToArray();
        var triage = ReviewTriage.Classify(
            pending.Select(x => new TriageBox(x.d.Label, new(x.d.X, x.d.Y, x.d.Width, x.d.Height), x.d.Provenance.Score)).ToArray(),
            labels.Select(b => new TriageBox(b.Label, b.Box, b.Score ?? 1)).ToArray());
        var triageOf = pending.Select((x, k) => (x.i, triage.Proposals[k])).ToDictionary(t => t.i, t => Name(t.Item2));
        var verdicts = proposal is null ? new string?[labels.Count] : VerdictsOf(proposal, labels);
        return new ImageView(
            id,
            labels.Select((b, k) => new LabelView(b.Label, b.X, b.Y, b.Width, b.Height, b.Score,
                !hasSet ? "found" : triage.Labels[k] == LabelTriage.Missed ? "missed" : "found", verdicts[k])).ToArray(),
            detections.Select((d, i) => new ProposalView(i, d.Label, d.X, d.Y, d.Width, d.Height, d.Provenance.Score,
                d.Provenance.PromptLine, d.Provenance.SearchText,
                d.Decision switch { ReviewDecision.Accepted => "accepted", ReviewDecision.Rejected => "rejected", _ => "pending" },
                triageOf.GetValueOrDefault(i))).ToArray());
    }

    /// <summary>The state from its parts, with the calibration as the file is now.</summary>
    public static State Assemble(string directory, IReadOnlyList<SetView> sets, string? set, IReadOnlyList<ImageView> images, bool canUndo)
    {
        var calibrationPath = OwlboxFolder.TryPathOf(directory, out var linked, "calibration.json");
        var (calibration, warning) = calibrationPath is null ? ((JsonElement?)null, linked) : ReadCalibration(calibrationPath);
        return new State(Path.GetFileName(directory.TrimEnd(Path.DirectorySeparatorChar)), sets, set, images, canUndo, calibration,
            warning is null ? [] : [warning]);
    }

    /// <summary>The calibration <c>owlbox calibrate</c> wrote, or why it is not shown: a damaged file costs the page
    /// its calibration table, never the page.</summary>
    public static (JsonElement? Calibration, string? Warning) ReadCalibration(string path)
    {
        if (!File.Exists(path))
        {
            return (null, null);
        }
        string? problem;
        JsonElement? calibration = null;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            problem = CalibrationProblem(document.RootElement);
            calibration = problem is null ? document.RootElement.Clone() : null;
        }
        catch (JsonException e)
        {
            problem = $"it is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})";
        }
        catch (IOException e)
        {
            problem = $"it could not be read ({e.Message})";
        }
        catch (UnauthorizedAccessException)
        {
            problem = "it could not be read (permission denied)";
        }
        return problem is null
            ? (calibration, null)
            : (null, $".owlbox/calibration.json is not shown: {problem}; run owlbox calibrate again to rewrite it");
    }

    /// <summary>What the page needs of a calibration and this one lacks, naming the field; null when it has it all.</summary>
    public static string? CalibrationProblem(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return "it is not a JSON object";
        }
        foreach (var field in new[] { "targetPrecision", "images" })
        {
            if (!root.TryGetProperty(field, out var value) || value.ValueKind != JsonValueKind.Number)
            {
                return $"'{field}' is missing or not a number";
            }
        }
        if (!root.TryGetProperty("labels", out var labels) || labels.ValueKind != JsonValueKind.Array)
        {
            return "'labels' is missing or not a list";
        }
        var i = 0;
        foreach (var label in labels.EnumerateArray())
        {
            if (label.ValueKind != JsonValueKind.Object || !label.TryGetProperty("label", out var name) || name.ValueKind != JsonValueKind.String)
            {
                return $"'labels[{i}].label' is missing or not text";
            }
            foreach (var field in new[] { "threshold", "precision", "recall" })
            {
                if (label.TryGetProperty(field, out var value) && value.ValueKind is not (JsonValueKind.Number or JsonValueKind.Null))
                {
                    return $"'labels[{i}].{field}' is not a number";
                }
            }
            i++;
        }
        return null;
    }

    /// <summary>Each label's verdict: the verdict on the box of the proposal's existing boxes it is (the first not yet
    /// matched equal box, so a label moved or added since is matched by value, not position).</summary>
    private static string?[] VerdictsOf(SampleProposal proposal, IReadOnlyList<Labeling.Boxes.LabeledBox> labels)
    {
        var result = new string?[labels.Count];
        if (proposal.Verdicts is not { Count: > 0 } verdicts)
        {
            return result;
        }
        var taken = new bool[labels.Count];
        foreach (var v in verdicts.Where(v => v.Detection is null && v.Box >= 0 && v.Box < proposal.ExistingBoxes.Count)) // a job's verdicts are on its detections
        {
            var at = Enumerable.Range(0, labels.Count).FirstOrDefault(k => !taken[k] && labels[k] == proposal.ExistingBoxes[v.Box], -1);
            if (at >= 0)
            {
                (taken[at], result[at]) = (true, v.Text);
            }
        }
        return result;
    }

    private static string Name(ProposalTriage t) => t switch
    {
        ProposalTriage.Match => "match",
        ProposalTriage.LowIoU => "low-iou",
        _ => "extra",
    };
}
