using System.Text.Encodings.Web;
using System.Text.Json;
using Owlbox.Datasets;
using Owlbox.Datasets.Proposals;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Verification;

/// <summary>
/// What a verification does to a sample and how it says so: the boxes after the decisions, the per-box verdicts a
/// proposal set carries (the review page shows each beside its box), and the sample metadata written with the boxes,
/// string values as Edge Impulse stores them and as the original blocks write their <c>labeled_by</c> and
/// <c>prompt</c>. Pure: no I/O.
/// </summary>
public static class VerificationProvenance
{
    /// <summary>The model that verified the sample's boxes (the OWL block's <c>labeled_by</c>, for the second stage).</summary>
    public const string VerifiedBy = "verified_by";

    /// <summary>The prompt sent with every crop.</summary>
    public const string VerifyPrompt = "verify_prompt";

    /// <summary>"kept 2, relabelled 1, removed 1".</summary>
    public const string VerifySummary = "verify_summary";

    /// <summary>Each judged box as JSON: its position before the write, verdict, labels, raw answer, reason.</summary>
    public const string VerifyDecisions = "verify_decisions";

    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // a string in metadata, read by people in Studio
    };

    /// <summary>The verdict of a decision that judged the box (an answer, asked or cached); null for one that did not.</summary>
    public static string? VerdictWord(BoxDecision decision) =>
        decision.Kind is DecisionKind.Kept or DecisionKind.Relabelled or DecisionKind.Removed ? Word(decision.Kind) : null;

    /// <summary>The verdict in words, as shown beside the (not yet changed) box.</summary>
    public static string Text(BoxDecision decision) => decision.Kind switch
    {
        DecisionKind.Kept => $"kept by {decision.Model}",
        DecisionKind.Relabelled => $"relabelled to {decision.Label} (was {decision.From}) by {decision.Model}",
        DecisionKind.Removed => $"removed by {decision.Model} (answer: {AnswerNormaliser.Unwrap(decision.RawAnswer ?? "").Trim()})",
        _ => decision.Describe(),
    };

    /// <summary>The proposal set's verdicts: one per judged box, by its position in the boxes verified.</summary>
    public static IReadOnlyList<BoxVerdict> Verdicts(IReadOnlyList<BoxDecision> decisions) =>
        decisions.Where(d => VerdictWord(d) is not null)
            .Select(d => new BoxVerdict(d.Index, VerdictWord(d)!, d.From, d.Label, d.Model ?? "", d.RawAnswer, d.Reason, Text(d)))
            .ToArray();

    /// <summary><paramref name="boxes"/> (the list verified, in order) after the decisions: removed boxes dropped,
    /// relabelled ones renamed (geometry and score kept), every other box as it was.</summary>
    public static IReadOnlyList<LabeledBox> Apply(IReadOnlyList<LabeledBox> boxes, IReadOnlyList<BoxDecision> decisions)
    {
        var byIndex = decisions.ToDictionary(d => d.Index);
        var result = new List<LabeledBox>(boxes.Count);
        for (var i = 0; i < boxes.Count; i++)
        {
            var decision = byIndex.GetValueOrDefault(i);
            switch (decision?.Kind)
            {
                case DecisionKind.Removed:
                    break;
                case DecisionKind.Relabelled:
                    result.Add(boxes[i] with { Label = decision.Label });
                    break;
                default:
                    result.Add(boxes[i]);
                    break;
            }
        }
        return result;
    }

    /// <summary><paramref name="existing"/> with the verification's keys set (others kept as they are).</summary>
    public static IReadOnlyDictionary<string, string> Metadata(IReadOnlyDictionary<string, string> existing, IReadOnlyList<BoxDecision> decisions, string prompt) =>
        Metadata(existing, Verdicts(decisions), prompt);

    /// <summary><paramref name="existing"/> with the keys for <paramref name="verdicts"/> set (others kept as they are):
    /// the one metadata form of <c>owlbox verify</c> and of a labeling job's verification stage.</summary>
    public static IReadOnlyDictionary<string, string> Metadata(IReadOnlyDictionary<string, string> existing, IReadOnlyList<BoxVerdict> verdicts, string prompt)
    {
        var merged = new Dictionary<string, string>(existing, StringComparer.Ordinal);
        if (verdicts.Count == 0)
        {
            return merged;
        }
        merged[VerifiedBy] = string.Join(", ", verdicts.Select(v => v.Model).Distinct(StringComparer.Ordinal));
        merged[VerifyPrompt] = prompt;
        merged[VerifySummary] = string.Join(", ", new[] { DecisionKind.Kept, DecisionKind.Relabelled, DecisionKind.Removed }
            .Select(k => Word(k)).Select(w => (Word: w, Count: verdicts.Count(v => v.Verdict == w))).Where(x => x.Count > 0)
            .Select(x => $"{x.Word} {x.Count}"));
        merged[VerifyDecisions] = JsonSerializer.Serialize(verdicts.Select(v => new MetadataDecision(
            v.Box, v.Verdict, v.Label, v.Verdict == Word(DecisionKind.Relabelled) ? v.From : null, v.Answer, v.Reason)), s_json);
        return merged;
    }

    private static string Word(DecisionKind kind) => kind switch
    {
        DecisionKind.Kept => "kept",
        DecisionKind.Relabelled => "relabelled",
        DecisionKind.Removed => "removed",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>
    /// The write of one verified sample through the one label-write path. The decisions were made on
    /// <paramref name="verified"/>; the edit applies them to the sample as it is at the moment of writing: by position
    /// when its boxes are still those, otherwise box by box to the first untouched box equal to the one judged (a box
    /// someone removed meanwhile is not brought back; one they added is not touched). Metadata is written when the
    /// boxes change or the sample has never been verified, so a re-run that changes nothing writes nothing and the
    /// first run's provenance ("relabelled from red") stays.
    /// </summary>
    public static LabelUpdate Update(string sampleId, IReadOnlyList<LabeledBox> verified, IReadOnlyList<BoxDecision> decisions, string prompt) =>
        new(sampleId, current => Edit(current, verified, decisions, prompt));

    /// <summary>The edit <see cref="Update"/> makes (null: leave the sample as it is).</summary>
    public static SampleLabels? Edit(SampleLabels current, IReadOnlyList<LabeledBox> verified, IReadOnlyList<BoxDecision> decisions, string prompt)
    {
        if (!decisions.Any(d => VerdictWord(d) is not null))
        {
            return null;
        }
        IReadOnlyList<LabeledBox> boxes;
        if (current.Boxes.SequenceEqual(verified))
        {
            boxes = Apply(current.Boxes, decisions);
        }
        else
        {
            var left = current.Boxes.Select(b => (Box: b, Touched: false, Removed: false)).ToArray();
            foreach (var d in decisions.Where(d => d.Kind is DecisionKind.Relabelled or DecisionKind.Removed))
            {
                var at = Array.FindIndex(left, x => !x.Touched && x.Box == verified[d.Index]);
                if (at >= 0)
                {
                    left[at] = d.Kind == DecisionKind.Removed
                        ? (left[at].Box, true, true)
                        : (left[at].Box with { Label = d.Label }, true, false);
                }
            }
            boxes = left.Where(x => !x.Removed).Select(x => x.Box).ToArray();
        }
        var changed = !boxes.SequenceEqual(current.Boxes);
        if (!changed && current.Metadata.ContainsKey(VerifiedBy))
        {
            return null;
        }
        return new SampleLabels(boxes, Metadata(current.Metadata, decisions, prompt));
    }

    private sealed record MetadataDecision(int Box, string Verdict, string Label, string? From, string? Answer, string? Reason);
}
