using System.Text.Json.Serialization;
using Owlbox.Labeling.Boxes;
using Owlbox.Labeling.Provenance;

namespace Owlbox.Datasets.Proposals;

/// <summary>A preview job's result (the original block's <c>--propose-actions &lt;job-id&gt;</c>): per sample, the boxes the
/// sample would get, the boxes it had when the job ran, and each new box's provenance. Labels are never touched
/// until the set is applied.</summary>
public sealed record ProposalSet
{
    public required string JobId { get; init; }
    public required DateTimeOffset CreatedUtc { get; init; }
    public required string ModelId { get; init; }
    public required string ModelType { get; init; }
    public required string Prompt { get; init; }
    public required string DeleteExisting { get; init; }
    public List<SampleProposal> Samples { get; init; } = [];
    public List<FailedSample> Failed { get; init; } = [];
}

/// <param name="ExistingBoxes">The sample's boxes when the job read it; apply refuses a sample whose boxes changed since.</param>
/// <param name="BoundingBoxes">The complete list the sample gets on apply (existing boxes after the policy, then new ones),
/// as Edge Impulse's proposedChanges.boundingBoxes.</param>
/// <param name="Detections">The new boxes only, with provenance.</param>
public sealed record SampleProposal(
    string SampleId,
    IReadOnlyList<LabeledBox> ExistingBoxes,
    IReadOnlyList<LabeledBox> BoundingBoxes,
    IReadOnlyDictionary<string, string> Metadata,
    IReadOnlyList<ProposedBox> Detections)
{
    /// <summary>The sample's metadata when the job read it: apply refuses a sample whose metadata changed since
    /// (null in sets written before it was recorded: only boxes are compared then).</summary>
    public IReadOnlyDictionary<string, string>? ExistingMetadata { get; init; }

    /// <summary>A vision model's verdict on each box it judged: of <see cref="ExistingBoxes"/> (<c>owlbox verify
    /// --propose-actions</c>; the review page shows each beside its box), or of the job's detections (a labeling job
    /// with <c>--verify-below</c>: each verdict holds its <see cref="BoxVerdict.Detection"/>, removed ones included);
    /// null where nothing was verified.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<BoxVerdict>? Verdicts { get; init; }
}

/// <summary>What a vision model said of one box: its position in the boxes verified (<see cref="SampleProposal.ExistingBoxes"/>
/// for <c>owlbox verify</c>, the sample's detections for a labeling job), the verdict (<c>kept</c>, <c>relabelled</c>,
/// <c>removed</c>), the label before and after, the model, its raw answer, its stated reason when it gave one, and the
/// verdict in words.</summary>
public sealed record BoxVerdict(int Box, string Verdict, string From, string Label, string Model, string? Answer, string? Reason, string Text)
{
    /// <summary>The detection judged, as the detector found it (label before, score), when the boxes verified were a
    /// labeling job's detections: they are in no other list of the set (a removed one is nowhere else); null for
    /// <c>owlbox verify</c>, whose boxes are the existing ones.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public LabeledBox? Detection { get; init; }
}

/// <summary>A new box, with why it exists and, once a person judged it on the review page, their decision.</summary>
public sealed record ProposedBox(string Label, int X, int Y, int Width, int Height, BoxProvenance Provenance)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ReviewDecision? Decision { get; init; }

    public LabeledBox ToLabeledBox() => new(Label, X, Y, Width, Height) { Score = Provenance.Score };
}

/// <summary>A reviewer's decision on a proposed box: accepted boxes are in the labels file, rejected ones never go there.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ReviewDecision>))]
public enum ReviewDecision
{
    Accepted,
    Rejected,
}

public sealed record FailedSample(string SampleId, string Reason);
