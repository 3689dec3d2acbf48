using System.Text.Json;
using Owlbox.Datasets;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Verification.Tests;

public sealed class VerificationProvenanceTests
{
    private const string Model = "gpt-4o-2024-08-06";
    private const string Prompt = "What colour?";

    private static readonly LabeledBox A = new("red", 0, 0, 10, 10) { Score = 0.4 };
    private static readonly LabeledBox B = new("red", 20, 0, 10, 10);
    private static readonly LabeledBox C = new("blue", 40, 0, 10, 10);
    private static readonly LabeledBox D = new("person", 60, 0, 10, 10);

    private static BoxDecision Kept(int i, string label) => new(i, DecisionKind.Kept, label, label, Model, $"{{\"label\":\"{label}\"}}");

    private static BoxDecision Relabelled(int i, string from, string to) => new(i, DecisionKind.Relabelled, to, from, Model, to, "it is " + to);

    private static BoxDecision Removed(int i, string from) => new(i, DecisionKind.Removed, from, from, Model, "{\"label\": \"background\"}");

    private static BoxDecision NotSelected(int i, string label) => new(i, DecisionKind.NotSelected, label, label);

    private static readonly BoxDecision[] Mixed = [Kept(0, "red"), Relabelled(1, "red", "green"), Removed(2, "blue"), NotSelected(3, "person")];

    public static TheoryData<string, BoxDecision, string?, string> VerdictRows => new()
    {
        { "kept", Kept(0, "red"), "kept", "kept by gpt-4o-2024-08-06" },
        { "relabelled", Relabelled(0, "red", "green"), "relabelled", "relabelled to green (was red) by gpt-4o-2024-08-06" },
        { "removed", Removed(0, "red"), "removed", "removed by gpt-4o-2024-08-06 (answer: background)" }, // the structured answer unwrapped
        { "not selected", NotSelected(0, "person"), null, "not verified (label not selected)" },
        { "budget", new BoxDecision(0, DecisionKind.BudgetSpent, "red", "red"), null, "not verified (call budget spent)" },
        { "score above", new BoxDecision(0, DecisionKind.ScoreAbove, "red", "red"), null, "not verified (score at or above verify-below)" },
        { "failed", new BoxDecision(0, DecisionKind.Failed, "red", "red", Model, null, "HTTP 500"), null, "failed: HTTP 500" },
    };

    [Theory]
    [MemberData(nameof(VerdictRows))]
    public void Each_decision_has_its_verdict_and_words(string _, BoxDecision decision, string? word, string text)
    {
        Assert.Equal(word, VerificationProvenance.VerdictWord(decision));
        Assert.Equal(text, VerificationProvenance.Text(decision));
        var verdicts = VerificationProvenance.Verdicts([decision]);
        if (word is null)
        {
            Assert.Empty(verdicts);
        }
        else
        {
            var v = Assert.Single(verdicts);
            Assert.Equal((0, word, decision.From, decision.Label, Model, decision.RawAnswer, decision.Reason, text),
                (v.Box, v.Verdict, v.From, v.Label, v.Model, v.Answer, v.Reason, v.Text));
        }
    }

    [Fact]
    public void Apply_drops_removed_renames_relabelled_and_keeps_the_rest_with_their_scores()
    {
        var after = VerificationProvenance.Apply([A, B, C, D], Mixed);
        Assert.Equal([A, B with { Label = "green" }, D], after);
        Assert.Equal(0.4, after[0].Score);
    }

    [Fact]
    public void Metadata_is_string_keys_merged_over_the_sample_s_own()
    {
        var metadata = VerificationProvenance.Metadata(new Dictionary<string, string> { ["site"] = "north", ["verified_by"] = "old" }, Mixed, Prompt);
        Assert.Equal("north", metadata["site"]);
        Assert.Equal(Model, metadata["verified_by"]);
        Assert.Equal(Prompt, metadata["verify_prompt"]);
        Assert.Equal("kept 1, relabelled 1, removed 1", metadata["verify_summary"]);
        var decisions = JsonDocument.Parse(metadata["verify_decisions"]).RootElement.EnumerateArray().ToArray();
        Assert.Equal(3, decisions.Length); // the box not asked about is not listed
        Assert.Equal((1, "relabelled", "green", "red", "green", "it is green"),
            (decisions[1].GetProperty("box").GetInt32(), decisions[1].GetProperty("verdict").GetString(), decisions[1].GetProperty("label").GetString(),
             decisions[1].GetProperty("from").GetString(), decisions[1].GetProperty("answer").GetString(), decisions[1].GetProperty("reason").GetString()));
        Assert.False(decisions[0].TryGetProperty("from", out _));
    }

    [Fact]
    public void A_labeling_job_s_verdicts_after_the_wire_give_the_same_metadata_as_owlbox_verify_s()
    {
        // The job stage: the verifier sends each judged detection's verdict with it; the writer reads them back.
        var detections = new[] { A, B, C, D }.Select(b => new Contracts.V1.DetectedObject(b.Label, b.X, b.Y, b.Width, b.Height, b.Score ?? 0.5, 1, b.Label, 0.1))
            .ToArray();
        var sent = VerificationProvenance.Verdicts(Mixed).ToDictionary(v => v.Box);
        var received = detections.Select((o, i) => sent.TryGetValue(i, out var v) ? o with { Label = v.Label, Verification = Pipeline.ContractMapping.ToContract(v) } : o)
            .Select(o => Pipeline.ContractMapping.Verdict(o)).OfType<Datasets.Proposals.BoxVerdict>().ToArray();

        Assert.Equal(VerificationProvenance.Metadata(new Dictionary<string, string>(), Mixed, Prompt),
            VerificationProvenance.Metadata(new Dictionary<string, string>(), received, Prompt));
        // Each holds the detection as the detector found it: the removed blue box is in no other list.
        Assert.Equal(new[] { A, B, C }.Select(b => (b.Label, b.X, b.Y, b.Width, b.Height)),
            received.Select(v => (v.Detection!.Label, v.Detection.X, v.Detection.Y, v.Detection.Width, v.Detection.Height)));
        Assert.Equal(["red", "green", "blue"], received.Select(v => v.Label));
    }

    [Fact]
    public void Metadata_is_untouched_when_no_box_was_judged()
    {
        var existing = new Dictionary<string, string> { ["site"] = "north" };
        Assert.Equal(existing, VerificationProvenance.Metadata(existing, [NotSelected(0, "person")], Prompt));
    }

    public static TheoryData<string, LabeledBox[], string[], LabeledBox[]?> EditRows => new()
    {
        // name, the sample's boxes at write time, its metadata keys, the boxes written (null: no write)
        { "as verified", [A, B, C, D], [], [A, B with { Label = "green" }, D] },
        { "a box added since is untouched", [A, B, C, D, C with { X = 90 }], [], [A, B with { Label = "green" }, D, C with { X = 90 }] },
        { "a judged box removed since is not brought back", [A, C, D], [], [A, D] },
        { "reordered since", [D, C, B, A], [], [D, B with { Label = "green" }, A] },
        { "a duplicate of a judged box: one occurrence changes", [A, B, B, C, D], [], [A, B with { Label = "green" }, B, D] },
    };

    [Theory]
    [MemberData(nameof(EditRows))]
    public void The_edit_applies_the_decisions_to_the_sample_as_it_is_when_written(string _, LabeledBox[] current, string[] keys, LabeledBox[]? expected)
    {
        var next = VerificationProvenance.Edit(new SampleLabels(current, keys.ToDictionary(k => k, k => "x")), [A, B, C, D], Mixed, Prompt);
        Assert.Equal(expected, next?.Boxes);
        Assert.Equal(Model, next?.Metadata["verified_by"]);
    }

    [Fact]
    public void A_re_run_that_changes_nothing_writes_nothing_and_the_first_provenance_stays()
    {
        var verified = new[] { A, B with { Label = "green" } };
        BoxDecision[] keptBoth = [Kept(0, "red"), Kept(1, "green")];
        var first = new Dictionary<string, string> { ["verified_by"] = Model, ["verify_summary"] = "kept 1, relabelled 1" };
        Assert.Null(VerificationProvenance.Edit(new SampleLabels(verified, first), verified, keptBoth, Prompt));
        // Never verified before: the metadata says so, though no box changes.
        var fresh = VerificationProvenance.Edit(new SampleLabels(verified, new Dictionary<string, string>()), verified, keptBoth, Prompt);
        Assert.Equal(verified, fresh!.Boxes);
        Assert.Equal("kept 2", fresh.Metadata["verify_summary"]);
        // Nothing judged (all outside which-labels, or the budget was spent): no write at all.
        Assert.Null(VerificationProvenance.Edit(new SampleLabels([D], new Dictionary<string, string>()), [D], [NotSelected(0, "person")], Prompt));
    }
}
